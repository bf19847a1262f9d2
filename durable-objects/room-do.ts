/**
 * `RoomDO`: one per LiveKit room name. Records which visitor owns the room (claimed when the first
 * token for it is minted, released after `ROOM_CLAIM_TTL_S` of idleness) and which session is
 * active in it (one at a time; the webhook handler looks it up).
 *
 * See docs/architecture.md, "Security model".
 */
import { DurableObject } from "cloudflare:workers";
import * as z from "zod/mini";
import { readEdgeConfig } from "../edge/config.ts";
import { getChecked } from "./checked-storage.ts";
import { reservationExpiresAt } from "./reservation.ts";

const EpochMs = z.number().check(z.int());

/** The stored state of a room (KV key {@link KEY}), checked on every read. */
const RoomState = z.object({
  owner: z.string(),
  /** Epoch ms of the last token, session start or session end in this room. */
  lastActiveAt: EpochMs,
  /** The active session and the epoch ms at which its reservation lapses on its own. */
  activeSession: z.nullable(z.object({ id: z.string(), expiresAt: EpochMs })),
});
type RoomState = z.infer<typeof RoomState>;

/** Result of a claim or a session reservation. */
export type RoomVerdict =
  { ok: true } | { ok: false; reason: "forbidden" } | { ok: false; reason: "busy"; activeSessionId: string };

const KEY = "room";

export class RoomDO extends DurableObject<Env> {
  /**
   * Claims the room for `visitorId`, or confirms the claim, and marks it active.
   * A claim lapses after `ROOM_CLAIM_TTL_S` seconds without activity.
   * @param nowMs epoch ms
   * @returns `forbidden` when another visitor holds a live claim
   */
  async claim(visitorId: string, nowMs: number): Promise<RoomVerdict> {
    const state = await this.live(nowMs);
    if (state && state.owner !== visitorId) return { ok: false, reason: "forbidden" };
    await this.save({ owner: visitorId, lastActiveAt: nowMs, activeSession: state?.activeSession ?? null });
    return { ok: true };
  }

  /**
   * Claims the room (as `claim`) and makes `sessionId` its active session.
   * The reservation lapses on its own at {@link reservationExpiresAt} (`MAX_SESSION_S` plus the slack),
   * even if the end notification is lost.
   * @returns `forbidden` (another owner) or `busy` (another session is active)
   */
  async beginSession(visitorId: string, sessionId: string, nowMs: number): Promise<RoomVerdict> {
    const state = await this.live(nowMs);
    if (state && state.owner !== visitorId) return { ok: false, reason: "forbidden" };
    if (state?.activeSession && state.activeSession.id !== sessionId) {
      return { ok: false, reason: "busy", activeSessionId: state.activeSession.id };
    }
    const expiresAt = reservationExpiresAt(readEdgeConfig(this.env).maxSessionS, nowMs);
    await this.save({ owner: visitorId, lastActiveAt: nowMs, activeSession: { id: sessionId, expiresAt } });
    return { ok: true };
  }

  /** Clears the active session when it is `sessionId` (idempotent). */
  async endSession(sessionId: string, nowMs: number): Promise<void> {
    const state = await this.stored();
    if (!state || state.activeSession?.id !== sessionId) return;
    await this.save({ ...state, activeSession: null, lastActiveAt: nowMs });
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

  override async alarm(): Promise<void> {
    // Scheduled at claim expiry: forget idle rooms so storage does not grow with every room ever used.
    const state = await this.stored();
    if (!state) return;
    const stillBusy = state.activeSession && state.activeSession.expiresAt > Date.now();
    if (!stillBusy) await this.ctx.storage.deleteAll();
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

  private async save(state: RoomState): Promise<void> {
    await this.ctx.storage.put(KEY, state);
    const ttlMs = readEdgeConfig(this.env).roomClaimTtlS * 1000;
    const next = Math.max(state.lastActiveAt + ttlMs, state.activeSession?.expiresAt ?? 0);
    await this.ctx.storage.setAlarm(next + 1000);
  }
}
