/**
 * One job: a dispatch of this agent into a visitor's room (LiveKit Agents `JobContext`).
 *
 * Validates the dispatch metadata with the contract (`DispatchMetadata`: session id, optional system
 * prompt), connects, runs the voice pipeline with the visitor, and reports to the session through
 * the ingest forwarder: `agent_joined`, transcripts and speech events, `agent_heartbeat` every 5 s,
 * `agent_error`, and `agent_left` (flushed before the job ends).
 */
import type { JobContext, VAD } from "@livekit/agents";
import { voice } from "@livekit/agents";
import { RoomEvent } from "@livekit/rtc-node";
import { DispatchMetadata, SessionId } from "../contract/index.ts";
import { errorSummary, type Logger } from "../contract/log.ts";
import { resolveInstructions, WebsiteAgent } from "./agent.ts";
import type { AgentConfig } from "./config.ts";
import { SpeechPrefetch } from "./greeting.ts";
import { IngestForwarder } from "./ingest-forwarder.ts";
import { createAgentSession } from "./pipeline.ts";
import { forwardSessionEvents } from "./session-events.ts";
import { logTurnMetrics } from "./turn-metrics.ts";

/** Longest wait for the last events to reach ingest when a job ends, in ms. */
const FLUSH_DEADLINE_MS = 5000;

type MetadataVerdict =
  { ok: true; metadata: DispatchMetadata } | { ok: false; sessionId: string | null; reason: string };

/**
 * Validates a job's dispatch metadata.
 * @param raw the job's metadata string (JSON `{"session_id","system_prompt"?}`)
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

function forwarderFor(cfg: AgentConfig, sessionId: string, jobId: string, log: Logger): IngestForwarder {
  return new IngestForwarder({ ingestUrl: cfg.ingestUrl, secret: cfg.ingestSecret, sessionId, jobId, log });
}

/**
 * Runs one job until it is shut down (room deleted, visitor gone, session closed, worker drained).
 * Never throws for bad metadata or provider failures: they are logged and reported as `agent_error`.
 * @param vad the process's Silero VAD from `prewarm`
 * @param baseLog the worker's logger; the job logs through a child with `job_id`, `session_id` and `room`
 *   (`job_started`, `agent_joined`, `job_ended`, one `turn` per answered turn, and failures)
 */
export async function runJob(ctx: JobContext, cfg: AgentConfig, vad: VAD, baseLog: Logger): Promise<void> {
  const jobId = ctx.job.id;
  const verdict = parseDispatchMetadata(ctx.job.metadata);
  if (!verdict.ok) {
    const log = baseLog.child({ job_id: jobId, session_id: verdict.sessionId });
    log.error("job_refused", { reason: verdict.reason });
    if (verdict.sessionId) {
      const f = forwarderFor(cfg, verdict.sessionId, jobId, log);
      f.push({ type: "agent_error", detail: verdict.reason.slice(0, 1000) });
      await f.close(FLUSH_DEADLINE_MS);
    }
    ctx.shutdown("bad dispatch metadata");
    return;
  }

  const { session_id: sessionId, system_prompt: systemPrompt } = verdict.metadata;
  const log = baseLog.child({ job_id: jobId, session_id: sessionId, room: ctx.job.room?.name });
  const forwarder = forwarderFor(cfg, sessionId, jobId, log);
  // Once the room is gone, in-flight provider calls are aborted: those errors are not the visitor's concern.
  let closing = false;
  let left: Promise<void> | null = null;
  let prefetch: SpeechPrefetch | undefined;
  // agent_left goes out as soon as the agent is done, not after the framework's own (possibly slow) session
  // close: the session's Durable Object should not wait for a heartbeat lease to expire.
  const leave = (why: string) =>
    (left ??= (async () => {
      closing = true;
      prefetch?.close();
      forwarder.push({ type: "agent_left", detail: why.slice(0, 1000) });
      const delivered = await forwarder.close(FLUSH_DEADLINE_MS);
      log.info("job_ended", { reason: why, ...forwarder.stats, flushed: delivered });
    })());
  ctx.room.once(RoomEvent.Disconnected, () => void leave("room disconnected"));
  ctx.addShutdownCallback(() => leave("job shut down"));

  const began = Date.now();
  log.info("job_started");
  try {
    const session = createAgentSession(cfg, vad, log);
    // The fixed greeting is synthesized while the room is joined, not after (greeting.ts).
    if (cfg.greeting.mode === "fixed" && session.tts) {
      const p = (prefetch = new SpeechPrefetch(session.tts, cfg.greeting.text));
      void p.settled().then((ok) => {
        if (!ok && !closing) log.warn("greeting_prefetch_failed", { error: errorSummary(p.error) });
      });
    }
    await ctx.connect();
    const connectedAt = Date.now();
    forwardSessionEvents(session, (e) => {
      if (left) return; // nothing after agent_left
      if (closing && "type" in e && e.type === "agent_error") {
        return log.info("provider_error_while_closing", { detail: e.detail });
      }
      forwarder.push(e);
    });
    logTurnMetrics(session, log);
    session.on(voice.AgentSessionEventTypes.Error, (ev) => {
      const error = ev.error as { type?: string; recoverable?: boolean };
      log.warn("provider_error", { type: error.type, recoverable: error.recoverable });
    });
    session.on(voice.AgentSessionEventTypes.Close, (ev) => {
      log.info("agent_session_closed", { reason: ev.reason });
      void leave(`agent session closed: ${ev.reason}`);
      ctx.shutdown(`agent session closed: ${ev.reason}`);
    });
    // record: false: no audio or transcript leaves this process except through ingest.
    await session.start({
      agent: new WebsiteAgent(resolveInstructions(systemPrompt, cfg.systemPrompt), cfg.greeting, prefetch),
      room: ctx.room,
      record: false,
    });
    if (left) return; // the room went away while the session was starting
    forwarder.push({ type: "agent_joined" });
    forwarder.startHeartbeat();
    log.info("agent_joined", { connect_ms: connectedAt - began, session_start_ms: Date.now() - connectedAt });
  } catch (err) {
    log.error("job_start_failed", { error: err });
    forwarder.push({ type: "agent_error", detail: `agent failed to start: ${(err as Error).message}`.slice(0, 1000) });
    ctx.shutdown("start failed");
  }
}
