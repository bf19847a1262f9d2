/**
 * The plan panel of `/chat` for profiles with planner intents (web/pages/chat.ts renders `#plan` only for them):
 * the visitor's goals and the tasks not yet done, soonest due first, from `GET /planner` (contract
 * `PlannerResponse`). Loaded when the page loads and again after each `ok` action frame (debounced), so it
 * follows what the agent does during the conversation.
 */
import type { PlannerResponse, ServerMessage } from "../../contract/index.ts";
import { when } from "./actions.ts";
import { fetchPlanner } from "./api.ts";
import { el, time } from "./dom.ts";

/** How long after an `ok` action frame the panel re-loads, ms: a burst of actions costs one request. */
export const PLAN_REFRESH_MS = 300;

/**
 * One line of a list: the title, an ISO date or date-time (a task's due, a goal's target date) and more words (a
 * task's goal).
 */
type Row = [title: string, at: string | null, extra?: string];

export class PlanPanel {
  readonly #note: HTMLElement;
  readonly #goals: HTMLElement;
  readonly #tasks: HTMLElement;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Bumped by every load: an answer to an older request is dropped. */
  #request = 0;

  /**
   * @param root the `#plan` section (holding `#plan-note`, `#plan-goals`, `#plan-tasks`)
   * @throws Error when one of those is missing (the markup and the script are out of step)
   */
  constructor(root: HTMLElement) {
    const get = (id: string) => {
      const found = root.querySelector<HTMLElement>(`#${id}`);
      if (!found) throw new Error(`#${id} is missing from the page`);
      return found;
    };
    this.#note = get("plan-note");
    this.#goals = get("plan-goals");
    this.#tasks = get("plan-tasks");
  }

  /** Loads `GET /planner` and shows it. A failure keeps what was shown and says so; it never throws. */
  async load(): Promise<void> {
    const mine = ++this.#request;
    const plan = await fetchPlanner().catch(() => null);
    if (mine !== this.#request) return;
    this.#note.hidden = false;
    if (!plan) {
      this.#note.textContent = "Your plan couldn't be loaded just now.";
      return;
    }
    const goals = new Map(plan.goals.map((g) => [g.id, g.title]));
    const key = (t: PlannerResponse["tasks"][number]) => Date.parse(t.due ?? "") || 9e15;
    const tasks = plan.tasks.filter((t) => !t.done).sort((a, b) => key(a) - key(b));
    this.#fill(
      this.#goals,
      plan.goals.map((g) => [g.title, g.target_date]),
      "by ",
    );
    this.#fill(
      this.#tasks,
      tasks.map((t) => [t.title, t.due, t.goal_id ? goals.get(t.goal_id) : undefined]),
    );
    this.#note.textContent = "Nothing planned yet: ask the agent to set a goal or add a task.";
    this.#note.hidden = goals.size + tasks.length > 0;
  }

  /** Schedules a re-load after an `ok` action frame; other frames are ignored. */
  onFrame(message: ServerMessage): void {
    if (!("call_id" in message) || message.status !== "ok") return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.load(), PLAN_REFRESH_MS);
  }

  /** Shows `rows` in `list` (its group hidden when there are none); `by` goes before each date. */
  #fill(list: HTMLElement, rows: Row[], by = ""): void {
    list.parentElement!.hidden = rows.length === 0;
    list.replaceChildren(
      ...rows.map(([title, at, extra]) => {
        const meta = el("span", "plan__meta");
        const text = at ? when(at) : "";
        if (text) meta.append(by, time(at!, text));
        if (extra) meta.append(text ? ` · ${extra}` : extra);
        const li = el("li");
        li.append(el("span", "plan__title", title), meta);
        return li;
      }),
    );
  }
}
