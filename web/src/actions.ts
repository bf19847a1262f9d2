/**
 * What an action card says (contract `ActionMessage`: an action the agent took on the visitor's behalf), and
 * how a due time reads. Pure, no DOM: the live captions (captions.ts), the plan panel (plan.ts) and the
 * server-rendered history page (web/pages/history.ts) share it.
 */
import type { ActionMessage, ActionStatus } from "../../contract/index.ts";

/** The parts of an action card. */
export interface ActionCard {
  /** The outcome in a word or two: "Done", "Which one?", "Not done". */
  label: string;
  /** The Worker's sentence, e.g. "Task added: Call the dentist" or "No task matches "gym".". */
  text: string;
  /** An `ok` action's task due (ISO 8601 date-time) or goal target date (`YYYY-MM-DD`), when it has one. */
  when: string | undefined;
  /** An `ambiguous` action's candidates: each one's title and due (ISO, when it has one). */
  choices: { title: string; when: string | undefined }[];
}

const LABEL: Record<ActionStatus, string> = {
  ok: "Done",
  ambiguous: "Which one?",
  invalid: "Not done",
  refused: "Not done",
};

type Fields = Record<string, unknown>;
/** `v` when it is an object, else an empty one: handler results are checked only as far as the card needs. */
export const fields = (v: unknown): Fields => (v && typeof v === "object" ? v : {}) as Fields;
/** `v` when it is a non-empty string. */
export const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/** The card for `m`; fields the handler's `result` lacks are left out. */
export function actionCard(m: ActionMessage): ActionCard {
  const r = fields(m.result);
  const candidates = Array.isArray(r.candidates) ? r.candidates.map(fields) : [];
  return {
    label: LABEL[m.status],
    text: m.message,
    when: m.status === "ok" ? (str(fields(r.task).due) ?? str(fields(r.goal).target_date)) : undefined,
    choices: m.status === "ambiguous" ? candidates.map((c) => ({ title: str(c.title) ?? "", when: str(c.due) })) : [],
  };
}

const DAY_MS = 86_400_000;

/**
 * A due time as a person reads it, in `locale` and `timeZone` (default: the browser's, i.e. the visitor's):
 * "Tue 09:00" within the coming six days of `now`, else with the date ("Tue 8 Dec, 09:00"), and the year when
 * it is more than 300 days away. A date without a time (`YYYY-MM-DD`, a goal's target date) reads "Tue 8 Dec"
 * whatever the zone.
 * @param iso an ISO 8601 date-time (with offset) or date
 * @param now epoch ms the nearness is measured from
 * @returns "" when `iso` is not a date
 */
export function when(iso: string, now = Date.now(), timeZone?: string, locale?: string): string {
  const dateOnly = /^\d{4}-\d\d-\d\d$/.test(iso);
  const t = Date.parse(dateOnly ? `${iso}T00:00Z` : iso);
  if (Number.isNaN(t)) return "";
  const near = !dateOnly && t > now - DAY_MS && t < now + 6 * DAY_MS;
  return new Date(t).toLocaleString(locale, {
    timeZone: dateOnly ? "UTC" : timeZone,
    weekday: "short",
    ...(near ? {} : { day: "numeric", month: "short" }),
    ...(Math.abs(t - now) > 300 * DAY_MS ? { year: "numeric" } : {}),
    ...(dateOnly ? {} : { hour: "2-digit", minute: "2-digit" }),
  });
}
