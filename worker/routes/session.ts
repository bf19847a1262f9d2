/**
 * `POST /session` (start: create the `SessionDO`, dispatch the agent) and `DELETE /session/{id}`
 * (stop; idempotent). A failed dispatch answers 502 and leaves nothing behind.
 *
 * Source: shared/ARCHITECTURE.md, "Flows", "REST contract", "Dispatch".
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { SessionCreateRequest, type SessionCreateResponse, type SessionStopResponse } from "../../contract/index.ts";
import { describeError, log } from "../../edge/log.ts";
import type { AppEnv } from "../app-env.ts";
import { ApiError } from "../errors.ts";
import { dispatchAgent } from "../../edge/livekit.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { ownedSession, roomStub, sessionStub, visitorStub } from "../sessions.ts";
import { jsonBody, sessionIdParam } from "../validate.ts";
import { randomId } from "../visitor.ts";

export const sessionRoutes = new Hono<AppEnv>();

/** Largest `POST /session` body, bytes: room, identity and a 4,000-character prompt fit with room to spare. */
const SESSION_BODY_MAX_BYTES = 64 * 1024;

const limitBody = bodyLimit({
  maxSize: SESSION_BODY_MAX_BYTES,
  onError: () => {
    throw new ApiError(413, "payload_too_large", `The body exceeds ${SESSION_BODY_MAX_BYTES} bytes.`);
  },
});

sessionRoutes.post("/session", limitBody, async (c) => {
  const config = c.var.config;
  const body = await jsonBody(c, SessionCreateRequest);
  if (body.system_prompt !== undefined && !config.allowClientSystemPrompt) {
    throw new ApiError(403, "system_prompt_not_allowed", "This deployment does not accept a system_prompt.");
  }
  await enforceRateLimit(c, c.env.SESSION_LIMITER);

  const visitorId = c.var.visitorId;
  const sessionId = randomId();
  const now = Date.now();
  const room = roomStub(c.env, body.room);
  let verdict = await room.beginSession(visitorId, sessionId, now);
  if (!verdict.ok && verdict.reason === "busy" && (await hasEnded(c.env, verdict.activeSessionId))) {
    // The end of the previous session never reached the room (a lost notification): clear it and retry.
    await room.endSession(verdict.activeSessionId, now);
    verdict = await room.beginSession(visitorId, sessionId, now);
  }
  if (!verdict.ok && verdict.reason === "forbidden") {
    throw new ApiError(403, "room_forbidden", "This room belongs to another visitor.");
  }
  if (!verdict.ok) throw new ApiError(409, "session_active", "This room already has an active session.");

  const visitor = visitorStub(c.env, visitorId);
  const slot = await visitor.reserve(sessionId, config.maxActiveSessionsPerVisitor, now, now + (config.maxSessionS + 60) * 1000);
  if (!slot) {
    await room.endSession(sessionId, now);
    throw new ApiError(429, "too_many_sessions", "You have too many active sessions; stop one first.", {
      "Retry-After": "30",
    });
  }

  const session = sessionStub(c.env, sessionId);
  try {
    await session.create({ session_id: sessionId, room: body.room, identity: body.identity, owner: visitorId });
    await dispatchAgent(config, body.room, {
      session_id: sessionId,
      ...(body.system_prompt !== undefined ? { system_prompt: body.system_prompt } : {}),
    });
  } catch (err) {
    // Undo everything so that no half-made session stays behind; the visitor can simply retry.
    await session.discard();
    await room.endSession(sessionId, Date.now());
    await visitor.release(sessionId);
    log.warn("dispatch_failed", { session_id: sessionId, room: body.room, error: describeError(err) });
    throw new ApiError(502, "dispatch_failed", "The voice service could not start an agent; try again shortly.");
  }
  log.info("session_started", { session_id: sessionId, room: body.room });
  const response: SessionCreateResponse = { session_id: sessionId };
  return c.json(response, 201);
});

/** Whether a session the room still lists as active has in fact ended (or never existed). */
async function hasEnded(env: Env, sessionId: string): Promise<boolean> {
  const row = await sessionStub(env, sessionId).info();
  return !row || row.status === "ended";
}

sessionRoutes.delete("/session/:session_id", async (c) => {
  const sessionId = sessionIdParam(c);
  await ownedSession(c, sessionId);
  await sessionStub(c.env, sessionId).stop("stopped");
  const response: SessionStopResponse = { stopped: true };
  return c.json(response);
});
