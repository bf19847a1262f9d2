/**
 * Typed input, the agent's side (contract/messages.ts): the visitor's typed message arrives as a data packet on
 * `TOPIC_TYPED_MESSAGE` that the Worker's side sent with LiveKit's server API (RoomService `SendData`), and becomes a
 * user turn: the agent stops talking and replies, as LiveKit Agents' own text input does (`interrupt()`, then
 * `generateReply({ userInput })`, @livekit/agents 1.9 `room_io.ts` `DEFAULT_TEXT_INPUT_CALLBACK`).
 *
 * The visitor never sends this itself, and cannot: a packet is taken only from the server, signed for this session,
 * once (server-relay.ts). Refusals are logged as `typed_message_refused` (the first per reason). The text itself is
 * never logged (the session stores it; docs/security.md, "Threat 2").
 */
import type { Room } from "@livekit/rtc-node";
import { TOPIC_TYPED_MESSAGE, TypedRelayBody } from "../contract/index.ts";
import type { Logger } from "../contract/log.ts";
import { acceptServerRelay, type RelayRefusal, type ServerRelay } from "./server-relay.ts";

/** Why a packet was refused (the `reason` of `typed_message_refused`). */
export type TypedRefusal = RelayRefusal;

/** The job's typed input in one room. */
export type TypedInput = ServerRelay;

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

/**
 * Listens for typed messages in `room`. Register once the agent session has started: the Worker's side sends
 * one only to an agent whose session reported `agent_joined`. Logs `typed_message_received` with the text's length.
 */
export function acceptTypedInput(room: Room, options: TypedInputOptions): TypedInput {
  const { log, deliver } = options;
  return acceptServerRelay(room, {
    topic: TOPIC_TYPED_MESSAGE,
    body: TypedRelayBody,
    event: "typed_message",
    sessionId: options.sessionId,
    secret: options.secret,
    log,
    take: (body) => {
      log.info("typed_message_received", { chars: body.text.length });
      deliver(body.text);
    },
  });
}
