/**
 * Actions: function calls the agent makes on the visitor's behalf, routed to the Worker's backend
 * (`POST /session/{session_id}/actions`, signed like ingest), and the action events the session stores and
 * sends on the transcript socket.
 *
 * Written with `zod/mini`, like rest.ts and events.ts, so the page can import it.
 *
 * See docs/actions.md.
 */
import * as z from "zod/mini";

/** An intent's name, as the profile's registry and the LLM's tool list spell it (e.g. `NEW_TASK`). */
export const IntentName = z
  .string()
  .check(
    z.regex(/^[A-Z][A-Z0-9_]{0,63}$/, "intent names are 1-64 characters of A-Z, 0-9 and _, starting with a letter"),
  );
export type IntentName = z.infer<typeof IntentName>;

/**
 * The id of one function call, chosen by the agent (the LLM's tool call id, or a fresh one): the same id sent
 * twice acts once, and the second answer repeats the first.
 */
export const CallId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.:-]{1,128}$/, "call_id must be 1-128 characters of A-Z, a-z, 0-9, _, ., : or -"));
export type CallId = z.infer<typeof CallId>;

/** Largest `arguments` object, as JSON, in bytes. */
export const ACTION_ARGUMENTS_MAX_BYTES = 8192;

/** `POST /session/{session_id}/actions` body. `arguments` is checked against the intent's JSON Schema. */
export const ActionRequest = z.strictObject({
  call_id: CallId,
  intent: IntentName,
  arguments: z.record(z.string(), z.unknown()),
});
export type ActionRequest = z.infer<typeof ActionRequest>;

/**
 * What became of a call:
 * - `ok`: done; `result` is the handler's answer (e.g. the created task);
 * - `invalid`: the arguments do not match the intent's schema; `errors` says where, so the agent can correct
 *   them and call again (with a new `call_id`);
 * - `ambiguous`: the call names something that matches more than one item; `result.candidates` lists them,
 *   so the agent can ask which one;
 * - `refused`: the handler will not do it (e.g. nothing matches, or the intent is not in the session's
 *   profile); `message` says why, in words the agent can repeat.
 */
export const ActionStatus = z.enum(["ok", "invalid", "ambiguous", "refused"]);
export type ActionStatus = z.infer<typeof ActionStatus>;

/** One schema error of an `invalid` call: a JSON Pointer into `arguments` and what is wrong there. */
export const ActionFieldError = z.object({ path: z.string(), message: z.string() });
export type ActionFieldError = z.infer<typeof ActionFieldError>;

/** `POST /session/{session_id}/actions` 200 body (every status is a 200: the call itself was understood). */
export const ActionResponse = z.object({
  call_id: CallId,
  intent: IntentName,
  status: ActionStatus,
  /** A short sentence for the LLM and the page's card, e.g. "Task added: Call the dentist, Tue 09:00". */
  message: z.string(),
  /** The handler's structured answer (`ok`, `ambiguous`). */
  result: z.optional(z.record(z.string(), z.unknown())),
  /** Only with `invalid`. */
  errors: z.optional(z.array(ActionFieldError)),
});
export type ActionResponse = z.infer<typeof ActionResponse>;

// ---- Planner (the planner profile's backend: worker/actions/planner.ts) ------------------------

/** A visitor's goal. Times are ISO 8601 strings: `target_date` a date as given, `created_at` when it was set (UTC). */
export const PlannerGoal = z.object({
  /** `goal_<random>`. */
  id: z.string(),
  title: z.string(),
  description: z.nullable(z.string()),
  target_date: z.nullable(z.string()),
  created_at: z.string(),
});
export type PlannerGoal = z.infer<typeof PlannerGoal>;

/**
 * A visitor's task. `due` is the ISO 8601 date-time with offset as the agent gave it (the page formats it in the
 * visitor's locale); `goal_id` the goal it belongs to; `created_at` when it was added (UTC).
 */
export const PlannerTask = z.object({
  /** `task_<random>`. */
  id: z.string(),
  title: z.string(),
  due: z.nullable(z.string()),
  goal_id: z.nullable(z.string()),
  done: z.boolean(),
  created_at: z.string(),
});
export type PlannerTask = z.infer<typeof PlannerTask>;

/**
 * `GET /planner` 200 body: the calling visitor's goals (oldest first) and tasks (by due time, tasks without one
 * last, then oldest first).
 */
export const PlannerResponse = z.object({ goals: z.array(PlannerGoal), tasks: z.array(PlannerTask) });
export type PlannerResponse = z.infer<typeof PlannerResponse>;
