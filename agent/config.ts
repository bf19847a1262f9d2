/**
 * The agent's one configuration reader: validates the environment at start-up and fails with a
 * message that names the missing or malformed variable.
 *
 * Source of the variables: shared/ARCHITECTURE.md, "Configuration", and `.env.example`.
 */
import { z } from "zod";
import { DEFAULT_GREETING, type Greeting } from "./agent.ts";

/** Instructions used when neither the dispatch nor `SYSTEM_PROMPT` gives any. */
export const DEFAULT_SYSTEM_PROMPT =
  "You are a friendly voice assistant on a website. Answer in one or two short spoken sentences, " +
  "without lists, markdown or emoji. If you did not understand the visitor, ask them to repeat.";

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
  sttModel: string;
  llmModel: string;
  ttsModel: string;
  ttsVoice: string;
  systemPrompt: string;
  /** How the agent opens each conversation (`GREETING_MODE`, `GREETING`). */
  greeting: Greeting;
  drainTimeoutS: number;
  healthPort: number;
  /** CPU load (0–1, of the whole host) at which the worker stops taking jobs; above 1: never full. */
  loadThreshold: number;
}

/** Thrown by {@link readConfig}; `message` names every variable at fault. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const required = (name: string) => z.string({ error: `${name} is required (see .env.example)` }).min(1);
const httpUrl = (name: string) =>
  required(name).refine((s) => /^https?:\/\/[^\s]+$/.test(s), `${name} must be an http(s) URL`);
const trimSlash = (s: string) => s.replace(/\/+$/, "");

const Env = z.object({
  LIVEKIT_URL: required("LIVEKIT_URL").refine((s) => /^(wss?|https?):\/\/\S+$/.test(s), "LIVEKIT_URL must be a ws(s) or http(s) URL"),
  LIVEKIT_API_KEY: required("LIVEKIT_API_KEY"),
  LIVEKIT_API_SECRET: required("LIVEKIT_API_SECRET"),
  AGENT_NAME: required("AGENT_NAME"),
  INGEST_URL: httpUrl("INGEST_URL").transform(trimSlash),
  AGENT_INGEST_SECRET: required("AGENT_INGEST_SECRET"),
  OPENAI_API_KEY: required("OPENAI_API_KEY"),
  OPENAI_BASE_URL: httpUrl("OPENAI_BASE_URL").transform(trimSlash).default("https://api.openai.com/v1"),
  STT_MODEL: z.string().min(1).default("gpt-4o-mini-transcribe"),
  LLM_MODEL: z.string().min(1).default("gpt-4o-mini"),
  TTS_MODEL: z.string().min(1).default("gpt-4o-mini-tts"),
  TTS_VOICE: z.string().min(1).default("alloy"),
  SYSTEM_PROMPT: z.string().min(1).max(4000, "SYSTEM_PROMPT must be at most 4000 characters").default(DEFAULT_SYSTEM_PROMPT),
  GREETING_MODE: z.enum(["fixed", "generated", "none"], { error: "GREETING_MODE must be fixed, generated or none" }).default("fixed"),
  GREETING: z.string().trim().min(1, "GREETING must not be blank").max(500, "GREETING must be at most 500 characters").default(DEFAULT_GREETING),
  DRAIN_TIMEOUT_S: z.coerce.number({ error: "DRAIN_TIMEOUT_S must be a number of seconds" }).int().positive().default(60),
  AGENT_LOAD_THRESHOLD: z.coerce.number({ error: "AGENT_LOAD_THRESHOLD must be a number" }).positive("AGENT_LOAD_THRESHOLD must be above 0").default(0.7),
  AGENT_HEALTH_PORT: z.coerce.number({ error: "AGENT_HEALTH_PORT must be a port number" }).int().min(1).max(65535).default(8081),
});

/**
 * Reads and validates the agent's environment.
 * @param env the environment (default `process.env`); empty strings count as unset
 * @returns the configuration with defaults applied
 * @throws ConfigError naming each missing or malformed variable, e.g. "INGEST_URL is required (see .env.example)"
 */
export function readConfig(env: Record<string, string | undefined> = process.env): AgentConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Env.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => i.message);
    throw new ConfigError(`invalid agent configuration: ${lines.join("; ")}`);
  }
  const e = parsed.data;
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
    llmModel: e.LLM_MODEL,
    ttsModel: e.TTS_MODEL,
    ttsVoice: e.TTS_VOICE,
    systemPrompt: e.SYSTEM_PROMPT,
    greeting: e.GREETING_MODE === "fixed" ? { mode: "fixed", text: e.GREETING } : { mode: e.GREETING_MODE },
    drainTimeoutS: e.DRAIN_TIMEOUT_S,
    healthPort: e.AGENT_HEALTH_PORT,
    loadThreshold: e.AGENT_LOAD_THRESHOLD,
  };
}
