/**
 * `GET /transcripts/{id}`: the stored finals and speech events of the visitor's own session. Limited per visitor
 * and per client IP (`READ_LIMITER`, shared with `/history/{id}`).
 */
import { Hono } from "hono";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { ownedSession, sessionStub } from "../sessions.ts";
import { sessionIdParam } from "../validate.ts";

export const transcriptRoutes = new Hono<AppEnv>();

transcriptRoutes.get("/transcripts/:session_id", async (c) => {
  await enforceRateLimit(c, c.env.READ_LIMITER);
  const sessionId = sessionIdParam(c);
  await ownedSession(c, sessionId);
  const transcript = await sessionStub(c.env, sessionId).transcript();
  if (!transcript) throw new HttpError(404, "session_not_found", "There is no session with this id.");
  return c.json(transcript);
});
