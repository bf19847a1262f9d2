/**
 * The backend actions: which function handles each intent, and the Worker's part of an action call between the
 * `SessionDO`'s two steps (durable-objects/session-actions.ts): the intent must belong to the session's profile,
 * the arguments must match its JSON Schema, then its handler acts.
 *
 * A handler is named after its intent (`contract/profile.ts` `ACTION_HANDLERS` lists the names, and
 * profiles/load.ts refuses an intent no handler serves). To add a backend action: write the handler (here or in a
 * file of its own, like planner.ts and tutor.ts), add its name to `ACTION_HANDLERS` and to {@link HANDLERS}, and
 * declare the intent in a profile's `profile.yaml`. See docs/actions.md.
 */
import type { ActionFieldError, ActionRequest, ActionResponse, ActionStatus } from "../../contract/actions.ts";
import type { ActionHandlerName } from "../../contract/profile.ts";
import { intentOf } from "../profiles.ts";
import { goal, newTask, rescheduleTask } from "./planner.ts";
import { checkUnderstanding, currentSubtopic, listTopics, nextSubtopic, startTopic, tutorProgress } from "./tutor.ts";

/** What a handler works with. */
export interface ActionContext {
  env: Env;
  /** The session's owner (its `vid`): whose data the handler reads and writes. */
  visitorId: string;
  /**
   * `<session_id>:<call_id>`: the id of this operation. A handler that writes passes it along, so that the write
   * happens once even when the same call arrives twice at once (durable-objects/planner-store.ts).
   */
  opId: string;
  /** Epoch ms of the call. */
  nowMs: number;
}

/** A handler's answer: any status but `invalid` (the schema check comes first), a sentence, and its result. */
export interface HandlerOutcome {
  status: Exclude<ActionStatus, "invalid">;
  /** For the LLM and the page's card; contains no time formatting (the page formats times itself). */
  message: string;
  result?: Record<string, unknown>;
}

/**
 * A backend action. `args` has passed the intent's JSON Schema, but a profile may declare the intent with other
 * parameters than the handler's own profile does, so a handler reads them defensively.
 * @throws whatever its storage throws (the call then answers 500 and nothing is recorded; the agent may retry it)
 */
export type ActionHandler = (ctx: ActionContext, args: Record<string, unknown>) => Promise<HandlerOutcome>;

/** The handler of each intent name. */
export const HANDLERS: Record<ActionHandlerName, ActionHandler> = {
  GOAL: goal,
  NEW_TASK: newTask,
  RESCHEDULE_TASK: rescheduleTask,
  LIST_TOPICS: listTopics,
  START_TOPIC: startTopic,
  CURRENT_SUBTOPIC: currentSubtopic,
  CHECK_UNDERSTANDING: checkUnderstanding,
  NEXT_SUBTOPIC: nextSubtopic,
  TUTOR_PROGRESS: tutorProgress,
};

/** The handler of intent `name`, or undefined when no handler has that name. */
export function handlerOf(name: string): ActionHandler | undefined {
  return Object.hasOwn(HANDLERS, name) ? HANDLERS[name as ActionHandlerName] : undefined;
}

/** `invalid`'s message: every error, e.g. `The arguments are not valid: /due must be a date and time …`. */
function invalidMessage(errors: readonly ActionFieldError[]): string {
  const parts = errors.map((e) => `${e.path === "" ? "the arguments" : e.path} ${e.message}`);
  return `The arguments are not valid: ${parts.join("; ")}.`;
}

/**
 * Answers one action call of a session whose profile is `profile`:
 * - `refused` when the intent is not in the profile (or no handler serves it);
 * - `invalid` with `errors` when the arguments do not match the intent's schema;
 * - else what the intent's handler answers.
 * @throws whatever the handler throws
 */
export async function runAction(ctx: ActionContext, profile: string, request: ActionRequest): Promise<ActionResponse> {
  const base = { call_id: request.call_id, intent: request.intent };
  const compiled = intentOf(profile, request.intent);
  const handler = handlerOf(request.intent);
  if (!compiled || !handler) {
    return { ...base, status: "refused", message: `${request.intent} is not an action this agent can take.` };
  }
  const errors = compiled.validate(request.arguments);
  if (errors.length > 0) return { ...base, status: "invalid", message: invalidMessage(errors), errors };
  const outcome = await handler(ctx, request.arguments);
  return { ...base, ...outcome };
}
