/**
 * `POST /session/{id}/messages`: a message the visitor types instead of speaking (contract/messages.ts). The
 * visitor's cookie authenticates it like the other session routes; the body is a `TypedMessageRequest` of at most
 * `TYPED_TEXT_MAX` characters. Rate-limited per visitor and client IP (`MESSAGE_LIMITER`) and per session
 * (`TYPED_MESSAGES_PER_WINDOW` per `TYPED_WINDOW_S`, in the `SessionDO`). The `SessionDO` relays it to the agent
 * from the server and stores it as the visitor's turn (durable-objects/session-messages.ts).
 *
 * Answers: 200 `TypedMessageResponse`; 400 `invalid_request`; 403 `forbidden`; 404 `session_not_found`; 409
 * `agent_not_ready` (starting or reconnecting: try again shortly), `message_in_flight` or `session_ended`; 413
 * `payload_too_large`; 429 `rate_limited` or `too_many_messages` (with `Retry-After`); 502 `livekit_unavailable`
 * (nothing was stored; the same id may be posted again).
 *
 * See docs/architecture.md, "Typed input".
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { TypedMessageRequest, type TypedMessageResponse } from "../../contract/index.ts";
import type { TypedResult } from "../../durable-objects/session-do.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { rateLimit } from "../rate-limit.ts";
import { ownedSession, sessionStub } from "../sessions.ts";
import { jsonBody, sessionIdParam } from "../validate.ts";

export const messageRoutes = new Hono<AppEnv>();

/** Largest body, bytes: a `TYPED_TEXT_MAX`-character text of 4-byte characters, escaped, with room to spare. */
export const MESSAGE_BODY_MAX_BYTES = 8 * 1024;

const limitBody = bodyLimit({
  maxSize: MESSAGE_BODY_MAX_BYTES,
  onError: () => {
    throw new HttpError(413, "payload_too_large", `The body exceeds ${MESSAGE_BODY_MAX_BYTES} bytes.`);
  },
});

messageRoutes.post(
  "/session/:session_id/messages",
  rateLimit((env) => env.MESSAGE_LIMITER),
  limitBody,
  async (c) => {
    const sessionId = sessionIdParam(c);
    const request = await jsonBody(c, TypedMessageRequest);
    await ownedSession(c, sessionId);
    const result = await sessionStub(c.env, sessionId).typedMessage(request.id, request.text);
    if (result.status !== "ok") throw refusal(result);
    const response: TypedMessageResponse = { seq: result.seq, duplicate: result.duplicate };
    return c.json(response);
  },
);

/** The HTTP error for a typed message the session did not take. */
function refusal(result: Exclude<TypedResult, { status: "ok" }>): HttpError {
  switch (result.status) {
    case "not_found":
      return new HttpError(404, "session_not_found", "There is no session with this id.");
    case "ended":
      return new HttpError(409, "session_ended", "The conversation has ended; start a new one to send messages.");
    case "not_ready":
      return new HttpError(409, "agent_not_ready", "The agent is not in the conversation yet; try again in a moment.");
    case "in_flight":
      return new HttpError(409, "message_in_flight", "This message is being sent already.");
    case "too_many":
      return new HttpError(429, "too_many_messages", "Too many messages at once; wait a moment and send again.", {
        "Retry-After": String(result.retry_after_s),
      });
    case "unreachable":
      return new HttpError(502, "livekit_unavailable", "The message could not reach the agent; try sending it again.");
  }
}
