/**
 * The `SessionDO`'s side of typed input (`POST /session/{id}/messages`, contract/messages.ts): whether the session
 * takes a typed message now, its per-session rate limit, the relay to the agent and the stored turn.
 *
 * A message is relayed first and stored after: LiveKit's `SendData` from the server (no sender identity, so no
 * participant can forge one) to the agent's participant only, on `TOPIC_TYPED_MESSAGE`, its body signed with
 * `AGENT_INGEST_SECRET` like ingest. Only once LiveKit has taken it is it stored as the visitor's final turn
 * (`typed: true`, next `seq`) and broadcast, so the transcript never holds a turn the agent was not sent; a
 * refused relay stores nothing, and the page may post the same id again. The same id is relayed and stored once.
 *
 * See docs/architecture.md, "Typed input"; docs/security.md.
 */
import {
  signIngest,
  TOPIC_TYPED_MESSAGE,
  type TranscriptMessage,
  TYPED_MESSAGES_PER_WINDOW,
  TYPED_WINDOW_S,
  type TypedRelayBody,
  type TypedRelayPacket,
} from "../contract/index.ts";
import type { EdgeConfig } from "../edge/config.ts";
import { listParticipants, sendServerData } from "../edge/livekit.ts";
import { log } from "../edge/log.ts";
import type { SessionStore } from "./session-store.ts";

/**
 * What became of a typed message:
 * - `ok`: stored under `seq` (`duplicate`: it had been, before; nothing was sent again);
 * - `not_found`: no such session; `ended`: the session has ended;
 * - `not_ready`: no agent to send it to yet (starting, or reconnecting to a replacement agent);
 * - `in_flight`: the same id is being relayed by another request right now;
 * - `too_many`: the session took {@link TYPED_MESSAGES_PER_WINDOW} within {@link TYPED_WINDOW_S}; retry after
 *   `retry_after_s` seconds;
 * - `unreachable`: LiveKit refused the relay or could not be reached (logged); nothing was stored.
 */
export type TypedResult =
  | { status: "ok"; seq: number; duplicate: boolean }
  | { status: "not_found" | "ended" | "not_ready" | "in_flight" | "unreachable" }
  | { status: "too_many"; retry_after_s: number };

/** What {@link takeTypedMessage} needs of its `SessionDO`. */
export interface TypedHost {
  store: SessionStore;
  config: EdgeConfig;
  /** Ids being relayed now (kept in memory: a relay lasts one request). */
  inFlight: Set<string>;
  /** Runs `fn` in one storage transaction (`ctx.storage.transactionSync`). */
  transaction<T>(fn: () => T): T;
  /** Sends a message on every transcript socket. */
  broadcast(message: TranscriptMessage): void;
}

const encoder = new TextEncoder();

/**
 * Takes typed message `id` with `text` (already validated: `TypedMessageRequest`), relays it to the agent and stores
 * it as the visitor's turn. Logs `typed_message_relayed` with the text's length, never the text.
 * @param nowMs epoch ms
 */
export async function takeTypedMessage(host: TypedHost, id: string, text: string, nowMs: number): Promise<TypedResult> {
  const { store } = host;
  const row = store.row();
  if (!row) return { status: "not_found" };
  const storedSeq = store.typedSeq(id);
  if (storedSeq !== null) return { status: "ok", seq: storedSeq, duplicate: true };
  if (row.status === "ended") return { status: "ended" };
  if (row.status !== "active") return { status: "not_ready" };
  if (host.inFlight.has(id)) return { status: "in_flight" };
  const windowStart = nowMs - TYPED_WINDOW_S * 1000;
  const recent = store.typedSince(windowStart);
  if (recent.length + host.inFlight.size >= TYPED_MESSAGES_PER_WINDOW) {
    const oldest = recent[0] ?? nowMs;
    return { status: "too_many", retry_after_s: Math.max(1, Math.ceil((oldest - windowStart) / 1000)) };
  }
  host.inFlight.add(id);
  try {
    const agentSid = row.agent_sid ?? (await findAgent(host, row.room, row.session_id));
    if (agentSid === null) return { status: "not_ready" };
    const body = JSON.stringify({ session_id: row.session_id, id, text } satisfies TypedRelayBody);
    const packet: TypedRelayPacket = {
      body,
      signature: await signIngest(host.config.ingestSecret, row.session_id, body),
    };
    const data = encoder.encode(JSON.stringify(packet));
    if (!(await sendServerData(host.config, row.room, agentSid, TOPIC_TYPED_MESSAGE, data, row.session_id))) {
      return { status: "unreachable" };
    }
    const ts = Date.now();
    const message = host.transaction(() => {
      if (!store.row()) return null; // discarded meanwhile
      const message: TranscriptMessage = { role: "user", text, final: true, typed: true, seq: store.nextSeq(), ts };
      store.append("transcript", message);
      store.saveTyped(id, message.seq, ts);
      return message;
    });
    if (message === null) return { status: "not_found" };
    host.broadcast(message);
    log.info("typed_message_relayed", { session_id: row.session_id, seq: message.seq, chars: text.length });
    return { status: "ok", seq: message.seq, duplicate: false };
  } finally {
    host.inFlight.delete(id);
  }
}

/**
 * The agent's participant sid when no webhook has reported it yet (its `participant_joined` can arrive after its
 * first ingest made the session active): asks RoomService, and keeps what it found. Also used by mode changes
 * (session-mode.ts).
 * @returns the sid, or null when LiveKit lists no agent in `room` (or could not be asked: logged by edge/livekit.ts)
 */
export async function findAgent(
  host: Pick<TypedHost, "store" | "config">,
  room: string,
  sessionId: string,
): Promise<string | null> {
  const agent = (await listParticipants(host.config, room, sessionId))?.find((p) => p.agent);
  if (!agent) return null;
  host.store.update({ agent_sid: agent.sid });
  return agent.sid;
}
