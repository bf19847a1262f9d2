/**
 * The `SessionDO`'s SQLite storage: one session row, the event log (finals, speech events, actions, mode changes
 * and session-state messages, keyed by `seq`), the ids of every ingested event (de-duplication), the answers of the
 * agent's action calls by `call_id` (idempotency, session-actions.ts), and the conversation's usage summary (the
 * agent's `usage` events summed in `usage_totals`, and the newest `SESSION_LATENCIES_MAX` turn latencies in
 * `turn_latencies` for the median; contract/usage.ts).
 * All calls are synchronous (`ctx.storage.sql`), so a batch runs inside one `transactionSync`.
 *
 * What is read back is checked: the session row against {@link SessionRowSchema}, stored messages
 * against the contract's schemas. A row or message that does not match is a real fault (a bug, or a
 * storage change without migration) and throws an Error naming the column or the `seq`.
 * The row type stays private to durable-objects/: the Worker sees `SessionInfo` (session-do.ts).
 */
import * as z from "zod/mini";
import {
  ActionResponse,
  addUsage,
  EndReason,
  type HistoryItem,
  medianOf,
  NO_USAGE,
  ServerMessage,
  SESSION_LATENCIES_MAX,
  SessionMode,
  SessionStatus,
  type SessionUsage,
  StoredEvent,
  TranscriptMessage,
  USAGE_KEYS,
  UsageCounts,
} from "../contract/index.ts";

const EpochMs = z.number().check(z.int());
const WholeSeconds = z.number().check(z.int(), z.positive());

/** The session row as stored; extra columns (the `id` key) are dropped. */
const SessionRowSchema = z.object({
  session_id: z.string(),
  room: z.string(),
  identity: z.string(),
  /** Visitor id (`vid` cookie) of the room owner who started the session. */
  owner: z.string(),
  status: SessionStatus,
  reason: z.nullable(EndReason),
  started_at: EpochMs,
  ended_at: z.nullable(EpochMs),
  last_seq: z.number().check(z.int(), z.nonnegative()),
  /** Last `agent_joined`/`agent_heartbeat`; null before the agent joined. */
  agent_seen_at: z.nullable(EpochMs),
  /** When the last browser socket closed (or the session started); null while one is open. */
  client_gone_since: z.nullable(EpochMs),
  join_timeout_s: WholeSeconds,
  lease_s: WholeSeconds,
  grace_s: WholeSeconds,
  max_s: WholeSeconds,
  /** The `system_prompt` the session started with, for a replacement agent's dispatch. */
  system_prompt: z.nullable(z.string()),
  /** LiveKit's sid of the room instance this session runs in, once a webhook told it. */
  room_sid: z.nullable(z.string()),
  /** The visitor's current participant sid (a rejoin with the same identity gets a new one). */
  visitor_sid: z.nullable(z.string()),
  /** When LiveKit reported the visitor's participant gone; null while in the room or not yet known. */
  visitor_left_at: z.nullable(EpochMs),
  /** When the first transcript socket opened; null before. */
  client_connected_at: z.nullable(EpochMs),
  /** LiveKit job id of the current agent (from its `agent_joined` batch). */
  agent_job: z.nullable(z.string()),
  /** The current agent's participant sid while LiveKit reports it in the room. */
  agent_sid: z.nullable(z.string()),
  /** LiveKit job id of the agent a replacement took over from; its ingest is refused from then on. */
  replaced_job: z.nullable(z.string()),
  /** Replacement agents dispatched so far. */
  replacements: z.number().check(z.int(), z.nonnegative()),
  /** When the current replacement was dispatched (status `reconnecting`). */
  reconnect_since: z.nullable(EpochMs),
  /** End of the closing window (status `ended`): ingest from the current agent is accepted until then. */
  closing_until: z.nullable(EpochMs),
  /** When the next `DeleteRoom` attempt is due; null once the room is gone (or before the session ended). */
  room_delete_at: z.nullable(EpochMs),
  /** `DeleteRoom` attempts that failed so far. */
  room_delete_failures: z.number().check(z.int(), z.nonnegative()),
  /**
   * Seconds the visitor has to join the LiveKit room (`CLIENT_JOIN_TIMEOUT_S`); null for a session stored by a
   * version without the bound.
   */
  visitor_join_s: z.nullable(WholeSeconds),
  /** `ListParticipants` calls that failed while looking for a visitor no webhook reported. */
  visitor_check_failures: z.number().check(z.int(), z.nonnegative()),
  /**
   * Id (`DurableObjectId.toString()`) of the `SessionCapDO` that holds the session's per-address slot, until
   * the slot is released; null without one. The id, not the address: the row outlives the session (its
   * transcript), and a visitor's IP address is personal data it has no need to keep.
   */
  ip_slot: z.nullable(z.string()),
  /**
   * The session's profile (`POST /session {profile}`, else `DEFAULT_PROFILE`), for its actions and a replacement
   * agent's dispatch; null for a session stored by a version without profiles (the default assistant then).
   */
  profile: z.nullable(z.string()),
  /** The visitor's IANA time zone (`POST /session {timezone}`), for the dispatch metadata; null when not given. */
  timezone: z.nullable(z.string()),
  /**
   * How the session talks now (`POST /session {mode}`, `pipeline` by default, then each mode switch:
   * session-mode.ts); null for a session stored before live mode.
   */
  mode: z.nullable(SessionMode),
  /**
   * Start of the live-mode stretch not yet counted in the owner's `VisitorDO` (entering live mode, or the last
   * count); null while the session is not in live mode and once it has ended.
   */
  live_since: z.nullable(EpochMs),
  /**
   * When the owner's live minutes for the day should run out (the alarm's `live_limit` deadline, or the retry of a
   * fallback to the pipeline that failed); null while the session is not in live mode and once it has ended.
   */
  live_until: z.nullable(EpochMs),
  /** The conversation this one continues (`POST /session {resume_from}`); null for a new one. */
  resumed_from: z.nullable(z.string()),
  /** The summary of the conversation this one continues, when it had one: for a replacement agent's dispatch. */
  earlier_summary: z.nullable(z.string()),
  /**
   * Seconds an ended session is kept (`RETENTION_DAYS`, fixed when it starts); null keeps it until deleted (0 days,
   * or a session stored by a version without retention).
   */
  retention_s: z.nullable(WholeSeconds),
  /** The conversation's summary, once made. */
  summary: z.nullable(z.string()),
  /** When the next summary attempt is due (after the end and its closing window); null when none is pending. */
  summary_at: z.nullable(EpochMs),
  /** Summary attempts that failed so far. */
  summary_attempts: z.number().check(z.int(), z.nonnegative()),
});

/** The session row. Times are epoch ms; durations (`*_s`) are seconds fixed when the session starts. */
export type SessionRow = z.infer<typeof SessionRowSchema>;

/**
 * Checks a row read from the `session` table.
 * @throws Error naming the column at fault, e.g. `session row: column status: Invalid option: …`
 */
function checkedRow(raw: unknown): SessionRow {
  const parsed = SessionRowSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(`session row: column ${String(issue?.path[0] ?? "(row)")}: ${issue?.message ?? "invalid"}`);
}

/**
 * Checks a message read from the `events` table against `schema`.
 * @throws Error naming the `seq` and the field at fault
 */
function checkedMessage<S extends z.ZodMiniType>(schema: S, seq: number, text: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`stored message seq ${seq}: not JSON`);
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
  throw new Error(`stored message seq ${seq} does not match the contract${where}: ${issue?.message ?? "invalid"}`);
}

/** The `usage_totals` row as stored: the summed counts and the turns answered; extra columns (`id`) are dropped. */
const UsageTotalsSchema = z.object({ turns: z.number().check(z.int(), z.nonnegative()), ...UsageCounts.shape });

/** Largest value a usage count or `turns` keeps (contract/usage.ts `Count`); a sum stops there. */
const COUNT_CAP = 1e12;

/** What kind of message a stored row holds. Interims are never stored. */
export type StoredKind = "transcript" | "speech" | "state" | "action" | "mode";

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
CREATE TABLE IF NOT EXISTS action_answers (call_id TEXT PRIMARY KEY, response TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS typed_messages (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage_totals (
  id INTEGER PRIMARY KEY CHECK (id = 1), turns INTEGER NOT NULL,
  ${USAGE_KEYS.map((k) => `${k} INTEGER NOT NULL`).join(", ")}
);
CREATE TABLE IF NOT EXISTS turn_latencies (n INTEGER PRIMARY KEY, ms INTEGER NOT NULL);
`;

/**
 * Columns added after the first release, with their declarations: `migrate()` adds the missing ones, so a
 * session stored by an older version (its row lives on after the end, for the transcript) still reads. Tables added
 * later (`usage_totals`, `turn_latencies`) are made by `migrate()`'s `CREATE TABLE IF NOT EXISTS` the same way.
 */
const ADDED_COLUMNS: Record<string, string> = {
  system_prompt: "TEXT",
  room_sid: "TEXT",
  visitor_sid: "TEXT",
  visitor_left_at: "INTEGER",
  client_connected_at: "INTEGER",
  agent_job: "TEXT",
  agent_sid: "TEXT",
  replaced_job: "TEXT",
  replacements: "INTEGER NOT NULL DEFAULT 0",
  reconnect_since: "INTEGER",
  closing_until: "INTEGER",
  room_delete_at: "INTEGER",
  room_delete_failures: "INTEGER NOT NULL DEFAULT 0",
  visitor_join_s: "INTEGER",
  visitor_check_failures: "INTEGER NOT NULL DEFAULT 0",
  ip_slot: "TEXT",
  profile: "TEXT",
  timezone: "TEXT",
  resumed_from: "TEXT",
  earlier_summary: "TEXT",
  mode: "TEXT",
  live_since: "INTEGER",
  live_until: "INTEGER",
  retention_s: "INTEGER",
  summary: "TEXT",
  summary_at: "INTEGER",
  summary_attempts: "INTEGER NOT NULL DEFAULT 0",
};

/** The columns `update()` may change. */
type MutableColumn = Exclude<
  keyof SessionRow,
  | "session_id"
  | "room"
  | "identity"
  | "owner"
  | "started_at"
  | "last_seq"
  | `${string}_s`
  | "system_prompt"
  | "profile"
  | "timezone"
  | "resumed_from"
  | "earlier_summary"
  | "retention_s"
>;

export class SessionStore {
  readonly #sql: SqlStorage;
  #ready: boolean;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    // Tables are created with the session, not in the constructor: probing a random session id
    // (every GET for an unknown id reaches a fresh object) must not leave storage behind.
    this.#ready =
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session'").toArray().length > 0;
    if (this.#ready) this.migrate();
  }

  /** Creates the tables and adds the columns an older version did not have (idempotent). */
  migrate(): void {
    this.#sql.exec(SCHEMA);
    const have = new Set(
      this.#sql
        .exec<{ name: string }>("PRAGMA table_info(session)")
        .toArray()
        .map((c) => c.name),
    );
    for (const [name, declaration] of Object.entries(ADDED_COLUMNS)) {
      if (!have.has(name)) this.#sql.exec(`ALTER TABLE session ADD COLUMN ${name} ${declaration}`);
    }
    this.#ready = true;
  }

  /** Forgets the tables after `storage.deleteAll()`. */
  dropped(): void {
    this.#ready = false;
  }

  /**
   * The session row, or null when this object holds no session.
   * @throws Error naming the column when the stored row is malformed
   */
  row(): SessionRow | null {
    if (!this.#ready) return null;
    const rows = this.#sql.exec("SELECT * FROM session WHERE id = 1").toArray();
    return rows[0] === undefined ? null : checkedRow(rows[0]);
  }

  /** Inserts the session row; the columns not given start null, the counters at 0. */
  insert(
    row: Pick<
      SessionRow,
      | "session_id"
      | "room"
      | "identity"
      | "owner"
      | "status"
      | "started_at"
      | "client_gone_since"
      | "join_timeout_s"
      | "lease_s"
      | "grace_s"
      | "max_s"
      | "system_prompt"
      | "visitor_join_s"
      | "ip_slot"
      | "profile"
      | "timezone"
      | "mode"
      | "resumed_from"
      | "earlier_summary"
      | "retention_s"
      | "live_since"
      | "live_until"
    >,
  ): void {
    this.#sql.exec(
      `INSERT INTO session (id, session_id, room, identity, owner, status, started_at, client_gone_since,
        join_timeout_s, lease_s, grace_s, max_s, system_prompt, visitor_join_s, ip_slot, profile, timezone,
        resumed_from, earlier_summary, retention_s, mode, live_since, live_until)
        VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      row.session_id,
      row.room,
      row.identity,
      row.owner,
      row.status,
      row.started_at,
      row.client_gone_since,
      row.join_timeout_s,
      row.lease_s,
      row.grace_s,
      row.max_s,
      row.system_prompt,
      row.visitor_join_s,
      row.ip_slot,
      row.profile,
      row.timezone,
      row.resumed_from,
      row.earlier_summary,
      row.retention_s,
      row.mode,
      row.live_since,
      row.live_until,
    );
  }

  /** Updates some columns of the session row. Keys are column names from {@link SessionRow}. */
  update(fields: Partial<Pick<SessionRow, MutableColumn>>): void {
    const keys = Object.keys(fields) as (keyof typeof fields)[];
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${k} = ?`).join(", ");
    this.#sql.exec(`UPDATE session SET ${sets} WHERE id = 1`, ...keys.map((k) => fields[k] ?? null));
  }

  /** Allocates the next `seq` (1, 2, 3 …; gap-free because every allocation is broadcast). */
  nextSeq(): number {
    const rows = this.#sql
      .exec<{ last_seq: number }>("UPDATE session SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq")
      .toArray();
    return rows[0]!.last_seq;
  }

  /** Appends a stored message under its `seq`. */
  append(kind: StoredKind, message: ServerMessage): void {
    this.#sql.exec(
      "INSERT INTO events (seq, kind, message) VALUES (?, ?, ?)",
      message.seq,
      kind,
      JSON.stringify(message),
    );
  }

  /** Records an event id; returns false when it was already seen (a duplicate). */
  markSeen(id: string): boolean {
    const rows = this.#sql
      .exec("INSERT INTO seen_ids (id) VALUES (?) ON CONFLICT (id) DO NOTHING RETURNING id", id)
      .toArray();
    return rows.length === 1;
  }

  /**
   * The stored answer of action call `callId`, or null when it has not been answered.
   * @throws Error naming the call when the stored answer does not match the contract
   */
  actionAnswer(callId: string): ActionResponse | null {
    const rows = this.#sql
      .exec<{ response: string }>("SELECT response FROM action_answers WHERE call_id = ?", callId)
      .toArray();
    if (rows[0] === undefined) return null;
    const parsed = ActionResponse.safeParse(JSON.parse(rows[0].response));
    if (!parsed.success) throw new Error(`stored action answer ${callId} does not match the contract`);
    return parsed.data;
  }

  /**
   * Stores the answer of action call `response.call_id`, unless one is stored already.
   * @returns false when the call had an answer already (which is kept)
   */
  saveActionAnswer(response: ActionResponse): boolean {
    const rows = this.#sql
      .exec(
        "INSERT INTO action_answers (call_id, response) VALUES (?, ?) ON CONFLICT (call_id) DO NOTHING RETURNING call_id",
        response.call_id,
        JSON.stringify(response),
      )
      .toArray();
    return rows.length === 1;
  }

  /**
   * Adds one `usage` event to the conversation's summary: its counts to the sums (contract `addUsage`), its turns to
   * `turns`, and its latencies to the newest {@link SESSION_LATENCIES_MAX} kept for the median (older ones dropped).
   * Call inside the batch's `transactionSync`.
   * @param latenciesMs the event's `turn_latencies_ms` (contract `TurnLatencyMs`, oldest first)
   * @param counts the event's `usage` (contract `UsageCounts`)
   * @throws Error when the stored sums do not match their schema
   */
  addUsage(latenciesMs: readonly number[], counts: UsageCounts): void {
    const before = this.#usageTotals();
    const sums = addUsage(before ?? NO_USAGE, counts);
    const turns = Math.min((before?.turns ?? 0) + latenciesMs.length, COUNT_CAP);
    this.#sql.exec(
      `INSERT OR REPLACE INTO usage_totals (id, turns, ${USAGE_KEYS.join(", ")})
        VALUES (1, ?, ${USAGE_KEYS.map(() => "?").join(", ")})`,
      turns,
      ...USAGE_KEYS.map((k) => sums[k]),
    );
    for (const ms of latenciesMs) this.#sql.exec("INSERT INTO turn_latencies (ms) VALUES (?)", ms);
    if (latenciesMs.length > 0) {
      this.#sql.exec(
        "DELETE FROM turn_latencies WHERE n <= (SELECT MAX(n) FROM turn_latencies) - ?",
        SESSION_LATENCIES_MAX,
      );
    }
  }

  /**
   * The conversation's usage summary (contract `SessionUsage`): the sums of every `usage` event, `turns`, and the
   * median of the newest {@link SESSION_LATENCIES_MAX} turn latencies (null before the first); null while the agent
   * has reported none.
   * @throws Error when the stored sums do not match their schema
   */
  usage(): SessionUsage | null {
    const totals = this.#usageTotals();
    if (totals === null) return null;
    const latencies = this.#sql
      .exec<{ ms: number }>("SELECT ms FROM turn_latencies")
      .toArray()
      .map((r) => r.ms);
    const { turns, ...counts } = totals;
    return { turns, median_latency_ms: medianOf(latencies), ...counts };
  }

  /** The `usage_totals` row, checked, or null when no `usage` event has been applied. */
  #usageTotals(): (UsageCounts & { turns: number }) | null {
    if (!this.#ready) return null;
    const raw = this.#sql.exec("SELECT * FROM usage_totals WHERE id = 1").toArray()[0];
    if (raw === undefined) return null;
    const parsed = UsageTotalsSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new Error(`usage totals: column ${String(issue?.path[0] ?? "(row)")}: ${issue?.message ?? "invalid"}`);
  }

  /** The `seq` under which typed message `id` was stored, or null when it was not. */
  typedSeq(id: string): number | null {
    const rows = this.#sql.exec<{ seq: number }>("SELECT seq FROM typed_messages WHERE id = ?", id).toArray();
    return rows[0]?.seq ?? null;
  }

  /** Times (epoch ms, oldest first) of the typed messages stored after `sinceMs`. */
  typedSince(sinceMs: number): number[] {
    return this.#sql
      .exec<{ ts: number }>("SELECT ts FROM typed_messages WHERE ts > ? ORDER BY ts", sinceMs)
      .toArray()
      .map((r) => r.ts);
  }

  /** Records typed message `id` under `seq` at `tsMs` (epoch ms). */
  saveTyped(id: string, seq: number, tsMs: number): void {
    this.#sql.exec("INSERT INTO typed_messages (id, seq, ts) VALUES (?, ?, ?)", id, seq, tsMs);
  }

  /**
   * Stored messages (all kinds) with `seq` greater than `after`, in `seq` order.
   * @throws Error naming the `seq` of a stored message that does not match the contract
   */
  after(after: number): ServerMessage[] {
    return this.#sql
      .exec<{ seq: number; message: string }>("SELECT seq, message FROM events WHERE seq > ? ORDER BY seq", after)
      .toArray()
      .map((r) => checkedMessage(ServerMessage, r.seq, r.message));
  }

  /**
   * Stored finals, speech events, actions and mode changes (what `GET /transcripts` returns), in `seq` order.
   * @throws Error naming the `seq` of a stored message that does not match the contract
   */
  transcript(): StoredEvent[] {
    return this.#sql
      .exec<{ seq: number; message: string }>("SELECT seq, message FROM events WHERE kind != 'state' ORDER BY seq")
      .toArray()
      .map((r) => checkedMessage(StoredEvent, r.seq, r.message));
  }

  /**
   * Every stored final, oldest first (a summary's input, a conversation's first lines).
   * @throws Error naming the `seq` of a stored message that does not match the contract
   */
  finals(): HistoryItem[] {
    return this.#sql
      .exec<{ seq: number; message: string }>("SELECT seq, message FROM events WHERE kind = 'transcript' ORDER BY seq")
      .toArray()
      .map((r) => {
        const { role, text } = checkedMessage(TranscriptMessage, r.seq, r.message);
        return { role, text };
      });
  }

  /**
   * The stored finals as a replacement agent's history: oldest first, the newest ones that fit in
   * `maxItems` items and `maxChars` characters of text together.
   * @throws Error naming the `seq` of a stored message that does not match the contract
   */
  history(maxItems: number, maxChars: number): HistoryItem[] {
    const out: HistoryItem[] = [];
    let chars = 0;
    const rows = this.#sql
      .exec<{ seq: number; message: string }>(
        "SELECT seq, message FROM events WHERE kind = 'transcript' ORDER BY seq DESC LIMIT ?",
        maxItems,
      )
      .toArray();
    for (const r of rows) {
      const { role, text } = checkedMessage(TranscriptMessage, r.seq, r.message);
      if (chars + text.length > maxChars) break;
      chars += text.length;
      out.push({ role, text });
    }
    return out.reverse();
  }
}
