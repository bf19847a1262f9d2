/**
 * The planner's SQLite storage inside a visitor's `VisitorDO` (one object per visitor, so one visitor's goals and
 * tasks are out of every other visitor's reach): `planner_goals`, `planner_tasks`, and `planner_moves` (the
 * reschedules done, by operation id). All calls are synchronous (`ctx.storage.sql`).
 *
 * Every write carries an operation id (`<session_id>:<call_id>` of the action call that caused it): a write whose id
 * was seen before changes nothing and answers what the first one did, so that one call acts once even when the
 * agent's retry races its first attempt. The tables are created by the first write; a visitor who never used the
 * planner has none (reading leaves nothing behind).
 *
 * What is read back is checked against the contract's `PlannerGoal`/`PlannerTask`; a row that does not match is a
 * real fault and throws an Error naming the table and the id. See docs/actions.md.
 */
import * as z from "zod/mini";
import { PlannerGoal, PlannerTask } from "../contract/actions.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS planner_goals (
  id TEXT PRIMARY KEY, op_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, description TEXT, target_date TEXT,
  created_at TEXT NOT NULL, created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS planner_tasks (
  id TEXT PRIMARY KEY, op_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, due TEXT, due_ms INTEGER, goal_id TEXT,
  done INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS planner_moves (op_id TEXT PRIMARY KEY, task_id TEXT NOT NULL, previous_due TEXT);
`;

/** Tasks in display order: by due instant, tasks without one last, then oldest first. */
const TASK_ORDER = "ORDER BY due_ms IS NULL, due_ms, created_ms, rowid";
const TASK_COLUMNS = "id, title, due, goal_id, done, created_at";
const GOAL_COLUMNS = "id, title, description, target_date, created_at";

const TaskRow = z.object({
  id: z.string(),
  title: z.string(),
  due: z.nullable(z.string()),
  goal_id: z.nullable(z.string()),
  done: z.number(),
  created_at: z.string(),
});

/**
 * The epoch ms of an ISO 8601 date-time with offset, as JSON Schema's `date-time` format accepts it (RFC 3339: a
 * `T`, `t` or space between date and time, `Z` or `z`, a leap second `:60`), for ordering tasks by due time.
 * @returns null when it cannot be read (the task then sorts with the ones without a due time)
 */
export function instantMs(dateTime: string): number | null {
  const normal = dateTime
    .trim()
    .toUpperCase()
    .replace(/^(\d{4}-\d{2}-\d{2}) /, "$1T")
    .replace(/(T\d{2}:\d{2}:)60/, "$159");
  const ms = Date.parse(normal);
  return Number.isFinite(ms) ? ms : null;
}

/** The result of a write that may be refused because the visitor has too many items already. */
export type Added<T> = { status: "ok"; item: T } | { status: "full" };

/** What a reschedule did: the task as it is now and its due time before the move. */
export interface Moved {
  task: PlannerTask;
  previous_due: string | null;
}

export class PlannerStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Whether the planner's tables exist (the visitor has used the planner). */
  exists(): boolean {
    return (
      this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'planner_tasks'").toArray().length > 0
    );
  }

  /**
   * The visitor's goals, oldest first ([] before the first write).
   * @throws Error naming the goal when a stored row does not match the contract
   */
  goals(): PlannerGoal[] {
    if (!this.exists()) return [];
    return this.#sql
      .exec(`SELECT ${GOAL_COLUMNS} FROM planner_goals ORDER BY created_ms, rowid`)
      .toArray()
      .map((row) => checkedGoal(row));
  }

  /**
   * The visitor's tasks by due time, tasks without one last, then oldest first ([] before the first write).
   * @throws Error naming the task when a stored row does not match the contract
   */
  tasks(): PlannerTask[] {
    if (!this.exists()) return [];
    return this.#sql
      .exec(`SELECT ${TASK_COLUMNS} FROM planner_tasks ${TASK_ORDER}`)
      .toArray()
      .map((row) => checkedTask(row));
  }

  /**
   * Adds `goal` for operation `opId`, unless the visitor has `cap` goals already. An operation seen before adds
   * nothing and answers its goal. Call inside `transactionSync`.
   */
  addGoal(opId: string, goal: PlannerGoal, cap: number): Added<PlannerGoal> {
    this.#sql.exec(SCHEMA);
    const before = this.#goalByOp(opId);
    if (before) return { status: "ok", item: before };
    if (count(this.#sql, "planner_goals") >= cap) return { status: "full" };
    this.#sql.exec(
      "INSERT INTO planner_goals (id, op_id, title, description, target_date, created_at, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
      goal.id,
      opId,
      goal.title,
      goal.description,
      goal.target_date,
      goal.created_at,
      Date.parse(goal.created_at),
    );
    return { status: "ok", item: this.#goalByOp(opId)! };
  }

  /**
   * Adds `task` for operation `opId`, unless the visitor has `cap` tasks already. An operation seen before adds
   * nothing and answers its task. Call inside `transactionSync`.
   */
  addTask(opId: string, task: PlannerTask, cap: number): Added<PlannerTask> {
    this.#sql.exec(SCHEMA);
    const before = this.#taskBy("op_id", opId);
    if (before) return { status: "ok", item: before };
    if (count(this.#sql, "planner_tasks") >= cap) return { status: "full" };
    this.#sql.exec(
      "INSERT INTO planner_tasks (id, op_id, title, due, due_ms, goal_id, done, created_at, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      task.id,
      opId,
      task.title,
      task.due,
      task.due === null ? null : instantMs(task.due),
      task.goal_id,
      task.done ? 1 : 0,
      task.created_at,
      Date.parse(task.created_at),
    );
    return { status: "ok", item: this.#taskBy("op_id", opId)! };
  }

  /**
   * Moves task `taskId` to `due` for operation `opId`. An operation seen before moves nothing and answers the
   * task as it is now with the due time it had before that first move. Call inside `transactionSync`.
   * @returns null when the visitor has no task `taskId`
   */
  moveTask(opId: string, taskId: string, due: string): Moved | null {
    if (!this.exists()) return null;
    const done = this.#sql
      .exec<{ task_id: string; previous_due: string | null }>(
        "SELECT task_id, previous_due FROM planner_moves WHERE op_id = ?",
        opId,
      )
      .toArray()[0];
    if (done) {
      const task = this.#taskBy("id", done.task_id);
      return task ? { task, previous_due: done.previous_due } : null;
    }
    const before = this.#taskBy("id", taskId);
    if (!before) return null;
    this.#sql.exec("UPDATE planner_tasks SET due = ?, due_ms = ? WHERE id = ?", due, instantMs(due), taskId);
    this.#sql.exec(
      "INSERT INTO planner_moves (op_id, task_id, previous_due) VALUES (?, ?, ?)",
      opId,
      taskId,
      before.due,
    );
    return { task: this.#taskBy("id", taskId)!, previous_due: before.due };
  }

  #goalByOp(opId: string): PlannerGoal | null {
    const row = this.#sql.exec(`SELECT ${GOAL_COLUMNS} FROM planner_goals WHERE op_id = ?`, opId).toArray()[0];
    return row === undefined ? null : checkedGoal(row);
  }

  #taskBy(column: "id" | "op_id", value: string): PlannerTask | null {
    const row = this.#sql.exec(`SELECT ${TASK_COLUMNS} FROM planner_tasks WHERE ${column} = ?`, value).toArray()[0];
    return row === undefined ? null : checkedTask(row);
  }
}

function count(sql: SqlStorage, table: "planner_goals" | "planner_tasks"): number {
  return Number(sql.exec(`SELECT COUNT(*) AS n FROM ${table}`).one().n);
}

/** @throws Error naming the goal when the row does not match the contract */
function checkedGoal(row: unknown): PlannerGoal {
  const parsed = PlannerGoal.safeParse(row);
  if (parsed.success) return parsed.data;
  throw new Error(`planner_goals row ${String((row as { id?: unknown }).id)} does not match the contract`);
}

/** @throws Error naming the task when the row does not match the contract */
function checkedTask(row: unknown): PlannerTask {
  const parsed = TaskRow.safeParse(row);
  if (parsed.success) {
    const task = PlannerTask.safeParse({ ...parsed.data, done: parsed.data.done !== 0 });
    if (task.success) return task.data;
  }
  throw new Error(`planner_tasks row ${String((row as { id?: unknown }).id)} does not match the contract`);
}
