/**
 * What a job observes of its own speed and usage, and where it goes:
 *
 * - each answered turn (agent/turn-metrics.ts): one `turn` log line, the worker's turn latency histograms
 *   (agent/metrics.ts, over the job process's IPC channel), and the session's summary (a `usage` ingest event);
 * - the framework's usage counts (`AgentSession.usage`, @livekit/agents 1.9 `metrics/model_usage.ts`: LLM tokens,
 *   STT audio, TTS characters and audio, summed over models; the realtime STT's audio is counted by the agent, see
 *   `sttAudioMs`): what was used since the previous report goes out
 *   after each turn and at {@link JobMetrics.flush} (just before `agent_left`), as a `usage` event (contract/usage.ts)
 *   and as the worker's usage counters;
 * - each provider error: the `provider_error` warning and `voice_agent_provider_errors_total`.
 *
 * Nothing here carries transcript text.
 */
import { voice } from "@livekit/agents";
import type { UnnumberedAgentEvent } from "../contract/events.ts";
import type { Logger } from "../contract/log.ts";
import { NO_USAGE, TURN_LATENCY_MAX_MS, USAGE_KEYS, USAGE_TURNS_MAX, type UsageCounts } from "../contract/usage.ts";
import { type JobMetric, providerOf, reportJobMetric } from "./metrics.ts";
import { type TurnTiming, watchTurns } from "./turn-metrics.ts";

/** Options of {@link observeJob}. */
export interface JobMetricsOptions {
  /** The session's profile id: the `profile` label of the worker's metrics. */
  profile: string;
  log: Logger;
  /** Where `usage` events go: the ingest forwarder's `push`. */
  send: (event: UnnumberedAgentEvent) => void;
  /** Where metrics go; default {@link reportJobMetric} (the worker's main process). */
  report?: (metric: JobMetric) => void;
  /**
   * The STT audio sent so far, ms, when the framework does not count it (agent/pipeline.ts `sttAudioSentMs`):
   * it replaces the framework's `stt_usage` figure when larger.
   */
  sttAudioMs?: () => number | null;
}

/** A job's observer, from {@link observeJob}. */
export interface JobMetrics {
  /** Sends what was used and answered since the last report, if anything (call just before `agent_left`). */
  flush(): void;
  /** Turns answered so far. */
  readonly turns: number;
  /** Stops observing (does not flush). */
  stop(): void;
}

/**
 * The framework's usage counts of `usage` (`AgentSession.usage`), summed over its models into {@link UsageCounts}.
 * Fields the framework left out (it drops zeros) count as 0.
 */
export function usageCounts(usage: voice.AgentSession["usage"]): UsageCounts {
  const out = { ...NO_USAGE };
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);
  for (const u of usage.modelUsage as Array<Record<string, unknown>>) {
    if (u.type === "llm_usage") {
      out.llm_input_tokens += n(u.inputTokens);
      out.llm_cached_input_tokens += n(u.inputCachedTokens);
      out.llm_output_tokens += n(u.outputTokens);
    } else if (u.type === "stt_usage") {
      out.stt_audio_ms += n(u.audioDurationMs);
    } else if (u.type === "tts_usage") {
      out.tts_characters += n(u.charactersCount);
      out.tts_audio_ms += n(u.audioDurationMs);
    }
  }
  for (const k of USAGE_KEYS) out[k] = Math.round(out[k]);
  return out;
}

/**
 * Observes `session` for its job's lifetime.
 * @param session an `AgentSession` (before or after `start`)
 */
export function observeJob(session: voice.AgentSession, options: JobMetricsOptions): JobMetrics {
  const { profile, log, send, report = reportJobMetric, sttAudioMs } = options;
  let reported: UsageCounts = { ...NO_USAGE };
  const latencies: number[] = [];
  let turns = 0;

  const flush = () => {
    let now: UsageCounts;
    try {
      now = usageCounts(session.usage);
      now.stt_audio_ms = Math.max(now.stt_audio_ms, Math.round(sttAudioMs?.() ?? 0));
    } catch {
      now = reported; // a closed session: nothing more to count
    }
    const delta = { ...NO_USAGE };
    let used = false;
    for (const k of USAGE_KEYS) {
      delta[k] = Math.max(0, now[k] - reported[k]);
      used ||= delta[k] > 0;
    }
    if (!used && latencies.length === 0) return;
    reported = now;
    const batch = latencies.splice(0, USAGE_TURNS_MAX);
    send({ type: "usage", turn_latencies_ms: batch, usage: delta });
    if (used) report({ kind: "usage", profile, usage: delta });
  };

  const onTurn = (turn: TurnTiming) => {
    turns++;
    log.info("turn", { ...turn });
    const s = (ms: number | null) => (ms === null ? undefined : ms / 1000);
    report({
      kind: "turn",
      profile,
      seconds: {
        total: s(turn.speech_end_to_playout_ms),
        end_of_utterance: s(turn.end_of_utterance_ms),
        transcription: s(turn.transcription_ms),
        llm_ttft: s(turn.llm_ttft_ms),
        tts_ttfb: s(turn.tts_ttfb_ms),
      },
    });
    latencies.push(Math.min(turn.speech_end_to_playout_ms, TURN_LATENCY_MAX_MS));
    flush();
  };

  const onError = (ev: voice.ErrorEvent) => {
    const error = ev.error as { type?: string; recoverable?: boolean };
    log.warn("provider_error", { type: error.type, recoverable: error.recoverable });
    report({ kind: "provider_error", profile, provider: providerOf(error.type), recoverable: !!error.recoverable });
  };

  const unwatch = watchTurns(session, onTurn);
  session.on(voice.AgentSessionEventTypes.Error, onError);
  return {
    flush,
    get turns() {
      return turns;
    },
    stop() {
      unwatch();
      session.off(voice.AgentSessionEventTypes.Error, onError);
    },
  };
}
