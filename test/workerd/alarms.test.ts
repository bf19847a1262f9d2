import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TranscriptResponse } from "../../contract/index.ts";
import { waitFor } from "../support/wait.ts";
import {
  call,
  ingest,
  lifecycle,
  liveKitCalls,
  newVisitor,
  openSocket,
  setParticipants,
  startSession,
} from "./helpers.ts";

const stub = (sessionId: string) => env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));

/** Moves some of the session's clocks into the past (seconds ago), as if time had passed. */
async function backdate(sessionId: string, columns: Record<string, number | null>) {
  const now = Date.now();
  await runInDurableObject(stub(sessionId), (_instance, state) => {
    for (const [column, secondsAgo] of Object.entries(columns)) {
      state.storage.sql.exec(`UPDATE session SET ${column} = ?`, secondsAgo === null ? null : now - secondsAgo * 1000);
    }
  });
}

async function transcript(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

async function deleteRoomCalls(room: string) {
  return (await liveKitCalls(room)).filter((c) => c.method === "DeleteRoom").length;
}

/** A new visitor's session with its transcript socket open and the agent joined (state `active`). */
async function activeSession() {
  const cookie = await newVisitor();
  const { room, sessionId } = await startSession(cookie);
  const socket = await openSocket(cookie, sessionId);
  await ingest(sessionId, [lifecycle("agent_joined")]);
  return { cookie, room, sessionId, socket };
}

/** The session row's `client_gone_since` (epoch ms, null while a socket is open), read from storage. */
async function clientGoneSince(sessionId: string): Promise<number | null> {
  return runInDurableObject(stub(sessionId), (_instance, state) => {
    const sql = "SELECT client_gone_since FROM session";
    return state.storage.sql.exec<{ client_gone_since: number | null }>(sql).one().client_gone_since;
  });
}

describe("SessionDO alarms", () => {
  it("end a session whose agent never joins with agent_unavailable", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    expect(await runDurableObjectAlarm(stub(sessionId))).toBe(true); // early: nothing due, re-armed
    expect((await transcript(cookie, sessionId)).status).toBe("starting");
    await backdate(sessionId, { started_at: Number(env.AGENT_JOIN_TIMEOUT_S) + 1, client_gone_since: 1 });
    expect(await runDurableObjectAlarm(stub(sessionId))).toBe(true);
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "agent_unavailable" });
    expect(await deleteRoomCalls(room)).toBe(1);
    // Alarms can fire twice; the second run changes nothing.
    await runInDurableObject(stub(sessionId), (instance) => instance.alarm());
    expect(await deleteRoomCalls(room)).toBe(1);
  });

  it("replace an agent whose lease ran out and whom LiveKit no longer lists, then end when none joins", async () => {
    const { cookie, room, sessionId, socket } = await activeSession();
    await ingest(sessionId, [lifecycle("agent_heartbeat")]);
    await backdate(sessionId, { agent_seen_at: Number(env.AGENT_LEASE_S) - 5 });
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    await backdate(sessionId, { agent_seen_at: Number(env.AGENT_LEASE_S) + 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect((await liveKitCalls(room)).map((c) => c.method)).toContain("ListParticipants");
    expect((await transcript(cookie, sessionId)).status).toBe("reconnecting");
    expect(socket.messages.at(-1)).toMatchObject({ type: "session", status: "reconnecting" });
    expect((await liveKitCalls(room)).filter((c) => c.method === "CreateDispatch")).toHaveLength(2);
    // The replacement never joins: the join timeout ends the session.
    await backdate(sessionId, { reconnect_since: Number(env.AGENT_JOIN_TIMEOUT_S) + 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "agent_lost" });
    expect((await socket.closed).code).toBe(1000);
    expect(socket.messages.at(-1)).toMatchObject({ type: "session", status: "ended", reason: "agent_lost" });
    expect(await deleteRoomCalls(room)).toBe(1);
  });

  it("keep a slow agent that LiveKit still lists in the room, up to three leases without a heartbeat", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await setParticipants(room, [
      { sid: "PA_visitor", identity: "visitor", kind: "STANDARD" },
      { sid: "PA_agent", identity: "agent-AJ_1", kind: "AGENT" },
    ]);
    await backdate(sessionId, { agent_seen_at: Number(env.AGENT_LEASE_S) + 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    await backdate(sessionId, { agent_seen_at: 3 * Number(env.AGENT_LEASE_S) - 2 });
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("active");
    // Present but silent for three leases: hung, so it is replaced.
    await backdate(sessionId, { agent_seen_at: 3 * Number(env.AGENT_LEASE_S) + 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect((await transcript(cookie, sessionId)).status).toBe("reconnecting");
  });

  it("end a session whose browser socket stays away past the grace period with timeout", async () => {
    const { cookie, room, sessionId, socket } = await activeSession();
    expect(await clientGoneSince(sessionId)).toBeNull();
    socket.ws.close(1000);
    await socket.closed;
    await waitFor("client_gone_since to be set", async () => (await clientGoneSince(sessionId)) !== null, {
      timeoutMs: 5000,
      intervalMs: 20,
    });
    await backdate(sessionId, { client_gone_since: Number(env.CLIENT_GRACE_S) + 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "timeout" });
    expect(await deleteRoomCalls(room)).toBe(1);
  });

  it("end any session at MAX_SESSION_S with timeout", async () => {
    const { cookie, room, sessionId, socket } = await activeSession();
    await backdate(sessionId, { started_at: Number(env.MAX_SESSION_S) + 1 });
    await runDurableObjectAlarm(stub(sessionId));
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "timeout" });
    expect((await socket.closed).code).toBe(1000);
    expect(await deleteRoomCalls(room)).toBe(1);
    // The room and the visitor's slot are free again.
    const rooms = env.ROOMS.get(env.ROOMS.idFromName(room));
    expect(await rooms.activeSession(Date.now())).toBeNull();
  });
});
