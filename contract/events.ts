/**
 * Transcript, speech and session events: what the agent posts (ingest), what the `SessionDO` stores,
 * and what the browser receives on `/ws/transcript/{session_id}`.
 *
 * Written with `zod/mini`, like contract/rest.ts, so the page can import it.
 *
 * See docs/architecture.md, "Transcript socket" and "Agent ingest".
 */
import * as z from "zod/mini";
import { ActionFieldError, ActionStatus, CallId, IntentName } from "./actions.ts";
import { SUMMARY_MAX } from "./defaults.ts";
import { ProfileId, RoomName, SessionId, SessionMode, SystemPrompt, TimeZone, VisitorName } from "./rest.ts";
import { TutorPlace } from "./tutor.ts";
import { SessionUsage, TurnLatencyMs, USAGE_TURNS_MAX, UsageCounts } from "./usage.ts";

export const Role = z.enum(["user", "agent"]);
export type Role = z.infer<typeof Role>;

/** Longest transcript text accepted in one event, in characters. */
export const TEXT_MAX = 8000;
/** Epoch milliseconds. */
const EpochMs = z.number().check(z.int(), z.nonnegative());
const Seq = z.number().check(z.int(), z.positive());

const Text = z.string().check(z.maxLength(TEXT_MAX));
const TranscriptFields = { role: Role, text: Text, final: z.boolean() };
const SpeechFields = { role: Role, event: z.enum(["speech_started", "speech_ended"]) };

/**
 * Where a session is in its lifecycle (docs/architecture.md, "Session lifecycle"): `reconnecting` while a
 * replacement agent is dispatched after the first one was lost; `ended` is final.
 */
export const SessionStatus = z.enum(["starting", "active", "reconnecting", "ended"]);
export type SessionStatus = z.infer<typeof SessionStatus>;
/**
 * Why a session ended: `stopped` (the visitor, or the room finished), `timeout` (a time limit or inactivity),
 * `agent_lost`, `agent_unavailable` (no agent joined), `no_visitor` (the visitor never joined the LiveKit room
 * within `CLIENT_JOIN_TIMEOUT_S`), `error`.
 */
export const EndReason = z.enum(["stopped", "timeout", "agent_lost", "agent_unavailable", "no_visitor", "error"]);
export type EndReason = z.infer<typeof EndReason>;

// ---- WebSocket, server → client -------------------------------------------------------------

/**
 * A transcript message. Interims (`final:false`) are only ever `role:"user"` and are not stored. `typed` marks a
 * visitor's turn that was typed, not spoken (contract/messages.ts); absent on speech.
 */
export const TranscriptMessage = z.object({
  ...TranscriptFields,
  typed: z.optional(z.literal(true)),
  seq: Seq,
  ts: EpochMs,
});
export type TranscriptMessage = z.infer<typeof TranscriptMessage>;

export const SpeechMessage = z.object({ ...SpeechFields, seq: Seq, ts: EpochMs });
export type SpeechMessage = z.infer<typeof SpeechMessage>;

/** Session state (an extension of the specification: no `role`). */
export const SessionStateMessage = z.object({
  type: z.literal("session"),
  status: SessionStatus,
  reason: z.optional(EndReason),
  seq: Seq,
  ts: EpochMs,
});
export type SessionStateMessage = z.infer<typeof SessionStateMessage>;

/**
 * An action the agent took on the visitor's behalf (contract/actions.ts): stored with the conversation and sent
 * on the socket once the Worker has answered the call, whatever its status. The page shows it as a card.
 */
export const ActionMessage = z.object({
  type: z.literal("action"),
  call_id: CallId,
  intent: IntentName,
  arguments: z.record(z.string(), z.unknown()),
  status: ActionStatus,
  message: z.string(),
  result: z.optional(z.record(z.string(), z.unknown())),
  errors: z.optional(z.array(ActionFieldError)),
  seq: Seq,
  ts: EpochMs,
});
export type ActionMessage = z.infer<typeof ActionMessage>;

/**
 * Why a session's mode changed: `visitor`, the visitor asked (`POST /session/{id}/mode`, contract/mode.ts);
 * `live_limit`, the visitor's live minutes for the day ran out (`LIVE_MINUTES_PER_DAY`) and the session fell back to
 * the pipeline (the agent says so).
 */
export const ModeChangeReason = z.enum(["visitor", "live_limit"]);
export type ModeChangeReason = z.infer<typeof ModeChangeReason>;

/**
 * The session's mode changed mid-conversation (contract/mode.ts): stored with the conversation, between the turns it
 * separates, and sent on the socket, so that the page's switch and the transcript show where live mode began and
 * ended. The conversation itself goes on: one session, one transcript.
 */
export const ModeMessage = z.object({
  type: z.literal("mode"),
  mode: SessionMode,
  reason: ModeChangeReason,
  seq: Seq,
  ts: EpochMs,
});
export type ModeMessage = z.infer<typeof ModeMessage>;

/** Any frame the server sends on the transcript socket. */
export const ServerMessage = z.union([
  TranscriptMessage,
  SpeechMessage,
  SessionStateMessage,
  ActionMessage,
  ModeMessage,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

/**
 * Sent once, then the socket is closed with 1011, when an upgrade is refused after the 101
 * (browsers hide HTTP bodies of failed upgrades; the partyserver pattern).
 */
export const SocketErrorMessage = z.object({
  type: z.literal("error"),
  code: z.string(),
  message: z.string(),
});
export type SocketErrorMessage = z.infer<typeof SocketErrorMessage>;

// ---- WebSocket, client → server ---------------------------------------------------------------

/**
 * The only frame a page sends on the transcript socket: a text keep-alive every `SOCKET_PING_INTERVAL_S`, so that
 * idle proxies keep the connection open. Answered {@link SOCKET_PONG} (a text frame, not JSON) by the runtime without
 * waking the `SessionDO` (`setWebSocketAutoResponse`); anything else a client sends is ignored.
 */
export const SOCKET_PING = "ping";
/** The answer to {@link SOCKET_PING}. */
export const SOCKET_PONG = "pong";

/** `?after=<seq>` on the transcript socket: replay stored events with a larger seq first. */
export const ReplayQuery = z.object({ after: z.optional(z.coerce.number().check(z.int(), z.nonnegative())) });

// ---- Ingest, agent → Worker -----------------------------------------------------------------

/** Event id, unique per event (e.g. `<job_id>:<counter>`); re-sent events carry the same id. */
export const EventId = z.string().check(z.minLength(1), z.maxLength(128));

export const AgentTranscriptEvent = z.strictObject({ id: EventId, ts: EpochMs, ...TranscriptFields });
export const AgentSpeechEvent = z.strictObject({ id: EventId, ts: EpochMs, ...SpeechFields });
export const AgentLifecycleType = z.enum(["agent_joined", "agent_heartbeat", "agent_left", "agent_error"]);
export type AgentLifecycleType = z.infer<typeof AgentLifecycleType>;
/**
 * Why an agent left (`agent_left.reason`): the session replaces an agent that left for `worker_draining`,
 * `agent_session_closed`, `start_failed`, `room_disconnected` or `job_shut_down` while the conversation was
 * still running, and ends it (`timeout`) for `max_session` and `no_visitor`; `ingest_refused` means the session
 * had already let the agent go.
 */
export const AgentLeaveReason = z.enum([
  "room_disconnected",
  "ingest_refused",
  "max_session",
  "no_visitor",
  "worker_draining",
  "agent_session_closed",
  "start_failed",
  "job_shut_down",
]);
export type AgentLeaveReason = z.infer<typeof AgentLeaveReason>;

export const AgentLifecycleEvent = z.strictObject({
  id: EventId,
  ts: EpochMs,
  type: AgentLifecycleType,
  detail: z.optional(z.string().check(z.maxLength(1000))),
  /** Only on `agent_left`. */
  reason: z.optional(AgentLeaveReason),
});

/**
 * What the agent job used since its previous `usage` event (contract/usage.ts): the turns it answered since then,
 * each as its latency (the visitor's end of speech → the reply's first audio handed to the room, ms), and the usage
 * counts its framework reported meanwhile. Sent after each answered turn and once more just before `agent_left`;
 * the session adds them up into the conversation's {@link SessionUsage}. Never broadcast or stored as an event.
 */
export const AgentUsageEvent = z.strictObject({
  id: EventId,
  ts: EpochMs,
  type: z.literal("usage"),
  turn_latencies_ms: z.array(TurnLatencyMs).check(z.maxLength(USAGE_TURNS_MAX)),
  usage: UsageCounts,
});
export type AgentUsageEvent = z.infer<typeof AgentUsageEvent>;

/** One event posted by the agent. */
export const AgentEvent = z.union([AgentTranscriptEvent, AgentSpeechEvent, AgentLifecycleEvent, AgentUsageEvent]);
export type AgentEvent = z.infer<typeof AgentEvent>;

/** An agent event before its sender numbers it (`id`) and stamps it (`ts`, when missing). */
export type UnnumberedAgentEvent = AgentEvent extends infer E
  ? E extends unknown
    ? Omit<E, "id" | "ts"> & { ts?: number }
    : never
  : never;
export type AgentTranscriptEvent = z.infer<typeof AgentTranscriptEvent>;
export type AgentSpeechEvent = z.infer<typeof AgentSpeechEvent>;
export type AgentLifecycleEvent = z.infer<typeof AgentLifecycleEvent>;

/** Most events in one ingest batch. */
export const INGEST_BATCH_MAX = 100;
/** Largest ingest body accepted, in bytes. */
export const INGEST_BODY_MAX_BYTES = 1_000_000;

/**
 * `POST /session/{id}/events` body: 1–100 events. `job_id` names the agent job that sent them (LiveKit's job
 * id); the session uses it to tell the agent it replaced from the current one. Senders should always set it.
 */
export const IngestBatch = z.strictObject({
  job_id: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  events: z.array(AgentEvent).check(z.minLength(1), z.maxLength(INGEST_BATCH_MAX)),
});
export type IngestBatch = z.infer<typeof IngestBatch>;

/** `POST /session/{id}/events` 200 body. */
export const IngestResponse = z.object({
  accepted: z.number().check(z.int(), z.nonnegative()),
  duplicates: z.number().check(z.int(), z.nonnegative()),
});
export type IngestResponse = z.infer<typeof IngestResponse>;

// ---- Stored transcript ----------------------------------------------------------------------

/** A stored event as `GET /transcripts/{id}` returns it: final transcripts, speech events, actions and mode changes. */
export const StoredEvent = z.union([
  z.extend(TranscriptMessage, { final: z.literal(true) }),
  SpeechMessage,
  ActionMessage,
  ModeMessage,
]);
export type StoredEvent = z.infer<typeof StoredEvent>;

/**
 * `GET /transcripts/{session_id}` 200 body. Times are epoch ms; `ended_at` is null while running. `profile` is the
 * session's profile (absent for a session stored before profiles existed: the default assistant). `resumed_from`
 * is the conversation this one continues; `summary` its summary once made (contract/conversations.ts); `usage` its
 * usage and latency summary (contract/usage.ts), absent while the agent has reported none.
 */
export const TranscriptResponse = z.object({
  session_id: SessionId,
  room: RoomName,
  profile: z.optional(ProfileId),
  /**
   * How the session talks now (its last `ModeMessage`'s mode, else the one it started with); absent for a session
   * stored before live mode existed (a pipeline one).
   */
  mode: z.optional(SessionMode),
  resumed_from: z.optional(SessionId),
  summary: z.optional(z.string().check(z.minLength(1), z.maxLength(SUMMARY_MAX))),
  status: SessionStatus,
  reason: z.optional(EndReason),
  started_at: EpochMs,
  ended_at: z.nullable(EpochMs),
  usage: z.optional(SessionUsage),
  events: z.array(StoredEvent),
});
export type TranscriptResponse = z.infer<typeof TranscriptResponse>;

// ---- Dispatch -------------------------------------------------------------------------------

/** Most earlier turns a dispatch carries (`history`), newest kept. */
export const HISTORY_MAX_ITEMS = 50;
/** Most characters of earlier turns a dispatch carries, all items together, newest kept. */
export const HISTORY_MAX_CHARS = 16_000;

/** One earlier final of the conversation, as a replacement agent receives it. */
export const HistoryItem = z.object({ role: Role, text: Text });
export type HistoryItem = z.infer<typeof HistoryItem>;

/**
 * JSON in `CreateDispatch(room, AGENT_NAME, metadata)`; the agent validates it per job. `system_prompt` is
 * at most `SYSTEM_PROMPT_MAX` characters (contract/defaults.ts). `history` is present when the agent
 * continues a conversation: the stored finals, oldest first, at most {@link HISTORY_MAX_ITEMS} items and
 * {@link HISTORY_MAX_CHARS} characters. Without `resumed`, it is a replacement after the first agent was lost, which
 * does not greet. With `resumed`, the visitor resumed an earlier conversation (`POST /session {resume_from}`): the
 * agent greets with its profile's resume line, and `resumed.summary` summarises the earlier conversation (the turns
 * `history` leaves out included). See docs/architecture.md, "Dispatch" and "Conversations".
 */
export const DispatchMetadata = z.object({
  session_id: SessionId,
  /** The session's profile (profiles/<id>/); absent: the default profile (`DEFAULT_PROFILE_ID`). */
  profile: z.optional(ProfileId),
  /** The visitor's time zone (`POST /session` `timezone`); absent: UTC. */
  timezone: z.optional(TimeZone),
  system_prompt: z.optional(SystemPrompt),
  history: z.optional(z.array(HistoryItem).check(z.maxLength(HISTORY_MAX_ITEMS))),
  resumed: z.optional(
    z.strictObject({ summary: z.optional(z.string().check(z.minLength(1), z.maxLength(SUMMARY_MAX))) }),
  ),
  /** The first name the visitor gave (contract/rest.ts `VisitorName`), for the greeting; absent: none given. */
  visitor_name: z.optional(VisitorName),
  /**
   * Where the visitor stands in the tutor's curriculum (contract/tutor.ts), for a profile with tutor actions once
   * they started a topic: the agent greets with its profile's `continue_greeting` and continues there.
   */
  tutor_place: z.optional(TutorPlace),
  /** How the session talks ({@link SessionMode}); absent: `pipeline`. */
  mode: z.optional(SessionMode),
});
export type DispatchMetadata = z.infer<typeof DispatchMetadata>;
