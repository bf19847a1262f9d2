import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { finalEvent, ingest, lifecycle, newVisitor, openSocket, startSession, uniqueRoom } from "./helpers.ts";

describe("SessionDO hibernation", () => {
  it("keeps delivering to sockets accepted before the object was evicted, with seq continuing", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const socket = await openSocket(cookie, sessionId);
    await ingest(sessionId, [lifecycle("agent_joined"), finalEvent("before")]);
    await socket.waitFor(3);
    await evictDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName(sessionId)));
    await ingest(sessionId, [finalEvent("after")]);
    const got = await socket.waitFor(4);
    expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(got[3]).toMatchObject({ text: "after", final: true });
    socket.ws.close(1000);
  });
});

describe("stored state is checked when read", () => {
  it("a malformed session row or stored message is an error naming the column or the seq", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
    await runInDurableObject(stub, async (instance, state) => {
      state.storage.sql.exec(
        "INSERT INTO events (seq, kind, message) VALUES (99, 'transcript', ?)",
        '{"role":"robot"}',
      );
      await expect(instance.transcript()).rejects.toThrow(/stored message seq 99 does not match the contract/);
      state.storage.sql.exec("UPDATE session SET status = 'paused'");
      await expect(instance.info()).rejects.toThrow(/session row: column status/);
      // Put the row back so that the object's alarm finds a valid session.
      state.storage.sql.exec("UPDATE session SET status = 'starting'");
      state.storage.sql.exec("DELETE FROM events WHERE seq = 99");
    });
    expect(await stub.info()).toMatchObject({ session_id: sessionId, status: "starting" });
  });

  it("a malformed RoomDO or VisitorDO value is an error naming the key and the field", async () => {
    const room = env.ROOMS.get(env.ROOMS.idFromName(uniqueRoom()));
    await runInDurableObject(room, async (instance, state) => {
      await state.storage.put("room", { owner: 7, lastActiveAt: Date.now(), activeSession: null });
      await expect(instance.owner(Date.now())).rejects.toThrow(/stored "room" is malformed at owner/);
      await state.storage.deleteAll();
    });
    const visitor = env.VISITORS.get(env.VISITORS.idFromName(crypto.randomUUID()));
    await runInDurableObject(visitor, async (instance, state) => {
      await state.storage.put("active", { s1: "tomorrow" });
      await expect(instance.count(Date.now())).rejects.toThrow(/stored "active" is malformed at s1/);
      await state.storage.deleteAll();
    });
  });
});

describe("RoomDO", () => {
  it("releases an owner's claim after ROOM_CLAIM_TTL_S of idleness", async () => {
    const room = env.ROOMS.get(env.ROOMS.idFromName(uniqueRoom()));
    const now = Date.now();
    expect(await room.claim("owner", now)).toEqual({ ok: true });
    expect(await room.claim("other", now)).toEqual({ ok: false, reason: "forbidden" });
    const ttlMs = Number(env.ROOM_CLAIM_TTL_S) * 1000;
    expect(await room.claim("other", now + ttlMs + 1)).toEqual({ ok: true });
    expect(await room.owner(now + ttlMs + 1)).toBe("other");
  });

  it("holds one active session at a time, and forgets an idle room on its alarm", async () => {
    const room = env.ROOMS.get(env.ROOMS.idFromName(uniqueRoom()));
    const now = Date.now();
    expect(await room.beginSession("owner", "s1", now)).toEqual({ ok: true });
    expect(await room.beginSession("owner", "s2", now)).toEqual({ ok: false, reason: "busy", activeSessionId: "s1" });
    expect(await room.claim("other", now + 1000)).toEqual({ ok: false, reason: "forbidden" });
    await room.endSession("s1", now);
    expect(await room.activeSession(now)).toBeNull();
    await runInDurableObject(room, async (instance, state) => {
      await state.storage.put("room", { owner: "owner", lastActiveAt: 0, activeSession: null });
      await instance.alarm();
      expect(await state.storage.get("room")).toBeUndefined();
    });
  });
});

describe("VisitorDO", () => {
  it("caps reservations, frees them on release and lets expired ones lapse", async () => {
    const visitor = env.VISITORS.get(env.VISITORS.idFromName(crypto.randomUUID()));
    const now = Date.now();
    expect(await visitor.reserve("a", 2, now, now + 1000)).toBe(true);
    expect(await visitor.reserve("b", 2, now, now + 60_000)).toBe(true);
    expect(await visitor.reserve("c", 2, now, now + 60_000)).toBe(false);
    expect(await visitor.reserve("c", 2, now + 1001, now + 60_000)).toBe(true); // "a" lapsed
    await visitor.release("b");
    await visitor.release("b");
    expect(await visitor.count(now + 1001)).toBe(1);
  });
});
