/**
 * Helpers for the mode-switch and live-limit tests (mode-switch.test.ts, live-limit.test.ts): the Worker with live
 * mode on, sessions in either mode made active, the relayed mode changes checked as the agent checks them, and the
 * session's and the visitor's live clocks.
 *
 * The test configuration keeps `ENABLE_VOICE_LIVE_MODE` off (wrangler.toml); the Worker is called with it on where a
 * test needs live mode ({@link liveEnv}, a fresh env object). `LIVE_MINUTES_PER_DAY` is wrangler.toml's 10: the tests
 * move the session's clocks (`live_since`, `live_until`) and the visitor's counted time instead of waiting.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import {
  ModeRelayBody,
  SessionCreateResponse,
  TOPIC_MODE_CHANGE,
  TranscriptResponse,
  TypedRelayPacket,
  verifyIngest,
} from "../../contract/index.ts";
import { DAY_MS, utcDay } from "../../durable-objects/live-usage-store.ts";
import { readEdgeConfig } from "../../edge/config.ts";
import worker from "../../worker/index.ts";
import { call, ingest, lifecycle, liveKitCalls, newVisitor, ORIGIN, randomIp, sendWebhook } from "./helpers.ts";

/** The Worker's environment with live mode on (a fresh object: readEdgeConfig caches per env object). */
export const liveEnv = { ...env, ENABLE_VOICE_LIVE_MODE: "true" } as Env;
/** The day's live allowance of the test configuration, ms. */
export const LIMIT_MS = readEdgeConfig(env).liveMinutesPerDay * 60_000;
/** The agent's participant, as the webhook reports it. */
export const AGENT = { sid: "PA_mode_agent", identity: "agent-AJ_mode", kind: "AGENT" };

/** The `SessionDO` of a session id. */
export const sessions = (id: string) => env.SESSIONS.get(env.SESSIONS.idFromName(id));
/** The `VisitorDO` of a visitor id. */
export const visitors = (id: string) => env.VISITORS.get(env.VISITORS.idFromName(id));

/** Sessions the tests started: {@link stopStarted} stops them, so that they hold no session cap. */
const started: string[] = [];

/** Stops the sessions started since the last call (an `afterEach`). */
export async function stopStarted() {
  for (const id of started.splice(0)) await sessions(id).stop("stopped");
}

/** Sends a request to the Worker with `environment` (default: live mode on). */
export async function send(
  path: string,
  init: { method?: string; cookie: string; body?: string },
  environment = liveEnv,
) {
  const headers = new Headers({ "CF-Connecting-IP": randomIp(), "Content-Type": "application/json" });
  headers.set("Cookie", init.cookie);
  const request = new Request(`${ORIGIN}${path}`, { method: init.method ?? "POST", headers, body: init.body ?? null });
  return worker.fetch(request, environment, createExecutionContext());
}

/** `POST /session/{id}/mode` with `body` (a string is sent as it is). */
export const postMode = (cookie: string, sessionId: string, body: unknown, environment = liveEnv) =>
  send(
    `/session/${sessionId}/mode`,
    { cookie, body: typeof body === "string" ? body : JSON.stringify(body) },
    environment,
  );

/** The visitor id in a `__Host-vid=<id>.<signature>` cookie pair. */
export const visitorIdOf = (cookie: string) => decodeURIComponent(cookie.split("=")[1]!).split(".")[0]!;

/** Starts a session in `mode` for `cookie` in a fresh room (with live mode on). */
export async function start(cookie: string, mode: "live" | "pipeline") {
  const res = await send("/session", { cookie, body: JSON.stringify({ identity: "visitor", mode }) });
  expect(res.status).toBe(201);
  const { session_id: sessionId, livekit } = SessionCreateResponse.parse(await res.json());
  started.push(sessionId);
  return { sessionId, room: livekit.room };
}

/** Makes the session active: its agent joined (ingest) and LiveKit reported its participant (webhook). */
export async function activate(sessionId: string, room: string, jobId = "AJ_mode") {
  expect((await ingest(sessionId, [lifecycle("agent_joined")], { jobId })).status).toBe(200);
  await sendWebhook({ event: "participant_joined", room: { name: room, sid: `RM_${room}` }, participant: AGENT });
}

/** A new visitor's active session in `mode`. */
export async function activeSession(mode: "live" | "pipeline" = "pipeline") {
  const cookie = await newVisitor();
  const { sessionId, room } = await start(cookie, mode);
  await activate(sessionId, room);
  return { cookie, sessionId, room, owner: visitorIdOf(cookie) };
}

/** `GET /transcripts/{id}` as the visitor, checked against the contract. */
export async function transcript(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

/** The mode changes relayed for `room`, each checked as the agent checks it (topic, destination, signature, body). */
export async function relays(room: string, sessionId: string): Promise<ModeRelayBody[]> {
  const sent = (await liveKitCalls(room)).filter((c) => c.method === "SendData");
  const out: ModeRelayBody[] = [];
  for (const call of sent) {
    expect(call.authorized).toBe(true);
    expect(call.body).toMatchObject({ room, destinationSids: [AGENT.sid], topic: TOPIC_MODE_CHANGE });
    const bytes = Uint8Array.from(atob(String(call.body.data)), (ch) => ch.charCodeAt(0));
    const packet = TypedRelayPacket.parse(JSON.parse(new TextDecoder().decode(bytes)));
    expect(await verifyIngest(env.AGENT_INGEST_SECRET, sessionId, packet.body, packet.signature)).toBe("ok");
    out.push(ModeRelayBody.parse(JSON.parse(packet.body)));
  }
  return out;
}

/** The session row's mode and live columns. */
export function liveRow(sessionId: string) {
  return runInDurableObject(sessions(sessionId), (_i, state) =>
    state.storage.sql
      .exec<{ mode: string | null; live_since: number | null; live_until: number | null }>(
        "SELECT mode, live_since, live_until FROM session",
      )
      .one(),
  );
}

/** Moves the session's live clocks: `live_since` `sinceAgoMs` into the past, `live_until` `untilInMs` from now. */
export async function setLiveClocks(sessionId: string, sinceAgoMs: number, untilInMs: number) {
  const now = Date.now();
  await runInDurableObject(sessions(sessionId), (_i, state) => {
    state.storage.sql.exec("UPDATE session SET live_since = ?, live_until = ?", now - sinceAgoMs, now + untilInMs);
  });
}

/** The visitor's live ms left today. */
export const liveLeft = (owner: string) => visitors(owner).liveLeft(LIMIT_MS, Date.now());

/** Uses up the visitor's live minutes of today (a stretch from UTC midnight on). */
export async function useAllToday(owner: string) {
  const midnight = utcDay(Date.now()) * DAY_MS;
  expect(await visitors(owner).addLiveUsage(midnight, midnight + LIMIT_MS, LIMIT_MS)).toBe(0);
}

/** The part of the last `agoMs` that falls on today (UTC): a stretch over midnight counts on each day for its part. */
export const todayShare = (agoMs: number) => Math.min(agoMs, Date.now() - utcDay(Date.now()) * DAY_MS);
