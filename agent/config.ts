/**
 * The agent's one configuration reader: validates the environment at start-up, with the shared reader and field
 * rules of contract/config.ts, and fails with a message that names every missing or malformed variable.
 *
 * The variables are listed in `.env.example` and docs/agent.md ("Environment"); the rules shared by every part are
 * in docs/architecture.md, "Configuration".
 */
import { resolve } from "node:path";
import { z } from "zod";
import { flag, httpUrl, isLoopbackUrl, port, readEnv, requiredString, seconds, secret } from "../contract/config.ts";
import { DEFAULT_AGENT_NAME, DEV_PORTS, SESSION_DEFAULTS_S } from "../contract/defaults.ts";
import { type LogLevel, parseLogLevel } from "../contract/log.ts";
import { DeepgramVoice, SPEECH_PROVIDERS, type SpeechProvider } from "../contract/profile.ts";
import { PROFILES_DIR } from "../profiles/load.ts";
import type { GreetingMode } from "./agent.ts";

/** Default `PROFILES_DIR`: the repository's `profiles/`, next to `agent/` (also in the container image). */
export const DEFAULT_PROFILES_DIR = PROFILES_DIR;

/**
 * Variables that earlier versions read and that profiles replaced (profiles/<id>/: `prompt.md`, and `greeting`,
 * `model` and `voice` in `profile.yaml`). A worker that still finds one set says so at start (`agent_config_obsolete`).
 */
export const OBSOLETE_VARIABLES = ["SYSTEM_PROMPT", "GREETING", "LLM_MODEL", "TTS_VOICE"] as const;

/**
 * Seconds a job may outlive `MAX_SESSION_S`: the Worker ends the session (and deletes the room) `MAX_SESSION_S`
 * after creating it, a moment before the job started; the job's own bound is a backstop for when that end never
 * reaches it (a lost `DeleteRoom`, a Worker outage), not a second timer racing the first.
 */
export const SESSION_SLACK_S = 30;

/**
 * Default `DRAIN_TIMEOUT_S` beyond `MAX_SESSION_S`: the job's own bound ({@link SESSION_SLACK_S}) plus time for
 * its last flush, so that by default a draining worker never closes a conversation (docs/agent.md, "Draining").
 */
export const DRAIN_BEYOND_MAX_SESSION_S = 60;

/** Default `VISITOR_JOIN_TIMEOUT_S`: how long a job waits in its room for the visitor. */
export const DEFAULT_VISITOR_JOIN_TIMEOUT_S = 30;

/** Default `DEEPGRAM_BASE_URL`: Deepgram's API (the STT socket takes it as `wss://`, the TTS socket too). */
export const DEFAULT_DEEPGRAM_BASE_URL = "https://api.deepgram.com";
/** Default `DEEPGRAM_STT_MODEL` (developers.deepgram.com/docs/models-languages-overview). */
export const DEFAULT_DEEPGRAM_STT_MODEL = "nova-3";
/** Default `DEEPGRAM_TTS_MODEL`: an Aura-2 English voice (Deepgram's TTS voice is its model name). */
export const DEFAULT_DEEPGRAM_TTS_MODEL = "aura-2-thalia-en";

/** Default `REALTIME_MODEL`: the speech-to-speech model of live mode (OpenAI's Realtime API). */
export const DEFAULT_REALTIME_MODEL = "gpt-realtime";
/**
 * The voices the Realtime API speaks with (OpenAI API reference, "Realtime sessions": `voice`; read 2026-12-02). A
 * profile's `voice` outside this list (e.g. `nova`, a TTS-only voice) gets `REALTIME_VOICE` in live mode.
 */
export const REALTIME_VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "sage",
  "shimmer",
  "verse",
  "marin",
  "cedar",
] as const;

/**
 * Live mode's settings (`REALTIME_*`): the model, the voice for profiles whose own voice the Realtime API has not, and
 * the API's server-side turn detection (`server_vad`), which decides when the visitor's turn ends and interrupts the
 * agent when they talk over it.
 */
export interface RealtimeConfig {
  /** `REALTIME_MODEL`, e.g. `gpt-realtime`. */
  model: string;
  /** `REALTIME_VOICE`, one of {@link REALTIME_VOICES}. */
  voice: string;
  /** `REALTIME_VAD_THRESHOLD`: how loud speech must be to count, 0–1 (the API's `turn_detection.threshold`). */
  vadThreshold: number;
  /** `REALTIME_PREFIX_PADDING_MS`: audio kept before the detected speech, ms (`prefix_padding_ms`). */
  prefixPaddingMs: number;
  /** `REALTIME_SILENCE_MS`: silence that ends the visitor's turn, ms (`silence_duration_ms`). */
  silenceMs: number;
}

/** The Deepgram settings of a deployment (`DEEPGRAM_*`), present when `DEEPGRAM_API_KEY` is set. */
export interface DeepgramConfig {
  /** `DEEPGRAM_API_KEY`, sent as `Authorization: Token <key>`. */
  apiKey: string;
  /**
   * `DEEPGRAM_BASE_URL`: an http(s) origin (or path prefix) without a trailing slash; the STT and TTS sockets use it
   * with `ws(s)://`. https, or http only for this machine (the local stand-in, dev/deepgram/).
   */
  baseUrl: string;
  /** `DEEPGRAM_STT_MODEL`, e.g. `nova-3`; the language comes from the session's profile. */
  sttModel: string;
  /** `DEEPGRAM_TTS_MODEL`: the Aura voice, e.g. `aura-2-thalia-en`, unless the profile names its own. */
  ttsModel: string;
}

/** The validated agent configuration. Durations are in seconds, as in the environment. */
export interface AgentConfig {
  livekitUrl: string;
  livekitApiKey: string;
  livekitApiSecret: string;
  agentName: string;
  /** Base URL of the Worker; events go to `${ingestUrl}/session/{id}/events`. No trailing slash. */
  ingestUrl: string;
  ingestSecret: string;
  openaiApiKey: string;
  /** OpenAI-compatible base URL ending in `/v1` (no trailing slash), passed to every plugin. */
  openaiBaseUrl: string;
  /** `STT_MODEL`; the language comes from the session's profile. */
  sttModel: string;
  /** `TTS_MODEL`; the voice comes from the session's profile. */
  ttsModel: string;
  /** `STT_PROVIDER`: the deployment's speech-to-text (a profile may choose its own). */
  sttProvider: SpeechProvider;
  /** `TTS_PROVIDER`: the deployment's text-to-speech (a profile may choose its own). */
  ttsProvider: SpeechProvider;
  /** The Deepgram settings; null without `DEEPGRAM_API_KEY` (then no session uses Deepgram). */
  deepgram: DeepgramConfig | null;
  /** Live mode's model, voice and turn detection (a session in live mode: dispatch metadata `mode: "live"`). */
  realtime: RealtimeConfig;
  /**
   * `GREETING_MODE`: how the agent opens each conversation (a deployment setting); the words of a `fixed` greeting
   * are the session's profile's `greeting`.
   */
  greetingMode: GreetingMode;
  /** `PROFILES_DIR`, absolute: the folder of the profiles the worker loads at start (profiles/load.ts). */
  profilesDir: string;
  /**
   * `MAX_SESSION_S`, the Worker's longest session (the same variable): a job leaves by itself
   * `maxSessionS + SESSION_SLACK_S` after it started.
   */
  maxSessionS: number;
  /** `VISITOR_JOIN_TIMEOUT_S`: a job whose room has no visitor (a non-agent participant) this long after joining leaves. */
  visitorJoinTimeoutS: number;
  /** `DRAIN_TIMEOUT_S`: how long running jobs may go on after SIGTERM. Default `MAX_SESSION_S` + 60. */
  drainTimeoutS: number;
  healthPort: number;
  /** CPU load (0–1, of the whole host) at which the worker stops taking jobs; above 1: never full. */
  loadThreshold: number;
  /** `LOG_TRANSCRIPT_TEXT` as set (`true`/`false`); whether text is really logged: {@link readLogSettings}. */
  logTranscriptText: boolean;
}

/** How the agent's processes log (`LOG_LEVEL`, `LOG_TRANSCRIPT_TEXT`). */
export interface LogSettings {
  /** `LOG_LEVEL`; anything else than `debug`, `info`, `warn` or `error` counts as `info`. */
  level: LogLevel;
  /**
   * Whether conversation content (LiveKit Agents' `lk.pii.*` fields: transcripts, replies) may appear in the
   * framework's log lines: only with `LOG_TRANSCRIPT_TEXT=true` and `LOG_LEVEL=debug`. Otherwise it is removed
   * (agent/framework/log-redaction.ts); the agent's own lines never carry it.
   */
  transcriptText: boolean;
  /** `LOG_TRANSCRIPT_TEXT=true` was set with a level other than `debug`, so it has no effect. */
  transcriptTextIgnored: boolean;
}

const optionalString = (fallback: string) => z.string().default(fallback);
const provider = z.enum(SPEECH_PROVIDERS, { error: `must be one of ${SPEECH_PROVIDERS.join(", ")}` }).default("openai");
const realtimeMs = (fallback: number, min: number, max: number) =>
  z.coerce
    .number({ error: "must be a number of milliseconds" })
    .int("must be a whole number of milliseconds")
    .min(min, `must be at least ${min} ms`)
    .max(max, `must be at most ${max} ms`)
    .default(fallback);
const deepgramModel = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be a Deepgram model name such as nova-3");

const Env = z
  .object({
    LIVEKIT_URL: requiredString().regex(/^(wss?|https?):\/\/\S+$/, "must be a ws(s) or http(s) URL"),
    LIVEKIT_API_KEY: requiredString(),
    LIVEKIT_API_SECRET: requiredString(),
    AGENT_NAME: optionalString(DEFAULT_AGENT_NAME),
    INGEST_URL: httpUrl(),
    // At least 32 characters and no .env.example placeholder (the Worker refuses the same ones).
    AGENT_INGEST_SECRET: secret(),
    OPENAI_API_KEY: requiredString(),
    OPENAI_BASE_URL: httpUrl().default("https://api.openai.com/v1"),
    STT_MODEL: optionalString("gpt-4o-mini-transcribe"),
    TTS_MODEL: optionalString("gpt-4o-mini-tts"),
    STT_PROVIDER: provider,
    TTS_PROVIDER: provider,
    DEEPGRAM_API_KEY: requiredString().optional(),
    // The key goes in a header: over plain http only to this machine (the stand-in).
    DEEPGRAM_BASE_URL: httpUrl()
      .refine((url) => url.startsWith("https://") || isLoopbackUrl(url), "must be https (http only on this machine)")
      .default(DEFAULT_DEEPGRAM_BASE_URL),
    DEEPGRAM_STT_MODEL: deepgramModel.default(DEFAULT_DEEPGRAM_STT_MODEL),
    DEEPGRAM_TTS_MODEL: DeepgramVoice.default(DEFAULT_DEEPGRAM_TTS_MODEL),
    REALTIME_MODEL: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be a model name such as gpt-realtime")
      .default(DEFAULT_REALTIME_MODEL),
    REALTIME_VOICE: z.enum(REALTIME_VOICES, { error: `must be one of ${REALTIME_VOICES.join(", ")}` }).default("alloy"),
    REALTIME_VAD_THRESHOLD: z.coerce
      .number({ error: "must be a number from 0 to 1" })
      .min(0, "must be from 0 to 1")
      .max(1, "must be from 0 to 1")
      .default(0.5),
    REALTIME_PREFIX_PADDING_MS: realtimeMs(300, 0, 2000),
    REALTIME_SILENCE_MS: realtimeMs(500, 100, 5000),
    GREETING_MODE: z
      .enum(["fixed", "generated", "none"], { error: "must be fixed, generated or none" })
      .default("fixed"),
    PROFILES_DIR: optionalString(DEFAULT_PROFILES_DIR),
    MAX_SESSION_S: seconds(SESSION_DEFAULTS_S.maxSession),
    VISITOR_JOIN_TIMEOUT_S: seconds(DEFAULT_VISITOR_JOIN_TIMEOUT_S),
    // Its default depends on MAX_SESSION_S (readAgentConfig).
    DRAIN_TIMEOUT_S: seconds(1).unwrap().optional(),
    AGENT_LOAD_THRESHOLD: z.coerce.number({ error: "must be a number" }).positive("must be above 0").default(0.7),
    AGENT_HEALTH_PORT: port(DEV_PORTS.agentHealth),
    LOG_TRANSCRIPT_TEXT: flag(false),
  })
  .superRefine(
    (e, ctx) => {
      const asked = (["STT_PROVIDER", "TTS_PROVIDER"] as const).filter((name) => e[name] === "deepgram");
      if (asked.length > 0 && e.DEEPGRAM_API_KEY === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["DEEPGRAM_API_KEY"],
          message: `is required when ${asked.map((name) => `${name}=deepgram`).join(" and ")} (see .env.example)`,
        });
      }
      // Also checked when other variables are at fault, so that one message names every one.
    },
    { when: () => true },
  );

/**
 * Reads and validates the agent's environment.
 * @param env the environment (default `process.env`); empty strings count as unset
 * @returns the configuration with defaults applied
 * @throws ConfigError (contract/config.ts) naming each missing or malformed variable, e.g.
 *   "invalid agent configuration: INGEST_URL is required (see .env.example)", or
 *   "… DEEPGRAM_API_KEY is required when STT_PROVIDER=deepgram (see .env.example)"
 */
export function readAgentConfig(env: Record<string, string | undefined> = process.env): AgentConfig {
  const e = readEnv(Env, env, "agent configuration");
  return {
    livekitUrl: e.LIVEKIT_URL,
    livekitApiKey: e.LIVEKIT_API_KEY,
    livekitApiSecret: e.LIVEKIT_API_SECRET,
    agentName: e.AGENT_NAME,
    ingestUrl: e.INGEST_URL,
    ingestSecret: e.AGENT_INGEST_SECRET,
    openaiApiKey: e.OPENAI_API_KEY,
    openaiBaseUrl: e.OPENAI_BASE_URL,
    sttModel: e.STT_MODEL,
    ttsModel: e.TTS_MODEL,
    sttProvider: e.STT_PROVIDER,
    ttsProvider: e.TTS_PROVIDER,
    deepgram:
      e.DEEPGRAM_API_KEY === undefined
        ? null
        : {
            apiKey: e.DEEPGRAM_API_KEY,
            baseUrl: e.DEEPGRAM_BASE_URL,
            sttModel: e.DEEPGRAM_STT_MODEL,
            ttsModel: e.DEEPGRAM_TTS_MODEL,
          },
    realtime: {
      model: e.REALTIME_MODEL,
      voice: e.REALTIME_VOICE,
      vadThreshold: e.REALTIME_VAD_THRESHOLD,
      prefixPaddingMs: e.REALTIME_PREFIX_PADDING_MS,
      silenceMs: e.REALTIME_SILENCE_MS,
    },
    greetingMode: e.GREETING_MODE,
    profilesDir: resolve(e.PROFILES_DIR),
    maxSessionS: e.MAX_SESSION_S,
    visitorJoinTimeoutS: e.VISITOR_JOIN_TIMEOUT_S,
    drainTimeoutS: e.DRAIN_TIMEOUT_S ?? e.MAX_SESSION_S + DRAIN_BEYOND_MAX_SESSION_S,
    healthPort: e.AGENT_HEALTH_PORT,
    loadThreshold: e.AGENT_LOAD_THRESHOLD,
    logTranscriptText: e.LOG_TRANSCRIPT_TEXT,
  };
}

/**
 * Reads the logging settings, leniently: it runs at the top of every agent process, before the configuration is
 * validated (a malformed `LOG_TRANSCRIPT_TEXT` counts as `false` here, and {@link readAgentConfig} then reports it).
 * @param env the environment (default `process.env`)
 */
export function readLogSettings(env: Record<string, string | undefined> = process.env): LogSettings {
  const level = parseLogLevel(env.LOG_LEVEL);
  const optIn = env.LOG_TRANSCRIPT_TEXT === "true";
  return { level, transcriptText: optIn && level === "debug", transcriptTextIgnored: optIn && level !== "debug" };
}

/**
 * The {@link OBSOLETE_VARIABLES} set (non-empty) in an environment: they have no effect any more.
 * @param env the environment (default `process.env`)
 */
export function obsoleteVariables(env: Record<string, string | undefined> = process.env): string[] {
  return OBSOLETE_VARIABLES.filter((name) => env[name] !== undefined && env[name] !== "");
}
