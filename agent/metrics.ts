/**
 * The agent worker's Prometheus metrics, served at `GET /metrics` on its health port (`AGENT_HEALTH_PORT`, next to
 * the framework's `/` and `/worker`; agent/framework/http-routes.ts), in the text exposition format of prom-client
 * (https://github.com/siimon/prom-client). How to scrape and what to alert on: docs/agent.md, "Metrics and usage".
 *
 * Jobs run in child processes (LiveKit Agents' process pool), the scrape reaches the worker's main process: each job
 * process reports what it observes as {@link JobMetric} messages on the IPC channel the framework already keeps to
 * it ({@link reportJobMetric}; the framework's own handlers ignore a `case` they do not know), and the main process
 * records them ({@link WorkerMetrics.record}, wired by agent/framework/job-channel.ts).
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `voice_agent_active_jobs` | gauge | |
 * | `voice_agent_jobs_ended_total` | counter | `reason` (contract `AgentLeaveReason`) |
 * | `voice_agent_turn_latency_seconds` | histogram | `profile`, `stage` |
 * | `voice_agent_provider_errors_total` | counter | `profile`, `provider` (stt, llm, tts, realtime, other), `recoverable` |
 * | `voice_agent_llm_tokens_total` | counter | `profile`, `kind` (input, cached_input, output) |
 * | `voice_agent_stt_audio_seconds_total` | counter | `profile` |
 * | `voice_agent_tts_characters_total` | counter | `profile` |
 * | `voice_agent_tts_audio_seconds_total` | counter | `profile` |
 *
 * plus prom-client's default metrics of the main process (`process_cpu_seconds_total`,
 * `process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, …). The `stage`s of a turn (agent/turn-metrics.ts):
 * `end_of_utterance`, `transcription`, `llm_ttft`, `tts_ttfb`, and `total` (the visitor's end of speech → the reply's
 * first audio handed to the room). Usage counts come from the framework's usage metrics (`AgentSession.usage`).
 * `profile` is a profile id of `PROFILES_DIR`, so every label has a small, fixed set of values.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { UsageCounts } from "../contract/usage.ts";

/** The `case` of a {@link JobMetric} message on the job process's IPC channel. */
export const JOB_METRIC_CASE = "voiceAgentMetric";

/** The stages of a turn's latency (agent/turn-metrics.ts). */
export const TURN_STAGES = ["end_of_utterance", "transcription", "llm_ttft", "tts_ttfb", "total"] as const;
export type TurnStage = (typeof TURN_STAGES)[number];

/** Which provider an error came from: the framework's error `type` (`stt_error`, …) without `_error`. */
export const PROVIDERS = ["stt", "llm", "tts", "realtime", "other"] as const;
export type Provider = (typeof PROVIDERS)[number];

/** What a job process observed, as it reports it to its worker. Seconds and counts, never content. */
export type JobMetric =
  | { kind: "turn"; profile: string; seconds: Partial<Record<TurnStage, number>> }
  | { kind: "usage"; profile: string; usage: UsageCounts }
  | { kind: "provider_error"; profile: string; provider: Provider; recoverable: boolean }
  | { kind: "job_ended"; reason: string };

/** The IPC message that carries a {@link JobMetric}. */
export interface JobMetricMessage {
  case: typeof JOB_METRIC_CASE;
  value: JobMetric;
}

/**
 * Turn latency histogram buckets, seconds: from the 50 ms a stage can take on a fast provider to the 13 s of a
 * pocketsphinx decode on a saturated host.
 */
export const TURN_BUCKETS_S = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13];

/** The provider of a framework error `type` (`stt_error`, `llm_error`, `tts_error`, `realtime_model_error`). */
export function providerOf(errorType: string | undefined): Provider {
  const name = errorType?.replace(/(_model)?_error$/, "");
  return (PROVIDERS as readonly string[]).includes(name ?? "") ? (name as Provider) : "other";
}

/** The worker main process's metrics registry and what records into it. */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #turn: Histogram<"profile" | "stage">;
  readonly #errors: Counter<"profile" | "provider" | "recoverable">;
  readonly #tokens: Counter<"profile" | "kind">;
  readonly #sttSeconds: Counter<"profile">;
  readonly #ttsCharacters: Counter<"profile">;
  readonly #ttsSeconds: Counter<"profile">;
  readonly #jobsEnded: Counter<"reason">;

  /**
   * @param activeJobs reads the worker's running jobs at scrape time (`AgentServer.activeJobs.length`)
   * @param defaults whether to collect prom-client's default process metrics (off in tests that build several)
   */
  constructor(activeJobs: () => number, defaults = true) {
    const registers = [this.registry];
    new Gauge({
      name: "voice_agent_active_jobs",
      help: "Jobs (conversations) this worker is running.",
      registers,
      collect() {
        this.set(activeJobs());
      },
    });
    this.#jobsEnded = new Counter({
      name: "voice_agent_jobs_ended_total",
      help: "Jobs that ended, by the reason of their agent_left.",
      labelNames: ["reason"],
      registers,
    });
    this.#turn = new Histogram({
      name: "voice_agent_turn_latency_seconds",
      help: "Answered turns by stage: end_of_utterance, transcription, llm_ttft, tts_ttfb, total (end of speech to first reply audio).",
      labelNames: ["profile", "stage"],
      buckets: TURN_BUCKETS_S,
      registers,
    });
    this.#errors = new Counter({
      name: "voice_agent_provider_errors_total",
      help: "Errors of the STT, LLM, TTS or realtime model, as the agent session reported them.",
      labelNames: ["profile", "provider", "recoverable"],
      registers,
    });
    this.#tokens = new Counter({
      name: "voice_agent_llm_tokens_total",
      help: "LLM tokens: input (cached included), cached_input, output.",
      labelNames: ["profile", "kind"],
      registers,
    });
    this.#sttSeconds = new Counter({
      name: "voice_agent_stt_audio_seconds_total",
      help: "Visitor audio sent to the STT, seconds.",
      labelNames: ["profile"],
      registers,
    });
    this.#ttsCharacters = new Counter({
      name: "voice_agent_tts_characters_total",
      help: "Characters sent to the TTS.",
      labelNames: ["profile"],
      registers,
    });
    this.#ttsSeconds = new Counter({
      name: "voice_agent_tts_audio_seconds_total",
      help: "Agent audio the TTS produced, seconds.",
      labelNames: ["profile"],
      registers,
    });
    if (defaults) collectDefaultMetrics({ register: this.registry });
  }

  /** Records one job process's report; anything not shaped like a {@link JobMetric} is ignored. */
  record(metric: JobMetric): void {
    switch (metric.kind) {
      case "turn":
        for (const stage of TURN_STAGES) {
          const s = metric.seconds[stage];
          if (typeof s === "number" && Number.isFinite(s) && s >= 0) {
            this.#turn.observe({ profile: metric.profile, stage }, s);
          }
        }
        return;
      case "usage": {
        const { profile, usage: u } = metric;
        this.#tokens.inc({ profile, kind: "input" }, u.llm_input_tokens);
        this.#tokens.inc({ profile, kind: "cached_input" }, u.llm_cached_input_tokens);
        this.#tokens.inc({ profile, kind: "output" }, u.llm_output_tokens);
        this.#sttSeconds.inc({ profile }, u.stt_audio_ms / 1000);
        this.#ttsCharacters.inc({ profile }, u.tts_characters);
        this.#ttsSeconds.inc({ profile }, u.tts_audio_ms / 1000);
        return;
      }
      case "provider_error":
        this.#errors.inc({
          profile: metric.profile,
          provider: metric.provider,
          recoverable: String(metric.recoverable),
        });
        return;
      case "job_ended":
        this.#jobsEnded.inc({ reason: metric.reason });
        return;
    }
  }

  /** Records `message` when it is a {@link JobMetricMessage}; returns whether it was one. */
  receive(message: unknown): boolean {
    const m = message as Partial<JobMetricMessage> | null;
    if (typeof m !== "object" || m === null || m.case !== JOB_METRIC_CASE || typeof m.value !== "object") return false;
    this.record(m.value);
    return true;
  }

  /** Answers `GET /metrics` (text exposition format); any other method is a 405. */
  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    try {
      const body = await this.registry.metrics();
      res.writeHead(200, { "Content-Type": this.registry.contentType });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (err) {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(`metrics failed: ${(err as Error).message}`);
    }
  }
}

/**
 * Sends `metric` to the worker's main process over the job process's IPC channel. Does nothing in a process without
 * one (an agent run in-process by a test) or once the channel has closed; never throws.
 */
export function reportJobMetric(metric: JobMetric): void {
  if (!process.send || !process.connected) return;
  try {
    process.send({ case: JOB_METRIC_CASE, value: metric } satisfies JobMetricMessage);
  } catch {
    // The channel closed meanwhile (the job is ending): the metric is lost, the job is not.
  }
}
