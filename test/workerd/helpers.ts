/**
 * Helpers for the workerd tests: requests through the real Worker entry (`exports.default`), visitor
 * cookies, sessions, signed ingest (test/support/ingest.ts, exactly as the agent posts it) and transcript
 * sockets.
 */
import { env, exports } from "cloudflare:workers";
import { AccessToken } from "livekit-server-sdk";
import { expect } from "vitest";
import {
  type AgentEvent,
  DispatchMetadata,
  ErrorBody,
  ServerMessage,
  SocketErrorMessage,
} from "../../contract/index.ts";
import { IngestClient } from "../support/ingest.ts";
import { waitFor } from "../support/wait.ts";
import { CONTROL_HOST, type LiveKitCall } from "./fake-livekit.ts";

export const ORIGIN = "https://voice.example";
let counter = 0;

/** A unique room name (optionally with a prefix the fake LiveKit reacts to). */
export function uniqueRoom(prefix = "room"): string {
  return `${prefix}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A random client IP, so that per-IP rate limits of one test do not touch another. */
export function randomIp(): string {
  return `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 250)}`;
}

/** Sends a request to the Worker. `cookie` is a `__Host-vid=…` pair; `ip` sets CF-Connecting-IP. */
export async function call(path: string, init: RequestInit & { cookie?: string; ip?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.cookie) headers.set("Cookie", init.cookie);
  headers.set("CF-Connecting-IP", init.ip ?? randomIp());
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { ...init, headers }));
}

/** A new visitor: the `__Host-vid=…` cookie pair the Worker issues on first contact over https (`ORIGIN`). */
export async function newVisitor(): Promise<string> {
  const res = await call("/health");
  const setCookie = res.headers.get("Set-Cookie") ?? "";
  const pair = setCookie.split(";")[0]!;
  expect(pair).toMatch(/^__Host-vid=/);
  return pair;
}

/** Asserts a JSON error response with `status` and `code`, and that it matches the contract. */
export async function expectError(res: Response, status: number, code?: string): Promise<ErrorBody> {
  const body = ErrorBody.parse(await res.json());
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code: code ?? body.error.code });
  return body;
}

/** Mints a token and starts a session in a fresh (or given) room; returns its ids. */
export async function startSession(cookie: string, room = uniqueRoom()): Promise<{ room: string; sessionId: string }> {
  const token = await call(`/token?room=${room}&identity=visitor`, { cookie });
  expect(token.status).toBe(200);
  const res = await call("/session", {
    method: "POST",
    cookie,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ room, identity: "visitor" }),
  });
  expect(res.status).toBe(201);
  const { session_id } = (await res.json()) as { session_id: string };
  return { room, sessionId: session_id };
}

/**
 * The agent's ingest client for `sessionId`, posting through the Worker entry.
 * @param secret the signing key; default the Worker's `AGENT_INGEST_SECRET`
 */
export function ingestClient(
  sessionId: string,
  secret: string = env.AGENT_INGEST_SECRET,
  jobId?: string,
): IngestClient {
  return new IngestClient({
    origin: ORIGIN,
    secret,
    sessionId,
    ...(jobId ? { jobId } : {}),
    // Each post from its own client IP, so that the per-IP limit on refused signatures of one test spares another.
    fetch: (url, init) => {
      const headers = new Headers(init.headers);
      headers.set("CF-Connecting-IP", randomIp());
      return exports.default.fetch(new Request(url, { ...init, headers }));
    },
  });
}

/**
 * Posts a signed ingest batch of `events` (or, with `body`, that raw body).
 * `signature` overrides the header (null leaves it out); `jobId` sets the batch's `job_id`.
 */
export async function ingest(
  sessionId: string,
  events: AgentEvent[] | unknown,
  opts: { signature?: string | null; body?: string; jobId?: string } = {},
): Promise<Response> {
  const client = ingestClient(sessionId, undefined, opts.jobId);
  return opts.body === undefined ? client.post(events, opts.signature) : client.postBody(opts.body, opts.signature);
}

let eventCounter = 0;
/** A final transcript event with a unique id. */
export const finalEvent = (text: string, role: "user" | "agent" = "user"): AgentEvent => ({
  id: `job:${++eventCounter}`,
  ts: Date.now(),
  role,
  text,
  final: true,
});
export const lifecycle = (type: "agent_joined" | "agent_heartbeat" | "agent_left" | "agent_error"): AgentEvent => ({
  id: `job:${++eventCounter}`,
  ts: Date.now(),
  type,
});

/** An open transcript socket with every message it has received (validated against the contract). */
export interface TestSocket {
  ws: WebSocket;
  messages: ServerMessage[];
  closed: Promise<{ code: number }>;
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number): Promise<ServerMessage[]>;
}

/** Opens `/ws/transcript/{id}` as the visitor. Fails the test when the upgrade is refused. */
export async function openSocket(cookie: string, sessionId: string, after?: number): Promise<TestSocket> {
  const query = after === undefined ? "" : `?after=${after}`;
  const res = await call(`/ws/transcript/${sessionId}${query}`, {
    cookie,
    headers: { Upgrade: "websocket", Origin: ORIGIN },
  });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const messages: ServerMessage[] = [];
  ws.addEventListener("message", (e) => {
    messages.push(ServerMessage.parse(JSON.parse(e.data as string)));
  });
  const closed = new Promise<{ code: number }>((resolve) =>
    ws.addEventListener("close", (e) => resolve({ code: e.code })),
  );
  ws.accept();
  const waitForMessages = (n: number) =>
    waitFor(`${n} socket messages`, () => messages.length >= n && messages, { timeoutMs: 5000, intervalMs: 20 });
  return { ws, messages, closed, waitFor: waitForMessages };
}

/** The calls the fake LiveKit recorded for `room`. */
export async function liveKitCalls(room: string): Promise<LiveKitCall[]> {
  const res = await fetch(`http://${CONTROL_HOST}/calls?room=${room}`);
  return (await res.json()) as LiveKitCall[];
}

/** Sets what the fake LiveKit's ListParticipants answers for `room` (`kind` e.g. "AGENT" or "STANDARD"). */
export async function setParticipants(room: string, list: { sid: string; identity: string; kind: string }[]) {
  await fetch(`http://${CONTROL_HOST}/participants?room=${room}`, { method: "POST", body: JSON.stringify(list) });
}

/** Makes the fake LiveKit's next `times` calls of `method` (e.g. "DeleteRoom") for `room` fail with 503. */
export async function failLiveKit(room: string, method: string, times: number) {
  await fetch(`http://${CONTROL_HOST}/fail?room=${room}&method=${method}&times=${times}`, { method: "POST" });
}

/**
 * Makes the fake LiveKit's calls of `method` for `room` wait (recorded at once, answered later) until
 * {@link releaseLiveKit}.
 */
export async function holdLiveKit(room: string, method: string) {
  await fetch(`http://${CONTROL_HOST}/hold?room=${room}&method=${method}`, { method: "POST" });
}

/** Lets the calls {@link holdLiveKit} held go on. */
export async function releaseLiveKit(room: string, method: string) {
  await fetch(`http://${CONTROL_HOST}/release?room=${room}&method=${method}`, { method: "POST" });
}

/** Signs a webhook body as LiveKit does: a JWT from the API key/secret carrying the body's SHA-256. */
export async function signWebhook(body: string, secret = env.LIVEKIT_API_SECRET): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
  const token = new AccessToken(env.LIVEKIT_API_KEY, secret);
  token.sha256 = btoa(String.fromCharCode(...new Uint8Array(digest)));
  return token.toJwt();
}

/**
 * Posts a signed LiveKit webhook (`createdAt` now unless the event sets it; `tamper` alters the body after
 * signing).
 */
export async function sendWebhook(event: Record<string, unknown>, opts: { secret?: string; tamper?: boolean } = {}) {
  const body = JSON.stringify({ id: crypto.randomUUID(), createdAt: String(Math.floor(Date.now() / 1000)), ...event });
  const auth = await signWebhook(body, opts.secret);
  return call("/livekit/webhook", {
    method: "POST",
    headers: { "Content-Type": "application/webhook+json", Authorization: auth },
    body: opts.tamper ? body.replace("}", " }") : body,
  });
}

/**
 * Asserts a refused transcript socket: 101, exactly one `{type:"error", code}` frame, then close 1011
 * (browsers cannot read the status of a failed upgrade, so the refusal travels in the socket).
 */
export async function expectRefusedSocket(res: Response, code: string): Promise<void> {
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frames: unknown[] = [];
  const closed = new Promise<number>((resolve) => ws.addEventListener("close", (e) => resolve(e.code)));
  ws.addEventListener("message", (e) => {
    frames.push(JSON.parse(e.data as string));
  });
  ws.accept();
  expect(await closed).toBe(1011);
  expect(frames.map((f) => SocketErrorMessage.parse(f).code)).toEqual([code]);
}

/**
 * Writes the `session` table as the first release of the `SessionDO` stored it (no column added since) with one row
 * of session `S_old` in `status`, for the tests that check older storage still reads.
 * @param ended true: `ended` (`stopped`, ended at 2); false: `active`
 */
export function writeFirstReleaseSession(sql: SqlStorage, ended: boolean): void {
  sql.exec(
    `CREATE TABLE IF NOT EXISTS session (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      session_id TEXT NOT NULL, room TEXT NOT NULL, identity TEXT NOT NULL, owner TEXT NOT NULL,
      status TEXT NOT NULL, reason TEXT, started_at INTEGER NOT NULL, ended_at INTEGER,
      last_seq INTEGER NOT NULL DEFAULT 0, agent_seen_at INTEGER, client_gone_since INTEGER,
      join_timeout_s INTEGER NOT NULL, lease_s INTEGER NOT NULL, grace_s INTEGER NOT NULL, max_s INTEGER NOT NULL
    )`,
  );
  sql.exec(
    `INSERT INTO session (id, session_id, room, identity, owner, status, reason, started_at, ended_at,
      join_timeout_s, lease_s, grace_s, max_s)
      VALUES (1, 'S_old', 'room-old', 'visitor', 'v', ?, ?, 1, ?, 20, 20, 30, 900)`,
    ended ? "ended" : "active",
    ended ? "stopped" : null,
    ended ? 2 : null,
  );
}

/** The metadata of every CreateDispatch the fake LiveKit received for `room`, checked against the contract. */
export async function dispatches(room: string): Promise<DispatchMetadata[]> {
  return (await liveKitCalls(room))
    .filter((c) => c.method === "CreateDispatch")
    .map((c) => DispatchMetadata.parse(JSON.parse(String(c.body.metadata))));
}
