/**
 * Defaults and limits that more than one part relies on, defined once. The Worker's and the agent's
 * configuration readers take their defaults from here, `npm run dev` wires the parts together with them,
 * and tests and benchmarks use them instead of repeating literals. See docs/architecture.md,
 * "Configuration".
 */

/** The agent name the Worker dispatches and the agent worker registers under (`AGENT_NAME`). */
export const DEFAULT_AGENT_NAME = "voice-agent";

/** Local ports of `npm run dev`: each can be moved with the variable named beside it. */
export const DEV_PORTS = {
  /** `wrangler dev` with the Worker (`WORKER_PORT`). */
  worker: 8787,
  /** The dev LiveKit server (`LIVEKIT_DEV_PORT`); livekit-server's own `--dev` port. */
  livekit: 7880,
  /** The local OpenAI-compatible provider (`OPENAI_DEV_PORT`). */
  openai: 8788,
  /** The agent worker's health endpoint (`AGENT_HEALTH_PORT`); also the container's default. */
  agentHealth: 8081,
  /** The local Turnstile stand-in (`TURNSTILE_DEV_PORT`), with `npm run dev -- --turnstile`. */
  turnstile: 8789,
  /** The widget's sample host page (`HOST_DEV_PORT`, dev/host/server.ts), on 127.0.0.1: another origin. */
  host: 8790,
  /** The local Deepgram stand-in (`DEEPGRAM_DEV_PORT`, dev/deepgram/), when a provider is Deepgram without a key. */
  deepgram: 8791,
} as const;

/**
 * Longest system prompt sent with `POST /session` (when `ALLOW_CLIENT_SYSTEM_PROMPT` allows one) and carried in
 * the dispatch metadata, in characters.
 */
export const SYSTEM_PROMPT_MAX = 4000;

/** Session timing defaults of the Worker, in seconds (the variables of the same names override them). */
export const SESSION_DEFAULTS_S = {
  /** `MAX_SESSION_S`: the longest a session may run. */
  maxSession: 900,
  /** `CLIENT_GRACE_S`: how long a session waits with no transcript socket open before it ends. */
  clientGrace: 30,
  /** `AGENT_LEASE_S`: how long without an agent heartbeat before the agent counts as lost. */
  agentLease: 20,
  /** `AGENT_JOIN_TIMEOUT_S`: how long a dispatched agent has to join before the session ends. */
  agentJoinTimeout: 20,
  /** `ROOM_CLAIM_TTL_S`: how long an idle room stays claimed by its visitor. */
  roomClaimTtl: 3600,
  /**
   * `CLIENT_JOIN_TIMEOUT_S`: how long a session waits for its visitor to join the LiveKit room before it ends
   * (`no_visitor`). As long as livekit-client's own signal-connection timeout (`websocketTimeout`, 15 s), so a
   * page whose connection is still allowed to come up is never cut short by it.
   */
  clientJoinTimeout: 15,
} as const;

/** The longest `CLIENT_JOIN_TIMEOUT_S` a deployment may set, seconds: beyond it the bound no longer protects the agent fleet. */
export const CLIENT_JOIN_TIMEOUT_MAX_S = 300;

/**
 * Seconds an ended session stays open to its agent's ingest (the closing window), so that the agent's last
 * finals (an interrupted reply) and its `agent_left` are stored. It closes earlier when `agent_left` arrives.
 * The agent's own flush on leaving must fit inside it.
 */
export const CLOSING_WINDOW_S = 15;

/** How many replacement agents a session dispatches after losing its agent, in its whole life. */
export const AGENT_REPLACEMENTS_MAX = 1;

/** `MAX_ACTIVE_SESSIONS_PER_VISITOR`: sessions one visitor may run at once. */
export const DEFAULT_MAX_ACTIVE_SESSIONS_PER_VISITOR = 2;

/** The highest `MAX_ACTIVE_SESSIONS_PER_VISITOR` a deployment may set. */
export const MAX_ACTIVE_SESSIONS_PER_VISITOR_CAP = 1000;

/**
 * `MAX_SESSIONS_PER_IP`: sessions one client address (an IPv4 address, or an IPv6 /64) may run at once. Small,
 * because the `vid` cookie is free to drop: this is the cap a script cannot shed. A household or an office behind
 * one address rarely runs more voice conversations at once.
 */
export const DEFAULT_MAX_SESSIONS_PER_IP = 4;

/** The highest `MAX_SESSIONS_PER_IP` a deployment may set. */
export const MAX_SESSIONS_PER_IP_CAP = 1000;

/**
 * `MAX_SESSIONS_TOTAL`: sessions the whole deployment runs at once, sized for one agent fleet: past it a new
 * session would only wait for an agent that never comes (`agent_unavailable`).
 */
export const DEFAULT_MAX_SESSIONS_TOTAL = 100;

/** The highest `MAX_SESSIONS_TOTAL` a deployment may set (one `SessionCapDO` counts them all). */
export const MAX_SESSIONS_TOTAL_CAP = 10_000;

/**
 * `TOKEN_TTL_S`: seconds a visitor's LiveKit token may be used to join (LiveKit accepts it up to 60 s past its
 * expiry, its clock leeway). The page joins within seconds of fetching it, once the visitor has answered the
 * microphone prompt; a joined participant gets refreshed tokens from LiveKit, so the TTL bounds only how long
 * an unused token stays good. See docs/architecture.md, "Security model".
 */
export const DEFAULT_TOKEN_TTL_S = 60;

/** The longest `TOKEN_TTL_S` a deployment may set, seconds. */
export const TOKEN_TTL_MAX_S = 600;

/**
 * Cloudflare Turnstile, the optional bot check on session start (`TURNSTILE_SITE_KEY`/`TURNSTILE_SECRET_KEY`;
 * off when unset). The origin serves both the widget script and siteverify; the CSP allows it (script and
 * frame) only while Turnstile is on. Source: developers.cloudflare.com/turnstile ("Embed the widget",
 * "Validate the token", "Content Security Policy").
 */
export const TURNSTILE_ORIGIN = "https://challenges.cloudflare.com";

/**
 * Path (and query) of the widget script with explicit rendering, on the Turnstile origin: the page renders
 * the widget itself (web/src/turnstile.ts).
 */
export const TURNSTILE_SCRIPT_PATH = "/turnstile/v0/api.js?render=explicit";

/** Path of the siteverify API on the Turnstile origin. */
export const TURNSTILE_SITEVERIFY_PATH = "/turnstile/v0/siteverify";

/** Cloudflare's widget script ({@link TURNSTILE_SCRIPT_PATH} on {@link TURNSTILE_ORIGIN}). */
export const TURNSTILE_SCRIPT_URL = `${TURNSTILE_ORIGIN}${TURNSTILE_SCRIPT_PATH}`;

/**
 * The widget's `action`, set by the page and checked by the Worker against siteverify's answer, so that a
 * token solved for another widget with the same sitekey does not start a session (Turnstile allows up to
 * 32 characters of `[A-Za-z0-9_-]`).
 */
export const TURNSTILE_ACTION = "session_start";

/** Longest Turnstile token, in characters, as Cloudflare documents it (`turnstile_token` of `POST /session`). */
export const TURNSTILE_TOKEN_MAX = 2048;

/**
 * Fewest characters of a secret that keys an HMAC-SHA256 (`AGENT_INGEST_SECRET`, `COOKIE_SECRET`, and
 * `LIVEKIT_API_SECRET` for a LiveKit server that is not on this machine). RFC 7518 §3.2 requires an HS256 key of
 * at least 256 bits; 32 characters from `openssl rand -hex 32` (64 hex characters) or `openssl rand -base64 32`
 * carry that much.
 */
export const SECRET_MIN_CHARS = 32;

/** Most transcript sockets open at once on one session; the `SessionDO` refuses further upgrades. */
export const TRANSCRIPT_SOCKETS_MAX = 4;

/**
 * Seconds between the page's keep-alive `ping`s on the transcript socket. Well under the idle timeouts of common
 * proxies and load balancers (often 60 s); the `SessionDO` answers `pong` without waking up.
 */
export const SOCKET_PING_INTERVAL_S = 30;

/**
 * Seconds after which a transcript socket that has neither connected nor sent a keep-alive `ping` counts as gone
 * (two missed pings and some slack): when a session is at `TRANSCRIPT_SOCKETS_MAX`, such sockets are closed to make
 * room for a new one. A page whose network dropped without a close frame leaves one behind.
 */
export const TRANSCRIPT_SOCKET_SILENT_S = 2 * SOCKET_PING_INTERVAL_S + 15;

/** The profile a session gets when `POST /session` names none (profiles/assistant/): today's plain assistant. */
export const DEFAULT_PROFILE_ID = "assistant";

/** Longest conversation summary, in characters (contract/conversations.ts). */
export const SUMMARY_MAX = 1000;
