/**
 * What the Worker's side sends the agent, read safely: a data packet that the `SessionDO` sent with LiveKit's server
 * API (RoomService `SendData`) on one of the product's topics, its body signed like ingest. Typed messages
 * (typed-input.ts, `TOPIC_TYPED_MESSAGE`) and mode changes (mode-switch.ts, `TOPIC_MODE_CHANGE`) come this way.
 *
 * The visitor never sends these itself, and cannot: a packet is taken only when
 * - it came from the server: @livekit/rtc-node reports no participant for a packet without a sender identity
 *   (`Room`, `dataPacketReceived`), and LiveKit stamps every participant's packet with its identity;
 * - its body carries a valid ingest signature (`AGENT_INGEST_SECRET`, contract/signature.ts) for this session;
 * - its body parses as the topic's body schema, for this session;
 * - its id was not taken before.
 * Anything else is dropped unread past that point: the first refusal per reason is logged (`<event>_refused`, warn,
 * with the reason and, for a participant's packet, its identity), the rest only counted. Bodies are never logged.
 */
import type { RemoteParticipant, Room } from "@livekit/rtc-node";
import { RoomEvent } from "@livekit/rtc-node";
import type * as z from "zod/mini";
import { TypedRelayPacket, verifyIngest } from "../contract/index.ts";
import type { Logger } from "../contract/log.ts";

/** Largest packet read, in bytes: a relayed body is far smaller (contract `TypedRelayPacket`). */
export const RELAY_PACKET_MAX_BYTES = 8192;

/** How many taken ids a job remembers per topic, to take each once. */
const SEEN_IDS_MAX = 256;

/** Why a packet was refused (the `reason` of `<event>_refused`). */
export type RelayRefusal =
  | "from_participant"
  | "too_large"
  | "malformed"
  | "signature_missing"
  | "signature_malformed"
  | "signature_stale"
  | "signature_mismatch"
  | "other_session"
  | "repeated";

/** One topic's relay into the job's room. */
export interface ServerRelay {
  /** Packets taken so far. */
  taken(): number;
  /** Packets refused so far, all reasons. */
  refused(): number;
  /** Removes the listener. */
  close(): void;
}

/** What {@link acceptServerRelay} needs. */
export interface ServerRelayOptions<B extends { session_id: string; id: string }> {
  /** The data-packet topic (contract `TOPIC_*`). */
  topic: string;
  /** The body's schema (contract, e.g. `TypedRelayBody`). */
  body: z.ZodMiniType<B>;
  /** The log events' prefix: `<event>_refused`, `<event>_failed`. */
  event: string;
  /** The job's session id (dispatch metadata). */
  sessionId: string;
  /** `AGENT_INGEST_SECRET`. */
  secret: string;
  /** The job's logger. */
  log: Logger;
  /** Takes a verified body, once per id. May return a promise: its rejection is logged as `<event>_failed`. */
  take: (body: B) => void | Promise<void>;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Listens for `topic` packets from the server in `room` and hands each verified body to `take`. Register once the
 * agent session has started: the Worker's side sends only to an agent whose session reported `agent_joined`.
 */
export function acceptServerRelay<B extends { session_id: string; id: string }>(
  room: Room,
  options: ServerRelayOptions<B>,
): ServerRelay {
  const { topic, body: schema, event, sessionId, secret, log, take } = options;
  let taken = 0;
  let refused = 0;
  const seen = new Set<string>();
  const logged = new Set<RelayRefusal>();
  const refuse = (reason: RelayRefusal, participant?: RemoteParticipant) => {
    refused++;
    if (logged.has(reason)) return;
    logged.add(reason);
    log.warn(`${event}_refused`, { reason, ...(participant ? { identity: participant.identity } : {}) });
  };
  const read = async (payload: Uint8Array) => {
    let packet: TypedRelayPacket;
    try {
      packet = TypedRelayPacket.parse(JSON.parse(decoder.decode(payload)));
    } catch {
      return refuse("malformed");
    }
    const verdict = await verifyIngest(secret, sessionId, packet.body, packet.signature);
    if (verdict !== "ok") return refuse(`signature_${verdict}`);
    let body: B;
    try {
      body = schema.parse(JSON.parse(packet.body));
    } catch {
      return refuse("malformed");
    }
    if (body.session_id !== sessionId) return refuse("other_session");
    if (seen.has(body.id)) return refuse("repeated");
    seen.add(body.id);
    if (seen.size > SEEN_IDS_MAX) seen.delete(seen.values().next().value!);
    taken++;
    await take(body);
  };
  const onData = (payload: Uint8Array, participant: RemoteParticipant | undefined, _kind: unknown, t?: string) => {
    if (t !== topic) return;
    if (participant !== undefined) return refuse("from_participant", participant);
    if (payload.byteLength > RELAY_PACKET_MAX_BYTES) return refuse("too_large");
    void read(payload).catch((err: unknown) => log.warn(`${event}_failed`, { error: err }));
  };
  room.on(RoomEvent.DataReceived, onData);
  return {
    taken: () => taken,
    refused: () => refused,
    close: () => void room.off(RoomEvent.DataReceived, onData),
  };
}
