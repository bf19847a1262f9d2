/**
 * `POST /session/{id}/actions`: the agent's function calls, server to server. Bounded and signed exactly like
 * ingest (worker/agent-request.ts); the body is a contract `ActionRequest`. The call then runs in three steps:
 * the `SessionDO` says whether the session takes it (or returns the stored answer of a `call_id` answered before,
 * so the same call acts once), the Worker checks the intent against the session's profile and the arguments
 * against its schema and runs its handler (worker/actions/), and the `SessionDO` stores the answer, appends it to
 * the conversation as an `ActionMessage` and broadcasts it. Every status is a 200 `ActionResponse`.
 *
 * See docs/actions.md.
 */
import { Hono } from "hono";
import { ACTION_ARGUMENTS_MAX_BYTES, ActionRequest, type ActionResponse } from "../../contract/index.ts";
import type { ActionBegin } from "../../durable-objects/session-do.ts";
import { log } from "../../edge/log.ts";
import { runAction } from "../actions/index.ts";
import { agentBodyLimit, signedBody } from "../agent-request.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { sessionStub } from "../sessions.ts";
import { parseJson, parseWith, sessionIdParam } from "../validate.ts";

export const actionRoutes = new Hono<AppEnv>();

/** Largest body, bytes: the arguments' {@link ACTION_ARGUMENTS_MAX_BYTES} and room for the rest of the call. */
export const ACTION_BODY_MAX_BYTES = 2 * ACTION_ARGUMENTS_MAX_BYTES;

const encoder = new TextEncoder();

actionRoutes.post("/session/:session_id/actions", agentBodyLimit(ACTION_BODY_MAX_BYTES), async (c) => {
  const startedMs = Date.now();
  const sessionId = sessionIdParam(c);
  const raw = await signedBody(c, sessionId);
  const request = parseWith(ActionRequest, parseJson(raw));
  if (encoder.encode(JSON.stringify(request.arguments)).length > ACTION_ARGUMENTS_MAX_BYTES) {
    throw new HttpError(413, "payload_too_large", `The arguments exceed ${ACTION_ARGUMENTS_MAX_BYTES} bytes of JSON.`);
  }
  const session = sessionStub(c.env, sessionId);
  // Workers' RPC types drop members holding `unknown` (an action's free-form `result`), which structured clone
  // carries all the same: the object's own types apply.
  const begun = (await session.beginAction(request.call_id)) as ActionBegin;
  if (begun.status === "not_found") throw new HttpError(404, "session_not_found", "There is no session with this id.");
  if (begun.status === "ended") {
    throw new HttpError(409, "session_ended", "The session has ended; actions are no longer accepted.");
  }
  let response: ActionResponse;
  if (begun.status === "answered") {
    response = begun.response;
  } else {
    const ctx = { env: c.env, visitorId: begun.owner, opId: `${sessionId}:${request.call_id}`, nowMs: Date.now() };
    const answer = await runAction(ctx, begun.profile, request);
    response = (await session.recordAction(request, answer)) as ActionResponse;
  }
  log.info("action_handled", {
    session_id: sessionId,
    intent: request.intent,
    status: response.status,
    ms: Date.now() - startedMs,
    replayed: begun.status === "answered",
  });
  return c.json(response);
});
