/**
 * One job: a dispatch of this agent into a visitor's room (LiveKit Agents `JobContext`).
 *
 * Validates the dispatch metadata with the contract (`DispatchMetadata`: session id, optional profile, time zone
 * and system prompt, optional `history` when it continues a conversation, `resumed` when the visitor resumed an
 * earlier one), picks the session's profile (job-settings.ts: its prompt, greeting, LLM, voice, language and
 * intents; the resume greeting when resumed, none for a replacement agent), connects, runs the voice pipeline with
 * the visitor, and reports to the session through the ingest forwarder: `agent_joined`, transcripts and speech
 * events, `agent_heartbeat` every 5 s, `agent_error`, and `agent_left` (flushed before the job ends). The LLM's
 * calls of the profile's intents go to the Worker through the actions client (actions.ts, profile-tools.ts).
 *
 * A job ends itself (docs/agent.md, "Behaviour worth knowing") when:
 * - the room goes away (the session ended, or the worker closed the job): `room_disconnected`;
 * - ingest refuses the session (401, 404, 409: it is over, or another agent replaced this one): `ingest_refused`;
 * - it has run `MAX_SESSION_S` + 30 s (`max_session`), or no visitor joined within `VISITOR_JOIN_TIMEOUT_S`
 *   (`no_visitor`), see job-limits.ts;
 * - its process gets SIGTERM: the worker's drain hands the conversation over (`worker_draining`, drain.ts);
 * - the agent session closes (`agent_session_closed`), or the framework shuts the job down (`job_shut_down`).
 * The reason is the `job_ended` line's `reason`; the `agent_left` detail says it in words for the session.
 *
 * The visitor's data reaches nothing of the agent (docs/agent.md, "What a visitor can send"): the session runs with
 * RoomIO's text input off, the framework's remote-session endpoint closed (agent/framework/remote-session.ts; a job
 * where that cannot be done does not start its session), and data streams on those topics refused unread
 * (room-guard.ts; their count is `streams_refused` on `job_ended`). The visitor's typed messages come from the
 * server, signed, never from the visitor's participant (typed-input.ts; `typed_messages` and `typed_refused` on
 * `job_ended`), and so do mode changes: the job hands the conversation over between its pipeline agent and its live
 * agent in the same session (mode-switch.ts; `mode` and `mode_changes` on `job_ended`).
 */
import type { JobContext, VAD } from "@livekit/agents";
import { setTimeout as sleep } from "node:timers/promises";
import { voice } from "@livekit/agents";
import { DisconnectReason, RoomEvent } from "@livekit/rtc-node";
import { type AgentLeaveReason, DispatchMetadata, SessionId } from "../contract/index.ts";
import { errorSummary, type Logger } from "../contract/log.ts";
import { ActionsClient } from "./actions.ts";
import { WebsiteAgent } from "./agent.ts";
import type { AgentConfig } from "./config.ts";
import { SpeechPrefetch } from "./greeting.ts";
import { IngestForwarder, type IngestRefusal } from "./ingest-forwarder.ts";
import { type JobLimit, JobLimits } from "./job-limits.ts";
import { jobSettings, type Profiles } from "./job-settings.ts";
import { acceptModeChanges, type ModeSwitch } from "./mode-switch.ts";
import { createAgentSession, createRealtimeModel, sttAudioSentMs } from "./pipeline.ts";
import { adaptJobProcess } from "./framework/index.ts";
import { intentTools } from "./profile-tools.ts";
import { type JobMetrics, observeJob } from "./job-metrics.ts";
import { reportJobMetric } from "./metrics.ts";
import { refuseVisitorStreams, type RoomGuard } from "./room-guard.ts";
import { forwardSessionEvents } from "./session-events.ts";
import { acceptTypedInput, type TypedInput } from "./typed-input.ts";

/** Longest wait for the last events to reach ingest when a job ends, in ms (inside the session's closing window). */
const FLUSH_DEADLINE_MS = 5000;

/** Why a job ended: the `reason` of its `job_ended` line and of its `agent_left` (contract `AgentLeaveReason`). */
export type JobEndReason = AgentLeaveReason;

/**
 * Longest wait, when the room goes away, for the agent session to close before `agent_left` goes out, in ms:
 * closing interrupts a reply in progress, and the part already spoken arrives as the agent's last final.
 */
const TRAILING_EVENTS_MS = 3000;

/** The `agent_left` detail of a drained job: the session and the logs can tell a hand-over from a loss. */
export const DRAINING_DETAIL = "worker draining";

type MetadataVerdict =
  { ok: true; metadata: DispatchMetadata } | { ok: false; sessionId: string | null; reason: string };

/**
 * Validates a job's dispatch metadata.
 * @param raw the job's metadata string (JSON
 *   `{"session_id","profile"?,"timezone"?,"system_prompt"?,"history"?,"resumed"?}`)
 * @returns the metadata, or the reason it is unusable plus the session id when one can still be read
 */
export function parseDispatchMetadata(raw: string | undefined): MetadataVerdict {
  let json: unknown;
  try {
    json = JSON.parse(raw ?? "");
  } catch {
    return { ok: false, sessionId: null, reason: "dispatch metadata is not JSON" };
  }
  const parsed = DispatchMetadata.safeParse(json);
  if (parsed.success) return { ok: true, metadata: parsed.data };
  const id = SessionId.safeParse((json as { session_id?: unknown } | null)?.session_id);
  const reason = parsed.error.issues.map((i) => `${i.path.join(".") || "metadata"}: ${i.message}`).join("; ");
  return { ok: false, sessionId: id.success ? id.data : null, reason: `invalid dispatch metadata: ${reason}` };
}

function forwarderFor(
  cfg: AgentConfig,
  sessionId: string,
  jobId: string,
  log: Logger,
  onRefused?: (refusal: IngestRefusal) => void,
): IngestForwarder {
  return new IngestForwarder({
    ingestUrl: cfg.ingestUrl,
    secret: cfg.ingestSecret,
    sessionId,
    jobId,
    log,
    ...(onRefused ? { onRefused } : {}),
  });
}

/** The `agent_left` detail for a limit. */
function limitDetail(limit: JobLimit, cfg: AgentConfig, limits: JobLimits): string {
  return limit === "max_session"
    ? `session longer than the agent's bound (${limits.maxSessionMs / 1000} s)`
    : `no visitor joined within ${cfg.visitorJoinTimeoutS} s`;
}

/**
 * Runs one job until it is shut down (see the module comment for every way it ends).
 * Never throws for bad metadata or provider failures: they are logged and reported as `agent_error`. Metadata
 * that fails the contract, or names a profile this worker does not have, ends the job at once (`job_refused`).
 * @param vad the process's Silero VAD from `prewarm`
 * @param baseLog the worker's logger; the job logs through a child with `job_id`, `session_id` and `room`
 *   (`job_started` with the job process's `pid`, `profile`, `history_items`, and for a resumed conversation
 *   `resumed: true`, `history_chars` and `summary_chars` (counts, never text), `agent_joined`, `job_ended` with its `reason`, one
 *   `turn` per answered turn, `action_called` per call of an intent, and failures)
 * @param profiles the profiles loaded at start (profiles/load.ts)
 */
export async function runJob(
  ctx: JobContext,
  cfg: AgentConfig,
  vad: VAD,
  baseLog: Logger,
  profiles: Profiles,
): Promise<void> {
  const jobId = ctx.job.id;
  const verdict = parseDispatchMetadata(ctx.job.metadata);
  const chosen = verdict.ok ? jobSettings(cfg, verdict.metadata, profiles) : verdict;
  if (!verdict.ok || !chosen.ok) {
    const sessionId = verdict.ok ? verdict.metadata.session_id : verdict.sessionId;
    const reason = chosen.ok ? "" : chosen.reason;
    const log = baseLog.child({ job_id: jobId, session_id: sessionId });
    log.error("job_refused", { reason });
    if (sessionId) {
      const f = forwarderFor(cfg, sessionId, jobId, log);
      f.push({ type: "agent_error", detail: reason.slice(0, 1000) });
      await f.close(FLUSH_DEADLINE_MS);
    }
    ctx.shutdown(verdict.ok ? "unknown profile" : "bad dispatch metadata");
    return;
  }

  const { session_id: sessionId, history = [], resumed } = verdict.metadata;
  const settings = chosen.settings;
  const log = baseLog.child({ job_id: jobId, session_id: sessionId, room: ctx.job.room?.name });
  // Once the room is gone, in-flight provider calls are aborted: those errors are not the visitor's concern.
  let closing = false;
  let left: Promise<void> | null = null;
  let departed = false; // agent_left is queued: nothing is forwarded after it
  let prefetch: SpeechPrefetch | undefined;
  let session: voice.AgentSession | undefined;
  let guard: RoomGuard | undefined;
  let typed: TypedInput | undefined;
  let modes: ModeSwitch | undefined;
  let observed: JobMetrics | undefined;
  // agent_left goes out as soon as the agent is done, not after the framework's own (possibly slow) session
  // close: the session's Durable Object should not wait for a lease to expire. When the room went away (Stop),
  // the agent session is closed first, for at most TRAILING_EVENTS_MS, so that a reply cut short still arrives
  // as the agent's last final (the session stores it during its closing window).
  const leave = (reason: JobEndReason, detail: string) =>
    (left ??= (async () => {
      closing = true;
      limits.stop();
      process.off("SIGTERM", onSigterm);
      prefetch?.close();
      if (session && (reason === "room_disconnected" || reason === "job_shut_down")) {
        const closed = session.close().then(
          () => true,
          () => true,
        );
        if (!(await Promise.race([closed, sleep(TRAILING_EVENTS_MS, false)]))) {
          log.info("agent_session_close_slow", { waited_ms: TRAILING_EVENTS_MS });
        }
      }
      observed?.flush(); // what the job used since its last answered turn, for the session's summary
      observed?.stop();
      departed = true;
      forwarder.push({ type: "agent_left", reason, detail: detail.slice(0, 1000) });
      reportJobMetric({ kind: "job_ended", reason });
      const delivered = await forwarder.close(FLUSH_DEADLINE_MS);
      const refusal = forwarder.refusal;
      log.info("job_ended", {
        reason,
        detail,
        ...forwarder.stats,
        turns: observed?.turns ?? 0,
        flushed: delivered,
        streams_refused: guard?.refused() ?? 0,
        typed_messages: typed?.taken() ?? 0,
        typed_refused: typed?.refused() ?? 0,
        mode: modes?.mode() ?? settings.mode,
        mode_changes: modes?.changes() ?? 0,
        ...(refusal ? { ingest_status: refusal.status, ingest_code: refusal.code } : {}),
      });
    })());
  /** Leaves and asks the framework to end the job (it then disconnects from the room). */
  const end = (reason: JobEndReason, detail: string) => {
    void leave(reason, detail);
    ctx.shutdown(detail);
  };
  const forwarder = forwarderFor(cfg, sessionId, jobId, log, ({ status, code }) =>
    end("ingest_refused", `ingest refused the session: ${status} ${code ?? ""}`.trim()),
  );
  const limits = new JobLimits({
    maxSessionS: cfg.maxSessionS,
    visitorJoinTimeoutS: cfg.visitorJoinTimeoutS,
    onReached: (limit) => end(limit, limitDetail(limit, cfg, limits)),
  });
  // SIGTERM reaches a job process only from its worker's drain (drain.ts) or an operator: hand over at once.
  const onSigterm = () => end("worker_draining", DRAINING_DETAIL);
  process.on("SIGTERM", onSigterm);
  ctx.room.once(
    RoomEvent.Disconnected,
    (why: DisconnectReason) => void leave("room_disconnected", `room disconnected (${DisconnectReason[why] ?? why})`),
  );
  ctx.addShutdownCallback(() => leave("job_shut_down", "job shut down"));

  const began = Date.now();
  log.info("job_started", {
    pid: process.pid,
    history_items: history.length,
    profile: settings.profile.id,
    mode: settings.mode,
    ...(resumed
      ? {
          resumed: true,
          history_chars: history.reduce((n, item) => n + item.text.length, 0),
          summary_chars: resumed.summary?.length ?? 0,
        }
      : {}),
  });
  // A profile asked for a provider this deployment has no key for: that part runs on OpenAI (docs/agent.md, "Providers").
  for (const fallback of settings.providers.fallbacks ?? []) {
    log.warn("provider_fallback", { profile: settings.profile.id, ...fallback });
  }
  try {
    // The visitor may publish data, but reaches nothing of the agent through it (docs/agent.md, "What a visitor can
    // send"): the framework's remote-session endpoint is closed (fail closed), its streams and lk.chat refused.
    if (!adaptJobProcess(log)) throw new Error("the framework's remote-session endpoint could not be closed");
    guard = refuseVisitorStreams(ctx.room, log);
    // The room join first: its request leaves at once, and the agent session is made and the greeting synthesized
    // while it runs (on the busy 2-core VM the join takes about a second: docs/agent.md, "Tests and figures").
    const joining = ctx.connect();
    joining.catch(() => undefined); // awaited below: a failure meanwhile is reported there, not as unhandled
    // One session for both modes: a live agent brings its realtime model (made when first needed) and switches the
    // session's VAD, STT and TTS off for itself; a mode switch hands over between the two (mode-switch.ts).
    session = createAgentSession(settings.providers, vad);
    let realtime: ReturnType<typeof createRealtimeModel> | undefined;
    const liveModel = () =>
      (realtime ??= createRealtimeModel(cfg, settings.providers.ttsVoice, settings.providers.language));
    // The fixed greeting (the profile's words: its resume line when resumed) is synthesized while the room is
    // joined, not after (greeting.ts); a replacement agent has no greeting (job-settings.ts); a live one speaks it.
    const greeting = settings.greeting;
    if (greeting.mode === "fixed" && settings.mode === "pipeline" && session.tts) {
      const p = (prefetch = new SpeechPrefetch(session.tts, greeting.text));
      void p.settled().then((ok) => {
        if (!ok && !closing) log.warn("greeting_prefetch_failed", { error: errorSummary(p.error) });
      });
    }
    await joining;
    const connectedAt = Date.now();
    limits.watchRoom(ctx.room);
    forwardSessionEvents(session, (e) => {
      if (departed) return; // nothing after agent_left
      if (closing && "type" in e && e.type === "agent_error") {
        return log.info("provider_error_while_closing", { detail: e.detail });
      }
      forwarder.push(e);
    });
    // The `turn` line, provider errors, the worker's metrics and the session's usage summary (job-metrics.ts).
    observed = observeJob(session, {
      profile: settings.profile.id,
      log,
      sttAudioMs: () => (session ? sttAudioSentMs(session) : null),
      send: (e) => {
        if (!departed) forwarder.push(e);
      },
    });
    session.on(voice.AgentSessionEventTypes.Close, (ev) => {
      log.info("agent_session_closed", { reason: ev.reason });
      end("agent_session_closed", `agent session closed: ${ev.reason}`);
    });
    // The profile's intents, each a tool whose calls go to POST /session/{id}/actions (signed like ingest).
    const actions = new ActionsClient({ ingestUrl: cfg.ingestUrl, secret: cfg.ingestSecret, sessionId, log });
    const tools = intentTools(settings.profile.intents, actions, log);
    // record: false: no audio or transcript leaves this process except through ingest.
    // closeOnDisconnect: false: a visitor whose connection drops may rejoin with the same identity; the session
    // (its client grace period) and the job's own limits decide when waiting is over, not a disconnect.
    // textEnabled: false: RoomIO's text input (lk.chat, any participant, unbounded) stays off; typed messages arrive
    // from the server instead (typed-input.ts).
    const live = settings.mode === "live" ? liveModel() : undefined;
    await session.start({
      agent: new WebsiteAgent(settings.instructions, greeting, { prefetched: prefetch, history, resumed, tools, live }),
      room: ctx.room,
      record: false,
      inputOptions: { closeOnDisconnect: false, textEnabled: false },
    });
    if (left) return; // the room went away, or ingest refused, while the session was starting
    const started = session;
    typed = acceptTypedInput(ctx.room, {
      sessionId,
      secret: cfg.ingestSecret,
      log,
      deliver: (text) => {
        if (closing) return;
        try {
          started.interrupt();
        } catch (err) {
          log.info("typed_message_no_interrupt", { error: errorSummary(err) });
        }
        started.generateReply({ userInput: text });
      },
    });
    modes = acceptModeChanges(ctx.room, {
      sessionId,
      secret: cfg.ingestSecret,
      log,
      session: started,
      initial: settings.mode,
      closing: () => closing,
      liveLimitNotice: settings.profile.live_limit_notice,
      makeAgent: (mode, chatCtx, notice) =>
        new WebsiteAgent(settings.instructions, notice ? { mode: "fixed", text: notice } : { mode: "none" }, {
          tools,
          handoff: chatCtx,
          live: mode === "live" ? liveModel() : undefined,
        }),
    });
    forwarder.push({ type: "agent_joined" });
    forwarder.startHeartbeat();
    log.info("agent_joined", { connect_ms: connectedAt - began, session_start_ms: Date.now() - connectedAt });
  } catch (err) {
    log.error("job_start_failed", { error: err });
    forwarder.push({ type: "agent_error", detail: `agent failed to start: ${(err as Error).message}`.slice(0, 1000) });
    end("start_failed", "agent failed to start");
  }
}
