/**
 * Switching a running session between the pipeline and live mode (contract/rest.ts `SessionMode`), and the daily
 * live-minutes limit. The page posts `POST /session/{session_id}/mode` (the visitor's cookie); the session records a
 * `ModeMessage` (contract/events.ts) and the Worker's side relays the change to the agent with LiveKit's server API
 * (RoomService `SendData`, on {@link TOPIC_MODE_CHANGE}, to the agent's participant only), signed like ingest. The
 * agent hands the conversation over between its pipeline agent and its live agent within the same job (LiveKit
 * Agents' agent handoff, `AgentSession.updateAgent`), keeping the chat context.
 *
 * Written with `zod/mini`, like rest.ts, so the page can import it.
 *
 * See docs/architecture.md, "Mode switch", and docs/agent.md, "Live mode".
 */
import * as z from "zod/mini";
import { ModeChangeReason } from "./events.ts";
import { MessageId } from "./messages.ts";
import { SessionId, SessionMode } from "./rest.ts";

/**
 * The data-packet topic of a relayed mode change (LiveKit reserves `lk.*` for its own protocols, so the product uses
 * its own prefix, as for `TOPIC_TYPED_MESSAGE`).
 */
export const TOPIC_MODE_CHANGE = "app.mode_change";

/** Live minutes a visitor gets per UTC day when the deployment does not set `LIVE_MINUTES_PER_DAY`. */
export const LIVE_MINUTES_PER_DAY_DEFAULT = 10;

/** `POST /session/{session_id}/mode` body: the mode the visitor wants. */
export const ModeChangeRequest = z.strictObject({ mode: SessionMode });
export type ModeChangeRequest = z.infer<typeof ModeChangeRequest>;

/**
 * `POST /session/{session_id}/mode` 200 body: the session's mode now; `changed` is false when it already was that
 * mode (nothing was sent); `live_s_left` the visitor's live seconds left today (after this change's start: the time
 * live mode may last before it falls back to the pipeline).
 */
export const ModeChangeResponse = z.object({
  mode: SessionMode,
  changed: z.boolean(),
  live_s_left: z.number().check(z.int(), z.nonnegative()),
});
export type ModeChangeResponse = z.infer<typeof ModeChangeResponse>;

/**
 * What the agent receives: the session, the change's id (fresh per change, so that each is taken once), the mode to
 * hand over to and why (`live_limit`: the agent tells the visitor that live mode has ended for today).
 */
export const ModeRelayBody = z.strictObject({
  session_id: SessionId,
  id: MessageId,
  mode: SessionMode,
  reason: ModeChangeReason,
});
export type ModeRelayBody = z.infer<typeof ModeRelayBody>;
