/**
 * What each failure means to a person, and what they can do about it, in the page's language (texts.ts; the words
 * are in web/i18n/).
 */
import type { ErrorText } from "../i18n/en.ts";
import type { RequestError } from "./api.ts";
import type { ChatError } from "./state.ts";
import { texts } from "./texts.ts";

/**
 * The title and message for an error (the view replaces a rate limit's message with its countdown).
 */
export function errorText(error: ChatError): ErrorText {
  return texts.errors[error.kind];
}

/**
 * What the status line says when a typed message was not sent (`POST /session/{id}/messages`, api.ts
 * `sendMessage`): a rate limit asks to slow down (with `Retry-After`, rounded up to whole seconds, when given), a
 * network failure or 502 `livekit_unavailable` offers Send again (the same message keeps its id, so it is taken
 * once), anything else gives the server's own sentence (e.g. 409 `agent_not_ready`).
 */
export function sendErrorText(err: RequestError): string {
  const wait = err.retryAfterS ? texts.sendWait.replace("{s}", String(Math.ceil(err.retryAfterS))) : "";
  if (err.status === 429) return texts.sendTooFast.replace("{wait}", wait);
  if (err.status === 0 || err.status === 502) return texts.sendFailed;
  return texts.sendRefused + err.message;
}

/**
 * What the status line says when the Live mode switch could not change the conversation's mode
 * (`POST /session/{id}/mode`, api.ts `changeMode`): with no answer, to try again; else the server's own sentence
 * (e.g. 429 `live_limit_reached`, 409 `agent_not_ready`).
 */
export function modeErrorText(err: RequestError): string {
  return err.status === 0 ? texts.modeFailed : texts.modeRefused + err.message;
}
