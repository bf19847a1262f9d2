/**
 * The daily live-minutes limit (issue #16; `LIVE_MINUTES_PER_DAY`, durable-objects/session-mode.ts,
 * live-usage-store.ts, worker/live-allowance.ts) through the real Worker and real Durable Object storage: the live
 * time each session counts in its visitor's `VisitorDO` (across switches, sessions and the end), the refused switch
 * and start, the alarm's fallback to the pipeline with reason `live_limit` and its retries, a new UTC day, and the
 * variable itself. Setup and helpers: mode-helpers.ts.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { ModeChangeResponse } from "../../contract/index.ts";
import { DAY_MS, utcDay } from "../../durable-objects/live-usage-store.ts";
import { LIVE_LIMIT_RETRY_MS } from "../../durable-objects/session-mode.ts";
import { ConfigError, readEdgeConfig } from "../../edge/config.ts";
import {
  call,
  dispatches,
  expectError,
  failLiveKit,
  ingest,
  lifecycle,
  liveKitCalls,
  newVisitor,
  openSocket,
  uniqueRoom,
} from "./helpers.ts";
import {
  activate,
  activeSession,
  LIMIT_MS,
  liveLeft,
  liveRow,
  postMode,
  relays,
  send,
  sessions,
  setLiveClocks,
  start,
  stopStarted,
  todayShare,
  transcript,
  useAllToday,
  visitorIdOf,
  visitors,
} from "./mode-helpers.ts";

afterEach(stopStarted);

describe("the live-minutes limit", () => {
  it("answers 429 live_limit_reached to a switch when the day's minutes are used, sending nothing", async () => {
    const { cookie, sessionId, room, owner } = await activeSession();
    await useAllToday(owner);
    const res = await postMode(cookie, sessionId, { mode: "live" });
    const retryAfter = Number(res.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    const body = await expectError(res, 429, "live_limit_reached");
    expect(body.error.message).toBe(
      "You have no live minutes left today; the conversation continues in standard mode.",
    );
    expect(await relays(room, sessionId)).toEqual([]);
    expect((await transcript(cookie, sessionId)).mode).toBe("pipeline");
  });

  it("refuses a start in live mode with 429 live_limit_reached before anything is reserved", async () => {
    const cookie = await newVisitor();
    await useAllToday(visitorIdOf(cookie));
    const room = uniqueRoom();
    const res = await send("/session", { cookie, body: JSON.stringify({ room, identity: "visitor", mode: "live" }) });
    const body = await expectError(res, 429, "live_limit_reached");
    expect(body.error.message).toContain("standard mode");
    expect(await liveKitCalls(room)).toEqual([]);
    expect(await env.ROOMS.get(env.ROOMS.idFromName(room)).activeSession(Date.now())).toBeNull();
    // The pipeline is still open to the visitor.
    expect((await start(cookie, "pipeline")).sessionId).toBeTruthy();
  });

  it("counts live time across switches and sessions of one visitor, and at the end of a session", async () => {
    const { cookie, sessionId, owner } = await activeSession("live");
    expect((await liveRow(sessionId)).live_since).not.toBeNull();
    await setLiveClocks(sessionId, 180_000, 420_000); // three minutes live since the start
    const firstShare = todayShare(180_000);
    expect((await postMode(cookie, sessionId, { mode: "pipeline" })).status).toBe(200);
    const afterFirst = await liveLeft(owner);
    expect(afterFirst).toBeLessThanOrEqual(LIMIT_MS - firstShare);
    expect(afterFirst).toBeGreaterThan(LIMIT_MS - firstShare - 10_000);

    // A second session of the same visitor gets what is left, and counts its own time when it ends.
    const second = await start(cookie, "live");
    await activate(second.sessionId, second.room, "AJ_mode_2");
    const state = ModeChangeResponse.parse(await (await postMode(cookie, second.sessionId, { mode: "live" })).json());
    expect(state.changed).toBe(false);
    expect(state.live_s_left).toBeLessThanOrEqual(Math.floor(afterFirst / 1000));
    expect(state.live_s_left).toBeGreaterThan(Math.floor(afterFirst / 1000) - 10);
    await setLiveClocks(second.sessionId, 60_000, 300_000);
    const secondShare = todayShare(60_000);
    expect((await call(`/session/${second.sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    const afterSecond = await liveLeft(owner);
    expect(afterSecond).toBeLessThanOrEqual(afterFirst - secondShare);
    expect(afterSecond).toBeGreaterThan(afterFirst - secondShare - 10_000);
    expect(await liveRow(second.sessionId)).toMatchObject({ mode: "live", live_since: null, live_until: null });
  });

  it("falls back to the pipeline with reason live_limit when the alarm finds the day's minutes used", async () => {
    const { cookie, sessionId, room, owner } = await activeSession("live");
    const socket = await openSocket(cookie, sessionId);
    await useAllToday(owner); // the day's allowance used (by this session, say), its deadline passed
    await setLiveClocks(sessionId, 1000, -1000);
    await runDurableObjectAlarm(sessions(sessionId));
    expect(await relays(room, sessionId)).toEqual([
      { session_id: sessionId, id: expect.any(String), mode: "pipeline", reason: "live_limit" },
    ]);
    const stored = await transcript(cookie, sessionId);
    expect(stored.mode).toBe("pipeline");
    const fallback = stored.events.find((e) => "type" in e && e.type === "mode");
    expect(fallback).toMatchObject({ type: "mode", mode: "pipeline", reason: "live_limit" });
    const live = await socket.waitFor(fallback!.seq);
    expect(live.find((m) => m.seq === fallback!.seq)).toEqual(fallback);
    expect(await liveLeft(owner)).toBe(0);
    expect(await liveRow(sessionId)).toEqual({ mode: "pipeline", live_since: null, live_until: null });
    await expectError(await postMode(cookie, sessionId, { mode: "live" }), 429, "live_limit_reached");
  });

  it("retries the fallback a few seconds later when the relay fails, or while the agent is being replaced", async () => {
    const { cookie, sessionId, room, owner } = await activeSession("live");
    await useAllToday(owner);
    await setLiveClocks(sessionId, 1000, -1000);
    await failLiveKit(room, "SendData", 1);
    const before = Date.now();
    await runDurableObjectAlarm(sessions(sessionId));
    const retry = await liveRow(sessionId);
    expect(retry.mode).toBe("live");
    expect(retry.live_until).toBeGreaterThanOrEqual(before + LIVE_LIMIT_RETRY_MS);
    expect(retry.live_until).toBeLessThanOrEqual(Date.now() + LIVE_LIMIT_RETRY_MS);
    expect((await transcript(cookie, sessionId)).events).toEqual([]);

    // The agent is lost meanwhile: the replacement is dispatched live, and the fallback waits for it.
    await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_mode" });
    expect((await transcript(cookie, sessionId)).status).toBe("reconnecting");
    expect((await dispatches(room)).at(-1)?.mode).toBe("live");
    await setLiveClocks(sessionId, 1000, -1000);
    const whileReplacing = Date.now();
    await runDurableObjectAlarm(sessions(sessionId));
    expect((await liveRow(sessionId)).live_until).toBeGreaterThanOrEqual(whileReplacing + LIVE_LIMIT_RETRY_MS);
    expect((await transcript(cookie, sessionId)).mode).toBe("live");

    // The replacement joins: the next try goes through.
    await activate(sessionId, room, "AJ_mode_replacement");
    await setLiveClocks(sessionId, 1000, -1000);
    await runDurableObjectAlarm(sessions(sessionId));
    expect((await transcript(cookie, sessionId)).mode).toBe("pipeline");
    expect((await relays(room, sessionId)).map((r) => `${r.mode}:${r.reason}`)).toEqual([
      "pipeline:live_limit", // the refused attempt (recorded by the fake)
      "pipeline:live_limit",
    ]);
  });

  it("keeps live mode on at the deadline when time is left after all, moving the deadline", async () => {
    const { cookie, sessionId, room, owner } = await activeSession("live");
    await setLiveClocks(sessionId, 60_000, -1000); // the deadline passed, but only a minute was used
    await runDurableObjectAlarm(sessions(sessionId));
    const row = await liveRow(sessionId);
    expect(row.mode).toBe("live");
    expect(row.live_until).toBeGreaterThan(Date.now() + LIMIT_MS - 70_000);
    expect(await relays(room, sessionId)).toEqual([]);
    expect(await liveLeft(owner)).toBeLessThanOrEqual(LIMIT_MS - todayShare(60_000));
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
  });

  it("renews the allowance each UTC day: yesterday's minutes do not count today, and a stretch over midnight is split", async () => {
    const cookie = await newVisitor();
    const owner = visitorIdOf(cookie);
    const midnight = utcDay(Date.now()) * DAY_MS;
    // Yesterday's whole allowance, and a stretch from a minute before midnight to a minute after.
    await visitors(owner).addLiveUsage(midnight - DAY_MS / 2, midnight - DAY_MS / 2 + LIMIT_MS, LIMIT_MS);
    expect(await visitors(owner).liveLeft(LIMIT_MS, midnight - 120_000)).toBe(0);
    expect(await visitors(owner).addLiveUsage(midnight - 60_000, midnight + 60_000, LIMIT_MS)).toBe(LIMIT_MS - 60_000);
    expect(await visitors(owner).liveLeft(LIMIT_MS, midnight - 1)).toBe(0);
    const { sessionId } = await start(cookie, "live");
    const row = await liveRow(sessionId);
    expect(row.live_until! - row.live_since!).toBe(LIMIT_MS - 60_000);
    // Days long past are forgotten.
    const stored = await runInDurableObject(visitors(owner), (_i, state) =>
      state.storage.sql.exec<{ day: number }>("SELECT day FROM live_usage ORDER BY day").toArray(),
    );
    expect(stored.map((r) => r.day)).toEqual([utcDay(midnight) - 1, utcDay(midnight)]);
    await visitors(owner).addLiveUsage(midnight + 5 * DAY_MS, midnight + 5 * DAY_MS + 1000, LIMIT_MS);
    const later = await runInDurableObject(visitors(owner), (_i, state) =>
      state.storage.sql.exec<{ day: number }>("SELECT day FROM live_usage ORDER BY day").toArray(),
    );
    expect(later.map((r) => r.day)).toEqual([utcDay(midnight) + 5]);
  });

  it("reads LIVE_MINUTES_PER_DAY: 1 to 1440, the contract's default when empty", () => {
    const read = (value: string) => readEdgeConfig({ ...env, LIVE_MINUTES_PER_DAY: value } as Env);
    expect(read("").liveMinutesPerDay).toBe(10);
    expect(read("1").liveMinutesPerDay).toBe(1);
    expect(read("1440").liveMinutesPerDay).toBe(1440);
    for (const bad of ["0", "1441", "2.5", "ten"]) {
      expect(() => read(bad)).toThrow(ConfigError);
      expect(() => read(bad)).toThrow(/LIVE_MINUTES_PER_DAY/);
    }
  });
});
