/**
 * The visitor's join bound (`CLIENT_JOIN_TIMEOUT_S`, durable-objects/session-presence.ts): a session whose
 * visitor never joins its LiveKit room ends with `no_visitor` and its room is deleted, so that a script that
 * starts sessions without joining holds an agent for seconds; a visitor seen by webhook, or only by
 * `ListParticipants` when the webhook was lost or came before the session, keeps the session; a LiveKit that
 * cannot be asked is asked again a bounded number of times, then the session ends. The alarm runs for real
 * (`runDurableObjectAlarm`) after the row's clock is moved back, as in alarms.test.ts.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TranscriptResponse } from "../../contract/index.ts";
import { totalCapStub } from "../../durable-objects/session-cap-do.ts";
import { dueAction, VISITOR_CHECK_ATTEMPTS, VISITOR_CHECK_RETRY_MS } from "../../durable-objects/session-deadlines.ts";
import { SessionStore } from "../../durable-objects/session-store.ts";
import {
  call,
  failLiveKit,
  ingest,
  lifecycle,
  liveKitCalls,
  newVisitor,
  openSocket,
  sendWebhook,
  setParticipants,
  startSession,
} from "./helpers.ts";

const JOIN_S = Number(env.CLIENT_JOIN_TIMEOUT_S);
const stub = (sessionId: string) => env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));

async function transcript(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

/** Whether the deployment-wide `SessionCapDO` holds a slot for `sessionId`. */
async function holdsTotalSlot(sessionId: string): Promise<boolean> {
  return runInDurableObject(totalCapStub(env), (_instance, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'reservations'").toArray().length === 0) return false;
    return sql.exec("SELECT 1 FROM reservations WHERE id = ?", sessionId).toArray().length > 0;
  });
}

async function callsOf(room: string, method: string) {
  return (await liveKitCalls(room)).filter((c) => c.method === method).length;
}

/** Moves the session's start `ms` milliseconds into the past, as if that much time had passed. */
async function age(sessionId: string, ms: number) {
  await runInDurableObject(stub(sessionId), (_instance, state) => {
    state.storage.sql.exec("UPDATE session SET started_at = started_at - ?", ms);
  });
}

/** A session whose agent joined (`active`), with its socket open: what a script's session looks like. */
async function activeSession() {
  const cookie = await newVisitor();
  const { room, sessionId } = await startSession(cookie);
  const socket = await openSocket(cookie, sessionId);
  expect((await ingest(sessionId, [lifecycle("agent_joined")])).status).toBe(200);
  await socket.waitFor(2);
  return { cookie, room, sessionId, socket };
}

describe("the visitor's join bound", () => {
  it("is 15 s by default and read from CLIENT_JOIN_TIMEOUT_S", () => {
    expect(JOIN_S).toBe(15);
  });

  it("ends a session whose visitor never joined the room with no_visitor, deletes the room and frees its slots", async () => {
    const { cookie, room, sessionId, socket } = await activeSession();
    expect(await holdsTotalSlot(sessionId)).toBe(true);
    await age(sessionId, (JOIN_S - 2) * 1000);
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("active"); // not yet
    await age(sessionId, 3000);
    await runDurableObjectAlarm(stub(sessionId));
    expect(await callsOf(room, "ListParticipants")).toBe(1);
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "no_visitor" });
    expect(socket.messages.at(-1)).toMatchObject({ type: "session", status: "ended", reason: "no_visitor" });
    expect(await callsOf(room, "DeleteRoom")).toBe(1);
    expect(await holdsTotalSlot(sessionId)).toBe(false);
  });

  it("keeps a session whose visitor's participant_joined webhook arrived, without asking LiveKit", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await sendWebhook({
      event: "participant_joined",
      room: { name: room, sid: "RM_1" },
      participant: { sid: "PA_visitor", identity: "visitor" },
    });
    await age(sessionId, (JOIN_S + 1) * 1000);
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    expect(await callsOf(room, "ListParticipants")).toBe(0);
  });

  it("keeps a session whose visitor LiveKit lists although the webhook was lost or came before the session", async () => {
    const { cookie, room, sessionId } = await activeSession();
    // The page joins while the session is created: its participant_joined predates the session and is ignored.
    const before = String(Math.floor(Date.now() / 1000) - 5);
    const participant = { sid: "PA_visitor", identity: "visitor" };
    await sendWebhook({ event: "participant_joined", room: { name: room }, participant, createdAt: before });
    await setParticipants(room, [
      { sid: "PA_agent", identity: "agent-AJ_1", kind: "AGENT" },
      { sid: "PA_visitor", identity: "visitor", kind: "STANDARD" },
    ]);
    await age(sessionId, (JOIN_S + 1) * 1000);
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    expect(await callsOf(room, "ListParticipants")).toBe(1);
    // The visitor is known now: a later alarm asks nothing, and its departure starts the grace period as usual.
    await runDurableObjectAlarm(stub(sessionId));
    expect(await callsOf(room, "ListParticipants")).toBe(1);
    await sendWebhook({ event: "participant_left", room: { name: room }, participant });
    const row = await runInDurableObject(stub(sessionId), (_i, state) => new SessionStore(state.storage.sql).row());
    expect(row).toMatchObject({ visitor_sid: "PA_visitor", status: "active" });
    expect(row!.visitor_left_at).not.toBeNull();
  });

  it("does not count an agent, or another identity, as the visitor", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await setParticipants(room, [
      { sid: "PA_agent", identity: "visitor", kind: "AGENT" },
      { sid: "PA_other", identity: "someone-else", kind: "STANDARD" },
    ]);
    await age(sessionId, (JOIN_S + 1) * 1000);
    await runDurableObjectAlarm(stub(sessionId));
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "no_visitor" });
  });

  it("asks an unreachable LiveKit again, then keeps the session when the visitor is listed", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await failLiveKit(room, "ListParticipants", VISITOR_CHECK_ATTEMPTS - 1);
    await setParticipants(room, [{ sid: "PA_visitor", identity: "visitor", kind: "STANDARD" }]);
    await age(sessionId, (JOIN_S + 1) * 1000);
    for (let attempt = 1; attempt < VISITOR_CHECK_ATTEMPTS; attempt++) {
      await runDurableObjectAlarm(stub(sessionId));
      expect(await callsOf(room, "ListParticipants")).toBe(attempt);
      expect((await transcript(cookie, sessionId)).status).toBe("active");
      await age(sessionId, VISITOR_CHECK_RETRY_MS);
    }
    await runDurableObjectAlarm(stub(sessionId));
    expect(await callsOf(room, "ListParticipants")).toBe(VISITOR_CHECK_ATTEMPTS);
    expect((await transcript(cookie, sessionId)).status).toBe("active");
  });

  it(`ends the session with no_visitor when LiveKit cannot be asked ${VISITOR_CHECK_ATTEMPTS} times`, async () => {
    const { cookie, room, sessionId } = await activeSession();
    await failLiveKit(room, "ListParticipants", VISITOR_CHECK_ATTEMPTS);
    await age(sessionId, (JOIN_S + 1) * 1000);
    for (let attempt = 1; attempt <= VISITOR_CHECK_ATTEMPTS; attempt++) {
      // An alarm before the retry is due asks nothing.
      await runDurableObjectAlarm(stub(sessionId));
      expect(await callsOf(room, "ListParticipants")).toBe(attempt);
      await runInDurableObject(stub(sessionId), (instance) => instance.alarm());
      expect(await callsOf(room, "ListParticipants")).toBe(attempt);
      if (attempt < VISITOR_CHECK_ATTEMPTS) {
        expect((await transcript(cookie, sessionId)).status).toBe("active");
        await age(sessionId, VISITOR_CHECK_RETRY_MS);
      }
    }
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "no_visitor" });
    expect(await callsOf(room, "DeleteRoom")).toBe(1);
  });
});

describe("deadline order (session-deadlines.ts)", () => {
  it("lets a due end with a more telling reason win over the visitor check", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const row = (await runInDurableObject(stub(sessionId), (_i, state) => new SessionStore(state.storage.sql).row()))!;
    const now = row.started_at;
    expect(dueAction(row, now + (JOIN_S - 1) * 1000)).toBeNull();
    expect(dueAction(row, now + JOIN_S * 1000)).toEqual({ kind: "check_visitor" });
    expect(dueAction(row, now + row.join_timeout_s * 1000)).toEqual({ kind: "end", reason: "agent_unavailable" });
    const active = { ...row, status: "active" as const, agent_seen_at: now + row.max_s * 1000 };
    expect(dueAction(active, now + row.max_s * 1000)).toEqual({ kind: "end", reason: "timeout" });
    // Once the visitor is known, or has been seen leaving, the bound no longer applies.
    expect(dueAction({ ...active, visitor_sid: "PA_v" }, now + JOIN_S * 1000)).toBeNull();
    expect(dueAction({ ...active, visitor_left_at: now + 1 }, now + JOIN_S * 1000)).toBeNull();
    // A session stored by a version without the bound keeps running as it did.
    expect(dueAction({ ...active, visitor_join_s: null }, now + JOIN_S * 1000)).toBeNull();
    await stub(sessionId).stop("stopped");
  });
});
