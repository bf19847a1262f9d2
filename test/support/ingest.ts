/**
 * Posts agent events to `POST /session/{id}/events` the way the agent does (contract `IngestBatch`,
 * signed with `signIngest`), so tests and benchmarks can drive a real SessionDO without running the agent.
 * Runtime-neutral: works in Node and in workerd (pass `SELF.fetch` there).
 */
import { type AgentEvent, type UnnumberedAgentEvent, SIGNATURE_HEADER, signIngest } from "../../contract/index.ts";

/** An event before the client numbers it (`id`) and stamps it (`ts`, when missing). */
export type UnsentEvent = UnnumberedAgentEvent;

/** Options of {@link IngestClient}. */
export interface IngestClientOptions {
  /** The Worker's origin, e.g. `http://127.0.0.1:8787`. */
  origin: string;
  /** The Worker's `AGENT_INGEST_SECRET`. */
  secret: string;
  sessionId: string;
  /** Prefix of the event ids (`<prefix>:<n>`); default "test". */
  idPrefix?: string;
  /** `job_id` of every batch, as the agent's forwarder sends it; default none (left out). */
  jobId?: string;
  /** The fetch to use; default the global one. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/** A signed ingest poster for one session. */
export class IngestClient {
  readonly #opts: Required<IngestClientOptions>;
  #n = 0;

  constructor(options: IngestClientOptions) {
    this.#opts = { idPrefix: "test", jobId: "", fetch: (input, init) => fetch(input, init), ...options };
  }

  /** Numbers and stamps events as the agent's forwarder does: `id` `<prefix>:<n>`, `ts` now unless given. */
  number(...events: UnsentEvent[]): AgentEvent[] {
    return events.map(
      (e) => ({ ...e, id: `${this.#opts.idPrefix}:${++this.#n}`, ts: e.ts ?? Date.now() }) as AgentEvent,
    );
  }

  /**
   * Posts a raw body.
   * @param signature the `X-Signature` header: by default a valid signature of `body`; null leaves the header out
   * @returns the Worker's response, whatever its status
   */
  async postBody(body: string, signature?: string | null): Promise<Response> {
    const { origin, secret, sessionId } = this.#opts;
    const header = signature === undefined ? await signIngest(secret, sessionId, body) : signature;
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (header !== null) headers[SIGNATURE_HEADER] = header;
    return this.#opts.fetch(`${origin}/session/${sessionId}/events`, { method: "POST", headers, body });
  }

  /**
   * Posts one batch of already numbered events (or anything else, to test refusals).
   * @returns the Worker's response, whatever its status
   */
  post(events: AgentEvent[] | unknown, signature?: string | null): Promise<Response> {
    const jobId = this.#opts.jobId ? { job_id: this.#opts.jobId } : {};
    return this.postBody(JSON.stringify({ ...jobId, events }), signature);
  }

  /**
   * Numbers and sends one batch.
   * @throws Error with the response body when the Worker does not answer 200
   */
  async send(...events: UnsentEvent[]): Promise<void> {
    const res = await this.post(this.number(...events));
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
}
