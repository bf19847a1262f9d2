/**
 * The deferred idle-process refill against the installed framework's own `ProcPool.launchJob`: warmed
 * processes are stand-ins (no process is spawned), the pool code is the framework's.
 */
import { describe, expect, it } from "vitest";
import { deferIdleRefill, patchProcPool } from "../../agent/idle-refill.ts";
import { createLogger } from "../../agent/log.ts";

type Entry = { proc: { launchJob(info: unknown): Promise<void> }; unlock: () => void };
interface Pool {
  warmedProcQueue: { put(e: Entry): Promise<void>; items: Entry[] };
  launchJob(info: unknown): Promise<void>;
}
type PoolClass = new (opts: Record<string, unknown>) => Pool;

async function frameworkPool(): Promise<PoolClass> {
  const url = new URL("./ipc/proc_pool.js", import.meta.resolve("@livekit/agents"));
  return ((await import(url.href)) as { ProcPool: PoolClass }).ProcPool;
}

/** A pool holding `n` warmed stand-in processes; `unlocked[i]` is when entry i released its slot (ms, or null). */
async function poolWith(ProcPool: PoolClass, n: number) {
  const pool = new ProcPool({ agent: "unused", numIdleProcesses: n, initializeTimeout: 1000, closeTimeout: 1000, inferenceExecutor: undefined });
  const unlocked: Array<number | null> = [];
  const launched: unknown[] = [];
  for (let i = 0; i < n; i++) {
    unlocked.push(null);
    await pool.warmedProcQueue.put({ proc: { launchJob: async (info) => void launched.push(info) }, unlock: () => (unlocked[i] = Date.now()) });
  }
  return { pool, unlocked, launched };
}

const lines: string[] = [];
const log = createLogger({ component: "test" }, "debug", (l) => lines.push(l));

describe("idle-process refill", () => {
  it("recognizes the installed framework's pool", async () => {
    expect(await deferIdleRefill(log, 150)).toBe(true);
    expect(lines.filter((l) => l.includes("refilled at once"))).toEqual([]);
  });

  it("defers the refill while another warmed process waits, and refills at once when none is left", async () => {
    const ProcPool = await frameworkPool();
    expect(patchProcPool(ProcPool, 150)).toBe(true);
    const { pool, unlocked, launched } = await poolWith(ProcPool, 2);

    const first = Date.now();
    await pool.launchJob({ id: "job-1" });
    expect(launched).toEqual([{ id: "job-1" }]);
    expect(unlocked[0]).toBeNull(); // a spare is still warm: no replacement yet
    await pool.launchJob({ id: "job-2" });
    expect(launched).toEqual([{ id: "job-1" }, { id: "job-2" }]);
    expect(unlocked[1]).not.toBeNull(); // the pool is empty: replaced at once
    await expect.poll(() => unlocked[0], { timeout: 2000, interval: 10 }).not.toBeNull();
    expect(unlocked[0]! - first).toBeGreaterThanOrEqual(140);
  });

  it("changes nothing for a class without the pool's internals", () => {
    expect(patchProcPool(class {}, 100)).toBe(false);
    expect(patchProcPool(undefined, 100)).toBe(false);
  });
});
