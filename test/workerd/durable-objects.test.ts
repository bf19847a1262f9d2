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
