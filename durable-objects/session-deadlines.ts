/**
 * What a session's alarm must do next, and when: the lifecycle deadlines of a running session (agent join
 * timeout, agent lease, client grace, maximum duration, the visitor's join, the end of the visitor's live minutes
 * for the day) and the steps of an ended one (closing
 * window, `DeleteRoom` retries, the summary and its retries, the purge when its retention is over). See docs/architecture.md, "Session lifecycle".
 * Pure functions of the session row and the clock, so the alarm handler stays idempotent: it can fire
 * early, late or twice and still reach the same verdict.
 */
import type { EndReason } from "../contract/index.ts";
import type { SessionRow } from "./session-store.ts";

/**
 * Heartbeat leases an agent that LiveKit still lists in the room may miss before it counts as hung (lost).
 * A busy host can delay heartbeats by tens of seconds; a process that died leaves the room, which LiveKit
 * reports at once (webhook) or on the next lease check (RoomService).
 */
export const LEASES_WHILE_PRESENT = 3;

/**
 * `ListParticipants` calls a session makes for a visitor no webhook reported, at its join bound and then
 * {@link VISITOR_CHECK_RETRY_MS} apart, before it ends although LiveKit could not be asked (each call gives up
 * after `LIVEKIT_TIMEOUT_S`, 5 s). The session holds an agent meanwhile, so this stays short: about
 * `CLIENT_JOIN_TIMEOUT_S` + 15 s at most.
 */
export const VISITOR_CHECK_ATTEMPTS = 3;

/** Wait after a failed `ListParticipants` before the next attempt, ms (counted from the join bound). */
export const VISITOR_CHECK_RETRY_MS = 5000;

/** One step the alarm takes when its time has come. */
export type DeadlineAction =
  /** End the session with `reason`. */
  | { kind: "end"; reason: EndReason }
  /** The lease ran out and no webhook told where the agent is: ask LiveKit whether it is still in the room. */
  | { kind: "check_agent" }
  /** No webhook reported the visitor within its join bound: ask LiveKit whether it is in the room, else end. */
  | { kind: "check_visitor" }
  /** The agent is lost: replace it once, else end with `agent_lost`. */
  | { kind: "agent_lost" }
  /**
   * The owner's live minutes for the day should have run out (`live_until`): count them, and fall back to the
   * pipeline when none is left (session-mode.ts).
   */
  | { kind: "live_limit" }
  /** The closing window is over: close the sockets, refuse further ingest. */
  | { kind: "close_window" }
  /** (Re)try deleting the LiveKit room. */
  | { kind: "delete_room" }
  /** Make the ended conversation's summary (once the closing window is over). */
  | { kind: "summarize" }
  /** The ended conversation's retention is over: unlist it and delete its storage. */
  | { kind: "purge" };

/** One deadline: the epoch ms at which `action` is due unless something renews it first. */
export interface Deadline {
  at: number;
  action: DeadlineAction;
}

const end = (reason: EndReason): DeadlineAction => ({ kind: "end", reason });

/** The deadlines that apply to `row` now, in priority order. */
export function deadlines(row: SessionRow): Deadline[] {
  const out: Deadline[] = [];
  if (row.status === "ended") {
    if (row.closing_until !== null) out.push({ at: row.closing_until, action: { kind: "close_window" } });
    if (row.room_delete_at !== null) out.push({ at: row.room_delete_at, action: { kind: "delete_room" } });
    // The summary waits for the agent's last words (the closing window).
    if (row.summary_at !== null && row.closing_until === null) {
      out.push({ at: row.summary_at, action: { kind: "summarize" } });
    }
    if (row.retention_s !== null && row.ended_at !== null) {
      out.push({ at: row.ended_at + row.retention_s * 1000, action: { kind: "purge" } });
    }
    return out;
  }
  const joinMs = row.join_timeout_s * 1000;
  if (row.status === "starting") out.push({ at: row.started_at + joinMs, action: end("agent_unavailable") });
  if (row.status === "reconnecting" && row.reconnect_since !== null) {
    out.push({ at: row.reconnect_since + joinMs, action: end("agent_lost") });
  }
  if (row.status === "active" && row.agent_seen_at !== null) {
    const leaseMs = row.lease_s * 1000;
    out.push(
      row.agent_sid === null
        ? { at: row.agent_seen_at + leaseMs, action: { kind: "check_agent" } }
        : { at: row.agent_seen_at + LEASES_WHILE_PRESENT * leaseMs, action: { kind: "agent_lost" } },
    );
  }
  if (row.client_gone_since !== null) {
    // Before the first socket, the page gets at least the agent's join time to open one (a loaded host is slow).
    const graceS = row.client_connected_at === null ? Math.max(row.grace_s, row.join_timeout_s) : row.grace_s;
    out.push({ at: row.client_gone_since + graceS * 1000, action: end("timeout") });
  }
  if (row.visitor_left_at !== null) out.push({ at: row.visitor_left_at + row.grace_s * 1000, action: end("timeout") });
  out.push({ at: row.started_at + row.max_s * 1000, action: end("timeout") });
  if (row.live_until !== null) out.push({ at: row.live_until, action: { kind: "live_limit" } });
  // Last, so that a due end with a more telling reason (agent_unavailable, timeout) wins over this check.
  if (row.visitor_join_s !== null && row.visitor_sid === null && row.visitor_left_at === null) {
    const at = row.started_at + row.visitor_join_s * 1000 + row.visitor_check_failures * VISITOR_CHECK_RETRY_MS;
    out.push({ at, action: { kind: "check_visitor" } });
  }
  return out;
}

/** The first action (in priority order) whose deadline has passed at `nowMs`, or null. */
export function dueAction(row: SessionRow, nowMs: number): DeadlineAction | null {
  return deadlines(row).find((d) => d.at <= nowMs)?.action ?? null;
}

/** The earliest deadline (epoch ms), or null when none applies. */
export function nextDeadline(row: SessionRow): number | null {
  const ds = deadlines(row);
  return ds.length ? Math.min(...ds.map((d) => d.at)) : null;
}

/** Longest wait between two `DeleteRoom` attempts, ms. */
const DELETE_RETRY_MAX_MS = 5 * 60_000;
/** How long an ended session keeps trying to delete its room before it gives up (logged), ms. */
export const DELETE_RETRY_FOR_MS = 24 * 3600_000;

/**
 * When to try `DeleteRoom` again after `failures` failed attempts: 2 s doubling to 5 min, with ±25 % jitter
 * so that many sessions whose deletions failed together (a LiveKit outage) do not retry together.
 * @param random a number in [0, 1) (Math.random in production)
 * @returns epoch ms
 */
export function nextDeleteAttempt(nowMs: number, failures: number, random: number): number {
  const base = Math.min(2000 * 2 ** Math.max(0, failures - 1), DELETE_RETRY_MAX_MS);
  return nowMs + Math.round(base * (0.75 + random * 0.5));
}
