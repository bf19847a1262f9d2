/**
 * Keeps the warm-up of a replacement job process off a starting job's critical path.
 *
 * Upstream behaviour (@livekit/agents 1.9.0, `src/ipc/proc_pool.ts`, `ProcPool.launchJob`): the pool keeps
 * `numIdleProcesses` job processes warmed (Node started, framework and agent imported, `prewarm` run). When a job
 * takes one, `launchJob` calls `entry.unlock()` right after `warmedProcQueue.get()`, so the pool's `run` loop
 * starts the replacement's warm-up in the same tick. That warm-up is seconds of CPU, spent exactly while the new
 * job joins the room and plays its greeting. No upstream issue about it was found.
 *
 * The adaptation makes the pool start that replacement {@link IDLE_REFILL_DELAY_MS} later, but only while another
 * warmed process is still waiting for the next job; when none is left (a burst of jobs), the replacement starts at
 * once, as upstream does, so no job waits longer for a process than it would have. The effect on the time to the
 * first greeting is measured in docs/agent.md ("Pre-warmed processes are refilled after a job has started").
 */
import type { Logger } from "../../contract/log.ts";
import { type Adaptation, expectType } from "./adaptation.ts";

/** How long a replacement's warm-up waits after a job took a warmed process, ms: the job's join and greeting. */
export const IDLE_REFILL_DELAY_MS = 5000;

/** A warmed process in the pool's queue, paired with the pool slot it holds (released by `unlock`). */
interface WarmedEntry {
  proc: unknown;
  unlock: () => void;
}

/** The parts of @livekit/agents 1.9.0's `ProcPool` instances this relies on. */
interface PoolInternals {
  procMutex?: unknown;
  warmedProcQueue: { items: unknown[]; get: () => Promise<WarmedEntry> };
  launchJob(info: unknown): Promise<void>;
}

type PoolClass = (new (opts: Record<string, unknown>) => PoolInternals) & { prototype: PoolInternals };

/** Marks a patched prototype, so that applying twice wraps once. */
const PATCHED = Symbol("deferIdleRefill");

/**
 * Loads the installed framework's `ProcPool` class, which is not in the package's exports map: by file URL next
 * to the package's main entry, which is the same module instance the framework itself uses.
 * @returns the class, or undefined when that file or export is not there (the adaptation then reports it)
 */
export async function loadProcPool(): Promise<unknown> {
  try {
    const url = new URL("./ipc/proc_pool.js", import.meta.resolve("@livekit/agents"));
    return ((await import(url.href)) as { ProcPool?: unknown }).ProcPool;
  } catch {
    return undefined;
  }
}

/** Options of {@link deferIdleRefill}. */
export interface IdleRefillOptions {
  /** How long the refill waits while another warmed process is still available, ms. Default 5000. */
  delayMs?: number;
  /** Receives `job_process_refill_deferred` (debug) with `delay_ms` and `warm` (warmed processes still waiting). */
  log?: Logger;
}

/**
 * The adaptation `defer_idle_refill`, applied to the framework's `ProcPool` class (see {@link loadProcPool}).
 * Its shape check builds one pool (no process is started) to see the instance fields the change relies on.
 */
export function deferIdleRefill(options: IdleRefillOptions = {}): Adaptation<unknown> {
  const { delayMs = IDLE_REFILL_DELAY_MS, log } = options;
  /** Pools whose queue's get() is wrapped: only launchJob takes from the queue, so once per pool. */
  const wrapped = new WeakSet<object>();
  const wrapQueue = (pool: PoolInternals) => {
    wrapped.add(pool);
    const queue = pool.warmedProcQueue;
    const get = queue.get.bind(queue);
    queue.get = async () => {
      const entry = await get();
      if (typeof entry?.unlock !== "function" || queue.items.length === 0) return entry;
      // Another warmed process is waiting: this job's slot is released (and refilled) later.
      setTimeout(entry.unlock, delayMs).unref();
      log?.debug("job_process_refill_deferred", { delay_ms: delayMs, warm: queue.items.length });
      return { ...entry, unlock: () => {} };
    };
  };
  return {
    name: "defer_idle_refill",
    missing(poolClass) {
      if (typeof poolClass !== "function") return ["@livekit/agents dist/ipc/proc_pool.js export ProcPool (function)"];
      const proto = (poolClass as PoolClass).prototype;
      const missing = expectType(proto?.launchJob, "function", "ProcPool.prototype.launchJob");
      const options = { agent: "", numIdleProcesses: 1, initializeTimeout: 0, closeTimeout: 0 };
      const probe = new (poolClass as PoolClass)(options);
      const queue = probe.warmedProcQueue as Partial<PoolInternals["warmedProcQueue"]> | undefined;
      missing.push(...expectType(probe.procMutex, "object", "ProcPool#procMutex"));
      missing.push(...expectType(queue, "object", "ProcPool#warmedProcQueue"));
      if (!Array.isArray(queue?.items)) missing.push("ProcPool#warmedProcQueue.items (array)");
      missing.push(...expectType(queue?.get, "function", "ProcPool#warmedProcQueue.get"));
      return missing;
    },
    apply(poolClass) {
      const proto = (poolClass as PoolClass).prototype as PoolInternals & { [PATCHED]?: true };
      if (proto[PATCHED]) return;
      const launchJob = proto.launchJob;
      proto.launchJob = function (this: PoolInternals, info: unknown) {
        // Without idle processes (numIdleProcesses 0) the pool has no procMutex and never takes from the queue.
        if (this.procMutex && !wrapped.has(this)) wrapQueue(this);
        return launchJob.call(this, info);
      };
      proto[PATCHED] = true;
    },
  };
}
