/**
 * Graceful shutdown of the worker process on SIGTERM (container stop, deploy) and SIGINT (Ctrl-C).
 */
import type { AgentServer } from "@livekit/agents";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../contract/log.ts";

/** Longest wait for job processes to close after the drain deadline, in ms. */
const CLOSE_GRACE_MS = 10_000;

/**
 * Drains and exits on the first SIGTERM or SIGINT: the worker tells LiveKit it is full and refuses new
 * jobs, running jobs may finish for up to `timeoutMs`, then every job is closed (its shutdown
 * callbacks flush `agent_left`) and the process exits with 0 at most 10 s later. A second signal exits
 * at once (1). Give the container a stop grace of at least `DRAIN_TIMEOUT_S` + 15 s.
 * @param server the running `AgentServer`
 * @param timeoutMs `DRAIN_TIMEOUT_S` in ms
 * @param log receives `drain_started`, `drain_timed_out`, `agent_worker_stopped` and the like
 */
export function drainOnSignals(server: AgentServer, timeoutMs: number, log: Logger): void {
  let draining = false;
  const onSignal = async (signal: NodeJS.Signals) => {
    if (draining) {
      log.warn("drain_aborted", { signal, reason: "second signal: exiting without waiting for jobs" });
      process.exit(1);
    }
    draining = true;
    const deadline = Date.now() + timeoutMs;
    log.info("drain_started", { signal, active_jobs: server.activeJobs.length, timeout_s: timeoutMs / 1000 });
    // drain() marks the worker full at once; its own wait can fail early, so we wait on the job list.
    server.drain(timeoutMs).catch((err: unknown) => log.debug("framework_drain_ended_early", { error: err }));
    while (server.activeJobs.length > 0 && Date.now() < deadline) await sleep(200);
    const left = server.activeJobs.length;
    if (left > 0) log.warn("drain_timed_out", { active_jobs: left, reason: "closing running jobs" });
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
