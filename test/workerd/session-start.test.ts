/**
 * The session-start service (worker/session-start.ts): its named steps and its rollback, against real
 * Durable Objects in workerd and the fake LiveKit (fake-livekit.ts). The route's behaviour as the page
 * sees it is in session.test.ts.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createLogger, type Logger } from "../../contract/log.ts";
import { ipCapId, ipCapStub, totalCapStub } from "../../durable-objects/session-cap-do.ts";
import { SessionStore } from "../../durable-objects/session-store.ts";
import { readEdgeConfig } from "../../edge/config.ts";
import { clientIpKey } from "../../worker/client-ip.ts";
import { HttpError } from "../../worker/errors.ts";
import {
  checkPolicy,
  reserveIpSlot,
  reserveRoom,
  reserveTotalSlot,
  reserveVisitorSlot,
  Rollback,
  runSessionStart,
  type SessionStartDeps,
  type StartingSession,
} from "../../worker/session-start.ts";
import { randomIp, uniqueRoom } from "./helpers.ts";

const roomStub = (room: string) => env.ROOMS.get(env.ROOMS.idFromName(room));
const visitorStub = (visitorId: string) => env.VISITORS.get(env.VISITORS.idFromName(visitorId));
const sessionStub = (sessionId: string) => env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));

/** A logger that keeps its lines (parsed) for assertions. */
function recordingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ component: "test", write: (line) => lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** The service's dependencies with the test configuration, optionally changed, and a recording logger. */
function deps(overrides: Partial<ReturnType<typeof readEdgeConfig>> = {}) {
  const { log, lines } = recordingLogger();
  const value: SessionStartDeps = { env, config: { ...readEdgeConfig(env), ...overrides }, log };
  return { deps: value, lines };
}

/** A session about to start for a fresh visitor in a fresh room. */
function starting(room = uniqueRoom()): StartingSession {
  return {
    sessionId: crypto.randomUUID(),
    room,
    identity: "visitor",
    visitorId: crypto.randomUUID(),
    clientIpKey: clientIpKey(randomIp()),
    profile: "assistant",
    mode: "pipeline",
    nowMs: Date.now(),
  };
}

/** A fresh caller (visitor id and client IP), so that rate limits of one test do not touch another. */
const caller = () => ({ visitorId: crypto.randomUUID(), clientIp: randomIp() });

/** Asserts that `promise` rejects with an HttpError of `status` and `code`, and returns it. */
async function expectHttpError(promise: Promise<unknown>, status: number, code: string): Promise<HttpError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  expect({ status: (err as HttpError).status, code: (err as HttpError).code }).toEqual({ status, code });
  return err as HttpError;
}

/** Whether the deployment-wide `SessionCapDO` holds a slot for `sessionId`. */
async function holdsTotalSlot(sessionId: string): Promise<boolean> {
  return runInDurableObject(totalCapStub(env), (_instance, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'reservations'").toArray().length === 0) return false;
    return sql.exec("SELECT 1 FROM reservations WHERE id = ?", sessionId).toArray().length > 0;
  });
}

/** The session's stored row (durable-objects/session-store.ts). */
async function sessionRow(sessionId: string) {
  return runInDurableObject(sessionStub(sessionId), (_instance, state) => new SessionStore(state.storage.sql).row());
}

/** What storage the session's object holds: its `session` table rows (0 when absent) and its alarm. */
async function sessionStorage(sessionId: string) {
  return runInDurableObject(sessionStub(sessionId), async (_instance, state) => {
    const tables = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'session'");
    const rows = tables.toArray().length
      ? Number(state.storage.sql.exec("SELECT COUNT(*) AS n FROM session").one().n)
      : 0;
    return { rows, alarm: await state.storage.getAlarm() };
  });
}

describe("Rollback", () => {
  it("runs the undos last first; a failing undo is logged and the others still run", async () => {
    const { log, lines } = recordingLogger();
    const rollback = new Rollback(log);
    const ran: string[] = [];
    rollback.register("first", async () => void ran.push("first"));
    rollback.register("second", async () => {
      ran.push("second");
      throw new Error("storage unavailable");
    });
    rollback.register("third", async () => void ran.push("third"));
    expect(rollback.steps).toEqual(["first", "second", "third"]);
    await rollback.run();
    expect(ran).toEqual(["third", "second", "first"]);
    expect(lines.find((l) => l.msg === "session_start_undo_failed")).toMatchObject({
      level: "error",
      step: "second",
      error: "Error: storage unavailable",
    });
    // Each undo runs once: the list is empty afterwards.
    await rollback.run();
    expect(ran).toHaveLength(3);
    expect(rollback.steps).toEqual([]);
  });
});

describe("session-start steps", () => {
  it("checkPolicy refuses a system_prompt unless the deployment allows it", () => {
    const body = { room: "r", identity: "v", system_prompt: "Be a pirate." };
    const refused = () => checkPolicy({ ...readEdgeConfig(env), allowClientSystemPrompt: false }, body);
    expect(refused).toThrow(HttpError);
    expect(refused).toThrow("This deployment does not accept a system_prompt.");
    expect(() => checkPolicy({ ...readEdgeConfig(env), allowClientSystemPrompt: true }, body)).not.toThrow();
    expect(() => checkPolicy(readEdgeConfig(env), { room: "r", identity: "v" })).not.toThrow();
  });

  it("reserveRoom makes the session the room's active one and registers its undo", async () => {
    const { deps: d } = deps();
    const session = starting();
    const rollback = new Rollback(d.log!);
    await reserveRoom(d, session, rollback);
    expect(await roomStub(session.room).activeSession(Date.now())).toBe(session.sessionId);
    expect(await roomStub(session.room).owner(Date.now())).toBe(session.visitorId);
    expect(rollback.steps).toEqual(["room_reservation"]);
    await rollback.run();
    expect(await roomStub(session.room).activeSession(Date.now())).toBeNull();
  });

  it("reserveRoom clears a stale session the room still lists, and refuses a live one with 409", async () => {
    const { deps: d, lines } = deps();
    const first = starting();
    // The room lists a session whose object holds nothing: its end never reached the room.
    expect(await roomStub(first.room).beginSession(first.visitorId, first.sessionId, first.nowMs)).toEqual({
      ok: true,
    });
    const second = { ...starting(first.room), visitorId: first.visitorId };
    const rollback = new Rollback(d.log!);
    await reserveRoom(d, second, rollback);
    expect(await roomStub(first.room).activeSession(Date.now())).toBe(second.sessionId);
    expect(lines.find((l) => l.msg === "room_stale_session_cleared")).toMatchObject({ session_id: first.sessionId });

    // A session that is still running keeps the room.
    await sessionStub(second.sessionId).create({
      session_id: second.sessionId,
      room: second.room,
      identity: second.identity,
      owner: second.visitorId,
    });
    const third = { ...starting(first.room), visitorId: first.visitorId };
    const refused = new Rollback(d.log!);
    await expectHttpError(reserveRoom(d, third, refused), 409, "session_active");
    expect(refused.steps).toEqual([]);
    expect(await roomStub(first.room).activeSession(Date.now())).toBe(second.sessionId);
    await sessionStub(second.sessionId).stop("stopped");
  });

  it("reserveRoom refuses another visitor's room with 403 and reserves nothing", async () => {
    const { deps: d } = deps();
    const owner = starting();
    await roomStub(owner.room).claim(owner.visitorId, owner.nowMs);
    const other = starting(owner.room);
    const rollback = new Rollback(d.log!);
    await expectHttpError(reserveRoom(d, other, rollback), 403, "room_forbidden");
    expect(rollback.steps).toEqual([]);
    expect(await roomStub(owner.room).activeSession(Date.now())).toBeNull();
  });

  it("reserveVisitorSlot refuses past the cap with 429 and Retry-After 30, and its undo frees the slot", async () => {
    const { deps: d } = deps({ maxActiveSessionsPerVisitor: 1 });
    const first = starting();
    const rollback = new Rollback(d.log!);
    await reserveVisitorSlot(d, first, rollback);
    expect(await visitorStub(first.visitorId).count(Date.now())).toBe(1);
    const second = { ...starting(), visitorId: first.visitorId };
    const refused = new Rollback(d.log!);
    const err = await expectHttpError(reserveVisitorSlot(d, second, refused), 429, "too_many_sessions");
    expect(err.headers).toEqual({ "Retry-After": "30" });
    expect(refused.steps).toEqual([]);
    await rollback.run();
    expect(await visitorStub(first.visitorId).count(Date.now())).toBe(0);
  });

  it("reserveIpSlot refuses past the address's cap with 429 and Retry-After 30, and its undo frees the slot", async () => {
    const { deps: d } = deps({ maxSessionsPerIp: 2 });
    const first = starting();
    const rollback = new Rollback(d.log!);
    await reserveIpSlot(d, first, rollback);
    // Another visitor (a dropped cookie) from the same address shares the address's slots.
    await reserveIpSlot(d, { ...starting(), clientIpKey: first.clientIpKey }, rollback);
    expect(rollback.steps).toEqual(["ip_slot", "ip_slot"]);
    expect(await ipCapStub(env, first.clientIpKey).count(Date.now())).toBe(2);
    const third = { ...starting(), clientIpKey: first.clientIpKey };
    const refused = new Rollback(d.log!);
    const err = await expectHttpError(reserveIpSlot(d, third, refused), 429, "too_many_sessions_from_ip");
    expect(err.headers).toEqual({ "Retry-After": "30" });
    expect(refused.steps).toEqual([]);
    await reserveIpSlot(d, starting(), new Rollback(d.log!)); // another address is not affected
    await rollback.run();
    expect(await ipCapStub(env, first.clientIpKey).count(Date.now())).toBe(0);
  });

  it("reserveTotalSlot refuses past the deployment's cap with 429 service_at_capacity, and its undo frees the slot", async () => {
    const held = await totalCapStub(env).count(Date.now());
    const { deps: d } = deps({ maxSessionsTotal: held + 1 });
    const first = starting();
    const rollback = new Rollback(d.log!);
    await reserveTotalSlot(d, first, rollback);
    expect(rollback.steps).toEqual(["total_slot"]);
    expect(await holdsTotalSlot(first.sessionId)).toBe(true);
    const err = await expectHttpError(
      reserveTotalSlot(d, starting(), new Rollback(d.log!)),
      429,
      "service_at_capacity",
    );
    expect(err.headers).toEqual({ "Retry-After": "30" });
    await rollback.run();
    expect(await holdsTotalSlot(first.sessionId)).toBe(false);
  });
});

describe("runSessionStart", () => {
  it("starts a session: room reserved, visitor slot taken, object starting, agent dispatched", async () => {
    const { deps: d, lines } = deps();
    const who = caller();
    const room = uniqueRoom();
    const { session_id } = await runSessionStart(d, { room, identity: "visitor" }, who);
    expect(await roomStub(room).activeSession(Date.now())).toBe(session_id);
    expect(await visitorStub(who.visitorId).count(Date.now())).toBe(1);
    expect(await sessionStub(session_id).info()).toMatchObject({
      session_id,
      room,
      identity: "visitor",
      owner: who.visitorId,
      status: "starting",
      reason: null,
      ended_at: null,
    });
    expect(lines.map((l) => l.msg)).toEqual(["session_started"]);
    // The address's and the deployment's slots are held; the row keeps the slot's object id, never the address.
    const ipKey = clientIpKey(who.clientIp);
    expect(await ipCapStub(env, ipKey).count(Date.now())).toBe(1);
    expect(await holdsTotalSlot(session_id)).toBe(true);
    const row = await sessionRow(session_id);
    expect(row).toMatchObject({ ip_slot: ipCapId(env, ipKey).toString(), visitor_join_s: 15 });
    expect(JSON.stringify(row)).not.toContain(who.clientIp);
    // The end releases every slot, and the row forgets which object held the address's.
    await sessionStub(session_id).stop("stopped");
    expect(await visitorStub(who.visitorId).count(Date.now())).toBe(0);
    expect(await ipCapStub(env, ipKey).count(Date.now())).toBe(0);
    expect(await holdsTotalSlot(session_id)).toBe(false);
    expect((await sessionRow(session_id))!.ip_slot).toBeNull();
  });

  it("releases the room reservation when the visitor is at the cap", async () => {
    const { deps: d, lines } = deps({ maxActiveSessionsPerVisitor: 1 });
    const who = caller();
    const now = Date.now();
    await visitorStub(who.visitorId).reserve("an-earlier-session", 1, now, now + 60_000);
    const room = uniqueRoom();
    await expectHttpError(runSessionStart(d, { room, identity: "visitor" }, who), 429, "too_many_sessions");
    expect(await roomStub(room).activeSession(Date.now())).toBeNull();
    expect(await visitorStub(who.visitorId).count(Date.now())).toBe(1);
    expect(lines.find((l) => l.msg === "session_start_rolled_back")).toMatchObject({ steps: "room_reservation" });
  });

  it.each([
    ["LiveKit refuses", "refuse"],
    ["LiveKit is unreachable", "down"],
  ])(
    "leaves no room reservation, visitor, address or total slot, or session storage when %s (502)",
    async (_, prefix) => {
      const { deps: d, lines } = deps();
      const who = caller();
      const room = uniqueRoom(prefix);
      await expectHttpError(runSessionStart(d, { room, identity: "visitor" }, who), 502, "dispatch_failed");
      const failed = lines.find((l) => l.msg === "dispatch_failed");
      expect(failed).toMatchObject({ level: "warn", room });
      const sessionId = String(failed!.session_id);
      expect(lines.find((l) => l.msg === "session_start_rolled_back")).toMatchObject({
        steps: "room_reservation,visitor_slot,ip_slot,total_slot,session_object",
      });
      expect(await roomStub(room).activeSession(Date.now())).toBeNull();
      expect(await visitorStub(who.visitorId).count(Date.now())).toBe(0);
      expect(await ipCapStub(env, clientIpKey(who.clientIp)).count(Date.now())).toBe(0);
      expect(await holdsTotalSlot(sessionId)).toBe(false);
      expect(await sessionStub(sessionId).info()).toBeNull();
      expect(await sessionStorage(sessionId)).toEqual({ rows: 0, alarm: null });
    },
  );

  it("refuses a system_prompt the deployment does not allow before reserving anything", async () => {
    const { deps: d } = deps({ allowClientSystemPrompt: false });
    const who = caller();
    const body = { room: uniqueRoom(), identity: "visitor", system_prompt: "Be a pirate." };
    await expectHttpError(runSessionStart(d, body, who), 403, "system_prompt_not_allowed");
    expect(await roomStub(body.room).activeSession(Date.now())).toBeNull();
    expect(await visitorStub(who.visitorId).count(Date.now())).toBe(0);
  });
});
