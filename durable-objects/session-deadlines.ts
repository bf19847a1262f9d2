/**
 * When a running session must end, and why: the agent join timeout, the agent lease, the client
 * grace period and the maximum duration (docs/architecture.md, "Session lifecycle").
 * Pure functions of the session row and the clock, so the alarm handler stays idempotent: it can
 * fire early, late or twice and still reach the same verdict.
 */
import type { EndReason } from "../contract/index.ts";
import type { SessionRow } from "./session-store.ts";

/** One deadline: the epoch ms at which the session ends with `reason` unless something renews it. */
export interface Deadline {
  at: number;
  reason: EndReason;
}

/** The deadlines that apply to `row` now, in priority order; empty once the session has ended. */
export function deadlines(row: SessionRow): Deadline[] {
  if (row.status === "ended") return [];
  const out: Deadline[] = [];
  if (row.status === "starting")
    out.push({ at: row.started_at + row.join_timeout_s * 1000, reason: "agent_unavailable" });
  if (row.status === "active" && row.agent_seen_at !== null) {
    out.push({ at: row.agent_seen_at + row.lease_s * 1000, reason: "agent_lost" });
  }
  if (row.client_gone_since !== null) out.push({ at: row.client_gone_since + row.grace_s * 1000, reason: "timeout" });
  out.push({ at: row.started_at + row.max_s * 1000, reason: "timeout" });
  return out;
}

/** The reason the session must end at `nowMs`, or null when no deadline has passed. */
export function dueReason(row: SessionRow, nowMs: number): EndReason | null {
  return deadlines(row).find((d) => d.at <= nowMs)?.reason ?? null;
}

/** The earliest deadline (epoch ms), or null when none applies. */
export function nextDeadline(row: SessionRow): number | null {
  const ds = deadlines(row);
  return ds.length ? Math.min(...ds.map((d) => d.at)) : null;
}
