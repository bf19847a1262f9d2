/**
 * A room a visitor joined without a session is deleted (docs/architecture.md, "Security model"): LiveKit's
 * `participant_joined` webhook for a visitor in a room with no active session arms the `RoomDO`'s alarm, which
 * calls `DeleteRoom` unless a session has begun within `SESSIONLESS_ROOM_GRACE_S`. The grace is given once per
 * minted token or started session: a later sessionless join is deleted at once. Agents' joins are ignored.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SESSIONLESS_ROOM_GRACE_S } from "../../durable-objects/room-do.ts";
import { waitFor } from "../support/wait.ts";
import { call, expectError, failLiveKit, liveKitCalls, newVisitor, sendWebhook, uniqueRoom } from "./helpers.ts";

const roomDo = (room: string) => env.ROOMS.get(env.ROOMS.idFromName(room));

async function deleteRoomCalls(room: string): Promise<number> {
  return (await liveKitCalls(room)).filter((c) => c.method === "DeleteRoom").length;
}

/** LiveKit's webhook for a participant joining `room` (a visitor unless `kind` says AGENT). */
function joined(room: string, identity = "visitor", kind?: "AGENT") {
  const participant = { sid: `PA_${crypto.randomUUID().slice(0, 8)}`, identity, ...(kind ? { kind } : {}) };
  return sendWebhook({ event: "participant_joined", room: { name: room, sid: "RM_1" }, participant });
}

/** A visitor with a token for a fresh room (`prefix` chooses the fake LiveKit's behaviour). */
async function visitorWithToken(prefix = "room") {
  const cookie = await newVisitor();
  const room = uniqueRoom(prefix);
  expect((await call(`/token?room=${room}&identity=visitor`, { cookie })).status).toBe(200);
  return { cookie, room };
}

function postSession(cookie: string, room: string) {
  return call("/session", {
    method: "POST",
    cookie,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ room, identity: "visitor" }),
  });
}

/** Moves the room's pending deletion into the past, as if the grace had run out. */
async function graceOver(room: string): Promise<void> {
  await runInDurableObject(roomDo(room), async (_instance, state) => {
    const pending = await state.storage.get<{ deleteAt: number }>("sessionless");
    expect(pending, "a deletion is pending").toBeDefined();
    await state.storage.put("sessionless", { ...pending, deleteAt: Date.now() - 1 });
  });
}

describe("a room joined without a session", () => {
  it("is deleted when no session has begun within the grace, and at once when joined again", async () => {
    const { room } = await visitorWithToken();
    expect((await joined(room)).status).toBe(200);
    // Armed, but not due: the page starts its session in parallel with its join.
    expect(await runDurableObjectAlarm(roomDo(room))).toBe(true);
    expect(await deleteRoomCalls(room)).toBe(0);
    const pending = await runInDurableObject(roomDo(room), (_i, state) =>
      state.storage.get<{ deleteAt: number }>("sessionless"),
    );
    expect(pending!.deleteAt - Date.now()).toBeGreaterThan((SESSIONLESS_ROOM_GRACE_S - 10) * 1000);

    await graceOver(room);
    await runDurableObjectAlarm(roomDo(room));
    expect(await deleteRoomCalls(room)).toBe(1);

    // A refreshed token rejoining the recreated room buys no second grace: its alarm is due at once (and
    // workerd may run it by itself before the test does).
    await joined(room);
    await runDurableObjectAlarm(roomDo(room));
    await waitFor("the second DeleteRoom", async () => (await deleteRoomCalls(room)) === 2, { timeoutMs: 5000 });
  });

  it("is kept when the visitor's session begins within the grace", async () => {
    const { cookie, room } = await visitorWithToken();
    await joined(room);
    const pending = () => runInDurableObject(roomDo(room), (_i, state) => state.storage.get("sessionless"));
    expect(await pending(), "a deletion is pending").toBeDefined();
    expect((await postSession(cookie, room)).status).toBe(201);
    expect(await pending()).toBeUndefined();
    await runDurableObjectAlarm(roomDo(room));
    expect(await deleteRoomCalls(room)).toBe(0);
  });

  it("refuses a session once the room's deletion is due (409 room_closing)", async () => {
    const { cookie, room } = await visitorWithToken();
    await joined(room);
    await graceOver(room);
    await expectError(await postSession(cookie, room), 409, "room_closing");
    await runDurableObjectAlarm(roomDo(room));
    expect(await deleteRoomCalls(room)).toBe(1);
    // Deleted: the visitor may start again in that room; a new token buys a new grace.
    expect((await postSession(cookie, room)).status).toBe(201);
  });

  it("gets a new grace with a new token, and none without a token's claim", async () => {
    const { cookie, room } = await visitorWithToken();
    await joined(room);
    await graceOver(room);
    await runDurableObjectAlarm(roomDo(room));
    expect(await call(`/token?room=${room}&identity=visitor`, { cookie }).then((r) => r.status)).toBe(200);
    await joined(room);
    await runDurableObjectAlarm(roomDo(room));
    expect(await deleteRoomCalls(room)).toBe(1); // the new grace is running

    // A room nobody holds a claim on (no token minted for it, or the claim lapsed): deleted at once.
    const unclaimed = uniqueRoom();
    await joined(unclaimed);
    await runDurableObjectAlarm(roomDo(unclaimed));
    await waitFor("DeleteRoom of the unclaimed room", async () => (await deleteRoomCalls(unclaimed)) === 1, {
      timeoutMs: 5000,
    });
  });

  it("is deleted after a session start that reserved it was rolled back", async () => {
    // LiveKit refuses the dispatch of rooms named refuse-…: the start fails after the room step.
    const { cookie, room } = await visitorWithToken("refuse");
    await joined(room);
    await expectError(await postSession(cookie, room), 502, "dispatch_failed");
    await graceOver(room);
    await runDurableObjectAlarm(roomDo(room));
    expect(await deleteRoomCalls(room)).toBe(1);
  });

  it("ignores agents joining, and retries a failed DeleteRoom", async () => {
    const { room } = await visitorWithToken();
    await joined(room, "agent-AJ_1", "AGENT");
    await runInDurableObject(roomDo(room), async (_i, state) => {
      expect(await state.storage.get("sessionless")).toBeUndefined();
    });

    await failLiveKit(room, "DeleteRoom", 1);
    await joined(room);
    await graceOver(room);
    await runDurableObjectAlarm(roomDo(room));
    expect(await deleteRoomCalls(room)).toBe(1); // failed: retried later
    await graceOver(room);
    await runDurableObjectAlarm(roomDo(room));
    expect(await deleteRoomCalls(room)).toBe(2);
    await runInDurableObject(roomDo(room), async (_i, state) => {
      expect(await state.storage.get("sessionless")).toBeUndefined();
    });
  });
});
