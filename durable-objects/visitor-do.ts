/**
 * `VisitorDO`: one per visitor id (`vid` cookie). Counts the visitor's active sessions so that
 * `POST /session` can enforce `MAX_ACTIVE_SESSIONS_PER_VISITOR`.
 *
 * Source: shared/ARCHITECTURE.md, "Security model" (a cap on concurrently active sessions per visitor).
 */
import { DurableObject } from "cloudflare:workers";

/** Session id → epoch ms after which the reservation lapses even if no release arrives. */
type Active = Record<string, number>;
const KEY = "active";

export class VisitorDO extends DurableObject<Env> {
  /**
   * Reserves a slot for `sessionId` unless the visitor already has `cap` live sessions.
   * @param expiresAtMs epoch ms bound on the reservation (the session's maximum life)
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
    const active = (await this.ctx.storage.get<Active>(KEY)) ?? {};
    if (!(sessionId in active)) return;
    delete active[sessionId];
    if (Object.keys(active).length === 0) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.put(KEY, active);
  }

  /** Number of live reservations. */
  async count(nowMs: number): Promise<number> {
    return Object.keys(await this.pruned(nowMs)).length;
  }

  override async alarm(): Promise<void> {
    const active = await this.pruned(Date.now());
    if (Object.keys(active).length === 0) await this.ctx.storage.deleteAll();
  }

  private async pruned(nowMs: number): Promise<Active> {
    const active = (await this.ctx.storage.get<Active>(KEY)) ?? {};
    for (const [id, expiresAt] of Object.entries(active)) if (expiresAt <= nowMs) delete active[id];
    return active;
  }
}
