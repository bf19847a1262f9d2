/**
 * Who is in a session's LiveKit room, for its `SessionDO`: what a verified webhook says about the room (the
 * room's and the participants' sids, a visitor leaving, the agent leaving, the room finishing), and the
 * `RoomService.ListParticipants` checks the alarm makes when a webhook should have come and did not: the
 * agent's lease ran out, or the visitor has not been seen within its join bound (`CLIENT_JOIN_TIMEOUT_S`).
 *
 * A session with no visitor in its room ends (`no_visitor`), so that a script that starts sessions and never
 * joins their rooms holds an agent for seconds, not for `MAX_SESSION_S`. See docs/architecture.md, "Session
 * lifecycle" and "Security model".
 */
import type { EndReason } from "../contract/index.ts";
import { readEdgeConfig } from "../edge/config.ts";
import { listParticipants, type RoomNotice } from "../edge/livekit.ts";
import { log } from "../edge/log.ts";
import { VISITOR_CHECK_ATTEMPTS } from "./session-deadlines.ts";
import type { SessionRow, SessionStore } from "./session-store.ts";

/** What {@link applyRoomEvent} made of a webhook, for the Worker's log. */
export type RoomEventOutcome =
  | "no_session"
  | "ignored"
  | "stale"
  | "room_noted"
  | "visitor_joined"
  | "visitor_left"
  | "agent_present"
  | "agent_lost"
  | "ended";

/** What the presence logic needs of its `SessionDO`. */
export interface PresenceHost {
  readonly store: SessionStore;
  readonly env: Env;
  /** Moves the alarm earlier when a nearer deadline appeared. */
  armAlarm(): Promise<void>;
  /** Ends the session (`SessionDO.stop`, idempotent). */
  end(reason: EndReason): Promise<unknown>;
  /** The current agent is lost: replaced once, else the session ends with `agent_lost`. */
  agentLost(why: string): Promise<void>;
}

/**
 * Applies what a verified LiveKit webhook says about the session's room. Events of another room instance
 * (a different room sid) or from before the session started are stale and ignored. A visitor's
 * `participant_joined` records its sid (which lifts the join bound); its `participant_left` starts the client
 * grace period (a rejoin with the same identity has a new participant sid, so the old one's departure is
 * ignored); the current agent's `participant_left` means the agent is lost; `room_finished` ends the session
 * (`stopped`).
 */
export async function applyRoomEvent(host: PresenceHost, notice: RoomNotice): Promise<RoomEventOutcome> {
  const { store } = host;
  const row = store.row();
  if (!row) return "no_session";
  if (row.status === "ended") return "ignored";
  if (await isStale(host, row, notice)) return "stale";
  if (notice.roomSid && row.room_sid === null && notice.event !== "room_finished") {
    store.update({ room_sid: notice.roomSid });
  }
  const p = notice.participant;
  switch (notice.event) {
    case "room_started":
      return "room_noted";
    case "room_finished":
      await host.end("stopped");
      return "ended";
    case "participant_joined":
      if (p?.agent) {
        store.update({ agent_sid: p.sid });
        await host.armAlarm();
        return "agent_present";
      }
      if (p?.identity !== row.identity) return "ignored";
      store.update({ visitor_sid: p.sid, visitor_left_at: null });
      return "visitor_joined";
    case "participant_left":
      if (p?.agent) {
        if (p.sid !== row.agent_sid) return "ignored"; // an agent this session already let go
        store.update({ agent_sid: null });
        await host.agentLost("the agent's participant left the room");
        return "agent_lost";
      }
      if (p?.identity !== row.identity) return "ignored";
      if (row.visitor_sid !== null && p.sid !== row.visitor_sid) return "stale"; // replaced by a rejoin
      if (row.visitor_left_at === null) store.update({ visitor_left_at: Date.now() });
      await host.armAlarm();
      return "visitor_left";
  }
}

/**
 * A webhook is stale when it names another instance of the room (a different sid), or when it was created
 * before the session started. `createdAt` has second precision, so an event in the session's first second
 * that would end it (`room_finished` before any sid is known) is checked with RoomService: a room that still
 * has participants did not finish.
 */
async function isStale(host: PresenceHost, row: SessionRow, notice: RoomNotice): Promise<boolean> {
  if (notice.roomSid && row.room_sid !== null && notice.roomSid !== row.room_sid) return true;
  const startSecond = Math.floor(row.started_at / 1000) * 1000;
  if (notice.at < startSecond) return true;
  if (notice.event !== "room_finished" || row.room_sid !== null || notice.at > startSecond) return false;
  const participants = await listParticipants(readEdgeConfig(host.env), row.room, row.session_id);
  return participants !== null && participants.length > 0;
}

/**
 * The lease ran out with no word from LiveKit about the agent: asks RoomService. An agent still listed in
 * the room is only slow (its lease is extended, see `LEASES_WHILE_PRESENT`); one that is not listed, or an
 * answer LiveKit cannot give, means it is lost.
 */
export async function checkAgent(host: PresenceHost, row: SessionRow): Promise<void> {
  const participants = await listParticipants(readEdgeConfig(host.env), row.room, row.session_id);
  const agent = participants?.find((p) => p.agent);
  const current = host.store.row()!;
  if (current.status !== "active" || current.agent_seen_at !== row.agent_seen_at) return; // moved on meanwhile
  if (agent) {
    log.info("agent_slow", { session_id: row.session_id, silent_ms: Date.now() - (row.agent_seen_at ?? 0) });
    host.store.update({ agent_sid: agent.sid });
    return;
  }
  await host.agentLost(participants ? "no heartbeat and not in the room" : "no heartbeat; LiveKit unreachable");
}

/**
 * The visitor's join bound passed and no webhook reported the visitor in the room (the page joins while the
 * session is being created, so its `participant_joined` often predates the session and is ignored as stale;
 * a webhook may also be late or lost): asks RoomService. A participant with the session's identity that is not
 * an agent is the visitor: its sid is recorded and the session goes on. A room without it ends the session
 * with `no_visitor` (logged `visitor_absent`). When LiveKit cannot be asked, the check is repeated
 * ({@link VISITOR_CHECK_ATTEMPTS} calls in all, `VISITOR_CHECK_RETRY_MS` apart) and then the session ends all
 * the same: an unreachable LiveKit cannot carry the conversation either, and an agent must not be held on
 * a guess.
 */
export async function checkVisitor(host: PresenceHost, row: SessionRow): Promise<void> {
  const participants = await listParticipants(readEdgeConfig(host.env), row.room, row.session_id);
  const current = host.store.row()!;
  if (current.status === "ended" || current.visitor_sid !== null || current.visitor_left_at !== null) return;
  const visitor = participants?.find((p) => !p.agent && p.identity === row.identity);
  const fields = { session_id: row.session_id, room: row.room };
  if (visitor) {
    log.info("visitor_found_in_room", fields);
    host.store.update({ visitor_sid: visitor.sid });
    return;
  }
  const failures = current.visitor_check_failures + (participants === null ? 1 : 0);
  if (participants === null && failures < VISITOR_CHECK_ATTEMPTS) {
    log.warn("visitor_check_failed", { ...fields, failures });
    host.store.update({ visitor_check_failures: failures });
    return;
  }
  log.warn("visitor_absent", { ...fields, livekit_reachable: participants !== null, failures });
  await host.end("no_visitor");
}
