/**
 * The daily live-minutes limit as the Worker applies it (`LIVE_MINUTES_PER_DAY`, edge/config.ts): the refusal both
 * `POST /session {mode: "live"}` and `POST /session/{id}/mode {mode: "live"}` answer when the visitor has no live time
 * left today, and the check of a start in live mode. The time itself is kept by the visitor's `VisitorDO`
 * (durable-objects/live-usage-store.ts) and counted by each `SessionDO` (durable-objects/session-mode.ts).
 *
 * See docs/architecture.md, "Mode switch".
 */
import { msToNextUtcDay } from "../durable-objects/live-usage-store.ts";
import { LIVE_MIN_MS, liveLimitMs } from "../durable-objects/session-mode.ts";
import type { EdgeConfig } from "../edge/config.ts";
import { HttpError } from "./errors.ts";
import { visitorStub } from "./sessions.ts";

/**
 * 429 `live_limit_reached`, with `Retry-After` the seconds until the next UTC midnight (when the allowance renews).
 * @param atStart true for `POST /session` (start in standard mode instead), false for a switch (the conversation
 *   goes on in standard mode)
 * @param nowMs epoch ms
 */
export function liveLimitReached(atStart: boolean, nowMs: number): HttpError {
  const message = atStart
    ? "You have no live minutes left today; start the conversation in standard mode instead."
    : "You have no live minutes left today; the conversation continues in standard mode.";
  return new HttpError(429, "live_limit_reached", message, {
    "Retry-After": String(Math.ceil(msToNextUtcDay(nowMs) / 1000)),
  });
}

/**
 * The visitor's live ms left today, for a start in live mode (one `VisitorDO` call).
 * @param nowMs epoch ms
 * @returns at least `LIVE_MIN_MS`
 * @throws HttpError 429 `live_limit_reached` when less is left; whatever the `VisitorDO` call throws
 */
export async function liveTimeForStart(
  env: Env,
  config: EdgeConfig,
  visitorId: string,
  nowMs: number,
): Promise<number> {
  const left = await visitorStub(env, visitorId).liveLeft(liveLimitMs(config), nowMs);
  if (left < LIVE_MIN_MS) throw liveLimitReached(true, nowMs);
  return left;
}
