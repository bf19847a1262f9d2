/**
 * `VisitorDO`: one per visitor id (`vid` cookie). Counts the visitor's active sessions so that
 * `POST /session` can enforce `MAX_ACTIVE_SESSIONS_PER_VISITOR`.
 *
 * See docs/architecture.md, "Security model" (a cap on concurrently active sessions per visitor).
 */
import { DurableObject } from "cloudflare:workers";
import * as z from "zod/mini";
import { getChecked } from "./checked-storage.ts";

/**
 * The stored reservations (KV key {@link KEY}), checked on every read: session id → epoch ms after
 * which the reservation lapses even if no release arrives (see reservation.ts).
 */
const Active = z.record(z.string(), z.number().check(z.int()));
type Active = z.infer<typeof Active>;
const KEY = "active";

export class VisitorDO extends DurableObject<Env> {
  /**
   * Reserves a slot for `sessionId` unless the visitor already has `cap` live sessions.
   * @param nowMs epoch ms
   * @param expiresAtMs epoch ms bound on the reservation (`reservationExpiresAt` of reservation.ts)
   * @returns false when the cap is reached
   */
  async reserve(sessionId: string, cap: number, nowMs: number, expiresAtMs: number): Promise<boolean> {
    const active = await this.pruned(nowMs);
    if (!(sessionId in active) && Object.keys(active).length >= cap) return false;
    active[sessionId] = expiresAtMs;
    await this.ctx.storage.put(KEY, active);
    await this.ctx.storage.setAlarm(Math.max(...Object.values(active)));
    return true;
  }

  /** Frees `sessionId`'s slot (idempotent). */
  async release(sessionId: string): Promise<void> {
    const active = (await this.stored()) ?? {};
    if (!(sessionId in active)) return;
    delete active[sessionId];
    if (Object.keys(active).length === 0) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.put(KEY, active);
  }

  /** Number of live reservations at `nowMs` (epoch ms). */
  async count(nowMs: number): Promise<number> {
    return Object.keys(await this.pruned(nowMs)).length;
  }

  override async alarm(): Promise<void> {
    const active = await this.pruned(Date.now());
    if (Object.keys(active).length === 0) await this.ctx.storage.deleteAll();
  }

  /** The reservations that have not lapsed at `nowMs`. */
  private async pruned(nowMs: number): Promise<Active> {
    const active = (await this.stored()) ?? {};
    for (const [id, expiresAt] of Object.entries(active)) if (expiresAt <= nowMs) delete active[id];
    return active;
  }

  /**
   * The stored reservations, checked.
   * @throws Error naming the entry when they are malformed
   */
  private stored(): Promise<Active | undefined> {
    return getChecked(this.ctx.storage, KEY, Active);
  }
}
