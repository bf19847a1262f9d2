/**
 * Graceful shutdown of the worker process on SIGTERM (container stop, deploy) and SIGINT (Ctrl-C).
 *
 * The decision (docs/agent.md, "Draining"): **a draining worker lets its conversations finish**. It takes no new
 * job, and by default `DRAIN_TIMEOUT_S` (`MAX_SESSION_S` + 60 s) outlasts every job, since each job leaves by
 * itself `MAX_SESSION_S` + 30 s after it started. Only a job still running at the deadline (an operator chose a
 * shorter `DRAIN_TIMEOUT_S`) is handed over: its process gets SIGTERM, it posts `agent_left` with the detail
 * "worker draining", and the session dispatches one replacement agent with the conversation so far (the
 * session's single replacement, docs/architecture.md, "Session lifecycle"). Handing over at once on every
 * deploy would spend that replacement and cut the turn in progress, so it is the fallback, not the rule.
 */
import type { AgentServer } from "@livekit/agents";
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../contract/log.ts";

/** Longest wait for job processes to close after the drain deadline, in ms. */
const CLOSE_GRACE_MS = 10_000;
/** Longest wait for handed-over jobs to leave by themselves (their flush takes at most 5 s), in ms. */
const HAND_OVER_WAIT_MS = 6000;

/**
 * The ids of `pid`'s child processes (the worker's job processes, warm or running), from Linux's /proc.
 * @returns an empty list where /proc is not available (then a drain closes jobs without handing them over first)
 */
export function childProcessIds(pid: number = process.pid): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after its ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return children;
}

/**
 * Drains and exits on the first SIGTERM or SIGINT: the worker tells LiveKit it is full and refuses new
 * jobs, running jobs go on for up to `timeoutMs`; at the deadline the jobs still running are handed over (each
 * job process gets SIGTERM, posts `agent_left` "worker draining" and ends), then every job process is closed and
 * the process exits with 0 at most 16 s later. A second signal exits at once (1). Give the container a stop grace
 * of at least `DRAIN_TIMEOUT_S` + 20 s.
 * @param server the running `AgentServer`
 * @param timeoutMs `DRAIN_TIMEOUT_S` in ms
 * @param log receives `drain_started`, `drain_timed_out`, `drain_handed_over`, `agent_worker_stopped` and the like
 */
export function drainOnSignals(server: AgentServer, timeoutMs: number, log: Logger): void {
  let draining = false;
  const waitForJobs = async (until: number) => {
    while (server.activeJobs.length > 0 && Date.now() < until) await sleep(200);
    return server.activeJobs.length;
  };
  const onSignal = async (signal: NodeJS.Signals) => {
    if (draining) {
      log.warn("drain_aborted", { signal, reason: "second signal: exiting without waiting for jobs" });
      process.exit(1);
    }
    draining = true;
    log.info("drain_started", { signal, active_jobs: server.activeJobs.length, timeout_s: timeoutMs / 1000 });
    // drain() marks the worker full at once; its own wait can fail early, so we wait on the job list.
    server.drain(timeoutMs).catch((err: unknown) => log.debug("framework_drain_ended_early", { error: err }));
    const left = await waitForJobs(Date.now() + timeoutMs);
    if (left > 0) {
      const processes = childProcessIds();
      log.warn("drain_timed_out", { active_jobs: left, reason: "handing the conversations over" });
      for (const pid of processes) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // it exited meanwhile
        }
      }
      const remaining = await waitForJobs(Date.now() + HAND_OVER_WAIT_MS);
      log.info("drain_handed_over", { jobs: left - remaining, still_running: remaining, signalled: processes.length });
    }
    // Jobs flush agent_left within 5 s of being closed; a job process stuck in the framework's own
    // session close (it waits up to a minute for playout) must not hold the container past its grace.
    const closed = server.close().then(
      () => true,
      (err: unknown) => (log.error("agent_worker_close_failed", { error: err }), true),
    );
    if (!(await Promise.race([closed, sleep(CLOSE_GRACE_MS, false)]))) {
      log.warn("job_processes_close_timed_out", { grace_ms: CLOSE_GRACE_MS });
    }
    log.info("agent_worker_stopped", { reason: "drained" });
    process.exit(0);
  };
  process.on("SIGTERM", (s) => void onSignal(s));
  process.on("SIGINT", (s) => void onSignal(s));
}
