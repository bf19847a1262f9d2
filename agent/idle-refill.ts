/**
 * Keeps the warm-up of a replacement job process off a starting job's critical path.
 *
 * LiveKit Agents keeps `numIdleProcesses` job processes warmed (Node started, framework imported, `prewarm`
 * run). When a job takes one, the pool starts its replacement in the same tick (@livekit/agents 1.9.0
 * `ipc/proc_pool.ts`, `launchJob`: `entry.unlock()` right after `warmedProcQueue.get()`). That warm-up costs
 * 1.3–1.6 s of CPU (measured here: importing the framework and plugins ≈ 1 s of wall time, Silero ≈ 0.1 s), spent exactly while the new
 * job joins the room and plays its greeting. On a 2-core host, `npm run bench -- voice 10` measured the agent's
 * room join at p50 918 ms with the immediate refill and 651 ms with it deferred, and Start click → greeting
 * heard at p50 1,996 → 1,553 ms.
 *
 * {@link deferIdleRefill} makes the pool start that replacement `delayMs` later, but only while another warmed
 * process is still waiting for the next job; when the pool is empty (a burst of jobs), the replacement starts
 * at once, as before, so no job waits longer for a process than it did.
 *
 * The pool is internal to the framework (not exported), so the patch is guarded: when the internals it relies
 * on are not there (another framework version), it changes nothing and says so.
 */
import type { Logger } from "./log.ts";

/** How long a replacement's warm-up waits after a job took a warmed process, ms: the job's join and greeting. */
export const IDLE_REFILL_DELAY_MS = 5000;

/** A warmed process in the pool's queue, paired with the pool slot it holds (released by `unlock`). */
interface WarmedEntry {
  proc: unknown;
  unlock: () => void;
}

/** The parts of @livekit/agents 1.9.0's `ProcPool` this module relies on. */
interface ProcPoolInternals {
  procMutex?: unknown;
  warmedProcQueue?: { items?: unknown[]; get?: (...args: unknown[]) => Promise<WarmedEntry> };
  launchJob(info: unknown): Promise<void>;
}

const PATCHED = Symbol("deferIdleRefill");
/** Pools whose queue's get() is wrapped. */
const wrapped = new WeakSet<object>();

/**
 * Patches a `ProcPool` class so that its idle-process refill is deferred (see the module comment).
 * @param poolClass the framework's `ProcPool` (or a class with the same internals)
 * @param delayMs how long the refill waits while a warmed process is still available, ms
 * @param onDeferred called each time a refill is deferred, with the number of warmed processes still waiting
 * @returns false, changing nothing, when the class lacks the internals this relies on
 */
export function patchProcPool(poolClass: unknown, delayMs: number, onDeferred: (warm: number) => void = () => {}): boolean {
  const proto = (poolClass as { prototype?: ProcPoolInternals & { [PATCHED]?: true } } | undefined)?.prototype;
  if (typeof proto?.launchJob !== "function") return false;
  if (proto[PATCHED]) return true;
  const launchJob = proto.launchJob;
  proto.launchJob = function (this: ProcPoolInternals, info: unknown) {
    const queue = this.warmedProcQueue;
    // Only launchJob takes from the queue, so its get() is wrapped once per pool.
    if (!wrapped.has(this) && this.procMutex && Array.isArray(queue?.items) && typeof queue.get === "function") {
      wrapped.add(this);
      const get = queue.get.bind(queue);
      queue.get = async (...args: unknown[]) => {
        const entry = await get(...args);
        if (!entry || typeof entry.unlock !== "function" || queue.items!.length === 0) return entry;
        // Another warmed process is waiting: this job's slot is released (and refilled) later.
        setTimeout(entry.unlock, delayMs).unref();
        onDeferred(queue.items!.length);
        return { ...entry, unlock: () => {} };
      };
    }
    return launchJob.call(this, info);
  };
  proto[PATCHED] = true;
  return true;
}

/**
 * Applies {@link patchProcPool} to the installed framework's pool (call once, in the worker's main process,
 * before the `AgentServer` starts).
 * @returns whether the refill is now deferred; false (logged as a warning) when the framework's internals differ
 */
export async function deferIdleRefill(log: Logger, delayMs = IDLE_REFILL_DELAY_MS): Promise<boolean> {
  let poolClass: unknown;
  try {
    // Not in the package's exports map: loaded by file URL, the same module instance the framework uses.
    const url = new URL("./ipc/proc_pool.js", import.meta.resolve("@livekit/agents"));
    poolClass = ((await import(url.href)) as { ProcPool?: unknown }).ProcPool;
  } catch {
    poolClass = undefined;
  }
  const ok = patchProcPool(poolClass, delayMs, (warm) => log.debug("replacement job process deferred", { delay_ms: delayMs, warm }));
  if (!ok) log.warn("idle job processes are refilled at once: this @livekit/agents version's pool is not the one known here");
  return ok;
}
