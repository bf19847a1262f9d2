/**
 * The one reader of the Worker's environment (the Worker and its Durable Objects run in the same
 * script, so both use it). Validates every variable once per `Env` object with the shared reader
 * (contract/config.ts) and fails with a message that names each variable at fault, never its value.
 *
 * Defaults come from contract/defaults.ts; wrangler.toml `[vars]` and the secrets override them.
 * See docs/architecture.md, "Configuration", and docs/edge.md, "Configuration".
 */
import { z } from "zod";
import {
  ConfigError,
  count,
  isLoopbackUrl,
  readEnv,
  requiredString,
  seconds,
  secret,
  sessionSettings,
} from "../contract/config.ts";
import { DEFAULT_RETENTION_DAYS, RETENTION_DAYS_MAX } from "../contract/conversations.ts";
import {
  DEFAULT_AGENT_NAME,
  DEFAULT_PROFILE_ID,
  DEFAULT_TOKEN_TTL_S,
  SECRET_MIN_CHARS,
  TOKEN_TTL_MAX_S,
  TURNSTILE_ORIGIN,
} from "../contract/defaults.ts";
import { LIVE_MINUTES_PER_DAY_DEFAULT } from "../contract/mode.ts";
import { ProfileId } from "../contract/rest.ts";
import { DEFAULT_USAGE_PRICES, type UsagePrices } from "../contract/usage.ts";
import { DEFAULT_OPENAI_BASE_URL, DEFAULT_SUMMARY_MODEL, type SummarySettings } from "./summary.ts";

export { ConfigError };

/**
 * Default `ALLOWED_PROFILES`: the profiles shipped in `profiles/` (the plain assistant, the default, the planner, the
 * tutor, and `asistente`, the assistant in Spanish). See docs/actions.md.
 */
export const DEFAULT_ALLOWED_PROFILES = `${DEFAULT_PROFILE_ID},planner,tutor,asistente`;

/**
 * Default `HSTS_MAX_AGE_S`: one year, the `max-age` MDN and the HSTS preload list ask for; no `includeSubDomains`,
 * no `preload` (https://developer.mozilla.org/en-US/docs/Web/HTTP/Reference/Headers/Strict-Transport-Security).
 */
export const DEFAULT_HSTS_MAX_AGE_S = 31_536_000;

/** Largest `LIVE_MINUTES_PER_DAY`: a whole day. */
const LIVE_MINUTES_PER_DAY_MAX = 1440;

/** Largest `HSTS_MAX_AGE_S`: two years. */
const HSTS_MAX_AGE_CAP_S = 63_072_000;

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

/**
 * `ALLOWED_PROFILES`: comma-separated profile ids (contract `ProfileId`), at least one. That each names a profile
 * of the bundled registry is checked by worker/profiles.ts (`checkProfileConfig`), which owns the registry.
 */
const ProfileList = z
  .string()
  .default(DEFAULT_ALLOWED_PROFILES)
  .transform((list, ctx): ReadonlySet<string> => {
    const out = new Set<string>();
    for (const item of list.split(",")) {
      const id = item.trim();
      if (!id) continue;
      if (!ProfileId.safeParse(id).success) {
        ctx.addIssue({ code: "custom", message: `has "${id}", which is not a profile id (a-z, 0-9 and -)` });
      }
      out.add(id);
    }
    if (out.size === 0) ctx.addIssue({ code: "custom", message: "must name at least one profile" });
    return out;
  });

/** `DEFAULT_PROFILE`: the profile of a session that names none; one of `ALLOWED_PROFILES`. */
const DefaultProfile = z
  .string()
  .default(DEFAULT_PROFILE_ID)
  .refine((id) => ProfileId.safeParse(id).success, "must be a profile id (a-z, 0-9 and -)");

/** A Turnstile sitekey as the Cloudflare dashboard shows it (e.g. `0x4AAAAAAA…`; test keys `1x00…AA`). */
const TurnstileSiteKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a Turnstile sitekey (letters, digits, _ and -)")
  .optional();

/**
 * The URL `value` names when it is https, or http on this machine (a local stand-in), so that a typo cannot send
 * tokens, keys or conversations in the clear; null otherwise, or when it carries a query, fragment, credentials or
 * whitespace.
 */
function secureOrLoopbackUrl(value: string): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.search || url.hash || url.username || url.password || /\s/.test(value)) return null;
  return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackUrl(value)) ? url : null;
}

/**
 * `TURNSTILE_ORIGIN`: where the widget script and siteverify are, Cloudflare's unless set. Development only:
 * `npm run dev -- --turnstile` points it at the local stand-in (dev/turnstile/server.ts). An https origin, or
 * an http one on this machine (the stand-in).
 */
const TurnstileOrigin = z
  .string()
  .default(TURNSTILE_ORIGIN)
  .transform((value, ctx) => {
    const url = secureOrLoopbackUrl(value);
    if (url === null || url.origin !== value.replace(/\/$/, "")) {
      ctx.addIssue({ code: "custom", message: "must be an https:// origin (http:// only on this machine)" });
      return z.NEVER;
    }
    return url.origin;
  });

/**
 * `OPENAI_BASE_URL`: the OpenAI-compatible API the summaries are asked of (edge/summary.ts), OpenAI's unless set.
 * An https URL, or an http one on this machine (the local stand-in of `npm run dev`). A trailing slash is dropped.
 */
const OpenAIBaseUrl = z
  .string()
  .default(DEFAULT_OPENAI_BASE_URL)
  .transform((value, ctx) => {
    if (secureOrLoopbackUrl(value) === null) {
      ctx.addIssue({
        code: "custom",
        message: "must be an https:// URL (http:// only on this machine), e.g. https://api.openai.com/v1",
      });
      return z.NEVER;
    }
    return value.replace(/\/+$/, "");
  });

/** `SUMMARY_MODEL`: a model id as OpenAI-compatible APIs name them (`gpt-4o-mini`, `ft:…:org::id`, `org/model`). */
const SummaryModel = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, "must be a model id (letters, digits and . _ : / -)")
  .default(DEFAULT_SUMMARY_MODEL);

/** `OPENAI_API_KEY`: any key without whitespace (it goes in an HTTP header); unset turns summaries off. */
const OpenAIApiKey = z
  .string()
  .regex(/^\S{1,512}$/, "must be an API key (no spaces, at most 512 characters)")
  .optional();

/**
 * A price in US dollars for the usage estimate (`PRICE_*`): a non-negative decimal written out, e.g. `0.15` or `2`
 * (no sign, exponent or thousands separator; at most 6 digits before the point and 9 after).
 */
function price(fallback: number) {
  return z.coerce
    .string()
    .regex(/^\d{1,6}(\.\d{1,9})?$/, "must be a price in US dollars: a non-negative decimal number, e.g. 0.15")
    .transform(Number)
    .default(fallback);
}

/** The Worker's variables (wrangler.toml `[vars]`) and secrets (`[secrets]`). */
const EdgeEnv = z
  .object({
    LIVEKIT_URL: SignalUrl,
    LIVEKIT_API_KEY: requiredString(),
    LIVEKIT_API_SECRET: requiredString(),
    AGENT_NAME: requiredString().default(DEFAULT_AGENT_NAME),
    AGENT_INGEST_SECRET: secret(),
    COOKIE_SECRET: secret(),
    /** The cookie secret before a rotation: still verifies visitor cookies, which are re-signed with COOKIE_SECRET. */
    COOKIE_SECRET_PREVIOUS: secret().optional(),
    HSTS_MAX_AGE_S: count(DEFAULT_HSTS_MAX_AGE_S, HSTS_MAX_AGE_CAP_S, 0),
    ALLOWED_ORIGINS: OriginList,
    TURNSTILE_SITE_KEY: TurnstileSiteKey,
    TURNSTILE_SECRET_KEY: z.string().optional(),
    TURNSTILE_ORIGIN: TurnstileOrigin,
    TOKEN_TTL_S: seconds(DEFAULT_TOKEN_TTL_S, TOKEN_TTL_MAX_S),
    ALLOWED_PROFILES: ProfileList,
    DEFAULT_PROFILE: DefaultProfile,
    RETENTION_DAYS: count(DEFAULT_RETENTION_DAYS, RETENTION_DAYS_MAX, 0),
    LIVE_MINUTES_PER_DAY: count(LIVE_MINUTES_PER_DAY_DEFAULT, LIVE_MINUTES_PER_DAY_MAX),
    OPENAI_API_KEY: OpenAIApiKey,
    OPENAI_BASE_URL: OpenAIBaseUrl,
    SUMMARY_MODEL: SummaryModel,
    PRICE_LLM_INPUT_USD_PER_MTOK: price(DEFAULT_USAGE_PRICES.llmInputPerMTok),
    PRICE_LLM_CACHED_INPUT_USD_PER_MTOK: price(DEFAULT_USAGE_PRICES.llmCachedInputPerMTok),
    PRICE_LLM_OUTPUT_USD_PER_MTOK: price(DEFAULT_USAGE_PRICES.llmOutputPerMTok),
    PRICE_STT_USD_PER_MINUTE: price(DEFAULT_USAGE_PRICES.sttPerMinute),
    PRICE_TTS_USD_PER_MINUTE: price(DEFAULT_USAGE_PRICES.ttsPerMinute),
    PRICE_TTS_USD_PER_MCHARS: price(DEFAULT_USAGE_PRICES.ttsPerMChars),
    ...sessionSettings(),
  })
  .superRefine(
    (c, ctx) => {
      // The default profile must be one a visitor may choose.
      const { ALLOWED_PROFILES: allowed, DEFAULT_PROFILE: fallback } = c as Partial<typeof c>;
      if (!(allowed instanceof Set) || typeof fallback !== "string" || allowed.size === 0) return;
      if (allowed.has(fallback)) return;
      ctx.addIssue({
        code: "custom",
        path: ["DEFAULT_PROFILE"],
        message: `is "${fallback}", which is not in ALLOWED_PROFILES (${[...allowed].join(", ")})`,
      });
    },
    { when: () => true },
  )
  .superRefine(
    (c, ctx) => {
      // Turnstile is on with both keys and off with neither; one alone is a mistake, not "off".
      const { TURNSTILE_SITE_KEY: siteKey, TURNSTILE_SECRET_KEY: secretKey } = c as Partial<typeof c>;
      if ((siteKey === undefined) === (secretKey === undefined)) return;
      const [missing, other] =
        siteKey === undefined
          ? ["TURNSTILE_SITE_KEY", "TURNSTILE_SECRET_KEY"]
          : ["TURNSTILE_SECRET_KEY", "TURNSTILE_SITE_KEY"];
      ctx.addIssue({ code: "custom", path: [missing], message: `is required when ${other} is set (see .env.example)` });
    },
    { when: () => true },
  )
  .superRefine(
    (c, ctx) => {
      // The dev LiveKit server and `livekit-server --dev` use `devkey`/`secret`: fine on this machine only.
      const { LIVEKIT_URL: url, LIVEKIT_API_SECRET: apiSecret } = c as Partial<typeof c>;
      if (typeof url !== "string" || typeof apiSecret !== "string" || isLoopbackUrl(url)) return;
      if (apiSecret.length >= SECRET_MIN_CHARS) return;
      ctx.addIssue({
        code: "custom",
        path: ["LIVEKIT_API_SECRET"],
        message: `must be at least ${SECRET_MIN_CHARS} characters unless LIVEKIT_URL is on this machine (localhost, 127.0.0.1, [::1])`,
      });
    },
    // Also when another variable is at fault, so that one message names every variable at fault.
    { when: () => true },
  );

/**
 * Cloudflare Turnstile keys: the public sitekey the page renders the widget with, and siteverify's secret;
 * and the origin that serves the widget script and siteverify (`TURNSTILE_ORIGIN`, no trailing slash).
 */
export interface TurnstileKeys {
  siteKey: string;
  secretKey: string;
  origin: string;
}

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
  /** `COOKIE_SECRET_PREVIOUS`: also accepted when verifying visitor cookies (a rotation), or null. */
  previousCookieSecret: string | null;
  /** `HSTS_MAX_AGE_S`: the `max-age` of `Strict-Transport-Security` on https responses, seconds (0: browsers forget). */
  hstsMaxAgeS: number;
  /**
   * Extra origins (besides the request's own) allowed for the REST API and the transcript socket, and the only ones
   * whose pages may embed the widget's panel (`/embed/chat`, CSP `frame-ancestors`).
   */
  allowedOrigins: ReadonlySet<string>;
  allowClientSystemPrompt: boolean;
  /** `ENABLE_VOICE_LIVE_MODE`: `POST /session` may ask for live mode, and `/chat` offers it. */
  liveMode: boolean;
  /**
   * `LIVE_MINUTES_PER_DAY`: minutes of live mode a visitor gets per UTC day, all their sessions together, 1 to 1440
   * (default `LIVE_MINUTES_PER_DAY_DEFAULT`, contract/mode.ts); kept by the `VisitorDO` (live-usage-store.ts).
   */
  liveMinutesPerDay: number;
  maxSessionS: number;
  clientGraceS: number;
  agentLeaseS: number;
  agentJoinTimeoutS: number;
  roomClaimTtlS: number;
  maxActiveSessionsPerVisitor: number;
  /** `CLIENT_JOIN_TIMEOUT_S`: a session whose visitor has not joined the LiveKit room by then ends (`no_visitor`). */
  clientJoinTimeoutS: number;
  /** `MAX_SESSIONS_PER_IP`: concurrent sessions per client address (IPv4, or IPv6 /64: worker/client-ip.ts). */
  maxSessionsPerIp: number;
  /** `MAX_SESSIONS_TOTAL`: concurrent sessions of the whole deployment. */
  maxSessionsTotal: number;
  /** Turnstile on `POST /session` (worker/turnstile.ts), or null when off (neither key set: the default). */
  turnstile: TurnstileKeys | null;
  /** `TOKEN_TTL_S`: lifetime of a visitor's LiveKit token, seconds (edge/livekit.ts `mintToken`). */
  tokenTtlS: number;
  /**
   * `ALLOWED_PROFILES`: the profile ids a session may name (`POST /session {profile}`, `/chat?agent=`); each is
   * a profile of the bundled registry (checked by worker/profiles.ts `checkProfileConfig`).
   */
  allowedProfiles: ReadonlySet<string>;
  /** `DEFAULT_PROFILE`: the profile of a session that names none; always in {@link allowedProfiles}. */
  defaultProfile: string;
  /**
   * `RETENTION_DAYS`: days an ended conversation is kept before it is purged, 0 to `RETENTION_DAYS_MAX`
   * (contract/conversations.ts); 0 keeps conversations until the visitor deletes them.
   */
  retentionDays: number;
  /**
   * Where summaries are asked for (edge/summary.ts `summarize`): `OPENAI_API_KEY`, `OPENAI_BASE_URL` and
   * `SUMMARY_MODEL`; null when `OPENAI_API_KEY` is unset, which turns summaries off.
   */
  summary: SummarySettings | null;
  /**
   * The prices `/history` estimates a conversation's cost with (contract/usage.ts `estimateCostUsd`), US dollars:
   * `PRICE_LLM_INPUT_USD_PER_MTOK`, `PRICE_LLM_CACHED_INPUT_USD_PER_MTOK`, `PRICE_LLM_OUTPUT_USD_PER_MTOK` (per million
   * tokens), `PRICE_STT_USD_PER_MINUTE`, `PRICE_TTS_USD_PER_MINUTE` (per minute of audio) and
   * `PRICE_TTS_USD_PER_MCHARS` (per million characters); each defaults to `DEFAULT_USAGE_PRICES` (the default models'
   * prices on https://platform.openai.com/docs/pricing).
   */
  usagePrices: Readonly<UsagePrices>;
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
    previousCookieSecret: c.COOKIE_SECRET_PREVIOUS ?? null,
    hstsMaxAgeS: c.HSTS_MAX_AGE_S,
    allowedOrigins: c.ALLOWED_ORIGINS,
    allowClientSystemPrompt: c.ALLOW_CLIENT_SYSTEM_PROMPT,
    liveMode: c.ENABLE_VOICE_LIVE_MODE,
    liveMinutesPerDay: c.LIVE_MINUTES_PER_DAY,
    maxSessionS: c.MAX_SESSION_S,
    clientGraceS: c.CLIENT_GRACE_S,
    agentLeaseS: c.AGENT_LEASE_S,
    agentJoinTimeoutS: c.AGENT_JOIN_TIMEOUT_S,
    roomClaimTtlS: c.ROOM_CLAIM_TTL_S,
    maxActiveSessionsPerVisitor: c.MAX_ACTIVE_SESSIONS_PER_VISITOR,
    clientJoinTimeoutS: c.CLIENT_JOIN_TIMEOUT_S,
    maxSessionsPerIp: c.MAX_SESSIONS_PER_IP,
    maxSessionsTotal: c.MAX_SESSIONS_TOTAL,
    turnstile:
      c.TURNSTILE_SITE_KEY !== undefined && c.TURNSTILE_SECRET_KEY !== undefined
        ? { siteKey: c.TURNSTILE_SITE_KEY, secretKey: c.TURNSTILE_SECRET_KEY, origin: c.TURNSTILE_ORIGIN }
        : null,
    tokenTtlS: c.TOKEN_TTL_S,
    allowedProfiles: c.ALLOWED_PROFILES,
    defaultProfile: c.DEFAULT_PROFILE,
    retentionDays: c.RETENTION_DAYS,
    summary:
      c.OPENAI_API_KEY !== undefined
        ? { apiKey: c.OPENAI_API_KEY, baseUrl: c.OPENAI_BASE_URL, model: c.SUMMARY_MODEL }
        : null,
    usagePrices: Object.freeze({
      llmInputPerMTok: c.PRICE_LLM_INPUT_USD_PER_MTOK,
      llmCachedInputPerMTok: c.PRICE_LLM_CACHED_INPUT_USD_PER_MTOK,
      llmOutputPerMTok: c.PRICE_LLM_OUTPUT_USD_PER_MTOK,
      sttPerMinute: c.PRICE_STT_USD_PER_MINUTE,
      ttsPerMinute: c.PRICE_TTS_USD_PER_MINUTE,
      ttsPerMChars: c.PRICE_TTS_USD_PER_MCHARS,
    }),
  };
  cache.set(env, config);
  return config;
}
