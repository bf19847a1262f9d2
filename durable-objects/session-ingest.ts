/**
 * Applies one agent ingest batch to a session's storage: de-duplicates by event `id`, numbers
 * every broadcast message with the next `seq`, stores finals, speech events and session-state
 * messages (never interims), and turns lifecycle events into state changes.
 *
 * See docs/architecture.md, "Agent ingest" and "Transcript socket".
 */
import type { AgentEvent, EndReason, ServerMessage } from "../contract/index.ts";
import type { SessionStore } from "./session-store.ts";

/** What a batch did: counts for the response, messages to broadcast, and an end to carry out. */
export interface IngestOutcome {
  accepted: number;
  duplicates: number;
  /** Messages with their new `seq`, in order, for every open socket. */
  broadcast: ServerMessage[];
  /** Set when a lifecycle event ends the session (`agent_left`). */
  end: EndReason | null;
  /** `agent_error` details, for the log. */
  errors: string[];
}

/**
 * Applies `events` (already validated against the contract) in order. Call inside `transactionSync`.
 * @param nowMs epoch ms, used for the agent lease
 */
export function applyBatch(store: SessionStore, events: readonly AgentEvent[], nowMs: number): IngestOutcome {
  const out: IngestOutcome = { accepted: 0, duplicates: 0, broadcast: [], end: null, errors: [] };
  for (const event of events) {
    if (!store.markSeen(event.id)) {
      out.duplicates++;
      continue;
    }
    out.accepted++;
    if ("type" in event) {
      applyLifecycle(store, event, nowMs, out);
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
  event: Extract<AgentEvent, { type: string }>,
  nowMs: number,
  out: IngestOutcome,
): void {
  switch (event.type) {
    case "agent_joined": {
      const row = store.row()!;
      store.update({ agent_seen_at: nowMs });
      if (row.status !== "starting") return;
      store.update({ status: "active" });
      const message = { type: "session" as const, status: "active" as const, seq: store.nextSeq(), ts: event.ts };
      store.append("state", message);
      out.broadcast.push(message);
      return;
    }
    case "agent_heartbeat":
      store.update({ agent_seen_at: nowMs });
      return;
    case "agent_left":
      out.end ??= "agent_lost";
      return;
    case "agent_error":
      // Errors the agent reports may be recoverable (a provider retry); a fatal one is followed by agent_left.
      out.errors.push(event.detail ?? "unspecified");
      return;
  }
}
