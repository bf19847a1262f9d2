/**
 * Lets the worker's main process hear its job processes: each job process's IPC messages reach a listener of the
 * agent's (agent/metrics.ts: the job's metrics, as `{case: "voiceAgentMetric", value}`).
 *
 * Upstream behaviour (@livekit/agents 1.9.0, `src/ipc/job_proc_executor.ts`, `JobProcExecutor.createProcess`): the
 * process pool forks each job process with `child_process.fork`, whose IPC channel carries the framework's own
 * messages, each an object with a `case`. The main process's listeners (`SupervisedProc.run`,
 * `JobProcExecutor.mainTask`) switch on `case` and ignore any other. The child process is a private detail of the
 * executor, and the pool offers no hook to reach it.
 *
 * The adaptation `listen_to_job_processes` wraps `JobProcExecutor.prototype.createProcess` to add one `message`
 * listener to each forked process. The framework's messages reach it too; it must ignore those.
 */
import type { ChildProcess } from "node:child_process";
import { type Adaptation, expectType } from "./adaptation.ts";

/** The part of @livekit/agents 1.9.0's `JobProcExecutor` this relies on. */
interface ExecutorInternals {
  createProcess(): ChildProcess;
}
type ExecutorClass = (new (...args: never[]) => ExecutorInternals) & { prototype: ExecutorInternals };

const PATCHED = Symbol("listenToJobProcesses");

/**
 * Loads the installed framework's `JobProcExecutor` class (not in the exports map), the module instance the
 * framework itself uses.
 * @returns the class, or undefined when that file or export is not there (the adaptation then reports it)
 */
export async function loadJobProcExecutor(): Promise<unknown> {
  try {
    const url = new URL("./ipc/job_proc_executor.js", import.meta.resolve("@livekit/agents"));
    return ((await import(url.href)) as { JobProcExecutor?: unknown }).JobProcExecutor;
  } catch {
    return undefined;
  }
}

/**
 * The adaptation `listen_to_job_processes`, applied to the framework's `JobProcExecutor` class.
 * @param listener gets every message of every job process forked after the change (the framework's included)
 */
export function listenToJobProcesses(listener: (message: unknown) => void): Adaptation<unknown> {
  return {
    name: "listen_to_job_processes",
    missing(executorClass) {
      if (typeof executorClass !== "function") {
        return ["@livekit/agents dist/ipc/job_proc_executor.js export JobProcExecutor (function)"];
      }
      return expectType(
        (executorClass as ExecutorClass).prototype?.createProcess,
        "function",
        "JobProcExecutor.prototype.createProcess",
      );
    },
    apply(executorClass) {
      const proto = (executorClass as ExecutorClass).prototype as ExecutorInternals & { [PATCHED]?: true };
      if (proto[PATCHED]) return;
      const createProcess = proto.createProcess;
      proto.createProcess = function (this: ExecutorInternals) {
        const child = createProcess.call(this);
        child.on("message", (message: unknown) => {
          try {
            listener(message);
          } catch {
            // A bad message must not reach the framework's own handling of the child.
          }
        });
        return child;
      };
      proto[PATCHED] = true;
    },
  };
}
