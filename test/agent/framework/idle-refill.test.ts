/**
 * `defer_idle_refill` (agent/framework/idle-refill.ts) against the installed framework's own `ProcPool`: the pool
 * code is the framework's; its warmed processes are stand-ins (no process is spawned).
 */
import { describe, expect, it } from "vitest";
import { adapt } from "../../../agent/framework/adaptation.ts";
import { deferIdleRefill, loadProcPool } from "../../../agent/framework/idle-refill.ts";
import { collectingLogger, skipped } from "./log-lines.ts";

/** The refill delay of every test here: the prototype is patched once per process, with the first delay given. */
const DELAY_MS = 150;
/** The logger of the adaptation that patches the prototype (whichever test applies it first). */
const patched = collectingLogger();

type Entry = { proc: { launchJob(info: unknown): Promise<void> }; unlock: () => void };
interface Pool {
  warmedProcQueue: { put(e: Entry): Promise<void>; items: Entry[] };
  launchJob(info: unknown): Promise<void>;
}
type PoolClass = new (opts: Record<string, unknown>) => Pool;

/** A pool holding `n` warmed stand-in processes; `unlocked[i]` is when entry i released its slot (ms, or null). */
async function poolWith(ProcPool: PoolClass, n: number) {
  const pool = new ProcPool({ agent: "unused", numIdleProcesses: n, initializeTimeout: 1000, closeTimeout: 1000 });
  const unlocked: Array<number | null> = [];
  const launched: unknown[] = [];
  for (let i = 0; i < n; i++) {
    unlocked.push(null);
    const proc = { launchJob: async (info: unknown) => void launched.push(info) };
    await pool.warmedProcQueue.put({ proc, unlock: () => (unlocked[i] = Date.now()) });
  }
  return { pool, unlocked, launched };
}

describe("defer_idle_refill", () => {
  it("applies to the installed framework's pool without a warning", async () => {
    const { log, lines } = patched;
    expect(adapt(deferIdleRefill({ delayMs: DELAY_MS, log }), await loadProcPool(), log)).toBe(true);
    expect(skipped(lines)).toEqual([]);
  });

  it("defers the refill while another warmed process waits, and refills at once when none is left", async () => {
    const { log, lines } = patched;
    const ProcPool = (await loadProcPool()) as PoolClass;
    expect(adapt(deferIdleRefill({ delayMs: DELAY_MS, log }), ProcPool, log)).toBe(true);
    const { pool, unlocked, launched } = await poolWith(ProcPool, 2);

    const first = Date.now();
    await pool.launchJob({ id: "job-1" });
    expect(launched).toEqual([{ id: "job-1" }]);
    expect(unlocked[0]).toBeNull(); // a spare is still warm: no replacement yet
    await pool.launchJob({ id: "job-2" });
    expect(launched).toEqual([{ id: "job-1" }, { id: "job-2" }]);
    expect(unlocked[1]).not.toBeNull(); // the pool is empty: replaced at once
    await expect.poll(() => unlocked[0], { timeout: 2000, interval: 10 }).not.toBeNull();
    expect(unlocked[0]! - first).toBeGreaterThanOrEqual(DELAY_MS - 10);
    const deferred = lines.filter((l) => l.msg === "job_process_refill_deferred");
    expect(deferred).toEqual([expect.objectContaining({ level: "debug", delay_ms: DELAY_MS, warm: 1 })]);
  });

  it("changes nothing for a class without the pool's internals, and warns once", async () => {
    const { log, lines } = collectingLogger();
    class NotAPool {
      warmedProcQueue = { items: [] }; // no get()
      launchJob() {}
    }
    const launchJob = NotAPool.prototype.launchJob;
    const adaptation = deferIdleRefill({ delayMs: DELAY_MS, log });
    expect(adapt(adaptation, NotAPool, log)).toBe(false);
    expect(adapt(adaptation, NotAPool, log)).toBe(false);
    expect(NotAPool.prototype.launchJob).toBe(launchJob);
    expect(skipped(lines)).toHaveLength(1);
    expect(skipped(lines)[0]).toMatchObject({ level: "warn", adaptation: "defer_idle_refill" });
    expect(skipped(lines)[0]!.missing).toBe("ProcPool#procMutex (object); ProcPool#warmedProcQueue.get (function)");
  });

  it("changes nothing when the framework has no ProcPool to load, and says what is missing", () => {
    const { log, lines } = collectingLogger();
    expect(adapt(deferIdleRefill({ log }), undefined, log)).toBe(false);
    const missing = skipped(lines).map((l) => l.missing);
    expect(missing).toEqual(["@livekit/agents dist/ipc/proc_pool.js export ProcPool (function)"]);
  });
});
