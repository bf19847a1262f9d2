/**
 * The one reader of the Worker's environment (the Worker and its Durable Objects run in the same
 * script, so both use it). Validates every variable once per `Env` object and fails with a message
 * that names the variable.
 *
 * Source: shared/ARCHITECTURE.md, "Configuration"; wrangler.toml `[vars]`, `[secrets]`.
 */
import { z } from "zod";

const Seconds = (fallback: number) => z.coerce.number().int().positive().max(86_400).default(fallback);
const Secret = z.string().min(1, "is required (set it in .dev.vars or with `wrangler secret put`)");
const SignalUrl = z
  .string()
  .regex(/^wss?:\/\/[^/?#\s]+\/?$/, "must be a ws:// or wss:// origin, e.g. wss://example.livekit.cloud");

const ConfigSchema = z.object({
  LIVEKIT_URL: SignalUrl,
  LIVEKIT_API_KEY: Secret,
  LIVEKIT_API_SECRET: Secret,
  AGENT_NAME: z.string().min(1).default("voice-agent"),
  AGENT_INGEST_SECRET: Secret,
  COOKIE_SECRET: Secret,
  ALLOWED_ORIGINS: z.string().default(""),
  ALLOW_CLIENT_SYSTEM_PROMPT: z.enum(["true", "false"]).default("false"),
  MAX_SESSION_S: Seconds(900),
  CLIENT_GRACE_S: Seconds(30),
  AGENT_LEASE_S: Seconds(20),
  AGENT_JOIN_TIMEOUT_S: Seconds(20),
  ROOM_CLAIM_TTL_S: Seconds(3600),
  MAX_ACTIVE_SESSIONS_PER_VISITOR: z.coerce.number().int().positive().max(1000).default(2),
});

/** Validated configuration. Durations in seconds; `liveKitHttpUrl` is the API host (ws→http). */
export interface Config {
  liveKitUrl: string;
  liveKitHttpUrl: string;
  liveKitApiKey: string;
  liveKitApiSecret: string;
  agentName: string;
  ingestSecret: string;
  cookieSecret: string;
  /** Extra origins (besides the request's own) allowed for the REST API and the transcript socket. */
  allowedOrigins: ReadonlySet<string>;
  allowClientSystemPrompt: boolean;
  maxSessionS: number;
  clientGraceS: number;
  agentLeaseS: number;
  agentJoinTimeoutS: number;
  roomClaimTtlS: number;
  maxActiveSessionsPerVisitor: number;
}

/** Thrown when a variable is missing or invalid; the message names it (never its value). */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const cache = new WeakMap<object, Config>();

/**
 * Reads and validates the configuration from the Worker's `env` (cached per `env` object).
 * @throws ConfigError naming the first missing or invalid variable
 */
export function readConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const raw: Record<string, unknown> = {};
  // Empty strings count as unset so that defaults apply (wrangler passes "" for blank vars).
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = (env as unknown as Record<string, unknown>)[key];
    if (v !== "" && v !== undefined) raw[key] = v;
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`configuration: ${String(issue.path[0])} ${issue.message}`);
  }
  const c = parsed.data;
  const config: Config = {
    liveKitUrl: c.LIVEKIT_URL.replace(/\/$/, ""),
    liveKitHttpUrl: c.LIVEKIT_URL.replace(/^ws/, "http").replace(/\/$/, ""),
    liveKitApiKey: c.LIVEKIT_API_KEY,
    liveKitApiSecret: c.LIVEKIT_API_SECRET,
    agentName: c.AGENT_NAME,
    ingestSecret: c.AGENT_INGEST_SECRET,
    cookieSecret: c.COOKIE_SECRET,
    allowedOrigins: parseOrigins(c.ALLOWED_ORIGINS),
    allowClientSystemPrompt: c.ALLOW_CLIENT_SYSTEM_PROMPT === "true",
    maxSessionS: c.MAX_SESSION_S,
    clientGraceS: c.CLIENT_GRACE_S,
    agentLeaseS: c.AGENT_LEASE_S,
    agentJoinTimeoutS: c.AGENT_JOIN_TIMEOUT_S,
    roomClaimTtlS: c.ROOM_CLAIM_TTL_S,
    maxActiveSessionsPerVisitor: c.MAX_ACTIVE_SESSIONS_PER_VISITOR,
  };
  cache.set(env, config);
  return config;
}

function parseOrigins(list: string): ReadonlySet<string> {
  const out = new Set<string>();
  for (const item of list.split(",")) {
    const s = item.trim();
    if (!s) continue;
    try {
      out.add(new URL(s).origin);
    } catch {
      throw new ConfigError(`configuration: ALLOWED_ORIGINS has an entry that is not a URL origin`);
    }
  }
  return out;
}
