/**
 * The `/chat` page's events for whoever embeds it (the embed widget's panel forwards them to the host page): each is a
 * `CustomEvent` named {@link PAGE_EVENT} (`"voice-agent:event"`), dispatched on `document`, whose `detail` is a
 * {@link PageEventDetail}:
 * - `{type: "started", sessionId}`: once per session, when the conversation becomes live (microphone published, the
 *   page joined the room: phase `live`);
 * - `{type: "action", sessionId, action}`: for each action frame the transcript socket delivers (contract/events.ts
 *   `ActionMessage`; a frame replayed after a reconnection is not repeated), `action` holding its public fields;
 * - `{type: "ended", sessionId, reason, error?}`: once per session the Worker created (a start that failed after
 *   `POST /session` answered included, one that failed before has no session and no event), whatever ended it: Stop
 *   or leaving the page (`reason: "stopped"`), the server's end frame (its `EndReason`, and `error` when the page
 *   shows that end as an error), or a failure of the page (`reason: "error"`, `error` its kind). Never twice.
 *
 * Listen with `document.addEventListener(PAGE_EVENT, (e) => (e as CustomEvent<PageEventDetail>).detail)`.
 */
import type { ActionMessage, EndReason } from "../../contract/index.ts";
import type { ErrorKind } from "./state.ts";

/** The events' name. */
export const PAGE_EVENT = "voice-agent:event";

/**
 * An action frame's public fields (contract/events.ts `ActionMessage`): the call, its intent, what became of it
 * (`status`), the Worker's sentence (`message`), and `result` (`ok`, `ambiguous`) or `errors` (`invalid`) when the
 * frame has them. Not its `arguments` (what the agent asked for: `result` says what was done) nor its `seq`/`ts`.
 */
export type PageAction = Pick<ActionMessage, "call_id" | "intent" | "status" | "message" | "result" | "errors">;

/** The `detail` of a {@link PAGE_EVENT}; `sessionId` is the Worker's session id (`POST /session`'s `session_id`). */
export type PageEventDetail =
  | { type: "started"; sessionId: string }
  | { type: "action"; sessionId: string; action: PageAction }
  | { type: "ended"; sessionId: string; reason: EndReason; error?: ErrorKind };

/** Dispatches `detail` as a {@link PAGE_EVENT} on `document`. */
export function emit(detail: PageEventDetail): void {
  document.dispatchEvent(new CustomEvent(PAGE_EVENT, { detail }));
}

/** The public fields of an action frame, copied (a field the frame lacks is left out, not `undefined`). */
export function pageAction(frame: ActionMessage): PageAction {
  const { call_id, intent, status, message, result, errors } = frame;
  return { call_id, intent, status, message, ...(result && { result }), ...(errors && { errors }) };
}
