/**
 * Every adaptation of LiveKit Agents in this agent, in one place. They are written for exactly these versions,
 * which package.json pins: {@link FRAMEWORK_PACKAGES} at {@link FRAMEWORK_VERSION}. On any other installed version,
 * test/agent/framework/version.test.ts fails: an upgrade must re-check every module in this folder against the new
 * framework source (node_modules/@livekit/agents/src) and update or delete it.
 *
 * | adaptation | module | applied |
 * | --- | --- | --- |
 * | `defer_idle_refill` | idle-refill.ts | worker main process, by {@link adaptWorker} |
 * | `skip_local_eot_runner` | eot-runner.ts | worker main process, by {@link adaptWorker}, before `new AgentServer` |
 * | `serve_extra_routes` | http-routes.ts | worker main process, by {@link adaptWorker}: `GET /metrics` on the health port |
 * | `listen_to_job_processes` | job-channel.ts | worker main process, by {@link adaptWorker}: job processes' metrics |
 * | `no_remote_session` | remote-session.ts | each job process, by {@link adaptJobProcess}, before the session starts |
 * | `redact_framework_logs` | log-redaction.ts | every process, by {@link redactFrameworkLogs} (agent/main.ts) |
 * | job process warm-up timeout | server-options.ts | `ServerOptions` in agent/main.ts |
 *
 * All but the last reach into framework internals and are written one way (adaptation.ts): a shape check first, and
 * on any other shape one `framework_adaptation_skipped` warning and the framework's own behaviour (except
 * `no_remote_session`: without it a job does not start its session, agent/job.ts).
 *
 * Elsewhere agent/ works around framework behaviour through public API only: agent/drain.ts drains on SIGTERM
 * itself (the CLI's handler gives up while an idle process is still starting); agent/greeting.ts listens to the
 * TTS's `error` event while it synthesizes ahead (an `error` event with no listener would end the job process);
 * agent/pipeline.ts sets `aecWarmupDuration: null` (see there); agent/job.ts turns RoomIO's text input off
 * (`textEnabled: false`) and agent/room-guard.ts refuses the visitor's data streams.
 */
import { InferenceRunner, version, voice } from "@livekit/agents";
import type { Logger } from "../../contract/log.ts";
import { adapt } from "./adaptation.ts";
import { skipLocalEotRunner } from "./eot-runner.ts";
import { loadHttpServer, type RouteHandler, serveExtraRoutes } from "./http-routes.ts";
import { deferIdleRefill, loadProcPool } from "./idle-refill.ts";
import { listenToJobProcesses, loadJobProcExecutor } from "./job-channel.ts";
import { closeRemoteSession } from "./remote-session.ts";

export { adapt, type Adaptation } from "./adaptation.ts";
export { JOB_PROCESS_INITIALIZE_TIMEOUT_MS } from "./server-options.ts";
export { TOPIC_SESSION_MESSAGES } from "./remote-session.ts";
export { redactFrameworkLogs } from "./log-redaction.ts";
export type { RouteHandler } from "./http-routes.ts";

/** The LiveKit Agents version every adaptation here was written for (the three packages share it). */
export const FRAMEWORK_VERSION = "1.9.0";

/** The framework packages whose internals or behaviour the adaptations rely on. */
export const FRAMEWORK_PACKAGES = [
  "@livekit/agents",
  "@livekit/agents-plugin-openai",
  "@livekit/agents-plugin-silero",
] as const;

/** The adaptations of the worker's main process. */
export type WorkerAdaptation =
  "defer_idle_refill" | "skip_local_eot_runner" | "serve_extra_routes" | "listen_to_job_processes";

/** What the worker's main process adds to the framework: routes on its health port, a listener of its jobs. */
export interface WorkerHooks {
  /** Exact paths served on the health port besides the framework's `/` and `/worker`, e.g. `/metrics`. */
  routes: Readonly<Record<string, RouteHandler>>;
  /** Gets every IPC message of every job process (the framework's own included: ignore what is not yours). */
  onJobMessage: (message: unknown) => void;
}

/**
 * Applies the adaptations of the worker's main process: call once, before `new AgentServer(...)`.
 * Never throws; an adaptation whose framework shape differs is skipped with one warning.
 * @param log receives `framework_version_unexpected` (warn) when the installed @livekit/agents is not
 *   {@link FRAMEWORK_VERSION}, `framework_adaptation_skipped` (warn) per skipped adaptation, and
 *   `job_process_refill_deferred` (debug) whenever a refill is deferred
 * @returns per adaptation name, whether it is in place
 */
export async function adaptWorker(log: Logger, hooks: WorkerHooks): Promise<Record<WorkerAdaptation, boolean>> {
  if (version !== FRAMEWORK_VERSION) {
    log.warn("framework_version_unexpected", { installed: version, expected: FRAMEWORK_VERSION });
  }
  return {
    defer_idle_refill: adapt(deferIdleRefill({ log }), await loadProcPool(), log),
    skip_local_eot_runner: adapt(skipLocalEotRunner(), InferenceRunner, log),
    serve_extra_routes: adapt(serveExtraRoutes(hooks.routes), await loadHttpServer(), log),
    listen_to_job_processes: adapt(listenToJobProcesses(hooks.onJobMessage), await loadJobProcExecutor(), log),
  };
}

/**
 * Applies the adaptations of a job process: call in each job before `AgentSession.start` (applying again changes
 * nothing). `no_remote_session` closes a security hole, so the caller must not start the session when this
 * returns false.
 * @param log receives `framework_adaptation_skipped` (warn) when the framework's shape differs
 * @returns whether `no_remote_session` is in place
 */
export function adaptJobProcess(log: Logger): boolean {
  return adapt(closeRemoteSession(), voice.RoomSessionTransport, log);
}
