/**
 * The `SessionDO`'s SQLite storage: one session row, the event log (finals, speech events and
 * session-state messages, keyed by `seq`) and the ids of every ingested event (de-duplication).
 * All calls are synchronous (`ctx.storage.sql`), so a batch runs inside one `transactionSync`.
 */
import type { EndReason, ServerMessage, SessionStatus, StoredEvent } from "../contract/index.ts";

/** The session row. Times are epoch ms; durations (`*_s`) are seconds fixed when the session starts. */
export interface SessionRow {
  session_id: string;
  room: string;
  identity: string;
  /** Visitor id (`vid` cookie) of the room owner who started the session. */
  owner: string;
  status: SessionStatus;
  reason: EndReason | null;
  started_at: number;
  ended_at: number | null;
  last_seq: number;
  /** Last `agent_joined`/`agent_heartbeat`; null before the agent joined. */
  agent_seen_at: number | null;
  /** When the last browser socket closed (or the session started); null while one is open. */
  client_gone_since: number | null;
  join_timeout_s: number;
  lease_s: number;
  grace_s: number;
  max_s: number;
}

/** What kind of message a stored row holds. Interims are never stored. */
export type StoredKind = "transcript" | "speech" | "state";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS session (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  session_id TEXT NOT NULL, room TEXT NOT NULL, identity TEXT NOT NULL, owner TEXT NOT NULL,
  status TEXT NOT NULL, reason TEXT, started_at INTEGER NOT NULL, ended_at INTEGER,
  last_seq INTEGER NOT NULL DEFAULT 0, agent_seen_at INTEGER, client_gone_since INTEGER,
  join_timeout_s INTEGER NOT NULL, lease_s INTEGER NOT NULL, grace_s INTEGER NOT NULL, max_s INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen_ids (id TEXT PRIMARY KEY);
`;

export class SessionStore {
  readonly #sql: SqlStorage;
  #ready: boolean;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    // Tables are created with the session, not in the constructor: probing a random session id
    // (every GET for an unknown id reaches a fresh object) must not leave storage behind.
    this.#ready = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session'").toArray().length > 0;
  }

  /** Creates the tables when missing (idempotent). */
  migrate(): void {
    this.#sql.exec(SCHEMA);
    this.#ready = true;
  }

  /** Forgets the tables after `storage.deleteAll()`. */
  dropped(): void {
    this.#ready = false;
  }

  /** The session row, or null when this object holds no session. */
  row(): SessionRow | null {
    if (!this.#ready) return null;
    const rows = this.#sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM session WHERE id = 1").toArray();
    return (rows[0] as unknown as SessionRow | undefined) ?? null;
  }

  /** Inserts the session row; `last_seq` starts at 0. */
  insert(row: Omit<SessionRow, "last_seq" | "reason" | "ended_at" | "agent_seen_at">): void {
    this.#sql.exec(
      `INSERT INTO session (id, session_id, room, identity, owner, status, started_at, client_gone_since,
        join_timeout_s, lease_s, grace_s, max_s) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.session_id, row.room, row.identity, row.owner, row.status, row.started_at, row.client_gone_since,
      row.join_timeout_s, row.lease_s, row.grace_s, row.max_s,
    );
  }

  /** Updates some columns of the session row. Keys are column names from {@link SessionRow}. */
  update(fields: Partial<Pick<SessionRow, "status" | "reason" | "ended_at" | "agent_seen_at" | "client_gone_since">>): void {
    const keys = Object.keys(fields) as (keyof typeof fields)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${k} = ?`).join(", ");
    this.#sql.exec(`UPDATE session SET ${sets} WHERE id = 1`, ...keys.map((k) => fields[k] ?? null));
  }

  /** Allocates the next `seq` (1, 2, 3 …; gap-free because every allocation is broadcast). */
  nextSeq(): number {
    const rows = this.#sql.exec<{ last_seq: number }>("UPDATE session SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq").toArray();
    return rows[0]!.last_seq;
  }

  /** Appends a stored message under its `seq`. */
  append(kind: StoredKind, message: ServerMessage): void {
    this.#sql.exec("INSERT INTO events (seq, kind, message) VALUES (?, ?, ?)", message.seq, kind, JSON.stringify(message));
  }

  /** Records an event id; returns false when it was already seen (a duplicate). */
  markSeen(id: string): boolean {
    const rows = this.#sql.exec("INSERT INTO seen_ids (id) VALUES (?) ON CONFLICT (id) DO NOTHING RETURNING id", id).toArray();
    return rows.length === 1;
  }

  /** Stored messages (all kinds) with `seq` greater than `after`, in `seq` order. */
  after(after: number): ServerMessage[] {
    return this.#sql
      .exec<{ message: string }>("SELECT message FROM events WHERE seq > ? ORDER BY seq", after)
      .toArray()
      .map((r) => JSON.parse(r.message) as ServerMessage);
  }

  /** Stored finals and speech events (what `GET /transcripts` returns), in `seq` order. */
  transcript(): StoredEvent[] {
    return this.#sql
      .exec<{ message: string }>("SELECT message FROM events WHERE kind != 'state' ORDER BY seq")
      .toArray()
      .map((r) => JSON.parse(r.message) as StoredEvent);
  }
}
