/**
 * What the agent's processes do with faults nobody caught (the worker's main process and every job process:
 * both load agent/main.ts, which installs this):
 *
 * - an **unhandled rejection** is logged (`unhandled_rejection`, error, with the error's summary) and the process
 *   goes on: one stray promise (a provider call nobody awaited, a framework task) must not end a worker that
 *   carries other conversations, nor a conversation. Node's default would exit the process;
 * - an **uncaught exception** is logged (`uncaught_exception`, error) and the process then exits as Node always
 *   does (code 1): its state is unknown after a throw that unwound the stack, so it is not swallowed. In a job
 *   process that ends one conversation, which the session replaces (docs/architecture.md, "Session lifecycle").
 */
import { errorSummary, type Logger } from "../contract/log.ts";

/** Processes whose handlers are installed, so that a second call adds none. */
const installed = new WeakSet<NodeJS.Process>();

/**
 * Installs the handlers described in the module comment, once per process.
 * @param log receives `unhandled_rejection` and `uncaught_exception` (both error, with `error`: `Name: message`)
 * @param proc the process (tests pass their own only to check idempotence)
 */
export function logProcessFaults(log: Logger, proc: NodeJS.Process = process): void {
  if (installed.has(proc)) return;
  installed.add(proc);
  proc.on("unhandledRejection", (reason: unknown) => {
    log.error("unhandled_rejection", { error: errorSummary(reason), pid: proc.pid });
  });
  // The monitor sees the exception before Node's default handling, which it leaves as it is (exit 1).
  proc.on("uncaughtExceptionMonitor", (err: Error, origin: string) => {
    log.error("uncaught_exception", { error: errorSummary(err), origin, pid: proc.pid });
  });
}
