/**
 * Switching mode mid-conversation, the agent's side (contract/mode.ts): the `SessionDO` sends a mode change as a data
 * packet on `TOPIC_MODE_CHANGE` (from the server, signed for this session, taken once: server-relay.ts), and the job
 * hands the conversation over between its pipeline agent and its live agent within the same `AgentSession`, room and
 * job (LiveKit Agents' agent handoff, `AgentSession.updateAgent`). The new agent starts with the old one's chat
 * context, so the conversation goes on where it was: the earlier turns, tool calls and their results included.
 *
 * What a switch does, in order: interrupts the agent if it is speaking (the visitor asked for another mode now, or the
 * day's live minutes are over), copies the chat context, and hands over. A change to `pipeline` because the live
 * minutes ran out (`reason: "live_limit"`) opens with the profile's `live_limit_notice`, spoken through the TTS; a
 * change the visitor asked for opens with nothing. Logged: `mode_changed` (from, to, reason), never any text.
 */
import type { llm, voice } from "@livekit/agents";
import type { Room } from "@livekit/rtc-node";
import { type ModeChangeReason, ModeRelayBody, type SessionMode, TOPIC_MODE_CHANGE } from "../contract/index.ts";
import { errorSummary, type Logger } from "../contract/log.ts";
import { acceptServerRelay, type ServerRelay } from "./server-relay.ts";

/** The job's mode switching in one room. */
export interface ModeSwitch extends ServerRelay {
  /** The mode the conversation is in now. */
  mode(): SessionMode;
  /** Mode changes made so far. */
  changes(): number;
}

/** What {@link acceptModeChanges} needs. */
export interface ModeSwitchOptions {
  /** The job's session id (dispatch metadata). */
  sessionId: string;
  /** `AGENT_INGEST_SECRET`. */
  secret: string;
  /** The job's logger. */
  log: Logger;
  /** The job's running agent session. */
  session: voice.AgentSession;
  /** The mode the job started in (dispatch metadata `mode`). */
  initial: SessionMode;
  /** Whether the job is ending (a change is then ignored). */
  closing: () => boolean;
  /**
   * Makes the agent that takes over: for `mode`, starting with `chatCtx`, and opening with `notice` when given (the
   * job: a `WebsiteAgent` with the session's instructions and tools, and the realtime model for `live`).
   */
  makeAgent: (mode: SessionMode, chatCtx: llm.ChatContext, notice: string | undefined) => voice.Agent;
  /** What the agent says when live mode ends because the live minutes ran out (profile `live_limit_notice`). */
  liveLimitNotice: string;
}

/**
 * Listens for mode changes in `room` and hands the conversation over for each. A change to the mode the job is in
 * already changes nothing (logged `mode_unchanged`). Register once the agent session has started.
 */
export function acceptModeChanges(room: Room, options: ModeSwitchOptions): ModeSwitch {
  const { session, log } = options;
  let mode = options.initial;
  let changes = 0;
  const handOver = (to: SessionMode, reason: ModeChangeReason) => {
    if (options.closing()) return;
    if (to === mode) return log.info("mode_unchanged", { mode, reason });
    try {
      session.interrupt();
    } catch (err) {
      log.info("mode_change_no_interrupt", { error: errorSummary(err) });
    }
    // The running agent's context, copied: the new agent starts where the conversation is.
    const chatCtx = session.currentAgent.chatCtx.copy();
    const notice = to === "pipeline" && reason === "live_limit" ? options.liveLimitNotice : undefined;
    session.updateAgent(options.makeAgent(to, chatCtx, notice));
    log.info("mode_changed", { from: mode, to, reason, items: chatCtx.items.length });
    mode = to;
    changes++;
  };
  const relay = acceptServerRelay(room, {
    topic: TOPIC_MODE_CHANGE,
    body: ModeRelayBody,
    event: "mode_change",
    sessionId: options.sessionId,
    secret: options.secret,
    log,
    take: (body) => handOver(body.mode, body.reason),
  });
  return { ...relay, mode: () => mode, changes: () => changes };
}
