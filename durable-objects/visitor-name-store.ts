/**
 * The visitor's first name, in the `VisitorDO`'s SQLite: one row in `visitor_name`, written by `PUT /visitor/name`
 * and the page's name step (`POST /chat/name`), read by `/chat` (whether to ask), `GET /token` (the participant's
 * name) and the session start (the dispatch's `visitor_name`). Three states: no row (never asked), a row with a null
 * name (the visitor skipped, or forgot their name), a row with a name. The table is created by the first answer; a
 * visitor who never answered has none (reading leaves nothing behind). The name is never logged.
 *
 * What is read back is checked against the contract's `VisitorName`; a row that does not match is a real fault and
 * throws. See docs/edge.md, "Visitor name".
 */
import { VisitorName, type VisitorNameResponse } from "../contract/index.ts";

const SCHEMA = `CREATE TABLE IF NOT EXISTS visitor_name (
  id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT, updated_at INTEGER NOT NULL
)`;

export class VisitorNameStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Whether the visitor has answered the name step (the table is created by the first answer). */
  exists(): boolean {
    return this.#table() && this.#sql.exec("SELECT 1 FROM visitor_name").toArray().length > 0;
  }

  /**
   * The visitor's name and whether they have answered at all.
   * @throws Error when the stored name does not match the contract's `VisitorName` (without the name)
   */
  get(): VisitorNameResponse {
    if (!this.#table()) return { name: null, asked: false };
    const row = this.#sql.exec<{ name: string | null }>("SELECT name FROM visitor_name WHERE id = 1").toArray()[0];
    if (row === undefined) return { name: null, asked: false };
    if (row.name === null) return { name: null, asked: true };
    const parsed = VisitorName.safeParse(row.name);
    if (!parsed.success) throw new Error("the stored visitor name does not match the contract");
    return { name: parsed.data, asked: true };
  }

  /**
   * Records the visitor's answer: a name, or null (skipped, or forgotten).
   * @param name a `VisitorName` already normalised (trimmed, inner spaces made one), or null
   * @param nowMs epoch ms
   * @returns the stored answer, as {@link get} reads it
   * @throws Error when `name` is not a `VisitorName` (without the name)
   */
  set(name: string | null, nowMs: number): VisitorNameResponse {
    let stored: string | null = null;
    if (name !== null) {
      const parsed = VisitorName.safeParse(name);
      if (!parsed.success) throw new Error("refused to store a visitor name that does not match the contract");
      stored = parsed.data;
    }
    this.#sql.exec(SCHEMA);
    this.#sql.exec(
      `INSERT INTO visitor_name (id, name, updated_at) VALUES (1, ?, ?)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at`,
      stored,
      nowMs,
    );
    return { name: stored, asked: true };
  }

  /** Whether the table exists (not cached: the object's storage may be deleted whole when it holds nothing). */
  #table(): boolean {
    return (
      this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'visitor_name'").toArray().length > 0
    );
  }
}
