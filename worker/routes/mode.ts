/**
 * `POST /session/{id}/mode`: the visitor switches a running conversation between the pipeline and live mode
 * (contract/mode.ts). The visitor's cookie authenticates it like the other session routes; the body is a
 * `ModeChangeRequest`. Rate-limited per visitor and client IP with the typed messages' `MESSAGE_LIMITER`. The
 * `SessionDO` relays the change to the agent from the server, then stores it as a `ModeMessage` and counts the
 * visitor's live minutes (durable-objects/session-mode.ts).
 *
 * Answers: 200 `ModeChangeResponse` (`changed: false` when the session already talks that way: nothing sent);
 * 400 `invalid_request`; 403 `forbidden`, `live_mode_disabled` (live mode asked for where `ENABLE_VOICE_LIVE_MODE`
 * is off; the pipeline is always allowed); 404 `session_not_found`; 409 `session_ended`, `agent_not_ready` (starting
 * or reconnecting: try again shortly), `mode_change_in_flight`; 413 `payload_too_large`; 429 `rate_limited`,
 * `live_limit_reached` (no live minutes left today, `Retry-After` until the next UTC midnight); 502
 * `livekit_unavailable` (nothing was stored).
 *
 * See docs/architecture.md, "Mode switch".
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ModeChangeRequest, type ModeChangeResponse } from "../../contract/index.ts";
import type { ModeResult } from "../../durable-objects/session-do.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { liveLimitReached } from "../live-allowance.ts";
import { rateLimit } from "../rate-limit.ts";
import { ownedSession, sessionStub } from "../sessions.ts";
import { jsonBody, sessionIdParam } from "../validate.ts";

export const modeRoutes = new Hono<AppEnv>();

/** Largest body, bytes: `{"mode":"pipeline"}` with room to spare. */
export const MODE_BODY_MAX_BYTES = 1024;

const limitBody = bodyLimit({
  maxSize: MODE_BODY_MAX_BYTES,
  onError: () => {
    throw new HttpError(413, "payload_too_large", `The body exceeds ${MODE_BODY_MAX_BYTES} bytes.`);
  },
});

modeRoutes.post(
  "/session/:session_id/mode",
  rateLimit((env) => env.MESSAGE_LIMITER),
  limitBody,
  async (c) => {
    const sessionId = sessionIdParam(c);
    const { mode } = await jsonBody(c, ModeChangeRequest);
    await ownedSession(c, sessionId);
    if (mode === "live" && !c.var.config.liveMode) {
      throw new HttpError(
        403,
        "live_mode_disabled",
        "Live mode is not available here; the conversation goes on as it is.",
      );
    }
    const result = await sessionStub(c.env, sessionId).changeMode(mode);
    if (result.status !== "ok") throw refusal(result);
    const response: ModeChangeResponse = {
      mode: result.mode,
      changed: result.changed,
      live_s_left: result.live_s_left,
    };
    return c.json(response);
  },
);

/** The HTTP error for a mode change the session did not make. */
function refusal(result: Exclude<ModeResult, { status: "ok" }>): HttpError {
  switch (result.status) {
    case "not_found":
      return new HttpError(404, "session_not_found", "There is no session with this id.");
    case "ended":
      return new HttpError(409, "session_ended", "The conversation has ended; start a new one.");
    case "not_ready":
      return new HttpError(409, "agent_not_ready", "The agent is not in the conversation yet; try again in a moment.");
    case "in_flight":
      return new HttpError(409, "mode_change_in_flight", "The conversation is switching mode already; wait a moment.");
    case "live_limit":
      return liveLimitReached(false, Date.now());
    case "unreachable":
      return new HttpError(502, "livekit_unavailable", "The switch could not reach the agent; try again.");
  }
}
