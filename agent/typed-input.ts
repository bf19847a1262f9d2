/**
 * Typed input, the agent's side (contract/messages.ts): the visitor's typed message arrives as a data packet on
 * `TOPIC_TYPED_MESSAGE` that the Worker's side sent with LiveKit's server API (RoomService `SendData`), and becomes a
 * user turn: the agent stops talking and replies, as LiveKit Agents' own text input does (`interrupt()`, then
 * `generateReply({ userInput })`, @livekit/agents 1.9 `room_io.ts` `DEFAULT_TEXT_INPUT_CALLBACK`).
 *
 * The visitor never sends this itself, and cannot: a packet is taken only when
 * - it came from the server: @livekit/rtc-node reports no participant for a packet without a sender identity
 *   (`Room`, `dataPacketReceived`), and LiveKit stamps every participant's packet with its identity;
 * - its body carries a valid ingest signature (`AGENT_INGEST_SECRET`, contract/signature.ts) for this session;
 * - its body is a contract `TypedRelayBody` for this session (text of at most `TYPED_TEXT_MAX` characters);
 * - its id was not taken before.
 * Anything else is dropped unread past that point: the first refusal per reason is logged (`typed_message_refused`,
 * warn, with the reason and, for a participant's packet, its identity), the rest only counted. The text itself is
 * never logged (the session stores it; docs/security.md, "Threat 2").
 */
import type { RemoteParticipant, Room } from "@livekit/rtc-node";
import { RoomEvent } from "@livekit/rtc-node";
import { TOPIC_TYPED_MESSAGE, TypedRelayBody, TypedRelayPacket, verifyIngest } from "../contract/index.ts";
import type { Logger } from "../contract/log.ts";

/** Largest packet read, in bytes: a relayed message is far smaller (contract `TypedRelayPacket`). */
export const TYPED_PACKET_MAX_BYTES = 8192;

/** How many taken ids the job remembers, to take each once. */
const SEEN_IDS_MAX = 256;

/** Why a packet was refused (the `reason` of `typed_message_refused`). */
export type TypedRefusal =
  | "from_participant"
  | "too_large"
  | "malformed"
  | "signature_missing"
  | "signature_malformed"
  | "signature_stale"
  | "signature_mismatch"
  | "other_session"
  | "repeated";

/** The job's typed input in one room. */
export interface TypedInput {
  /** Messages taken so far. */
  taken(): number;
  /** Packets refused so far, all reasons. */
  refused(): number;
  /** Removes the listener. */
  close(): void;
}

/** What {@link acceptTypedInput} needs. */
export interface TypedInputOptions {
  /** The job's session id (dispatch metadata). */
  sessionId: string;
  /** `AGENT_INGEST_SECRET`. */
  secret: string;
  /** The job's logger. */
  log: Logger;
  /** Makes `text` the visitor's turn (the job: interrupt, then reply). */
  deliver: (text: string) => void;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Listens for typed messages in `room`. Register once the agent session has started: the Worker's side sends
 * one only to an agent whose session reported `agent_joined`.
 */
export function acceptTypedInput(room: Room, options: TypedInputOptions): TypedInput {
  const { sessionId, secret, log, deliver } = options;
  let taken = 0;
  let refused = 0;
  const seen = new Set<string>();
  const logged = new Set<TypedRefusal>();
  const refuse = (reason: TypedRefusal, participant?: RemoteParticipant) => {
    refused++;
    if (logged.has(reason)) return;
    logged.add(reason);
    log.warn("typed_message_refused", { reason, ...(participant ? { identity: participant.identity } : {}) });
  };
  const take = async (payload: Uint8Array) => {
    let packet: TypedRelayPacket;
    try {
      packet = TypedRelayPacket.parse(JSON.parse(decoder.decode(payload)));
    } catch {
      return refuse("malformed");
    }
    const verdict = await verifyIngest(secret, sessionId, packet.body, packet.signature);
    if (verdict !== "ok") return refuse(`signature_${verdict}`);
    let body: TypedRelayBody;
    try {
      body = TypedRelayBody.parse(JSON.parse(packet.body));
    } catch {
      return refuse("malformed");
    }
    if (body.session_id !== sessionId) return refuse("other_session");
    if (seen.has(body.id)) return refuse("repeated");
    seen.add(body.id);
    if (seen.size > SEEN_IDS_MAX) seen.delete(seen.values().next().value!);
    taken++;
    log.info("typed_message_received", { chars: body.text.length });
    deliver(body.text);
  };
  const onData = (payload: Uint8Array, participant: RemoteParticipant | undefined, _kind: unknown, topic?: string) => {
    if (topic !== TOPIC_TYPED_MESSAGE) return;
    if (participant !== undefined) return refuse("from_participant", participant);
    if (payload.byteLength > TYPED_PACKET_MAX_BYTES) return refuse("too_large");
    void take(payload).catch((err: unknown) => log.warn("typed_message_failed", { error: err }));
  };
  room.on(RoomEvent.DataReceived, onData);
  return {
    taken: () => taken,
    refused: () => refused,
    close: () => void room.off(RoomEvent.DataReceived, onData),
  };
}
