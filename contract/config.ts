/**
 * The one way every part reads its configuration from environment variables: the Worker (from its
 * `env` bindings), the agent worker and `npm run dev` (from `process.env`). Each part declares its
 * variables as a zod object schema built from the field helpers below and calls {@link readEnv}.
 *
 * Rules shared by every part (docs/architecture.md, "Configuration"):
 * - an empty string counts as unset, so that a default applies (wrangler passes "" for a blank var);
 * - only the schema's own keys are read;
 * - a bad configuration fails at once with a message that names every variable at fault and never
 *   echoes a value (a value may be a secret).
 */
import { z } from "zod";
import {
  CLIENT_JOIN_TIMEOUT_MAX_S,
  DEFAULT_MAX_ACTIVE_SESSIONS_PER_VISITOR,
  DEFAULT_MAX_SESSIONS_PER_IP,
  DEFAULT_MAX_SESSIONS_TOTAL,
  MAX_ACTIVE_SESSIONS_PER_VISITOR_CAP,
  MAX_SESSIONS_PER_IP_CAP,
  MAX_SESSIONS_TOTAL_CAP,
  SECRET_MIN_CHARS,
  SESSION_DEFAULTS_S,
} from "./defaults.ts";

/** Thrown by {@link readEnv}; `message` names each variable at fault, never its value. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Where a variable is set: named in the "is required" message. */
const WHERE_TO_SET = "see .env.example";

/** A required, non-empty string (a secret or a name). */
export function requiredString(): z.ZodString {
  return z.string({ error: `is required (${WHERE_TO_SET})` }).min(1, `is required (${WHERE_TO_SET})`);
}

/** How to make a good secret, named in the messages of {@link secret}. */
const HOW_TO_MAKE_A_SECRET = "e.g. `openssl rand -hex 32`";

/**
 * Whether `value` is a placeholder that must never reach production: `.env.example` ships `change-me-…` values.
 * Compared case-insensitively; the value itself is never echoed.
 */
export function isPlaceholderSecret(value: string): boolean {
  return /^change[-_ ]?me/i.test(value.trim());
}

/**
 * A required secret that keys an HMAC-SHA256: at least `SECRET_MIN_CHARS` (32) characters and not a `.env.example`
 * placeholder. The messages name the rule, never the value.
 */
export function secret(): z.ZodString {
  return requiredString()
    .min(SECRET_MIN_CHARS, `must be at least ${SECRET_MIN_CHARS} characters (${HOW_TO_MAKE_A_SECRET})`)
    .refine((s) => !isPlaceholderSecret(s), `is still the .env.example placeholder (${HOW_TO_MAKE_A_SECRET})`);
}

/**
 * Whether a URL points at this machine: its host is `localhost` (or a `*.localhost` name), an IPv4 loopback
 * address (127.0.0.0/8) or `[::1]`. A URL that does not parse is not local.
 */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "[::1]";
}

/** A whole number of seconds, 1 s to `max` (default one day). */
export function seconds(fallback: number, max = 86_400) {
  return z.coerce
    .number({ error: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .positive("must be above 0")
    .max(max, `must be at most ${max} seconds`)
    .default(fallback);
}

/** A whole number from `min` to `max` (a count or a cap). */
export function count(fallback: number, max: number, min = 1) {
  return z.coerce
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`)
    .default(fallback);
}

/** A TCP port, 1–65535. */
export function port(fallback: number) {
  return z.coerce
    .number({ error: "must be a port number" })
    .int("must be a port number")
    .min(1, "must be a port number")
    .max(65535, "must be a port number")
    .default(fallback);
}

/** An http(s) URL; a trailing slash is removed. */
export function httpUrl() {
  return requiredString()
    .regex(/^https?:\/\/\S+$/, "must be an http(s) URL")
    .transform((s) => s.replace(/\/+$/, ""));
}

/** `true` or `false`. */
export function flag(fallback: boolean) {
  return z
    .enum(["true", "false"], { error: "must be true or false" })
    .default(fallback ? "true" : "false")
    .transform((s) => s === "true");
}

/**
 * Reads and validates the variables `schema` declares.
 * @param schema a zod object whose keys are variable names (e.g. `{ AGENT_NAME: z.string()… }`)
 * @param env where the values come from: `process.env` in Node, the Worker's `env` in workerd
 * @param what names the configuration in the error, e.g. "agent configuration"
 * @returns the parsed values, defaults applied
 * @throws ConfigError naming every missing or malformed variable, e.g.
 *   "invalid agent configuration: INGEST_URL must be an http(s) URL; OPENAI_API_KEY is required (see .env.example)"
 */
export function readEnv<S extends z.ZodObject>(schema: S, env: object, what = "configuration"): z.output<S> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = (env as Record<string, unknown>)[key];
    if (value !== "" && value !== undefined) raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const faults = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(environment)"} ${issue.message}`);
  throw new ConfigError(`invalid ${what}: ${faults.join("; ")}`);
}

/**
 * The Worker's session settings (wrangler.toml `[vars]`), as fields of a {@link readEnv} schema: the Worker
 * reads them, and `npm run dev` checks the ones it passes through with the same rules. Defaults come from
 * contract/defaults.ts.
 */
export function sessionSettings() {
  return {
    ALLOW_CLIENT_SYSTEM_PROMPT: flag(false),
    ENABLE_VOICE_LIVE_MODE: flag(false),
    MAX_SESSION_S: seconds(SESSION_DEFAULTS_S.maxSession),
    CLIENT_GRACE_S: seconds(SESSION_DEFAULTS_S.clientGrace),
    AGENT_LEASE_S: seconds(SESSION_DEFAULTS_S.agentLease),
    AGENT_JOIN_TIMEOUT_S: seconds(SESSION_DEFAULTS_S.agentJoinTimeout),
    ROOM_CLAIM_TTL_S: seconds(SESSION_DEFAULTS_S.roomClaimTtl),
    MAX_ACTIVE_SESSIONS_PER_VISITOR: count(
      DEFAULT_MAX_ACTIVE_SESSIONS_PER_VISITOR,
      MAX_ACTIVE_SESSIONS_PER_VISITOR_CAP,
    ),
    CLIENT_JOIN_TIMEOUT_S: seconds(SESSION_DEFAULTS_S.clientJoinTimeout, CLIENT_JOIN_TIMEOUT_MAX_S),
    MAX_SESSIONS_PER_IP: count(DEFAULT_MAX_SESSIONS_PER_IP, MAX_SESSIONS_PER_IP_CAP),
    MAX_SESSIONS_TOTAL: count(DEFAULT_MAX_SESSIONS_TOTAL, MAX_SESSIONS_TOTAL_CAP),
  };
}
