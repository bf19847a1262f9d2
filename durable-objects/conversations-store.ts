/**
 * The visitor's conversation index, in the `VisitorDO`'s SQLite: one row per conversation (a session), written by
 * the session's own `SessionDO` (started, ended, summarised, purged) and read by `GET /conversations` and `/history`,
 * newest first. The conversation itself (its events, its summary) lives in its `SessionDO`; a row here only lists
 * it. `visitor_name` (the visitor's first name when the conversation started) and `usage` (its usage summary, JSON of
 * the contract's `SessionUsage`, null while the agent has reported none) were added after the table: a table without
 * them gets the columns on first use. See docs/architecture.md, "Conversations".
 */
import { ConversationEntry } from "../contract/index.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS conversations (
  session_id TEXT PRIMARY KEY, profile TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
  started_at INTEGER NOT NULL, ended_at INTEGER, summary TEXT, preview TEXT, resumed_from TEXT, visitor_name TEXT,
  usage TEXT
);
CREATE INDEX IF NOT EXISTS conversations_newest ON conversations (started_at DESC, session_id DESC);
`;

/** Where a page of the list starts: after this conversation (newest first). */
export interface ConversationPosition {
  started_at: number;
  session_id: string;
}

/** Columns added to the table after it was made, with their declarations (added on first use). */
const ADDED_COLUMNS: Record<string, string> = { visitor_name: "TEXT", usage: "TEXT" };

/** The fields of a conversation that change after it started. */
export type ConversationChange = Partial<
  Pick<ConversationEntry, "status" | "reason" | "ended_at" | "summary" | "preview" | "usage">
>;

export class ConversationsStore {
  readonly #sql: SqlStorage;
  /** Whether this instance has made sure the table (when there is one) has every column of {@link SCHEMA}. */
  #columnsChecked = false;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Whether the visitor has any conversation listed (the table is created by the first one). */
  exists(): boolean {
    if (!this.#table()) return false;
    return this.#sql.exec("SELECT 1 FROM conversations LIMIT 1").toArray().length > 0;
  }

  /** Lists `entry` (a new conversation), or replaces its row when it is listed already. */
  put(entry: ConversationEntry): void {
    this.#create();
    this.#sql.exec(
      `INSERT OR REPLACE INTO conversations
        (session_id, profile, status, reason, started_at, ended_at, summary, preview, resumed_from, visitor_name, usage)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      entry.session_id,
      entry.profile,
      entry.status,
      entry.reason,
      entry.started_at,
      entry.ended_at,
      entry.summary,
      entry.preview,
      entry.resumed_from,
      entry.visitor_name ?? null,
      entry.usage === undefined ? null : JSON.stringify(entry.usage),
    );
  }

  /**
   * Changes some fields of a listed conversation.
   * @returns false when it is not listed (deleted meanwhile: nothing is written)
   */
  update(sessionId: string, change: ConversationChange): boolean {
    if (!this.#table()) return false;
    const keys = Object.keys(change) as (keyof ConversationChange)[];
    if (keys.length === 0) return this.get(sessionId) !== null;
    const sets = keys.map((k) => `${k} = ?`).join(", ");
    const values = keys.map((k) =>
      k === "usage" ? (change.usage === undefined ? null : JSON.stringify(change.usage)) : (change[k] ?? null),
    );
    const rows = this.#sql
      .exec(`UPDATE conversations SET ${sets} WHERE session_id = ? RETURNING session_id`, ...values, sessionId)
      .toArray();
    return rows.length === 1;
  }

  /**
   * One listed conversation, or null.
   * @throws Error naming the conversation when its row does not match the contract
   */
  get(sessionId: string): ConversationEntry | null {
    if (!this.#table()) return null;
    const row = this.#sql.exec("SELECT * FROM conversations WHERE session_id = ?", sessionId).toArray()[0];
    return row === undefined ? null : checked(row);
  }

  /**
   * Up to `limit` conversations, newest first (by start, then id), after `from` when given.
   * @returns the page and whether more follow
   * @throws Error naming a conversation whose row does not match the contract
   */
  page(from: ConversationPosition | null, limit: number): { entries: ConversationEntry[]; more: boolean } {
    if (!this.#table()) return { entries: [], more: false };
    const rows = from
      ? this.#sql
          .exec(
            `SELECT * FROM conversations WHERE started_at < ? OR (started_at = ? AND session_id < ?)
              ORDER BY started_at DESC, session_id DESC LIMIT ?`,
            from.started_at,
            from.started_at,
            from.session_id,
            limit + 1,
          )
          .toArray()
      : this.#sql
          .exec("SELECT * FROM conversations ORDER BY started_at DESC, session_id DESC LIMIT ?", limit + 1)
          .toArray();
    return { entries: rows.slice(0, limit).map(checked), more: rows.length > limit };
  }

  /** The ids of every listed conversation, newest first. */
  ids(): string[] {
    if (!this.#table()) return [];
    return this.#sql
      .exec<{ session_id: string }>("SELECT session_id FROM conversations ORDER BY started_at DESC, session_id DESC")
      .toArray()
      .map((r) => r.session_id);
  }

  /** Removes a conversation from the list (idempotent). */
  remove(sessionId: string): void {
    if (this.#table()) this.#sql.exec("DELETE FROM conversations WHERE session_id = ?", sessionId);
  }

  /**
   * Whether the table exists (not cached: the object's storage may be deleted whole when it holds nothing). An
   * existing table gets the columns added since it was made ({@link #addColumns}).
   */
  #table(): boolean {
    const found = this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'conversations'");
    const exists = found.toArray().length > 0;
    if (exists) this.#addColumns();
    return exists;
  }

  #create(): void {
    this.#sql.exec(SCHEMA);
    this.#addColumns();
  }

  /**
   * Adds the {@link ADDED_COLUMNS} a table made before them lacks (once per instance; a table made by {@link SCHEMA}
   * has them).
   */
  #addColumns(): void {
    if (this.#columnsChecked) return;
    const have = new Set(
      this.#sql
        .exec<{ name: string }>("PRAGMA table_info(conversations)")
        .toArray()
        .map((c) => c.name),
    );
    for (const [name, declaration] of Object.entries(ADDED_COLUMNS)) {
      if (!have.has(name)) this.#sql.exec(`ALTER TABLE conversations ADD COLUMN ${name} ${declaration}`);
    }
    this.#columnsChecked = true;
  }
}

/**
 * A stored row as the contract's entry: a null `visitor_name` or `usage` is left out, and `usage` is parsed from its
 * JSON.
 * @throws Error naming the conversation when the row does not match the contract
 */
function checked(row: Record<string, SqlStorageValue>): ConversationEntry {
  const { visitor_name, usage, ...rest } = row;
  const fault = () => new Error(`stored conversation ${String(row.session_id)} does not match the contract`);
  let parsedUsage: unknown;
  if (typeof usage === "string") {
    try {
      parsedUsage = JSON.parse(usage);
    } catch {
      throw fault();
    }
  } else if (usage !== null && usage !== undefined) {
    throw fault();
  }
  const parsed = ConversationEntry.safeParse({
    ...rest,
    ...(visitor_name === null || visitor_name === undefined ? {} : { visitor_name }),
    ...(parsedUsage === undefined || parsedUsage === null ? {} : { usage: parsedUsage }),
  });
  if (!parsed.success) throw fault();
  return parsed.data;
}
