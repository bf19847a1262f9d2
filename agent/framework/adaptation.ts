/**
 * The one way this agent changes LiveKit Agents' own behaviour (`@livekit/agents` 1.9.0, see ./index.ts).
 *
 * Each change is an {@link Adaptation}: a snake_case name, a shape check that lists what the change relies on and
 * the target lacks, and the change itself. {@link adapt} runs the check first and changes nothing when anything is
 * missing (another framework version): it then logs one `framework_adaptation_skipped` warning naming the
 * adaptation and what was missing, and the framework keeps its own behaviour. It never throws, so it is safe
 * inside the framework's own unawaited tasks.
 */
import { errorSummary, type Logger } from "../../contract/log.ts";

/** One change to framework behaviour, written against the shape of @livekit/agents 1.9.0. */
export interface Adaptation<T> {
  /** snake_case name, e.g. `defer_idle_refill`: the `adaptation` field of the warning. */
  readonly name: string;
  /**
   * What {@link apply} relies on that `target` lacks, each as "name (expected type)", e.g.
   * `"ProcPool.prototype.launchJob (function)"`; empty when everything is there. Changes nothing.
   */
  missing(target: T): string[];
  /** Makes the change; called only when {@link missing} found nothing. Applying twice changes nothing more. */
  apply(target: T): void;
}

/** Adaptations that already logged their warning: one per adaptation object and process. */
const warned = new WeakSet<object>();

/**
 * Applies `adaptation` to `target` if `target` has the shape it was written for.
 * @param log receives `framework_adaptation_skipped` (warn, once per adaptation) with `adaptation` (its name) and
 *   `missing` (what the target lacks, or the error the check or change threw)
 * @returns true when the change is in place; false when the framework was left as it is
 */
export function adapt<T>(adaptation: Adaptation<T>, target: T, log: Logger): boolean {
  let missing: string[];
  try {
    missing = adaptation.missing(target);
    if (missing.length === 0) {
      adaptation.apply(target);
      return true;
    }
  } catch (err) {
    missing = [`shape check or change failed: ${errorSummary(err)}`];
  }
  if (!warned.has(adaptation)) {
    warned.add(adaptation);
    log.warn("framework_adaptation_skipped", { adaptation: adaptation.name, missing: missing.join("; ") });
  }
  return false;
}

/** "What (type)" when `value` is not of that `typeof` type, for {@link Adaptation.missing}. */
export function expectType(value: unknown, type: "function" | "object" | "boolean" | "string", what: string): string[] {
  const ok = type === "object" ? typeof value === "object" && value !== null : typeof value === type;
  return ok ? [] : [`${what} (${type})`];
}
