/**
 * `POST /session/{id}/mode` (issue #16; worker/routes/mode.ts, durable-objects/session-mode.ts) through the real Worker
 * and real Durable Object storage: every answer, the relay to the agent (LiveKit `SendData`, recorded by the fake
 * LiveKit, test/workerd/fake-livekit.ts, the only fake: LiveKit is a third-party service here), the stored and
 * broadcast `ModeMessage`, the session's current mode, and what the finals-based readers (a replacement's history,
 * the listing's first lines, a resume) make of a conversation with mode changes. The daily live-minutes limit:
 * live-limit.test.ts. Setup and helpers: mode-helpers.ts.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { ModeChangeResponse, type ServerMessage } from "../../contract/index.ts";
import {
  call,
  dispatches,
  expectError,
  failLiveKit,
  finalEvent,
  holdLiveKit,
  ingest,
  lifecycle,
  liveKitCalls,
  newVisitor,
  openSocket,
  releaseLiveKit,
} from "./helpers.ts";
import {
  activate,
  activeSession,
  LIMIT_MS,
  liveLeft,
  liveRow,
  postMode,
  relays,
  sessions,
  setLiveClocks,
  start,
  stopStarted,
  todayShare,
  transcript,
  visitorIdOf,
  visitors,
} from "./mode-helpers.ts";

afterEach(stopStarted);

describe("POST /session/{id}/mode", () => {
  it("switches to live and back: relays each change signed to the agent, then stores and broadcasts it", async () => {
    const { cookie, sessionId, room, owner } = await activeSession();
    const socket = await openSocket(cookie, sessionId);
    const res = await postMode(cookie, sessionId, { mode: "live" });
    expect(res.status).toBe(200);
    expect(ModeChangeResponse.parse(await res.json())).toEqual({ mode: "live", changed: true, live_s_left: 600 });
    const [toLive, ...more] = await relays(room, sessionId);
    expect(more).toEqual([]);
    expect(toLive).toEqual({ session_id: sessionId, id: expect.any(String), mode: "live", reason: "visitor" });
    expect((await transcript(cookie, sessionId)).mode).toBe("live");

    await setLiveClocks(sessionId, 120_000, 480_000); // two minutes in live mode
    const share = todayShare(120_000);
    const back = ModeChangeResponse.parse(await (await postMode(cookie, sessionId, { mode: "pipeline" })).json());
    expect(back).toMatchObject({ mode: "pipeline", changed: true });
    expect(back.live_s_left).toBeGreaterThan((LIMIT_MS - share) / 1000 - 10);
    expect(back.live_s_left).toBeLessThanOrEqual((LIMIT_MS - share) / 1000);
    expect(await liveLeft(owner)).toBeLessThanOrEqual(LIMIT_MS - share);
    const [, toPipeline] = await relays(room, sessionId);
    expect(toPipeline).toMatchObject({ mode: "pipeline", reason: "visitor" });
    expect(toPipeline!.id).not.toBe(toLive!.id);

    const stored = await transcript(cookie, sessionId);
    expect(stored.mode).toBe("pipeline");
    const modes = stored.events.filter((e) => "type" in e && e.type === "mode");
    expect(modes).toEqual([
      { type: "mode", mode: "live", reason: "visitor", seq: expect.any(Number), ts: expect.any(Number) },
      { type: "mode", mode: "pipeline", reason: "visitor", seq: expect.any(Number), ts: expect.any(Number) },
    ]);
    const seqs = stored.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const live = await socket.waitFor(modes.at(-1)!.seq);
    expect(live.filter((m) => "type" in m && m.type === "mode")).toEqual(modes);
    // A reconnecting page gets them in its replay.
    const replay = await openSocket(cookie, sessionId, 0);
    const replayed = await replay.waitFor(modes.at(-1)!.seq);
    expect(replayed.filter((m: ServerMessage) => "type" in m && m.type === "mode")).toEqual(modes);
    expect(await liveRow(sessionId)).toEqual({ mode: "pipeline", live_since: null, live_until: null });
  });

  it("answers 200 changed:false for the mode the session has, sending and storing nothing (pipeline with the flag off too)", async () => {
    const { cookie, sessionId, room } = await activeSession();
    const same = await postMode(cookie, sessionId, { mode: "pipeline" }, env);
    expect(ModeChangeResponse.parse(await same.json())).toEqual({ mode: "pipeline", changed: false, live_s_left: 600 });
    const live = await activeSession("live");
    const again = ModeChangeResponse.parse(
      await (await postMode(live.cookie, live.sessionId, { mode: "live" })).json(),
    );
    expect(again).toMatchObject({ mode: "live", changed: false });
    expect(again.live_s_left).toBeGreaterThan(590);
    expect(await relays(room, sessionId)).toEqual([]);
    expect(await relays(live.room, live.sessionId)).toEqual([]);
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
  });

  it("answers 403 live_mode_disabled for live mode when ENABLE_VOICE_LIVE_MODE is off", async () => {
    const { cookie, sessionId, room } = await activeSession();
    await expectError(await postMode(cookie, sessionId, { mode: "live" }, env), 403, "live_mode_disabled");
    expect(await relays(room, sessionId)).toEqual([]);
    expect((await transcript(cookie, sessionId)).mode).toBe("pipeline");
  });

  it("answers 400, 413, 404 and 403 for bad requests, another visitor and an unknown session", async () => {
    const { cookie, sessionId, room } = await activeSession();
    await expectError(await postMode(cookie, sessionId, { mode: "turbo" }), 400, "invalid_request");
    await expectError(await postMode(cookie, sessionId, { mode: "live", extra: 1 }), 400, "invalid_request");
    await expectError(await postMode(cookie, sessionId, {}), 400, "invalid_request");
    await expectError(await postMode(cookie, sessionId, "{not json"), 400, "invalid_json");
    await expectError(await postMode(cookie, sessionId, { mode: "live", pad: "x".repeat(2000) }), 413);
    await expectError(await postMode(cookie, "not-an-id", { mode: "live" }), 400, "invalid_session_id");
    await expectError(await postMode(cookie, "A".repeat(22), { mode: "live" }), 404, "session_not_found");
    await expectError(await postMode(await newVisitor(), sessionId, { mode: "live" }), 403, "forbidden");
    expect(await relays(room, sessionId)).toEqual([]);
  });

  it("answers 409 agent_not_ready while starting and session_ended after Stop", async () => {
    const cookie = await newVisitor();
    const { sessionId, room } = await start(cookie, "pipeline");
    await expectError(await postMode(cookie, sessionId, { mode: "live" }), 409, "agent_not_ready");
    await activate(sessionId, room);
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    await expectError(await postMode(cookie, sessionId, { mode: "live" }), 409, "session_ended");
    expect(await relays(room, sessionId)).toEqual([]);
  });

  it("answers 409 mode_change_in_flight while another change is being relayed", async () => {
    const { cookie, sessionId, room } = await activeSession();
    await holdLiveKit(room, "SendData");
    const first = postMode(cookie, sessionId, { mode: "live" });
    try {
      await expect
        .poll(async () => (await liveKitCalls(room)).some((c) => c.method === "SendData"), { timeout: 5000 })
        .toBe(true);
      await expectError(await postMode(cookie, sessionId, { mode: "live" }), 409, "mode_change_in_flight");
    } finally {
      await releaseLiveKit(room, "SendData");
    }
    expect((await first).status).toBe(200);
    expect((await relays(room, sessionId)).map((r) => r.mode)).toEqual(["live"]);
  });

  it("answers 502 livekit_unavailable and stores nothing when SendData fails; a retry then goes through", async () => {
    const { cookie, sessionId, room, owner } = await activeSession();
    await failLiveKit(room, "SendData", 1);
    await expectError(await postMode(cookie, sessionId, { mode: "live" }), 502, "livekit_unavailable");
    const after = await transcript(cookie, sessionId);
    expect({ mode: after.mode, events: after.events }).toEqual({ mode: "pipeline", events: [] });
    expect(await liveRow(sessionId)).toEqual({ mode: "pipeline", live_since: null, live_until: null });
    expect(await liveLeft(owner)).toBe(LIMIT_MS);
    expect((await postMode(cookie, sessionId, { mode: "live" })).status).toBe(200);
    expect((await transcript(cookie, sessionId)).mode).toBe("live");
  });

  it("keeps mode changes out of the finals: a replacement agent gets the new mode and only the turns", async () => {
    const { cookie, sessionId, room } = await activeSession();
    await ingest(sessionId, [finalEvent("before the switch")], { jobId: "AJ_mode" });
    expect((await postMode(cookie, sessionId, { mode: "live" })).status).toBe(200);
    await ingest(sessionId, [finalEvent("after the switch", "agent")], { jobId: "AJ_mode" });
    expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_mode" })).status).toBe(200);
    const [, replacement] = await dispatches(room);
    expect(replacement).toMatchObject({
      session_id: sessionId,
      mode: "live",
      history: [
        { role: "user", text: "before the switch" },
        { role: "agent", text: "after the switch" },
      ],
    });
    // The end and its listing read the finals only.
    expect(await sessions(sessionId).stop("stopped")).toBe(true);
    const listed = await visitors(visitorIdOf(cookie)).conversation(sessionId);
    expect(listed?.preview).toBe("You: before the switch · Agent: after the switch");
    expect((await sessions(sessionId).resumeContext())?.history).toHaveLength(2);
  });
});
