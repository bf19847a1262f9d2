/**
 * `POST /session` (start: the session-start service creates the `SessionDO` and dispatches the agent, and answers
 * the token that joins the room; a failure leaves nothing behind) and `DELETE /session/{id}` (stop; idempotent).
 *
 * See docs/architecture.md, "Flows", "REST API" and "Dispatch"; worker/session-start.ts.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { SessionCreateRequest, type SessionStopResponse } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { clientIp } from "../rate-limit.ts";
import { runSessionStart } from "../session-start.ts";
import { ownedSession, sessionStub } from "../sessions.ts";
import { jsonBody, sessionIdParam } from "../validate.ts";

export const sessionRoutes = new Hono<AppEnv>();

/**
 * Largest `POST /session` body, bytes: room, identity and a `SYSTEM_PROMPT_MAX`-character prompt fit
 * with room to spare.
 */
const SESSION_BODY_MAX_BYTES = 64 * 1024;

const limitBody = bodyLimit({
  maxSize: SESSION_BODY_MAX_BYTES,
  onError: () => {
    throw new HttpError(413, "payload_too_large", `The body exceeds ${SESSION_BODY_MAX_BYTES} bytes.`);
  },
});

sessionRoutes.post("/session", limitBody, async (c) => {
  const request = await jsonBody(c, SessionCreateRequest);
  const caller = { visitorId: c.var.visitorId, clientIp: clientIp(c), hostname: new URL(c.req.url).hostname };
  const response = await runSessionStart({ env: c.env, config: c.var.config }, request, caller);
  return c.json(response, 201);
});

sessionRoutes.delete("/session/:session_id", async (c) => {
  const sessionId = sessionIdParam(c);
  await ownedSession(c, sessionId);
  await sessionStub(c.env, sessionId).stop("stopped");
  const response: SessionStopResponse = { stopped: true };
  return c.json(response);
});
