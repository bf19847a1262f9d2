/**
 * The one reader of the Worker's environment (the Worker and its Durable Objects run in the same
 * script, so both use it). Validates every variable once per `Env` object with the shared reader
 * (contract/config.ts) and fails with a message that names each variable at fault, never its value.
 *
 * Defaults come from contract/defaults.ts; wrangler.toml `[vars]` and the secrets override them.
 * See docs/architecture.md, "Configuration", and docs/edge.md, "Configuration".
 */
import { z } from "zod";
import { ConfigError, readEnv, requiredString, sessionSettings } from "../contract/config.ts";
import { DEFAULT_AGENT_NAME } from "../contract/defaults.ts";

export { ConfigError };

/** The LiveKit signal URL: a ws:// or wss:// origin (a trailing slash is allowed and dropped). */
const SignalUrl = requiredString().regex(
  /^wss?:\/\/[^/?#\s]+\/?$/,
  "must be a ws:// or wss:// origin, e.g. wss://example.livekit.cloud",
);

/** `ALLOWED_ORIGINS`: comma-separated URLs, each reduced to its origin. */
const OriginList = z
  .string()
  .default("")
  .transform((list, ctx): ReadonlySet<string> => {
    const out = new Set<string>();
    for (const item of list.split(",")) {
      const s = item.trim();
      if (!s) continue;
      try {
        out.add(new URL(s).origin);
      } catch {
        ctx.addIssue({ code: "custom", message: "has an entry that is not a URL origin" });
      }
    }
    return out;
  });

/** The Worker's variables (wrangler.toml `[vars]`) and secrets (`[secrets]`). */
const EdgeEnv = z.object({
  LIVEKIT_URL: SignalUrl,
  LIVEKIT_API_KEY: requiredString(),
  LIVEKIT_API_SECRET: requiredString(),
  AGENT_NAME: requiredString().default(DEFAULT_AGENT_NAME),
  AGENT_INGEST_SECRET: requiredString(),
  COOKIE_SECRET: requiredString(),
  ALLOWED_ORIGINS: OriginList,
  ...sessionSettings(),
});

/** Validated configuration of the edge. Durations in seconds; `liveKitHttpUrl` is the API host (ws→http). */
export interface EdgeConfig {
  /** The signal URL the page connects to, without a trailing slash, e.g. `wss://example.livekit.cloud`. */
  liveKitUrl: string;
  /** Its http(s) twin, where the server API (Twirp) answers. */
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

const cache = new WeakMap<object, EdgeConfig>();

/**
 * Reads and validates the configuration from the Worker's `env` (cached per `env` object). Empty
 * variables count as unset, so their defaults apply (wrangler passes "" for blank vars).
 * @throws ConfigError naming every missing or invalid variable, e.g.
 *   "invalid Worker configuration: COOKIE_SECRET is required (see .env.example)"
 */
export function readEdgeConfig(env: Env): EdgeConfig {
  const hit = cache.get(env);
  if (hit) return hit;
  const c = readEnv(EdgeEnv, env, "Worker configuration");
  const liveKitUrl = c.LIVEKIT_URL.replace(/\/$/, "");
  const config: EdgeConfig = {
    liveKitUrl,
    liveKitHttpUrl: liveKitUrl.replace(/^ws/, "http"),
    liveKitApiKey: c.LIVEKIT_API_KEY,
    liveKitApiSecret: c.LIVEKIT_API_SECRET,
    agentName: c.AGENT_NAME,
    ingestSecret: c.AGENT_INGEST_SECRET,
    cookieSecret: c.COOKIE_SECRET,
    allowedOrigins: c.ALLOWED_ORIGINS,
    allowClientSystemPrompt: c.ALLOW_CLIENT_SYSTEM_PROMPT,
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
