/**
 * The session-start service behind `POST /session`: one transaction over several Durable Objects and
 * LiveKit, written as named steps with an explicit rollback.
 *
 *  1. {@link checkPolicy}: a `system_prompt` only where the deployment allows it; {@link resumption}
 *     (worker/session-resume.ts): the conversation `resume_from` continues, the visitor's and ended; {@link chooseProfile}:
 *     the session's profile, one of `ALLOWED_PROFILES` (else 400 `unknown_profile`), `DEFAULT_PROFILE` when none is named,
 *     the earlier conversation's when it resumes one;
 *  2. the rate limit (`SESSION_LIMITER`, per visitor and per client IP), then {@link verifyTurnstile}
 *     (worker/turnstile.ts): the Turnstile token, checked with siteverify when the deployment has Turnstile on
 *     (after the rate limit, so that a flood of junk tokens costs no siteverify call beyond the limit); for a start in
 *     live mode, {@link liveTimeForStart} (worker/live-allowance.ts): the visitor's live minutes left today
 *     (`LIVE_MINUTES_PER_DAY`), before anything is reserved;
 *  3. {@link reserveRoom}: the room's one active session (`RoomDO`), clearing a stale one first: the request's room, or
 *     a fresh one when it names none (claimed for the visitor as `GET /token` would);
 *  4. {@link reserveVisitorSlot}: one of the visitor's `MAX_ACTIVE_SESSIONS_PER_VISITOR` slots (`VisitorDO`), which
 *     answers the visitor's first name in the same call (`PUT /visitor/name`; never logged);
 *  5. {@link reserveIpSlot}: one of the client address's `MAX_SESSIONS_PER_IP` slots (`SessionCapDO`; an IPv4
 *     address, or an IPv6 /64: worker/client-ip.ts), which a script that drops its cookie cannot shed;
 *  6. {@link reserveTotalSlot}: one of the deployment's `MAX_SESSIONS_TOTAL` slots (`SessionCapDO` "total");
 *  7. {@link createSessionObject}: the `SessionDO` in state `starting`;
 *  8. {@link dispatchSessionAgent}: LiveKit `CreateDispatch` of `AGENT_NAME` into the room, with the session's
 *     profile, the visitor's time zone and first name in the metadata, their place in the tutor's curriculum for a
 *     tutor profile (read from D1 during steps 3-7: {@link tutorPlaceOf}), and a resumed conversation's earlier
 *     turns and summary.
 *
 * The answer carries the session id and the token that joins its room as the request's identity, so that a page
 * starts with one request.
 *
 * Each step that reserves something registers its undo in a {@link Rollback}; when a later step fails,
 * the undos of the steps done so far run in reverse order, so that no half-made session stays behind and
 * the visitor can simply retry. See docs/architecture.md, "Flows" and "Dispatch"; docs/edge.md.
 */
import type {
  SessionCreateRequest,
  SessionCreateResponse,
  SessionMode,
  TokenResponse,
  TutorPlace,
} from "../contract/index.ts";
import { errorSummary, type Logger } from "../contract/log.ts";
import { reservationExpiresAt } from "../durable-objects/reservation.ts";
import { ipCapId, ipCapStub, totalCapStub } from "../durable-objects/session-cap-do.ts";
import type { EdgeConfig } from "../edge/config.ts";
import { dispatchAgent, mintToken } from "../edge/livekit.ts";
import { log as edgeLog } from "../edge/log.ts";
import { clientIpKey } from "./client-ip.ts";
import { tutorPlace } from "./curriculum.ts";
import { HttpError } from "./errors.ts";
import { liveTimeForStart } from "./live-allowance.ts";
import { hasTutor, profileById } from "./profiles.ts";
import { type Caller, limitCaller } from "./rate-limit.ts";
import { type Resumption, resumption } from "./session-resume.ts";
import { roomStub, sessionStub, visitorStub } from "./sessions.ts";
import { verifyTurnstile } from "./turnstile.ts";
import { randomId } from "../edge/random-id.ts";
import { newRoomName } from "./visitor.ts";

/**
 * Seconds a client at a session cap (its visitor's, its address's, or the deployment's) is asked to wait
 * before retrying (`Retry-After` of the 429): about two visitor join bounds, in which abandoned sessions end.
 */
export const TOO_MANY_SESSIONS_RETRY_AFTER_S = 30;

/** What the service works with: the Worker's bindings and configuration, and where it logs. */
export interface SessionStartDeps {
  env: Env;
  config: EdgeConfig;
  /** Default: the edge logger (edge/log.ts). */
  log?: Logger;
}

function loggerOf(deps: SessionStartDeps): Logger {
  return deps.log ?? edgeLog;
}

/** The session being started, as the steps share it. `nowMs` is the start time, epoch ms. */
export interface StartingSession {
  sessionId: string;
  room: string;
  /** The visitor's LiveKit participant identity. */
  identity: string;
  /** The starting visitor's id (`vid` cookie); becomes the session's owner. */
  visitorId: string;
  /**
   * The client address's key (`clientIpKey` of worker/client-ip.ts: an IPv4 address or an IPv6 /64), for its
   * session cap. Held only while the session starts: the session keeps the cap object's id, never the address.
   */
  clientIpKey: string;
  /** The client's `system_prompt`, already allowed by {@link checkPolicy}. */
  systemPrompt?: string;
  /** The session's profile id ({@link chooseProfile}). */
  profile: string;
  /** The visitor's IANA time zone (`POST /session {timezone}`), when given. */
  timezone?: string;
  /** How the session talks (`POST /session {mode}`, allowed by {@link checkPolicy}). */
  mode: SessionMode;
  /** For a start in live mode: the visitor's live ms left today ({@link liveTimeForStart}). */
  liveMsLeft?: number;
  /** The conversation it continues, when it resumes one. */
  resume?: Resumption;
  /** The visitor's first name (contract `VisitorName`), when they gave one: set by {@link reserveVisitorSlot}. */
  visitorName?: string;
  /**
   * Where the visitor stands in the tutor's curriculum, for a profile with tutor actions once they started a topic:
   * read from D1 while the session starts ({@link tutorPlaceOf}), for the dispatch.
   */
  tutorPlace?: Promise<TutorPlace | null>;
  nowMs: number;
}

/**
 * The visitor's place in the curriculum (worker/curriculum.ts `tutorPlace`, one D1 query), for a profile with tutor
 * actions; null for another profile, before any topic, or when D1 fails (logged as `tutor_place_failed`: the
 * conversation then starts without it, as a first one would).
 */
export async function tutorPlaceOf(deps: SessionStartDeps, session: StartingSession): Promise<TutorPlace | null> {
  const profile = profileById(session.profile);
  if (!profile || !hasTutor(profile)) return null;
  try {
    return await tutorPlace(deps.env.CURRICULUM, session.visitorId);
  } catch (err) {
    loggerOf(deps).warn("tutor_place_failed", { session_id: session.sessionId, error: errorSummary(err) });
    return null;
  }
}

/**
 * The undos of the steps done so far. A step registers its undo right after it has reserved something;
 * {@link Rollback.run} undoes them last first.
 */
export class Rollback {
  readonly #undos: { step: string; undo: () => Promise<unknown> }[] = [];
  readonly #log: Logger;

  /** @param log where a failed undo is reported (`session_start_undo_failed`) */
  constructor(log: Logger) {
    this.#log = log;
  }

  /**
   * Registers the undo of `step`.
   * @param step snake_case name of the step, for the log (e.g. `room_reservation`)
   * @param undo releases what the step reserved; must be idempotent
   */
  register(step: string, undo: () => Promise<unknown>): void {
    this.#undos.push({ step, undo });
  }

  /** The steps with an undo registered, in the order they were registered. */
  get steps(): readonly string[] {
    return this.#undos.map((u) => u.step);
  }

  /**
   * Runs every registered undo, last registered first, and forgets them. An undo that fails is logged
   * and the others still run: what it should have released goes on its own (reservations lapse, see
   * durable-objects/reservation.ts; a session object ends itself at its agent join timeout). Never throws.
   */
  async run(): Promise<void> {
    const undone = this.steps;
    for (const { step, undo } of this.#undos.splice(0).reverse()) {
      try {
        await undo();
      } catch (err) {
        this.#log.error("session_start_undo_failed", { step, error: errorSummary(err) });
      }
    }
    if (undone.length) this.#log.info("session_start_rolled_back", { steps: undone.join(",") });
  }
}

/**
 * Starts a session: runs the steps in order and, when one fails, the rollback.
 * @param request the validated `POST /session` body
 * @param caller the visitor and client IP, for the rate limit and the ownership
 * @returns the `POST /session` 201 body
 * @throws HttpError 403 `system_prompt_not_allowed`; 404 `session_not_found`, 403 `forbidden`, 409
 *   `conversation_active` or 400 `profile_mismatch` (`resume_from`, worker/session-resume.ts); 400 `unknown_profile`;
 *   403 `turnstile_failed` or 503
 *   `turnstile_unavailable`
 *   (worker/turnstile.ts), 429 `rate_limited` (Retry-After 60), 429 `live_limit_reached` (a start in live mode with no
 *   live minutes left today; Retry-After: the next UTC midnight), 403 `room_forbidden` or `identity_mismatch`,
 *   409 `session_active` or `room_closing`, 429 `too_many_sessions`, `too_many_sessions_from_ip` or `service_at_capacity`
 *   (Retry-After 30), 502 `dispatch_failed`; anything else a
 *   Durable Object call throws (a 500 for the client), after the rollback
 */
export async function runSessionStart(
  deps: SessionStartDeps,
  request: SessionCreateRequest,
  caller: Caller,
): Promise<SessionCreateResponse> {
  const log = loggerOf(deps);
  checkPolicy(deps.config, request);
  if (request.resume_from === undefined) chooseProfile(deps.config, request); // a bad profile costs no rate limit
  await limitCaller(deps.env.SESSION_LIMITER, caller);
  await verifyTurnstile(deps, request.turnstile_token, caller);
  // After the limits: it reads the earlier conversation's object.
  const resume = await resumption(deps.env, deps.config, request, caller.visitorId);
  const profile = resume?.profile ?? chooseProfile(deps.config, request);
  const session: StartingSession = {
    sessionId: randomId(),
    room: request.room ?? newRoomName(),
    identity: request.identity,
    visitorId: caller.visitorId,
    clientIpKey: clientIpKey(caller.clientIp),
    ...(request.system_prompt !== undefined ? { systemPrompt: request.system_prompt } : {}),
    profile,
    ...(request.timezone !== undefined ? { timezone: request.timezone } : {}),
    mode: request.mode ?? "pipeline",
    ...(resume ? { resume } : {}),
    nowMs: Date.now(),
  };
  // Before anything is reserved: a start in live mode needs live minutes left today.
  if (session.mode === "live") {
    session.liveMsLeft = await liveTimeForStart(deps.env, deps.config, caller.visitorId, session.nowMs);
  }
  // Read while the session's objects are reserved; the dispatch waits for it.
  session.tutorPlace = tutorPlaceOf(deps, session);
  const rollback = new Rollback(log.child({ session_id: session.sessionId, room: session.room }));
  try {
    await reserveRoom(deps, session, rollback);
    await reserveVisitorSlot(deps, session, rollback);
    await reserveIpSlot(deps, session, rollback);
    await reserveTotalSlot(deps, session, rollback);
    await createSessionObject(deps, session, rollback);
    // Minted before the dispatch: nothing is left dispatched when it fails (it does not, short of a broken runtime).
    const livekit = await joinToken(deps.config, session);
    await dispatchSessionAgent(deps, session);
    log.info("session_started", { session_id: session.sessionId, room: session.room, mode: session.mode });
    return { session_id: session.sessionId, livekit };
  } catch (err) {
    await rollback.run();
    throw err;
  }
}

/**
 * What joins the started session's room as its identity: the `GET /token` body, the participant named with the
 * visitor's first name when they gave one (worker/routes/token.ts).
 */
async function joinToken(config: EdgeConfig, session: StartingSession): Promise<TokenResponse> {
  return {
    token: await mintToken(config, session.room, session.identity, session.visitorName),
    room: session.room,
    identity: session.identity,
    url: config.liveKitUrl,
  };
}

/**
 * Step 1: a client-supplied system prompt only where `ALLOW_CLIENT_SYSTEM_PROMPT` is true; live mode only where
 * `ENABLE_VOICE_LIVE_MODE` is.
 * @throws HttpError 403 `system_prompt_not_allowed`, 403 `live_mode_disabled`
 */
export function checkPolicy(config: EdgeConfig, request: SessionCreateRequest): void {
  if (request.system_prompt !== undefined && !config.allowClientSystemPrompt) {
    throw new HttpError(403, "system_prompt_not_allowed", "This deployment does not accept a system_prompt.");
  }
  if (request.mode === "live" && !config.liveMode) {
    throw new HttpError(403, "live_mode_disabled", "Live mode is not available here; start without it.");
  }
}

/**
 * Step 1, too: the session's profile: the one `request.profile` names when `ALLOWED_PROFILES` has it, else
 * `DEFAULT_PROFILE` when it names none. A profile the deployment does not offer is refused the same way whether
 * or not it exists, so that the answer reveals nothing beyond the list the deployment offers.
 * @returns the profile id
 * @throws HttpError 400 `unknown_profile`
 */
export function chooseProfile(config: EdgeConfig, request: Pick<SessionCreateRequest, "profile">): string {
  if (request.profile === undefined) return config.defaultProfile;
  if (config.allowedProfiles.has(request.profile)) return request.profile;
  const offered = [...config.allowedProfiles].join(", ");
  throw new HttpError(
    400,
    "unknown_profile",
    `There is no profile "${request.profile}" here; choose one of: ${offered}.`,
  );
}

/**
 * Step 3: makes the session the room's active one (claiming the room for the visitor when unclaimed).
 * When the room still lists a session that has in fact ended (or never existed) — its end never reached
 * the room — that stale entry is cleared and the reservation retried once.
 * Registers the undo `room_reservation`.
 * @throws HttpError 403 `room_forbidden` (another visitor's room), 403 `identity_mismatch` (the room is bound
 *   to another participant identity), 409 `session_active` (a running session), 409 `room_closing` (the room
 *   is being deleted: it was joined without a session for too long)
 */
export async function reserveRoom(deps: SessionStartDeps, session: StartingSession, rollback: Rollback): Promise<void> {
  const room = roomStub(deps.env, session.room);
  const { visitorId, sessionId, nowMs, identity } = session;
  let verdict = await room.beginSession(visitorId, sessionId, nowMs, identity);
  if (!verdict.ok && verdict.reason === "busy" && (await sessionHasEnded(deps.env, verdict.activeSessionId))) {
    loggerOf(deps).info("room_stale_session_cleared", { room: session.room, session_id: verdict.activeSessionId });
    await room.endSession(verdict.activeSessionId, session.nowMs);
    verdict = await room.beginSession(visitorId, sessionId, nowMs, identity);
  }
  if (!verdict.ok && verdict.reason === "forbidden") {
    throw new HttpError(403, "room_forbidden", "This room belongs to another visitor.");
  }
  if (!verdict.ok && verdict.reason === "identity") {
    throw new HttpError(
      403,
      "identity_mismatch",
      "This room admits only the participant identity it was first issued for.",
    );
  }
  if (!verdict.ok && verdict.reason === "closing") {
    throw new HttpError(409, "room_closing", "This room was joined without a session for too long; start again.");
  }
  if (!verdict.ok) throw new HttpError(409, "session_active", "This room already has an active session.");
  // The visitor may be in the LiveKit room already: the RoomDO deletes it unless a session begins soon.
  rollback.register("room_reservation", () => room.rollBackSession(session.room, sessionId, Date.now()));
}

/** Whether a session a room still lists as active has in fact ended (or never existed). */
async function sessionHasEnded(env: Env, sessionId: string): Promise<boolean> {
  const info = await sessionStub(env, sessionId).info();
  return !info || info.status === "ended";
}

/**
 * Step 4: one of the visitor's `MAX_ACTIVE_SESSIONS_PER_VISITOR` slots, lapsing on its own at
 * `reservationExpiresAt`; the same call answers the visitor's first name, which it sets as `session.visitorName`
 * (for the dispatch). Registers the undo `visitor_slot`.
 * @throws HttpError 429 `too_many_sessions` with `Retry-After` {@link TOO_MANY_SESSIONS_RETRY_AFTER_S}
 */
export async function reserveVisitorSlot(
  deps: SessionStartDeps,
  session: StartingSession,
  rollback: Rollback,
): Promise<void> {
  const visitor = visitorStub(deps.env, session.visitorId);
  const { maxActiveSessionsPerVisitor, maxSessionS } = deps.config;
  const expiresAt = reservationExpiresAt(maxSessionS, session.nowMs);
  const { reserved, name } = await visitor.reserveSession(
    session.sessionId,
    maxActiveSessionsPerVisitor,
    session.nowMs,
    expiresAt,
  );
  if (!reserved) {
    throw new HttpError(429, "too_many_sessions", "You have too many active sessions; stop one first.", {
      "Retry-After": String(TOO_MANY_SESSIONS_RETRY_AFTER_S),
    });
  }
  rollback.register("visitor_slot", () => visitor.release(session.sessionId));
  if (name !== null) session.visitorName = name;
}

/**
 * Step 5: one of the client address's `MAX_SESSIONS_PER_IP` slots, lapsing on its own at `reservationExpiresAt`.
 * The cookie is free to drop, the address is not: this is the cap that holds against a script. Registers the
 * undo `ip_slot`.
 * @throws HttpError 429 `too_many_sessions_from_ip` with `Retry-After` {@link TOO_MANY_SESSIONS_RETRY_AFTER_S}
 */
export async function reserveIpSlot(
  deps: SessionStartDeps,
  session: StartingSession,
  rollback: Rollback,
): Promise<void> {
  const slots = ipCapStub(deps.env, session.clientIpKey);
  const expiresAt = reservationExpiresAt(deps.config.maxSessionS, session.nowMs);
  if (!(await slots.reserve(session.sessionId, deps.config.maxSessionsPerIp, session.nowMs, expiresAt))) {
    throw new HttpError(
      429,
      "too_many_sessions_from_ip",
      "Too many conversations are running from your network; end one or try again shortly.",
      { "Retry-After": String(TOO_MANY_SESSIONS_RETRY_AFTER_S) },
    );
  }
  rollback.register("ip_slot", () => slots.release(session.sessionId));
}

/**
 * Step 6: one of the deployment's `MAX_SESSIONS_TOTAL` slots (sized for the agent fleet), lapsing on its own at
 * `reservationExpiresAt`. Registers the undo `total_slot`.
 * @throws HttpError 429 `service_at_capacity` with `Retry-After` {@link TOO_MANY_SESSIONS_RETRY_AFTER_S}
 */
export async function reserveTotalSlot(
  deps: SessionStartDeps,
  session: StartingSession,
  rollback: Rollback,
): Promise<void> {
  const slots = totalCapStub(deps.env);
  const expiresAt = reservationExpiresAt(deps.config.maxSessionS, session.nowMs);
  if (!(await slots.reserve(session.sessionId, deps.config.maxSessionsTotal, session.nowMs, expiresAt))) {
    throw new HttpError(429, "service_at_capacity", "All conversations are taken right now; try again shortly.", {
      "Retry-After": String(TOO_MANY_SESSIONS_RETRY_AFTER_S),
    });
  }
  rollback.register("total_slot", () => slots.release(session.sessionId));
}

/**
 * Step 7: creates the `SessionDO` in state `starting` (its timers start now), with the id of the object that
 * holds its per-address slot, so that its end releases it. Registers the undo `session_object` (storage, alarm
 * and sockets discarded).
 * @throws Error when the object already holds a session (ids are 128 random bits, so only a bug can
 *   cause it; that session is not ours to discard), or whatever the call throws
 */
export async function createSessionObject(
  deps: SessionStartDeps,
  session: StartingSession,
  rollback: Rollback,
): Promise<void> {
  const stub = sessionStub(deps.env, session.sessionId);
  const { sessionId, room, identity, visitorId, systemPrompt, profile, timezone, resume } = session;
  const init = {
    session_id: sessionId,
    room,
    identity,
    owner: visitorId,
    ip_slot: ipCapId(deps.env, session.clientIpKey).toString(),
    ...(systemPrompt !== undefined ? { system_prompt: systemPrompt } : {}),
    profile,
    ...(timezone !== undefined ? { timezone } : {}),
    mode: session.mode,
    ...(session.liveMsLeft !== undefined ? { live_ms_left: session.liveMsLeft } : {}),
    ...(resume ? { resumed_from: resume.resumedFrom } : {}),
    ...(resume?.summary ? { earlier_summary: resume.summary } : {}),
  };
  let created: boolean;
  try {
    created = await stub.create(init);
  } catch (err) {
    // The call may have failed after the object stored something: discard whatever is there.
    rollback.register("session_object", () => stub.discard());
    throw err;
  }
  if (!created) throw new Error("session start: the new session id is already in use");
  rollback.register("session_object", () => stub.discard());
}

/**
 * Step 8: asks LiveKit to dispatch the agent into the room with the session's metadata. Reserves
 * nothing, so it registers no undo (a failed dispatch left no job behind).
 * @throws HttpError 502 `dispatch_failed` when LiveKit refuses or cannot be reached (logged)
 */
export async function dispatchSessionAgent(deps: SessionStartDeps, session: StartingSession): Promise<void> {
  const place = await session.tutorPlace;
  try {
    await dispatchAgent(deps.config, session.room, {
      session_id: session.sessionId,
      profile: session.profile,
      ...(session.timezone !== undefined ? { timezone: session.timezone } : {}),
      ...(session.systemPrompt !== undefined ? { system_prompt: session.systemPrompt } : {}),
      ...(session.visitorName !== undefined ? { visitor_name: session.visitorName } : {}),
      ...(place ? { tutor_place: place } : {}),
      ...(session.mode === "live" ? { mode: "live" as const } : {}),
      ...(session.resume
        ? {
            history: session.resume.history,
            resumed: session.resume.summary ? { summary: session.resume.summary } : {},
          }
        : {}),
    });
  } catch (err) {
    const fields = { session_id: session.sessionId, room: session.room, error: errorSummary(err) };
    loggerOf(deps).warn("dispatch_failed", fields);
    throw new HttpError(502, "dispatch_failed", "The voice service could not start an agent; try again shortly.");
  }
}
