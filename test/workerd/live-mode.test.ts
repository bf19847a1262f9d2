/**
 * Live mode at session start (issue #16; worker/session-start.ts `checkPolicy`, the SessionDO): `POST /session
 * {mode: "live"}` is refused with 403 `live_mode_disabled` unless the deployment has `ENABLE_VOICE_LIVE_MODE` on
 * (off in the test configuration, as in wrangler.toml), before anything is reserved; every session records its mode
 * (`GET /transcripts/{id}` `mode`), and with it on, the dispatch metadata of the first agent and of a replacement
 * carries `mode: "live"`. A pipeline session's dispatch names no mode.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TranscriptResponse } from "../../contract/index.ts";
import { readEdgeConfig } from "../../edge/config.ts";
import { runSessionStart } from "../../worker/session-start.ts";
import { startWith, transcriptOf } from "./action-helpers.ts";
import {
  call,
  expectError,
  finalEvent,
  ingest,
  lifecycle,
  dispatches,
  liveKitCalls,
  newVisitor,
  randomIp,
  uniqueRoom,
} from "./helpers.ts";

const post = (cookie: string, body: Record<string, unknown>) =>
  call("/session", {
    method: "POST",
    cookie,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ identity: "visitor", ...body }),
  });

describe("POST /session {mode}", () => {
  it("refuses live mode with 403 live_mode_disabled when ENABLE_VOICE_LIVE_MODE is off, reserving nothing", async () => {
    expect(readEdgeConfig(env).liveMode).toBe(false);
    const cookie = await newVisitor();
    const room = uniqueRoom();
    const body = await expectError(await post(cookie, { room, mode: "live" }), 403, "live_mode_disabled");
    expect(body.error.message).toBe("Live mode is not available here; start without it.");
    expect(await liveKitCalls(room)).toEqual([]);
    expect(await env.ROOMS.get(env.ROOMS.idFromName(room)).activeSession(Date.now())).toBeNull();
  });

  it("refuses a mode that is neither pipeline nor live with 400 invalid_request", async () => {
    const cookie = await newVisitor();
    await expectError(await post(cookie, { mode: "turbo" }), 400, "invalid_request");
    await expectError(await post(cookie, { mode: 1 }), 400, "invalid_request");
  });

  it("records a pipeline session's mode, and names none in its dispatch", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startWith(cookie, { mode: "pipeline" });
    expect(await dispatches(room)).toEqual([{ session_id: sessionId, profile: "assistant" }]);
    expect((await transcriptOf(cookie, sessionId)).mode).toBe("pipeline");
    const plain = await startWith(cookie);
    expect((await transcriptOf(cookie, plain.sessionId)).mode).toBe("pipeline");
  });

  it("with ENABLE_VOICE_LIVE_MODE on: records live mode and dispatches it, to a replacement agent too", async () => {
    const deps = { env, config: { ...readEdgeConfig(env), liveMode: true } };
    const caller = { visitorId: crypto.randomUUID(), clientIp: randomIp() };
    const room = uniqueRoom();
    const request = { room, identity: "visitor", mode: "live" as const, profile: "planner" };
    const { session_id: sessionId } = await runSessionStart(deps, request, caller);
    expect(await dispatches(room)).toEqual([{ session_id: sessionId, profile: "planner", mode: "live" }]);
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
    const transcript = TranscriptResponse.parse(await stub.transcript());
    expect(transcript.mode).toBe("live");

    // The agent is lost: its replacement talks in live mode too.
    const jobId = `AJ_${room}`;
    expect((await ingest(sessionId, [lifecycle("agent_joined")], { jobId })).status).toBe(200);
    await ingest(sessionId, [finalEvent("hello")], { jobId });
    expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId })).status).toBe(200);
    const [, replacement] = await dispatches(room);
    expect(replacement).toEqual({
      session_id: sessionId,
      profile: "planner",
      mode: "live",
      history: [{ role: "user", text: "hello" }],
    });
    await stub.stop("stopped");
  });
});
