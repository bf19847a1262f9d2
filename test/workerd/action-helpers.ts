/**
 * Helpers for the actions and planner tests: sessions started with a profile, and action calls posted to
 * `POST /session/{id}/actions` signed exactly as ingest is (contract `signIngest`), from a fresh client IP each.
 */
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import {
  ActionResponse,
  PlannerResponse,
  SIGNATURE_HEADER,
  signIngest,
  TranscriptResponse,
} from "../../contract/index.ts";
import { call, ingest, lifecycle, ORIGIN, randomIp, uniqueRoom } from "./helpers.ts";

/**
 * Starts a session with `body`'s extra fields (e.g. `{profile: "planner"}`) in a fresh room and has its agent
 * join (job `AJ_<room>`), so that the session is `active`.
 */
export async function startWith(
  cookie: string,
  extra: Record<string, unknown> = {},
): Promise<{ room: string; sessionId: string; jobId: string }> {
  const room = uniqueRoom();
  expect((await call(`/token?room=${room}&identity=visitor`, { cookie })).status).toBe(200);
  const res = await call("/session", {
    method: "POST",
    cookie,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ room, identity: "visitor", ...extra }),
  });
  expect(res.status).toBe(201);
  const { session_id: sessionId } = (await res.json()) as { session_id: string };
  const jobId = `AJ_${room}`;
  expect((await ingest(sessionId, [lifecycle("agent_joined")], { jobId })).status).toBe(200);
  return { room, sessionId, jobId };
}

/** A planner session for the visitor `cookie` (active). */
export function plannerSession(cookie: string) {
  return startWith(cookie, { profile: "planner", timezone: "Europe/Berlin" });
}

let calls = 0;
/** A fresh call id. */
export const callId = () => `call_${Date.now().toString(36)}_${++calls}`;

/**
 * Posts an action call. `body` is the call object (or, with `raw`, that exact text); `signature` overrides the
 * header (null leaves it out).
 */
export async function postAction(
  sessionId: string,
  body: unknown,
  opts: { raw?: string; signature?: string | null; contentType?: string } = {},
): Promise<Response> {
  const text = opts.raw ?? JSON.stringify(body);
  const signature =
    opts.signature === undefined ? await signIngest(env.AGENT_INGEST_SECRET, sessionId, text) : opts.signature;
  const headers = new Headers({
    "Content-Type": opts.contentType ?? "application/json",
    "CF-Connecting-IP": randomIp(),
  });
  if (signature !== null) headers.set(SIGNATURE_HEADER, signature);
  return exports.default.fetch(
    new Request(`${ORIGIN}/session/${sessionId}/actions`, { method: "POST", headers, body: text }),
  );
}

/** Posts `intent` with `args` (a fresh call id unless given) and returns the 200 answer, checked against the contract. */
export async function act(
  sessionId: string,
  intent: string,
  args: Record<string, unknown>,
  id: string = callId(),
): Promise<ActionResponse> {
  const res = await postAction(sessionId, { call_id: id, intent, arguments: args });
  expect(res.status, await res.clone().text()).toBe(200);
  return ActionResponse.parse(await res.json());
}

/** `GET /planner` as the visitor `cookie`, checked against the contract. */
export async function planner(cookie: string): Promise<PlannerResponse> {
  const res = await call("/planner", { cookie });
  expect(res.status).toBe(200);
  return PlannerResponse.parse(await res.json());
}

/** `GET /transcripts/{id}` as the visitor `cookie`, checked against the contract. */
export async function transcriptOf(cookie: string, sessionId: string): Promise<TranscriptResponse> {
  const res = await call(`/transcripts/${sessionId}`, { cookie });
  expect(res.status).toBe(200);
  return TranscriptResponse.parse(await res.json());
}
