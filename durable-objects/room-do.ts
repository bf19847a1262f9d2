/**
 * `RoomDO`: one per LiveKit room name. Records which visitor owns the room (claimed when the first token for
 * it is minted, released after `ROOM_CLAIM_TTL_S` of idleness), the one participant identity visitors may
 * join it as (bound by that first token or session), which session is active in it (one at a time; the
 * webhook handler looks it up), and ends what no session holds: a visitor who joined the LiveKit room without
 * a session gets {@link SESSIONLESS_ROOM_GRACE_S} for one to begin, then the room is deleted.
 *
 * See docs/architecture.md, "Security model".
 */
import { DurableObject } from "cloudflare:workers";
import * as z from "zod/mini";
import { readEdgeConfig } from "../edge/config.ts";
import { deleteRoom } from "../edge/livekit.ts";
import { log } from "../edge/log.ts";
import { getChecked } from "./checked-storage.ts";
import { reservationExpiresAt } from "./reservation.ts";

/**
 * Seconds a visitor may be in the LiveKit room without a session before the room is deleted. The page joins
 * the room and starts its session in parallel (docs/architecture.md, "Flows"), so LiveKit's
 * `participant_joined` may arrive before `POST /session` has reserved the room; that start takes a few
 * Durable Object calls and one `CreateDispatch` (5 s timeout), well inside this grace.
 */
export const SESSIONLESS_ROOM_GRACE_S = 30;

/** Seconds between attempts to delete a sessionless room when `DeleteRoom` failed, and how many attempts. */
const DELETE_RETRY_S = 10;
const DELETE_ATTEMPTS_MAX = 6;

const EpochMs = z.number().check(z.int());

/** The stored state of a room (KV key {@link KEY}), checked on every read. */
const RoomState = z.object({
  owner: z.string(),
  /**
   * The participant identity of the room's visitor, bound by its first token or session (absent in rooms
   * stored before identities were bound: the next token or session binds it).
   */
  identity: z.optional(z.string()),
  /** Epoch ms of the last token, session start or session end in this room. */
  lastActiveAt: EpochMs,
  /** The active session and the epoch ms at which its reservation lapses on its own. */
  activeSession: z.nullable(z.object({ id: z.string(), expiresAt: EpochMs })),
  /**
   * True once a sessionless join used the room's grace; a token or a session start gives a new one. A
   * sessionless join without a grace is deleted at once.
   */
  graceSpent: z.optional(z.boolean()),
});
type RoomState = z.infer<typeof RoomState>;

/** A pending deletion of the LiveKit room (KV key {@link SESSIONLESS_KEY}): nobody's session holds it. */
const SessionlessRoom = z.object({
  /** The LiveKit room name (a Durable Object does not know the name it was addressed by). */
  room: z.string(),
  /** Epoch ms at which `DeleteRoom` is due unless a session begins first. */
  deleteAt: EpochMs,
  /** Failed `DeleteRoom` attempts so far. */
  attempts: z.number().check(z.int(), z.nonnegative()),
});
type SessionlessRoom = z.infer<typeof SessionlessRoom>;

/**
 * Result of a claim or a session reservation: `forbidden` (another visitor's room), `identity` (the room is
 * bound to another participant identity), `busy` (another session is active), `closing` (the room is being
 * deleted because no session began in time).
 */
export type RoomVerdict =
  | { ok: true }
  | { ok: false; reason: "forbidden" | "identity" | "closing" }
  | { ok: false; reason: "busy"; activeSessionId: string };

/** What a visitor's join means for the room: its active session, or when the LiveKit room will be deleted. */
export type JoinVerdict = { sessionId: string } | { sessionId: null; deleteAt: number };

const KEY = "room";
const SESSIONLESS_KEY = "sessionless";

export class RoomDO extends DurableObject<Env> {
  /**
   * Claims the room for `visitorId`, or confirms the claim, and marks it active; binds `identity` as the
   * room's participant identity when none is bound yet. Each claim (a minted token) gives the room a new
   * sessionless grace. A claim lapses after `ROOM_CLAIM_TTL_S` seconds without activity, and its identity
   * with it.
   * @param nowMs epoch ms
   * @param identity the token's participant identity; omitted, nothing is checked or bound
   * @returns `forbidden` when another visitor holds a live claim, `identity` when another identity is bound
   */
  async claim(visitorId: string, nowMs: number, identity?: string): Promise<RoomVerdict> {
    const state = await this.live(nowMs);
    const refused = refusal(state, visitorId, identity);
    if (refused) return refused;
    await this.save({
      owner: visitorId,
      identity: state?.identity ?? identity,
      lastActiveAt: nowMs,
      activeSession: state?.activeSession ?? null,
      graceSpent: false,
    });
    return { ok: true };
  }

  /**
   * Claims the room (as `claim`) and makes `sessionId` its active session, which cancels a pending deletion of
   * a sessionless room. The reservation lapses on its own at {@link reservationExpiresAt} (`MAX_SESSION_S`
   * plus the slack), even if the end notification is lost.
   * @param identity the session's participant identity; omitted, nothing is checked or bound
   * @returns `forbidden` (another owner), `identity` (another identity is bound), `busy` (another session is
   *   active) or `closing` (the sessionless room's deletion is due or under way)
   */
  async beginSession(visitorId: string, sessionId: string, nowMs: number, identity?: string): Promise<RoomVerdict> {
    const state = await this.live(nowMs);
    const refused = refusal(state, visitorId, identity);
    if (refused) return refused;
    if (state?.activeSession && state.activeSession.id !== sessionId) {
      return { ok: false, reason: "busy", activeSessionId: state.activeSession.id };
    }
    const pending = await this.sessionless();
    if (pending && pending.deleteAt <= nowMs) return { ok: false, reason: "closing" };
    if (pending) await this.ctx.storage.delete(SESSIONLESS_KEY);
    const expiresAt = reservationExpiresAt(readEdgeConfig(this.env).maxSessionS, nowMs);
    await this.save({
      owner: visitorId,
      identity: state?.identity ?? identity,
      lastActiveAt: nowMs,
      activeSession: { id: sessionId, expiresAt },
      graceSpent: false,
    });
    return { ok: true };
  }

  /** Clears the active session when it is `sessionId` (idempotent). */
  async endSession(sessionId: string, nowMs: number): Promise<void> {
    const state = await this.stored();
    if (!state || state.activeSession?.id !== sessionId) return;
    await this.save({ ...state, activeSession: null, lastActiveAt: nowMs });
  }

  /**
   * Undoes `beginSession` for a session whose start failed later (the session-start rollback): clears the active
   * session when it is `sessionId` and, since the visitor may already be in the LiveKit room (the page joins in
   * parallel with the start), schedules the room's deletion {@link SESSIONLESS_ROOM_GRACE_S} from now, as for a
   * sessionless join; a session beginning meanwhile cancels it. Idempotent.
   * @param room the LiveKit room name (this object's name)
   */
  async rollBackSession(room: string, sessionId: string, nowMs: number): Promise<void> {
    const state = await this.stored();
    if (!state || state.activeSession?.id !== sessionId) return;
    const pending = (await this.sessionless()) ?? {
      room,
      deleteAt: nowMs + SESSIONLESS_ROOM_GRACE_S * 1000,
      attempts: 0,
    };
    await this.ctx.storage.put(SESSIONLESS_KEY, pending satisfies SessionlessRoom);
    await this.save({ ...state, activeSession: null, lastActiveAt: nowMs, graceSpent: true });
  }

  /** The id of the room's active session, or null. */
  async activeSession(nowMs: number): Promise<string | null> {
    const state = await this.stored();
    const active = state?.activeSession;
    return active && active.expiresAt > nowMs ? active.id : null;
  }

  /** The owner visitor id while the claim is live, else null. */
  async owner(nowMs: number): Promise<string | null> {
    return (await this.live(nowMs))?.owner ?? null;
  }

  /**
   * A visitor (a participant that is not an agent) joined the LiveKit room, as LiveKit's `participant_joined`
   * webhook says. With an active session that is all; without one the room's deletion is scheduled: after
   * {@link SESSIONLESS_ROOM_GRACE_S} when the room's grace is unused, at once when it was spent (a join with a
   * refreshed token after the room was deleted) or when nobody holds a live claim on the room. A deletion
   * already pending keeps its time.
   * @param room the LiveKit room name (this object's name)
   * @param nowMs epoch ms
   * @returns the active session's id, or when `DeleteRoom` is due (epoch ms)
   */
  async visitorJoined(room: string, nowMs: number): Promise<JoinVerdict> {
    const state = await this.live(nowMs);
    if (state?.activeSession) return { sessionId: state.activeSession.id };
    const pending = await this.sessionless();
    if (pending) return { sessionId: null, deleteAt: pending.deleteAt };
    const graceMs = state && !state.graceSpent ? SESSIONLESS_ROOM_GRACE_S * 1000 : 0;
    const deleteAt = nowMs + graceMs;
    await this.ctx.storage.put(SESSIONLESS_KEY, { room, deleteAt, attempts: 0 } satisfies SessionlessRoom);
    if (state) await this.ctx.storage.put(KEY, { ...state, graceSpent: true } satisfies RoomState);
    await this.arm(state, { room, deleteAt, attempts: 0 });
    return { sessionId: null, deleteAt };
  }

  /**
   * Deletes a sessionless LiveKit room whose grace is over (retried {@link DELETE_ATTEMPTS_MAX} times, every
   * {@link DELETE_RETRY_S} s, when `DeleteRoom` fails), and forgets an idle room whose claim lapsed, so that
   * storage does not grow with every room ever used. Runs early, late or twice harmlessly: it acts on what is
   * due now.
   */
  override async alarm(): Promise<void> {
    const nowMs = Date.now();
    let pending = await this.sessionless();
    if (pending && pending.deleteAt <= nowMs) pending = await this.deleteSessionlessRoom(pending, nowMs);
    const state = await this.stored();
    const claimTtlMs = readEdgeConfig(this.env).roomClaimTtlS * 1000;
    const stillBusy = state?.activeSession && state.activeSession.expiresAt > nowMs;
    const idle = state && !stillBusy && nowMs - state.lastActiveAt > claimTtlMs;
    if (!pending && (!state || idle)) {
      await this.ctx.storage.deleteAll();
      return;
    }
    await this.arm(state ?? null, pending);
  }

  /**
   * Calls `DeleteRoom` for a pending sessionless room (a room that no longer exists counts as deleted).
   * @returns the pending deletion still to do (a failed attempt, rescheduled), or null when it is done or
   *   abandoned
   */
  private async deleteSessionlessRoom(pending: SessionlessRoom, nowMs: number): Promise<SessionlessRoom | null> {
    const deleted = await deleteRoom(readEdgeConfig(this.env), pending.room);
    const attempts = pending.attempts + 1;
    if (deleted || attempts >= DELETE_ATTEMPTS_MAX) {
      await this.ctx.storage.delete(SESSIONLESS_KEY);
      const fields = { room: pending.room, attempts };
      if (deleted) log.info("sessionless_room_deleted", fields);
      else log.error("sessionless_room_delete_abandoned", fields);
      return null;
    }
    const retry = { ...pending, attempts, deleteAt: nowMs + DELETE_RETRY_S * 1000 };
    await this.ctx.storage.put(SESSIONLESS_KEY, retry);
    return retry;
  }

  private async live(nowMs: number): Promise<RoomState | null> {
    const claimTtlS = readEdgeConfig(this.env).roomClaimTtlS;
    const state = await this.stored();
    if (!state) return null;
    if (state.activeSession && state.activeSession.expiresAt <= nowMs) state.activeSession = null;
    const idle = !state.activeSession && nowMs - state.lastActiveAt > claimTtlS * 1000;
    return idle ? null : state;
  }

  /**
   * The stored state, checked.
   * @throws Error naming the field when it is malformed
   */
  private stored(): Promise<RoomState | undefined> {
    return getChecked(this.ctx.storage, KEY, RoomState);
  }

  /**
   * The pending deletion of a sessionless room, checked.
   * @throws Error naming the field when it is malformed
   */
  private async sessionless(): Promise<SessionlessRoom | null> {
    return (await getChecked(this.ctx.storage, SESSIONLESS_KEY, SessionlessRoom)) ?? null;
  }

  private async save(state: RoomState): Promise<void> {
    await this.ctx.storage.put(KEY, state);
    await this.arm(state, await this.sessionless());
  }

  /** Sets the alarm at the earliest of the pending deletion and the time the room's claim and session lapse. */
  private async arm(state: RoomState | null, pending: SessionlessRoom | null): Promise<void> {
    const ttlMs = readEdgeConfig(this.env).roomClaimTtlS * 1000;
    const lapse = state ? Math.max(state.lastActiveAt + ttlMs, state.activeSession?.expiresAt ?? 0) + 1000 : Infinity;
    const next = Math.min(lapse, pending?.deleteAt ?? Infinity);
    if (Number.isFinite(next)) await this.ctx.storage.setAlarm(next);
  }
}

/** Why `visitorId` (with `identity`, when given) may not use the room `state` holds, or null. */
function refusal(state: RoomState | null, visitorId: string, identity: string | undefined): RoomVerdict | null {
  if (state && state.owner !== visitorId) return { ok: false, reason: "forbidden" };
  if (state?.identity && identity !== undefined && identity !== state.identity)
    return { ok: false, reason: "identity" };
  return null;
}
