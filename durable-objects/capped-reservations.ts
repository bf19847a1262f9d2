/**
 * `CappedReservations`: the Durable Object behind every concurrent-session cap. One object counts the live
 * sessions of one key (a visitor: `VisitorDO`; a client address or the whole deployment: `SessionCapDO`) as
 * reservations, each with a lapse time, so that a cap holds even when a release is lost: a session reserves a
 * slot when it starts and releases it when it ends, and a slot whose release never came lapses on its own
 * (reservation.ts). A Durable Object serialises the calls, so the count and the reservation are one step and
 * two concurrent starts cannot both take the last slot.
 *
 * Storage: one SQLite row per reservation (`reservations`), created by the first reservation and deleted with
 * the last one (probing a key leaves nothing behind). Objects written by an older version hold one KV value
 * (`active`: session id → lapse time); it is moved into the table on first use.
 * See docs/architecture.md, "Security model".
 */
import { DurableObject } from "cloudflare:workers";
import * as z from "zod/mini";
import { getChecked } from "./checked-storage.ts";

/** The older storage: KV key {@link LEGACY_KEY}, session id → epoch ms at which the reservation lapses. */
const LegacyActive = z.record(z.string(), z.number().check(z.int()));
const LEGACY_KEY = "active";

const SCHEMA = `CREATE TABLE IF NOT EXISTS reservations (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)`;

export class CappedReservations extends DurableObject<Env> {
  /** Whether this instance has already looked for (and moved) the older KV value: it is looked for once. */
  #legacyChecked = false;

  /**
   * Reserves a slot for `sessionId` unless `cap` live reservations are held already. Reserving again for a
   * session that holds a slot renews its lapse time and succeeds.
   * @param cap the most live reservations (≥ 1)
   * @param nowMs epoch ms; reservations lapsed by then do not count (and are forgotten)
   * @param expiresAtMs epoch ms at which this reservation lapses (`reservationExpiresAt` of reservation.ts)
   * @returns false when the cap is reached
   * @throws Error naming the key when older stored reservations are malformed
   */
  async reserve(sessionId: string, cap: number, nowMs: number, expiresAtMs: number): Promise<boolean> {
    await this.#importLegacy(true);
    const sql = this.ctx.storage.sql;
    const taken = this.ctx.storage.transactionSync(() => {
      sql.exec("DELETE FROM reservations WHERE expires_at <= ?", nowMs);
      const held = sql.exec("SELECT 1 FROM reservations WHERE id = ?", sessionId).toArray().length > 0;
      const live = Number(sql.exec("SELECT COUNT(*) AS n FROM reservations").one().n);
      if (!held && live >= cap) return false;
      sql.exec(
        "INSERT INTO reservations (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at",
        sessionId,
        expiresAtMs,
      );
      return true;
    });
    if (!taken) return false;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current < expiresAtMs) await this.ctx.storage.setAlarm(expiresAtMs);
    return true;
  }

  /**
   * Frees `sessionId`'s slot (idempotent: an unknown id changes nothing).
   * @throws Error naming the key when older stored reservations are malformed
   */
  async release(sessionId: string): Promise<void> {
    if (!(await this.#importLegacy(false))) return;
    this.ctx.storage.sql.exec("DELETE FROM reservations WHERE id = ?", sessionId);
    await this.#forgetWhenEmpty();
  }

  /**
   * Number of live reservations at `nowMs` (epoch ms).
   * @throws Error naming the key when older stored reservations are malformed
   */
  async count(nowMs: number): Promise<number> {
    if (!(await this.#importLegacy(false))) return 0;
    const row = this.ctx.storage.sql.exec("SELECT COUNT(*) AS n FROM reservations WHERE expires_at > ?", nowMs).one();
    return Number(row.n);
  }

  /** Armed at the latest lapse time: forgets lapsed reservations, and the whole storage once none is left. */
  override async alarm(): Promise<void> {
    if (!(await this.#importLegacy(false))) return;
    this.ctx.storage.sql.exec("DELETE FROM reservations WHERE expires_at <= ?", Date.now());
    if (await this.#forgetWhenEmpty()) return;
    const latest = this.ctx.storage.sql.exec("SELECT MAX(expires_at) AS at FROM reservations").one().at;
    await this.ctx.storage.setAlarm(Number(latest));
  }

  /** Forgets the reservations' storage ({@link forgetReservations}) when none is left. @returns whether it did */
  async #forgetWhenEmpty(): Promise<boolean> {
    const left = Number(this.ctx.storage.sql.exec("SELECT COUNT(*) AS n FROM reservations").one().n);
    if (left > 0) return false;
    await this.forgetReservations();
    return true;
  }

  /**
   * Called when the last reservation is gone: deletes all storage (table and alarm), so that probing a key leaves
   * nothing behind. An object that keeps other data beside its reservations (`VisitorDO`: the visitor's planner)
   * overrides it to drop only the `reservations` table and the alarm.
   */
  protected async forgetReservations(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /**
   * Makes sure the table is there (when `create`) and holds what an older version stored as KV.
   * @returns whether the table exists now (false: this object holds no reservation)
   * @throws Error naming the key when the older value is malformed
   */
  async #importLegacy(create: boolean): Promise<boolean> {
    const sql = this.ctx.storage.sql;
    const legacy = this.#legacyChecked ? undefined : await getChecked(this.ctx.storage, LEGACY_KEY, LegacyActive);
    this.#legacyChecked = true;
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reservations'").toArray();
    if (exists.length === 0 && !create && legacy === undefined) return false;
    sql.exec(SCHEMA);
    if (legacy !== undefined) {
      for (const [id, expiresAt] of Object.entries(legacy)) {
        sql.exec("INSERT OR IGNORE INTO reservations (id, expires_at) VALUES (?, ?)", id, expiresAt);
      }
      await this.ctx.storage.delete(LEGACY_KEY);
    }
    return true;
  }
}
