/**
 * The visitor's live-mode time per UTC day, in the `VisitorDO`'s SQLite: one row per day in `live_usage`
 * (`day`: whole days since 1970-01-01 UTC; `used_ms`: milliseconds of live mode counted on that day, all the
 * visitor's sessions together), written by each `SessionDO` when a stretch of live mode ends (a switch to the
 * pipeline, the end of the session, or a check when the allowance should have run out) and read when a session
 * enters live mode (`LIVE_MINUTES_PER_DAY`, edge/config.ts). A stretch that crosses midnight (UTC) counts on each
 * day for its part. Only {@link LIVE_USAGE_KEEP_DAYS} recent days are kept; the table is created by the first
 * stretch, so a visitor who never used live mode has none (reading leaves nothing behind).
 *
 * See docs/architecture.md, "Mode switch".
 */

/** Milliseconds in a UTC day. */
export const DAY_MS = 86_400_000;

/**
 * Days kept besides today: a stretch is at most a session long (`MAX_SESSION_S` ≤ one day), so yesterday is the
 * oldest day a late write can touch; one more day is kept for slack.
 */
export const LIVE_USAGE_KEEP_DAYS = 2;

const SCHEMA = `CREATE TABLE IF NOT EXISTS live_usage (day INTEGER PRIMARY KEY, used_ms INTEGER NOT NULL)`;

/** The UTC day of epoch ms `ms`: whole days since 1970-01-01 UTC. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Milliseconds from epoch ms `ms` to the next UTC midnight (1 to {@link DAY_MS}). */
export function msToNextUtcDay(ms: number): number {
  return (utcDay(ms) + 1) * DAY_MS - ms;
}

export class LiveUsageStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Whether any live time is stored (the table is created by the first stretch). */
  exists(): boolean {
    return this.#table() && this.#sql.exec("SELECT 1 FROM live_usage LIMIT 1").toArray().length > 0;
  }

  /**
   * Live milliseconds counted on the UTC day of `nowMs` (0 when none).
   * @param nowMs epoch ms
   */
  usedMs(nowMs: number): number {
    if (!this.#table()) return 0;
    const row = this.#sql
      .exec<{ used_ms: number }>("SELECT used_ms FROM live_usage WHERE day = ?", utcDay(nowMs))
      .toArray()[0];
    return row?.used_ms ?? 0;
  }

  /**
   * Live milliseconds left on the UTC day of `nowMs` out of `limitMs` (0 when the day's allowance is used up; more
   * than was allowed may have been counted: concurrent sessions can overrun it).
   * @param limitMs the day's allowance, ms (`LIVE_MINUTES_PER_DAY` × 60 000)
   * @param nowMs epoch ms
   */
  leftMs(limitMs: number, nowMs: number): number {
    return Math.max(0, limitMs - this.usedMs(nowMs));
  }

  /**
   * Adds the live stretch from `fromMs` to `toMs` (epoch ms), split at each UTC midnight, and forgets days older
   * than {@link LIVE_USAGE_KEEP_DAYS} before the day of `toMs`. An empty or reversed stretch adds nothing.
   */
  add(fromMs: number, toMs: number): void {
    if (!(toMs > fromMs)) return;
    this.#sql.exec(SCHEMA);
    for (let start = fromMs; start < toMs;) {
      const end = Math.min(toMs, (utcDay(start) + 1) * DAY_MS);
      this.#sql.exec(
        `INSERT INTO live_usage (day, used_ms) VALUES (?, ?)
          ON CONFLICT (day) DO UPDATE SET used_ms = used_ms + excluded.used_ms`,
        utcDay(start),
        end - start,
      );
      start = end;
    }
    this.#sql.exec("DELETE FROM live_usage WHERE day < ?", utcDay(toMs) - LIVE_USAGE_KEEP_DAYS);
  }

  /** Whether the table exists (not cached: the object's storage may be deleted whole when it holds nothing). */
  #table(): boolean {
    return (
      this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'live_usage'").toArray().length > 0
    );
  }
}
