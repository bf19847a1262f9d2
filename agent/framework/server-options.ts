/**
 * `ServerOptions` the worker sets differently from @livekit/agents 1.9.0's defaults because of how the framework's
 * process pool behaves. They are public options: no shape check is needed, but an upgrade must re-check the
 * behaviour described here.
 */

/**
 * How long a job process may take to warm up, ms (`ServerOptions.initializeProcessTimeout`; the framework's
 * default is 10 s).
 *
 * Upstream behaviour (@livekit/agents 1.9.0, `src/ipc/supervised_proc.ts`, `SupervisedProc.initialize`): the
 * timer starts when the pool has forked the process and covers Node's start, importing the framework, the plugins
 * and agent/main.ts, and `prewarm` (loading Silero). When it fires, the process is killed and the pool's watch task
 * logs `supervised process run failed` with `runner initialization timed out` (`src/ipc/proc_pool.ts`,
 * `procWatchTask`; `SupervisedProc.start`); the freed slot then starts the next warm-up at once. On a host whose
 * CPU is busy enough that a warm-up needs more than 10 s, every attempt is killed just before it finishes: the
 * message repeats every 10 s, no process ever becomes warm, jobs wait for one, and the wasted warm-ups add to the
 * load. Reproduction and figures: docs/agent.md ("Job process warm-up under load"). Upstream reports of the
 * message: https://github.com/livekit/agents-js/issues/909.
 *
 * A minute lets a warm-up finish under heavy load; a child that dies while warming up is still noticed at once
 * (`initialize` also races the child's exit), so only a process that hangs alive is detected later.
 */
export const JOB_PROCESS_INITIALIZE_TIMEOUT_MS = 60_000;
