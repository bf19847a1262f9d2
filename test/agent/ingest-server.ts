/**
 * A real local HTTP server that plays the Worker's ingest endpoint for the forwarder tests:
 * refuses bodies over `INGEST_BODY_MAX_BYTES` (413), verifies the signature with the contract's `verifyIngest`,
 * validates the body with `IngestBatch` (400 `invalid_batch`), de-duplicates by id, and answers with scripted
 * statuses when told to. It can also play a Worker that is down (every connection reset).
 *
 * It also plays the actions endpoint (`POST /session/{id}/actions`, agent/actions.ts): verifies the signature the
 * same way (401), validates the body with `ActionRequest` (400 `invalid_action`), records every call, acts once per
 * `call_id` (a repeat gets the first answer, as the Worker does) and answers a canned `ActionResponse`, or a
 * scripted status, a dropped connection or a late answer ({@link IngestServer.actionScript}).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ActionRequest,
  type ActionResponse,
  type AgentEvent,
  INGEST_BODY_MAX_BYTES,
  IngestBatch,
  SIGNATURE_HEADER,
  verifyIngest,
} from "../../contract/index.ts";

export interface Received {
  sessionId: string;
  verdict: string;
  /** The batch's `job_id`, when it had one. */
  jobId: string | undefined;
  /** Size of the raw body, bytes. */
  bytes: number;
  events: AgentEvent[];
}

/** A scripted answer: a status (with an error `code`), optionally after storing the batch. */
export interface Scripted {
  status: number;
  code?: string;
  /** Store the batch first, then answer `status`: a response lost after the Worker stored it. */
  storeFirst?: boolean;
}

/** One request to `POST /session/{id}/actions`. */
export interface ActionCall {
  sessionId: string;
  /** The signature's verdict (`verifyIngest`). */
  verdict: string;
  /** The body, when it was an `ActionRequest`. */
  request: ActionRequest | null;
  /** The raw body. */
  body: string;
}

/**
 * A scripted answer of the actions endpoint: a status with an error body (`code` `scripted`), `"reset"` (the
 * connection is dropped without an answer), or `{delayMs}` (the usual answer, that much later).
 */
export type ActionScripted = number | "reset" | { delayMs: number };

/** The canned answer of {@link IngestServer.actionAnswer} by default: `ok`, "Done: <intent>". */
export function okAnswer(req: ActionRequest): ActionResponse {
  return { call_id: req.call_id, intent: req.intent, status: "ok", message: `Done: ${req.intent}`, result: {} };
}

export interface IngestServer {
  url: string;
  /** Every request to the actions endpoint, in arrival order (including refused and scripted ones). */
  actions: ActionCall[];
  /** The calls that acted: one per distinct `call_id`, in order. */
  acted: ActionRequest[];
  /** Answers for the next action requests, in order (see {@link ActionScripted}); then the canned answer. */
  actionScript: ActionScripted[];
  /** Builds the answer of a call that acts (default {@link okAnswer}). */
  actionAnswer: (req: ActionRequest) => ActionResponse;
  /** Every request that reached the handler, in arrival order (including refused ones). */
  requests: Received[];
  /** Distinct event ids accepted, in first-arrival order. */
  stored: AgentEvent[];
  /**
   * Answers for the next requests, in order. A number is a status with code `scripted`; a negative number
   * stores the batch first and then answers with the absolute status.
   */
  script: Array<number | Scripted>;
  /** Per session id: answer every request of that session with this refusal (e.g. 409 `session_ended`). */
  refusals: Map<string, Scripted>;
  /** While true, every connection is reset without an answer (the Worker is unreachable). */
  down: boolean;
  /** Requests reset while `down`. */
  resets: () => number;
  /** TCP connections opened so far (keep-alive check). */
  connections: () => number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Starts the server on a free port of 127.0.0.1. */
export async function startIngestServer(secret: string): Promise<IngestServer> {
  const requests: Received[] = [];
  const stored: AgentEvent[] = [];
  const seen = new Set<string>();
  const script: Array<number | Scripted> = [];
  const refusals = new Map<string, Scripted>();
  const actions: ActionCall[] = [];
  const acted: ActionRequest[] = [];
  const actionScript: ActionScripted[] = [];
  const answers = new Map<string, ActionResponse>();
  let connections = 0;
  let resets = 0;
  const state = { down: false, actionAnswer: okAnswer };
  const server = createServer(async (req, res) => {
    if (state.down) {
      resets++;
      req.socket.destroy();
      return;
    }
    const action = /^\/session\/([^/]+)\/actions$/.exec(req.url ?? "");
    if (action && req.method === "POST") {
      const body = (await readBody(req)).toString("utf8");
      const sessionId = decodeURIComponent(action[1]!);
      const header = req.headers[SIGNATURE_HEADER.toLowerCase()] as string;
      const verdict = await verifyIngest(secret, sessionId, body, header);
      const parsed = ActionRequest.safeParse(safeJson(body));
      actions.push({ sessionId, verdict, request: parsed.success ? parsed.data : null, body });
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      const next = actionScript.shift();
      if (next === "reset") {
        req.socket.destroy();
        return;
      }
      if (typeof next === "number") return reply(next, { error: { code: "scripted", message: "scripted" } });
      if (typeof next === "object") await new Promise((r) => setTimeout(r, next.delayMs));
      if (verdict !== "ok") return reply(401, { error: { code: `signature_${verdict}`, message: verdict } });
      if (!parsed.success) return reply(400, { error: { code: "invalid_action", message: parsed.error.message } });
      let answer = answers.get(parsed.data.call_id);
      if (!answer) {
        answer = state.actionAnswer(parsed.data);
        answers.set(parsed.data.call_id, answer);
        acted.push(parsed.data);
      }
      return reply(200, answer);
    }
    const m = /^\/session\/([^/]+)\/events$/.exec(req.url ?? "");
    const raw = await readBody(req);
    const body = raw.toString("utf8");
    const sessionId = decodeURIComponent(m?.[1] ?? "");
    const verdict = await verifyIngest(secret, sessionId, body, req.headers[SIGNATURE_HEADER.toLowerCase()] as string);
    const parsed = IngestBatch.safeParse(safeJson(body));
    requests.push({
      sessionId,
      verdict,
      jobId: parsed.success ? parsed.data.job_id : undefined,
      bytes: raw.length,
      events: parsed.success ? parsed.data.events : [],
    });
    const next = script.shift();
    const scripted: Scripted | undefined =
      typeof next === "number" ? { status: Math.abs(next), storeFirst: next < 0 } : (next ?? refusals.get(sessionId));
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    const fail = (s: Scripted) => reply(s.status, { error: { code: s.code ?? "scripted", message: "scripted" } });
    if (scripted && !scripted.storeFirst) return fail(scripted);
    if (!m || req.method !== "POST") return reply(404, { error: { code: "not_found", message: "no route" } });
    if (raw.length > INGEST_BODY_MAX_BYTES) {
      return reply(413, { error: { code: "payload_too_large", message: "body too large" } });
    }
    if (verdict !== "ok") return reply(401, { error: { code: `signature_${verdict}`, message: verdict } });
    if (!parsed.success) return reply(400, { error: { code: "invalid_batch", message: parsed.error.message } });
    let accepted = 0;
    for (const e of parsed.data.events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      stored.push(e);
      accepted++;
    }
    if (scripted) return fail(scripted);
    reply(200, { accepted, duplicates: parsed.data.events.length - accepted });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    actions,
    acted,
    actionScript,
    get actionAnswer() {
      return state.actionAnswer;
    },
    set actionAnswer(answer: (req: ActionRequest) => ActionResponse) {
      state.actionAnswer = answer;
    },
    requests,
    stored,
    script,
    refusals,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    resets: () => resets,
    connections: () => connections,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
