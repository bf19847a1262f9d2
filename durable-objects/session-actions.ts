/**
 * The `SessionDO`'s side of the agent's action calls (`POST /session/{id}/actions`): whether the session still
 * takes calls, the stored answer of a call already answered (the same `call_id` acts once), and recording an
 * answer: stored by `call_id` and appended to the conversation as an `ActionMessage` (next `seq`), which the
 * `SessionDO` then broadcasts.
 *
 * The Worker does the rest between {@link beginAction} and {@link recordAction}: the intent's place in the
 * session's profile, the schema, the handler (worker/actions/). Those need the bundled profile registry and the
 * handlers, which live in worker/ (durable-objects/ never imports upwards).
 *
 * See docs/actions.md.
 */
import type { ActionMessage, ActionRequest, ActionResponse } from "../contract/index.ts";
import { DEFAULT_PROFILE_ID } from "../contract/defaults.ts";
import type { SessionStore } from "./session-store.ts";

/**
 * What {@link beginAction} found:
 * - `not_found`: no such session;
 * - `ended`: the session has ended and its closing window is over (or it never had an agent);
 * - `answered`: the call was answered before; `response` is that first answer, to be returned as is;
 * - `open`: the call may go ahead, for the session's `profile` and on behalf of its `owner` (visitor id).
 */
export type ActionBegin =
  | { status: "not_found" }
  | { status: "ended" }
  | { status: "answered"; response: ActionResponse }
  | { status: "open"; profile: string; owner: string; timezone: string | null };

/**
 * Whether the session takes action call `callId` now. A running session does; an ended one only during its
 * closing window (its agent's last calls after Stop, as ingest takes its last events). An action request
 * carries no job id, so, unlike ingest, it cannot tell the current agent from a replaced one.
 * @param nowMs epoch ms
 */
export function beginAction(store: SessionStore, callId: string, nowMs: number): ActionBegin {
  const row = store.row();
  if (!row) return { status: "not_found" };
  if (row.status === "ended" && (row.closing_until === null || nowMs >= row.closing_until)) return { status: "ended" };
  const answered = store.actionAnswer(callId);
  if (answered) return { status: "answered", response: answered };
  return { status: "open", profile: row.profile ?? DEFAULT_PROFILE_ID, owner: row.owner, timezone: row.timezone };
}

/** What {@link recordAction} did: the answer to return, and the message to broadcast (null for a repeat). */
export interface ActionRecord {
  response: ActionResponse;
  message: ActionMessage | null;
}

/**
 * Records the answer of a call: stores it by `call_id` and appends the `ActionMessage`. When the call was answered
 * meanwhile (the same `call_id` posted twice at once), the first answer is kept and returned, and nothing is
 * appended. Call inside `transactionSync`.
 * @param request the call as the agent posted it (its `arguments` go into the message)
 * @param response the Worker's answer
 * @param nowMs epoch ms, the message's `ts`
 */
export function recordAction(
  store: SessionStore,
  request: ActionRequest,
  response: ActionResponse,
  nowMs: number,
): ActionRecord {
  if (!store.saveActionAnswer(response)) return { response: store.actionAnswer(request.call_id)!, message: null };
  const message: ActionMessage = {
    type: "action",
    call_id: response.call_id,
    intent: response.intent,
    arguments: request.arguments,
    status: response.status,
    message: response.message,
    ...(response.result !== undefined ? { result: response.result } : {}),
    ...(response.errors !== undefined ? { errors: response.errors } : {}),
    seq: store.nextSeq(),
    ts: nowMs,
  };
  store.append("action", message);
  return { response, message };
}
