/**
 * The chat page's state machine: a pure reducer from actions (the user's clicks, the start flow's
 * steps, transcript-socket frames) to the state the view renders. No DOM, no I/O.
 *
 * Phases: idle → starting → live → stopping → idle; any phase → error (Start again recovers, except from
 * `browser_unsupported`: a browser without WebRTC, set at page load, where Start stays disabled).
 * The agent's state (connecting / listening / thinking / speaking, or reconnecting while the session
 * replaces a lost agent) is derived from the session and speech events of the transcript socket
 * (docs/architecture.md, "Transcript socket").
 */
import type { EndReason, ServerMessage } from "../../contract/index.ts";

export type Phase = "idle" | "starting" | "live" | "stopping" | "error";
export type AgentState = "connecting" | "listening" | "thinking" | "speaking" | "reconnecting";

/** Why the conversation could not start or could not go on; each has its own words (errors.ts). */
export type ErrorKind =
  | "browser_unsupported"
  | "mic_denied"
  | "mic_missing"
  | "mic_busy"
  | "mic_failed"
  | "server_unreachable"
  | "livekit_unreachable"
  | "rate_limited"
  | "forbidden"
  | "verification_failed"
  | "refused"
  | "agent_unavailable"
  | "agent_lost"
  | "timeout"
  | "connection_lost"
  | "session_error"
  | "live_limit";

export interface ChatError {
  kind: ErrorKind;
  /** The server's own sentence, when it gave one (shown under ours). */
  detail?: string;
  /** For `rate_limited`: seconds from the `Retry-After` header. */
  retryAfterS?: number;
}

export interface ChatState {
  phase: Phase;
  agent: AgentState;
  userSpeaking: boolean;
  agentSpeaking: boolean;
  muted: boolean;
  /** True while the transcript socket is down and being re-opened. */
  reconnecting: boolean;
  /** The audio of the agent is blocked by the browser's autoplay policy until the user clicks. */
  audioBlocked: boolean;
  error: ChatError | null;
  /** The current or last session, for the history link. */
  sessionId: string | null;
  /** Set when the last session ended by itself (not by Stop): shown as a note in the idle state. */
  endedBy: EndReason | null;
  /** A typed message is on its way (`POST /session/{id}/messages`): Send waits for its answer. */
  sending: boolean;
  /**
   * Shown in the status line while live, until the next send or mode change: why the last typed message was not sent
   * (errors.ts `sendErrorText`), why the Live mode switch went back (`modeErrorText`), or that live mode ended for today.
   */
  notice: string | null;
}

export type Action =
  | { type: "unsupported" }
  | { type: "start" }
  | { type: "session_created"; sessionId: string }
  | { type: "media_connected" }
  | { type: "server"; message: ServerMessage }
  | { type: "socket"; connected: boolean }
  | { type: "mute"; muted: boolean }
  | { type: "audio_blocked"; blocked: boolean }
  | { type: "fail"; error: ChatError }
  | { type: "stop" }
  | { type: "stopped" }
  | { type: "send" }
  | { type: "sent"; notice?: string | undefined }
  | { type: "notice"; notice: string | null };

export const initialState: ChatState = {
  phase: "idle",
  agent: "connecting",
  userSpeaking: false,
  agentSpeaking: false,
  muted: false,
  reconnecting: false,
  audioBlocked: false,
  error: null,
  sessionId: null,
  endedBy: null,
  sending: false,
  notice: null,
};

const END_ERRORS: Partial<Record<EndReason, ErrorKind>> = {
  agent_unavailable: "agent_unavailable",
  agent_lost: "agent_lost",
  timeout: "timeout",
  // The page never showed up in the LiveKit room in time: its audio connection did not come up.
  no_visitor: "livekit_unreachable",
  error: "session_error",
};

/** False when this browser cannot make voice calls (no WebRTC): Start stays disabled, and does nothing. */
export function canStart(state: ChatState): boolean {
  return state.error?.kind !== "browser_unsupported";
}

/** True while a conversation is being set up or running (Stop is offered). */
export function isActive(state: ChatState): boolean {
  return state.phase === "starting" || state.phase === "live";
}

/**
 * True while the visitor may type a message: the session is live and its agent is in the room (the session's
 * `active` state; the server refuses typed messages while it is `starting` or `reconnecting`).
 */
export function canType(state: ChatState): boolean {
  return state.phase === "live" && state.agent !== "connecting" && state.agent !== "reconnecting";
}

function onServer(state: ChatState, message: ServerMessage): ChatState {
  if ("type" in message) {
    // Actions (cards, captions.ts) and mode changes (live-mode.ts) say nothing about the session or who is speaking.
    if (message.type !== "session") return state;
    if (message.status === "reconnecting") return { ...state, agent: "reconnecting", agentSpeaking: false };
    if (message.status === "active" && (state.agent === "connecting" || state.agent === "reconnecting")) {
      return { ...state, agent: "listening" };
    }
    if (message.status !== "ended") return state;
    const kind = message.reason ? END_ERRORS[message.reason] : undefined;
    const quiet = { ...state, userSpeaking: false, agentSpeaking: false, reconnecting: false };
    if (kind) return { ...quiet, phase: "error", error: { kind } };
    return { ...quiet, phase: "idle", endedBy: state.phase === "stopping" ? null : (message.reason ?? "stopped") };
  }
  if (!isActive(state)) return state;
  if ("event" in message) {
    const started = message.event === "speech_started";
    if (message.role === "agent") {
      return { ...state, agentSpeaking: started, agent: started ? "speaking" : "listening" };
    }
    // The user speaking over the agent is a barge-in: the agent stops and listens.
    if (started) return { ...state, userSpeaking: true, agent: "listening" };
    return { ...state, userSpeaking: false, agent: state.agent === "listening" ? "thinking" : state.agent };
  }
  if (message.role === "user" && message.final && state.agent === "listening" && !state.userSpeaking) {
    return { ...state, agent: "thinking" };
  }
  if (message.role === "user" && state.agent === "connecting") return { ...state, agent: "listening" };
  return state;
}

/**
 * The next state.
 * @param state the current state (not mutated)
 * @param action what happened
 * @returns a new state object, or `state` itself when nothing changed
 */
export function reduce(state: ChatState, action: Action): ChatState {
  switch (action.type) {
    case "unsupported":
      return { ...initialState, phase: "error", error: { kind: "browser_unsupported" } };
    case "start":
      return canStart(state) ? { ...initialState, phase: "starting" } : state;
    case "session_created":
      return { ...state, sessionId: action.sessionId };
    case "media_connected":
      return state.phase === "starting" ? { ...state, phase: "live" } : state;
    case "server":
      return onServer(state, action.message);
    case "socket":
      return isActive(state) ? { ...state, reconnecting: !action.connected } : state;
    case "mute":
      return { ...state, muted: action.muted };
    case "audio_blocked":
      return { ...state, audioBlocked: action.blocked };
    case "fail":
      if (state.phase === "idle" || state.phase === "stopping" || state.phase === "error") return state;
      return { ...initialState, phase: "error", error: action.error, sessionId: state.sessionId };
    case "stop":
      return isActive(state) ? { ...state, phase: "stopping" } : state;
    case "stopped":
      return {
        ...initialState,
        phase: state.phase === "error" ? "error" : "idle",
        error: state.error,
        sessionId: state.sessionId,
        endedBy: state.endedBy,
      };
    case "send":
      return { ...state, sending: true, notice: null };
    case "sent":
      return { ...state, sending: false, notice: action.notice ?? null };
    case "notice":
      return { ...state, notice: action.notice };
  }
}
