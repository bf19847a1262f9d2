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
} as const;

/** Longest system prompt, in characters, from the dispatch metadata, `POST /session` or `SYSTEM_PROMPT`. */
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
} as const;

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
