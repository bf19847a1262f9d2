/**
 * Posts events to `POST /session/{id}/events` exactly as the agent does (signed with the contract's
 * `signIngest`), so page tests can drive a real SessionDO without running the agent and its providers.
 */
import { SIGNATURE_HEADER, signIngest, type AgentEvent } from "../../../contract/index.ts";

type Unsent<T> = T extends unknown ? Omit<T, "id" | "ts"> : never;

export class AgentStandIn {
  readonly origin: string;
  readonly secret: string;
  readonly sessionId: string;
  #n = 0;

  /** @param secret the Worker's `AGENT_INGEST_SECRET` */
  constructor(origin: string, secret: string, sessionId: string) {
    this.origin = origin;
    this.secret = secret;
    this.sessionId = sessionId;
  }

  /**
   * Sends one batch.
   * @throws Error with the response body when the Worker does not answer 200
   */
  async send(...events: Unsent<AgentEvent>[]): Promise<void> {
    const batch = { events: events.map((e) => ({ ...e, id: `test:${++this.#n}`, ts: Date.now() })) };
    const body = JSON.stringify(batch);
    const res = await fetch(`${this.origin}/session/${this.sessionId}/events`, {
      method: "POST",
      body,
      headers: { "Content-Type": "application/json", [SIGNATURE_HEADER]: await signIngest(this.secret, this.sessionId, body) },
    });
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
  }
}
