/**
 * Typed input: a message the visitor types instead of speaking. The page posts it to the Worker
 * (`POST /session/{session_id}/messages`, the visitor's cookie); the session stores it as the visitor's final turn
 * (`typed: true`) and the Worker's side relays it to the agent with LiveKit's server API (RoomService `SendData`,
 * on {@link TOPIC_TYPED_MESSAGE}, to the agent's participant only), signed like ingest. The visitor never sends
 * data into the room itself: the agent accepts a typed message only from the server, with a valid signature.
 *
 * Written with `zod/mini`, like rest.ts, so the page can import it.
 *
 * See docs/architecture.md, "Typed input", and docs/security.md.
 */
import * as z from "zod/mini";
import { SessionId } from "./rest.ts";

/** Longest typed message, in characters (after trimming). */
export const TYPED_TEXT_MAX = 500;
/** Most typed messages one session takes within {@link TYPED_WINDOW_S}; more get 429 `too_many_messages`. */
export const TYPED_MESSAGES_PER_WINDOW = 5;
/** The sliding window of {@link TYPED_MESSAGES_PER_WINDOW}, in seconds. */
export const TYPED_WINDOW_S = 20;

/**
 * The data-packet topic of a relayed typed message (LiveKit reserves `lk.*` for its own protocols, so the product
 * uses its own prefix).
 */
export const TOPIC_TYPED_MESSAGE = "app.typed_message";

/**
 * A typed message's id, chosen by the page (a fresh random id per message): the same id posted twice is stored and
 * relayed once, and the second answer repeats the first.
 */
export const MessageId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{8,64}$/, "id must be 8-64 characters of A-Z, a-z, 0-9, _ or -"));
export type MessageId = z.infer<typeof MessageId>;

/**
 * The text of a typed message: 1 to {@link TYPED_TEXT_MAX} characters once trimmed, printable (line breaks and
 * tabs allowed, other control and format characters not).
 */
export const TypedText = z
  .string()
  .check(
    z.trim(),
    z.minLength(1, "text must not be empty"),
    z.maxLength(TYPED_TEXT_MAX, `text must be at most ${TYPED_TEXT_MAX} characters`),
    z.regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*(?:[\n\t][^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*)*$/u, "text must be printable"),
  );

/** `POST /session/{session_id}/messages` body. */
export const TypedMessageRequest = z.strictObject({ id: MessageId, text: TypedText });
export type TypedMessageRequest = z.infer<typeof TypedMessageRequest>;

/**
 * `POST /session/{session_id}/messages` 200 body: `seq` is the stored turn's place in the transcript (the socket
 * carries it too); `duplicate` is true when this id was taken before (nothing was sent again).
 */
export const TypedMessageResponse = z.object({
  seq: z.number().check(z.int(), z.positive()),
  duplicate: z.boolean(),
});
export type TypedMessageResponse = z.infer<typeof TypedMessageResponse>;

/** What the agent receives: the session, the message's id and its (trimmed) text. */
export const TypedRelayBody = z.strictObject({ session_id: SessionId, id: MessageId, text: TypedText });
export type TypedRelayBody = z.infer<typeof TypedRelayBody>;

/**
 * The payload of a {@link TOPIC_TYPED_MESSAGE} data packet (UTF-8 JSON): `body` is a {@link TypedRelayBody} as a JSON
 * string, and `signature` its ingest signature (`signIngest(AGENT_INGEST_SECRET, session_id, body)`, signature.ts),
 * so that only the Worker's side can make one.
 */
export const TypedRelayPacket = z.strictObject({
  body: z.string().check(z.maxLength(4096)),
  signature: z.string().check(z.maxLength(256)),
});
export type TypedRelayPacket = z.infer<typeof TypedRelayPacket>;
