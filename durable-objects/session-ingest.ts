/**
 * Applies one agent ingest batch to a session's storage: de-duplicates by event `id`, numbers
 * every broadcast message with the next `seq`, stores finals, speech events and session-state
 * messages (never interims), turns lifecycle events into state changes, and adds `usage` events to the
 * conversation's usage summary (never broadcast, never stored as events, and they take no `seq`). After the session
 * ended (its closing window), transcripts, speech events, `usage` and `agent_left` still apply; `agent_joined` and
 * heartbeats change nothing.
 *
 * See docs/architecture.md, "Agent ingest" and "Transcript socket".
 */
import type { AgentEvent, AgentLeaveReason, AgentLifecycleEvent, ServerMessage } from "../contract/index.ts";
import type { SessionStore } from "./session-store.ts";

/** What a batch did: counts for the response, messages to broadcast, and an end to carry out. */
export interface IngestOutcome {
  accepted: number;
  duplicates: number;
  /** Messages with their new `seq`, in order, for every open socket. */
  broadcast: ServerMessage[];
  /** The `agent_left` of the batch (the agent is done), else null. */
  agentLeft: { reason: AgentLeaveReason | null; detail: string } | null;
  /** `agent_error` details, for the log. */
  errors: string[];
  /** Whether a `usage` event changed the conversation's usage summary (its listing is then updated). */
  usage: boolean;
}

/**
 * Applies `events` (already validated against the contract) in order. Call inside `transactionSync`.
 * @param nowMs epoch ms, used for the agent lease
 * @param jobId the sending job (`IngestBatch.job_id`); an `agent_joined` makes it the session's current agent
 */
export function applyBatch(
  store: SessionStore,
  events: readonly AgentEvent[],
  nowMs: number,
  jobId: string | null,
): IngestOutcome {
  const out: IngestOutcome = { accepted: 0, duplicates: 0, broadcast: [], agentLeft: null, errors: [], usage: false };
  for (const event of events) {
    if (!store.markSeen(event.id)) {
      out.duplicates++;
      continue;
    }
    out.accepted++;
    if ("type" in event && event.type === "usage") {
      store.addUsage(event.turn_latencies_ms, event.usage);
      out.usage = true;
    } else if ("type" in event) {
      applyLifecycle(store, event, nowMs, jobId, out);
    } else if ("event" in event) {
      const message = { role: event.role, event: event.event, seq: store.nextSeq(), ts: event.ts };
      store.append("speech", message);
      out.broadcast.push(message);
    } else {
      const message = { role: event.role, text: event.text, final: event.final, seq: store.nextSeq(), ts: event.ts };
      if (event.final) store.append("transcript", message);
      out.broadcast.push(message);
    }
  }
  return out;
}

function applyLifecycle(
  store: SessionStore,
  event: AgentLifecycleEvent,
  nowMs: number,
  jobId: string | null,
  out: IngestOutcome,
): void {
  const row = store.row()!;
  switch (event.type) {
    case "agent_joined": {
      if (row.status === "ended") return;
      store.update({ agent_seen_at: nowMs, agent_job: row.agent_job ?? jobId });
      if (row.status !== "starting" && row.status !== "reconnecting") return;
      store.update({ status: "active", reconnect_since: null });
      const message = { type: "session" as const, status: "active" as const, seq: store.nextSeq(), ts: event.ts };
      store.append("state", message);
      out.broadcast.push(message);
      return;
    }
    case "agent_heartbeat":
      if (row.status !== "ended") store.update({ agent_seen_at: nowMs });
      return;
    case "agent_left":
      out.agentLeft ??= { reason: event.reason ?? null, detail: event.detail ?? "" };
      return;
    case "agent_error":
      // Errors the agent reports may be recoverable (a provider retry); a fatal one is followed by agent_left.
      out.errors.push(event.detail ?? "unspecified");
      return;
  }
}
