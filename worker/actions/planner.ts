/**
 * The planner's backend actions (the `planner` profile's intents): `GOAL` sets a goal, `NEW_TASK` adds a task
 * (optionally due, optionally part of a goal), `RESCHEDULE_TASK` moves a task to a new due time. Goals and tasks are
 * the visitor's: they live in the visitor's `VisitorDO` (durable-objects/planner-store.ts), so no visitor can reach
 * another's.
 *
 * Finding a goal or a task from the LLM's words: an exact id first; else every word of the query (case-insensitive,
 * ignoring "the", "a", "my" and "task", or "goal" for goals) must be a word of the title. One match acts, none is
 * `refused`, several are `ambiguous` with the candidates, so that the agent can ask which one.
 *
 * Times are stored and answered as the ISO 8601 strings the agent gave; messages carry no formatted time (the page
 * formats `due` in the visitor's locale). See docs/actions.md.
 */
import type { PlannerGoal, PlannerTask } from "../../contract/actions.ts";
import { visitorStub } from "../sessions.ts";
import type { ActionContext, ActionHandler, HandlerOutcome } from "./index.ts";

/** Most goals one visitor may have. */
export const PLANNER_GOALS_MAX = 100;
/** Most tasks one visitor may have. */
export const PLANNER_TASKS_MAX = 500;
/** Most candidates an `ambiguous` answer lists. */
export const CANDIDATES_MAX = 10;

const TASK_STOP_WORDS = new Set(["the", "a", "my", "task"]);
const GOAL_STOP_WORDS = new Set(["the", "a", "my", "goal"]);

/** Lower-case words (letters and digits, any script) of `text`. */
function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/**
 * The items `query` names: the one whose id it is, else those whose title has every word of the query that is not
 * a stop word (all items when none is left, e.g. "my task").
 */
export function matching<T extends { id: string; title: string }>(
  items: readonly T[],
  query: string,
  stopWords: ReadonlySet<string>,
): T[] {
  const exact = items.find((item) => item.id === query.trim());
  if (exact) return [exact];
  const wanted = words(query).filter((w) => !stopWords.has(w));
  return items.filter((item) => {
    const title = new Set(words(item.title));
    return wanted.every((w) => title.has(w));
  });
}

/** `"A" or "B"`, `"A", "B" or "C"`. */
function alternatives(titles: readonly string[]): string {
  const quoted = titles.map((t) => `"${t}"`);
  return quoted.length < 2 ? (quoted[0] ?? "") : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

/** The `ambiguous` answer for several matching items of `kind`. */
function ambiguous(kind: "task" | "goal", candidates: readonly (PlannerTask | PlannerGoal)[]): HandlerOutcome {
  const listed = candidates.slice(0, CANDIDATES_MAX);
  return {
    status: "ambiguous",
    message: `Which ${kind}: ${alternatives(listed.map((c) => c.title))}?`,
    result: { candidates: listed },
  };
}

function refused(message: string): HandlerOutcome {
  return { status: "refused", message };
}

/** A string argument, trimmed; undefined when absent, not a string or blank. */
function text(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

const ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789";

/** `<prefix>_` and 12 random characters of an alphabet without look-alikes (about 60 bits). */
function newId(prefix: "goal" | "task"): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}_${Array.from(bytes, (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join("")}`;
}

/**
 * `GOAL {title, description?, target_date?}`: sets a goal. ok: `{goal}`, message `Goal set: <title>`; refused
 * when the visitor has {@link PLANNER_GOALS_MAX} goals.
 */
export const goal: ActionHandler = async (ctx: ActionContext, args) => {
  const title = text(args, "title");
  if (title === undefined) return refused("A goal needs a title.");
  const item: PlannerGoal = {
    id: newId("goal"),
    title,
    description: text(args, "description") ?? null,
    target_date: text(args, "target_date") ?? null,
    created_at: new Date(ctx.nowMs).toISOString(),
  };
  const added = await visitorStub(ctx.env, ctx.visitorId).addGoal(ctx.opId, item, PLANNER_GOALS_MAX);
  if (added.status === "full") return refused(`The planner holds at most ${PLANNER_GOALS_MAX} goals; none was set.`);
  return { status: "ok", message: `Goal set: ${added.item.title}`, result: { goal: added.item } };
};

/**
 * `NEW_TASK {title, due?, goal?}`: adds a task, part of the goal `goal` names (by id or words of its title). ok:
 * `{task}`, message `Task added: <title>`; a `goal` matching no goal is refused, several ambiguous (`candidates`:
 * goals); refused when the visitor has {@link PLANNER_TASKS_MAX} tasks.
 */
export const newTask: ActionHandler = async (ctx: ActionContext, args) => {
  const title = text(args, "title");
  if (title === undefined) return refused("A task needs a title.");
  const visitor = visitorStub(ctx.env, ctx.visitorId);
  let goalId: string | null = null;
  const goalQuery = text(args, "goal");
  if (goalQuery !== undefined) {
    const goals = matching(await visitor.plannerGoals(), goalQuery, GOAL_STOP_WORDS);
    if (goals.length === 0) return refused(`No goal matches "${goalQuery}".`);
    if (goals.length > 1) return ambiguous("goal", goals);
    goalId = goals[0]!.id;
  }
  const item: PlannerTask = {
    id: newId("task"),
    title,
    due: text(args, "due") ?? null,
    goal_id: goalId,
    done: false,
    created_at: new Date(ctx.nowMs).toISOString(),
  };
  const added = await visitor.addTask(ctx.opId, item, PLANNER_TASKS_MAX);
  if (added.status === "full") return refused(`The planner holds at most ${PLANNER_TASKS_MAX} tasks; none was added.`);
  return { status: "ok", message: `Task added: ${added.item.title}`, result: { task: added.item } };
};

/**
 * `RESCHEDULE_TASK {task, due}`: moves the open task `task` names (by id or words of its title) to `due`. ok:
 * `{task, previous_due}`, message `Task moved: <title>`; no match is refused (`No task matches "<task>".`), several
 * ambiguous (`Which task: "A" or "B"?`, `candidates`: tasks).
 */
export const rescheduleTask: ActionHandler = async (ctx: ActionContext, args) => {
  const query = text(args, "task");
  const due = text(args, "due");
  if (query === undefined || due === undefined) return refused("Moving a task needs the task and its new due time.");
  const visitor = visitorStub(ctx.env, ctx.visitorId);
  const open = (await visitor.plannerTasks()).filter((t) => !t.done);
  const found = matching(open, query, TASK_STOP_WORDS);
  if (found.length > 1) return ambiguous("task", found);
  const moved = found.length === 1 ? await visitor.moveTask(ctx.opId, found[0]!.id, due) : null;
  if (!moved) return refused(`No task matches "${query}".`);
  return {
    status: "ok",
    message: `Task moved: ${moved.task.title}`,
    result: { task: moved.task, previous_due: moved.previous_due },
  };
};
