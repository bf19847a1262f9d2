/**
 * The session lifecycle under faults, in real workerd with real Durable Object storage (LiveKit's HTTP API
 * faked at the fetch level, fake-livekit.ts): the closing window after the end, one replacement agent when
 * the first is lost, presence from webhooks (sids and event times), DeleteRoom retries, and rows stored by an
 * older version. See docs/architecture.md, "Session lifecycle".
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DispatchMetadata, TranscriptResponse } from "../../contract/index.ts";
import { SessionStore } from "../../durable-objects/session-store.ts";
import {
  call,
  expectError,
  failLiveKit,
  finalEvent,
  ingest,
  lifecycle,
  liveKitCalls,
  newVisitor,
  openSocket,
  sendWebhook,
  startSession,
  writeFirstReleaseSession,
} from "./helpers.ts";

const stub = (sessionId: string) => env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));

async function transcript(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

async function callsOf(room: string, method: string) {
  return (await liveKitCalls(room)).filter((c) => c.method === method);
}

/** Sets some of the session row's columns (epoch ms columns as "seconds ago"). */
async function backdate(sessionId: string, columns: Record<string, number>) {
  const now = Date.now();
  await runInDurableObject(stub(sessionId), (_instance, state) => {
    for (const [column, secondsAgo] of Object.entries(columns)) {
      state.storage.sql.exec(`UPDATE session SET ${column} = ?`, now - secondsAgo * 1000);
    }
  });
}

/** A session with its socket open and agent job `AJ_first` joined (state `active`). */
async function activeSession() {
  const cookie = await newVisitor();
  const { room, sessionId } = await startSession(cookie);
  const socket = await openSocket(cookie, sessionId);
  expect((await ingest(sessionId, [lifecycle("agent_joined")], { jobId: "AJ_first" })).status).toBe(200);
  await socket.waitFor(2);
  return { cookie, room, sessionId, socket };
}

describe("closing window", () => {
  it("stores and broadcasts the agent's last words after Stop, until its agent_left closes the sockets", async () => {
    const { cookie, sessionId, socket } = await activeSession();
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    await socket.waitFor(3);
    expect(socket.messages.at(-1)).toMatchObject({ type: "session", status: "ended", reason: "stopped" });
    // The interrupted reply arrives after the end: stored, sent, and the socket is still open.
    const late = finalEvent("I was saying that", "agent");
    expect((await ingest(sessionId, [late], { jobId: "AJ_first" })).status).toBe(200);
    await socket.waitFor(4);
    expect(socket.messages.at(-1)).toMatchObject({ role: "agent", text: "I was saying that", final: true });
    expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_first" })).status).toBe(200);
    expect((await socket.closed).code).toBe(1000);
    const t = await transcript(cookie, sessionId);
    expect(t).toMatchObject({ status: "ended", reason: "stopped" });
    expect(t.events.map((e) => ("text" in e ? e.text : "event" in e ? e.event : e.type))).toEqual([
      "I was saying that",
    ]);
    await expectError(await ingest(sessionId, [finalEvent("too late")], { jobId: "AJ_first" }), 409, "session_ended");
  });

  it("refuses another job's events during the window, and closes when the window's time is up", async () => {
    const { cookie, sessionId, socket } = await activeSession();
    await call(`/session/${sessionId}`, { method: "DELETE", cookie });
    await expectError(await ingest(sessionId, [finalEvent("hi")], { jobId: "AJ_other" }), 409, "session_ended");
    expect(await runDurableObjectAlarm(stub(sessionId))).toBe(true); // early: the window is still open
    await backdate(sessionId, { closing_until: 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect((await socket.closed).code).toBe(1000);
    await expectError(await ingest(sessionId, [finalEvent("late")], { jobId: "AJ_first" }), 409, "session_ended");
  });

  it("is not opened when no agent ever joined: the sockets close at the end", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const socket = await openSocket(cookie, sessionId);
    await call(`/session/${sessionId}`, { method: "DELETE", cookie });
    expect((await socket.closed).code).toBe(1000);
    await expectError(await ingest(sessionId, [finalEvent("hi")]), 409, "session_ended");
  });
});

describe("a lost agent", () => {
  it("is replaced once by an agent that gets the stored finals, and the replaced job is refused", async () => {
    const { cookie, room, sessionId, socket } = await activeSession();
    await ingest(sessionId, [finalEvent("my name is Ada"), finalEvent("hello Ada", "agent")], { jobId: "AJ_first" });
    expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_first" })).status).toBe(200);
    expect((await transcript(cookie, sessionId)).status).toBe("reconnecting");
    const dispatches = await callsOf(room, "CreateDispatch");
    expect(dispatches).toHaveLength(2);
    const metadata = DispatchMetadata.parse(JSON.parse(String(dispatches[1]!.body.metadata)));
    expect(metadata).toEqual({
      session_id: sessionId,
      profile: "assistant",
      history: [
        { role: "user", text: "my name is Ada" },
        { role: "agent", text: "hello Ada" },
      ],
    });
    // The lost job comes back: it is told it was replaced.
    await expectError(
      await ingest(sessionId, [lifecycle("agent_heartbeat")], { jobId: "AJ_first" }),
      409,
      "agent_replaced",
    );
    expect((await ingest(sessionId, [lifecycle("agent_joined")], { jobId: "AJ_second" })).status).toBe(200);
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    const states = socket.messages.filter((m) => "type" in m).map((m) => ("status" in m ? m.status : ""));
    expect(states).toEqual(["starting", "active", "reconnecting", "active"]);
    // A second loss ends the conversation: one replacement per session.
    await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_second" });
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "agent_lost" });
    expect(await callsOf(room, "CreateDispatch")).toHaveLength(2);
    // Seq numbers on the socket have no gaps.
    await socket.closed;
    expect(socket.messages.map((m) => m.seq)).toEqual(socket.messages.map((_, i) => i + 1));
  });

  it("is noticed from LiveKit's participant_left webhook for the agent's sid", async () => {
    const { cookie, room, sessionId } = await activeSession();
    const agent = { sid: "PA_agent1", identity: "agent-AJ_first", kind: "AGENT" };
    await sendWebhook({ event: "participant_joined", room: { name: room, sid: "RM_1" }, participant: agent });
    // Another agent's departure (not this session's current one) changes nothing.
    await sendWebhook({
      event: "participant_left",
      room: { name: room, sid: "RM_1" },
      participant: { ...agent, sid: "PA_someone_else" },
    });
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    await sendWebhook({ event: "participant_left", room: { name: room, sid: "RM_1" }, participant: agent });
    expect((await transcript(cookie, sessionId)).status).toBe("reconnecting");
    expect(await callsOf(room, "CreateDispatch")).toHaveLength(2);
  });

  it("is not replaced when it left at its own limits: the session ends with timeout", async () => {
    const { cookie, room, sessionId } = await activeSession();
    const left = { ...lifecycle("agent_left"), reason: "no_visitor", detail: "no visitor joined within 30 s" };
    expect((await ingest(sessionId, [left], { jobId: "AJ_first" })).status).toBe(200);
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "timeout" });
    expect(await callsOf(room, "CreateDispatch")).toHaveLength(1);
  });

  it("is not replaced while the visitor is away: the session ends with timeout", async () => {
    // LiveKit closing a room its visitor left takes the agent with it; a replacement would have no one to talk to.
    const { cookie, room, sessionId } = await activeSession();
    const roomInfo = { name: room, sid: "RM_1" };
    const agent = { sid: "PA_agent1", identity: "agent-AJ_first", kind: "AGENT" };
    const visitor = { sid: "PA_v1", identity: "visitor" };
    await sendWebhook({ event: "participant_joined", room: roomInfo, participant: visitor });
    await sendWebhook({ event: "participant_joined", room: roomInfo, participant: agent });
    await sendWebhook({ event: "participant_left", room: roomInfo, participant: visitor });
    await sendWebhook({ event: "participant_left", room: roomInfo, participant: agent });
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "timeout" });
    expect(await callsOf(room, "CreateDispatch")).toHaveLength(1);
  });

  it("ends the session with agent_lost when the replacement cannot be dispatched", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await failLiveKit(room, "CreateDispatch", 1);
    await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_first" });
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "agent_lost" });
  });
});

describe("webhooks about the visitor and the room", () => {
  it("ignore the old participant's departure after a same-identity rejoin", async () => {
    const { cookie, room, sessionId } = await activeSession();
    const roomInfo = { name: room, sid: "RM_a" };
    const first = { sid: "PA_v1", identity: "visitor" };
    const second = { sid: "PA_v2", identity: "visitor" };
    await sendWebhook({ event: "participant_joined", room: roomInfo, participant: first });
    await sendWebhook({ event: "participant_joined", room: roomInfo, participant: second });
    await sendWebhook({ event: "participant_left", room: roomInfo, participant: first });
    await backdate(sessionId, { started_at: 60 });
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("active");
  });

  it("end the session when the visitor stays out of the room past the grace period", async () => {
    const { cookie, room, sessionId } = await activeSession();
    const visitor = { sid: "PA_v1", identity: "visitor" };
    await sendWebhook({ event: "participant_joined", room: { name: room }, participant: visitor });
    await sendWebhook({ event: "participant_left", room: { name: room }, participant: visitor });
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    await backdate(sessionId, { visitor_left_at: Number(env.CLIENT_GRACE_S) + 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "timeout" });
  });

  it("ignore a room_finished of another room instance or from before the session", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await sendWebhook({ event: "room_started", room: { name: room, sid: "RM_current" } });
    await sendWebhook({ event: "room_finished", room: { name: room, sid: "RM_previous" } });
    const before = String(Math.floor(Date.now() / 1000) - 30);
    await sendWebhook({ event: "room_finished", room: { name: room }, createdAt: before });
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    await sendWebhook({ event: "room_finished", room: { name: room, sid: "RM_current" } });
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "stopped" });
  });
});

describe("room deletion", () => {
  it("is retried from the alarm with backoff until LiveKit deletes the room", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    await failLiveKit(room, "DeleteRoom", 2);
    await call(`/session/${sessionId}`, { method: "DELETE", cookie });
    expect(await callsOf(room, "DeleteRoom")).toHaveLength(1);
    const row = () =>
      runInDurableObject(stub(sessionId), (_i, state) =>
        state.storage.sql
          .exec<{ room_delete_at: number | null; room_delete_failures: number }>(
            "SELECT room_delete_at, room_delete_failures FROM session",
          )
          .one(),
      );
    const first = await row();
    expect(first.room_delete_failures).toBe(1);
    expect(first.room_delete_at! - Date.now()).toBeGreaterThan(1000); // 2 s ± 25 %
    await backdate(sessionId, { room_delete_at: 0 });
    await runDurableObjectAlarm(stub(sessionId));
    expect(await callsOf(room, "DeleteRoom")).toHaveLength(2);
    const second = await row();
    expect(second.room_delete_failures).toBe(2);
    expect(second.room_delete_at! - Date.now()).toBeGreaterThan(first.room_delete_at! - Date.now());
    await backdate(sessionId, { room_delete_at: 0 });
    await runDurableObjectAlarm(stub(sessionId));
    expect(await callsOf(room, "DeleteRoom")).toHaveLength(3);
    expect((await row()).room_delete_at).toBeNull();
    // Nothing is left to do: a further alarm makes no call.
    await runInDurableObject(stub(sessionId), (instance) => instance.alarm());
    expect(await callsOf(room, "DeleteRoom")).toHaveLength(3);
  });
});

describe("storage written by an older version", () => {
  it("gains the new columns and still reads", async () => {
    const id = env.SESSIONS.newUniqueId();
    const row = await runInDurableObject(env.SESSIONS.get(id), (_instance, state) => {
      writeFirstReleaseSession(state.storage.sql, true);
      return new SessionStore(state.storage.sql).row();
    });
    expect(row).toMatchObject({ session_id: "S_old", status: "ended", replacements: 0, room_delete_at: null });
    // Without a join bound (it started before there was one) and without an address slot to release.
    expect(row).toMatchObject({ visitor_join_s: null, visitor_check_failures: 0, ip_slot: null });
  });
});
