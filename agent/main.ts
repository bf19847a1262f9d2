/**
 * The agent worker: `node agent/main.ts start` (`npm run agent`).
 *
 * Registers with the LiveKit server for explicit dispatch under `AGENT_NAME`, serves the health
 * endpoint on `AGENT_HEALTH_PORT` (`GET /` → 200 when connected to LiveKit, else 503; `GET /worker`
 * → JSON; `GET /metrics` → Prometheus metrics, agent/metrics.ts), and runs each job in a child process
 * (LiveKit Agents `ProcPool`) whose `prewarm` loads Silero and the profiles once per process. The framework adaptations (agent/framework/) are applied before the
 * server is built.
 *
 * Start-up stops (exit 1) on a configuration error (`agent_config_invalid`) and on a bad profile in `PROFILES_DIR`
 * (`agent_profiles_invalid`, with every problem the loader found: file, path inside it, line, what is wrong).
 *
 * SIGTERM/SIGINT drain (drain.ts): no new jobs, running jobs finish (by default `DRAIN_TIMEOUT_S` outlasts the
 * longest session); those still running at the deadline hand their conversation over (`agent_left` "worker
 * draining", and the session dispatches a replacement with the history), then the process exits. The framework's
 * own CLI handler is not used because its `drain()` gives up at once while an idle process is still starting
 * ("runner not started", @livekit/agents 1.9.0 `worker.ts`).
 *
 * This module is also what every job process loads (the framework imports it for `prewarm` and `entry`), so its
 * top level runs there too: the logger and the fault handlers (process-faults.ts: an unhandled rejection is
 * logged, not fatal; an uncaught exception is logged, then fatal as usual) are in place in every process.
 *
 * Every line this agent logs has the shape of contract/log.ts (component `agent`) on stdout; the framework's
 * own lines (pino JSON, numeric `level`) are interleaved with them, without their conversation content unless
 * `LOG_TRANSCRIPT_TEXT=true` at `LOG_LEVEL=debug` (agent/framework/log-redaction.ts, applied at the top of this module
 * in every process). See docs/architecture.md, "Logging", and docs/agent.md, "Logs".
 */
import {
  AgentServer,
  defineAgent,
  initializeLogger,
  type JobContext,
  type JobProcess,
  ServerOptions,
  type VAD,
} from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../contract/config.ts";
import { createLogger } from "../contract/log.ts";
import { loadProfiles, ProfileError } from "../profiles/load.ts";
import { type AgentConfig, obsoleteVariables, readAgentConfig, readLogSettings } from "./config.ts";
import { drainOnSignals } from "./drain.ts";
import { adapt, adaptWorker, JOB_PROCESS_INITIALIZE_TIMEOUT_MS, redactFrameworkLogs } from "./framework/index.ts";
import { runJob } from "./job.ts";
import { checkProfiles, type Profiles } from "./job-settings.ts";
import { WorkerMetrics } from "./metrics.ts";
import { profileProviderFallbacks } from "./pipeline.ts";
import { logProcessFaults } from "./process-faults.ts";

const logSettings = readLogSettings();
const logLevel = logSettings.level;
const log = createLogger({ component: "agent", level: logLevel, write: (line) => process.stdout.write(line + "\n") });
logProcessFaults(log);
// Before the framework's logger exists (in a job process too, which loads this module first): its lines lose their
// conversation content unless LOG_TRANSCRIPT_TEXT=true at debug (agent/framework/log-redaction.ts).
if (!logSettings.transcriptText) adapt(redactFrameworkLogs(), globalThis, log);

function configOrExit(): AgentConfig {
  try {
    return readAgentConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error("agent_config_invalid", { error: err });
    process.exit(1);
  }
}

let profiles: Profiles | undefined;

/** The profiles of `PROFILES_DIR`, loaded and checked once per process; a bad one logs every problem and exits 1. */
function profilesOrExit(cfg: AgentConfig): Profiles {
  if (profiles) return profiles;
  try {
    const loaded = loadProfiles(cfg.profilesDir);
    checkProfiles(loaded);
    return (profiles = loaded);
  } catch (err) {
    const problems = err instanceof ProfileError ? err.message.split("\n") : [(err as Error).message];
    log.error("agent_profiles_invalid", { profiles_dir: cfg.profilesDir, problems });
    process.exit(1);
  }
}

export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    profilesOrExit(configOrExit()); // off the job's path; the worker checked them at start
    proc.userData.vad = await silero.VAD.load();
  },
  entry: async (ctx: JobContext) => {
    const cfg = configOrExit();
    await runJob(ctx, cfg, ctx.proc.userData.vad as VAD, log, profilesOrExit(cfg));
  },
});

async function start(): Promise<void> {
  const cfg = configOrExit();
  const loaded = profilesOrExit(cfg);
  const obsolete = obsoleteVariables();
  if (obsolete.length > 0) {
    log.warn("agent_config_obsolete", { variables: obsolete, use: "the profile's prompt.md and profile.yaml" });
  }
  initializeLogger({ pretty: false, level: logLevel });
  // Read at scrape time, once the server below serves the health port.
  const metrics = new WorkerMetrics(() => server.activeJobs.length);
  await adaptWorker(log, {
    routes: { "/metrics": (req, res) => metrics.serve(req, res) },
    onJobMessage: (message) => metrics.receive(message),
  });
  const server = new AgentServer(
    new ServerOptions({
      agent: fileURLToPath(import.meta.url),
      agentName: cfg.agentName,
      wsURL: cfg.livekitUrl,
      apiKey: cfg.livekitApiKey,
      apiSecret: cfg.livekitApiSecret,
      port: cfg.healthPort,
      drainTimeout: cfg.drainTimeoutS * 1000,
      loadThreshold: cfg.loadThreshold,
      // A warm-up slowed past the framework's 10 s by a busy CPU is not killed (agent/framework/server-options.ts).
      initializeProcessTimeout: JOB_PROCESS_INITIALIZE_TIMEOUT_MS,
      // After the drain deadline a job gets this long to close (its agent_left flush takes at most 5 s).
      shutdownProcessTimeout: 15_000,
      production: true,
    }),
  );
  drainOnSignals(server, cfg.drainTimeoutS * 1000, log);
  if (logSettings.transcriptText) log.warn("transcript_text_logged", { log_level: logLevel });
  if (logSettings.transcriptTextIgnored) log.warn("log_transcript_text_ignored", { log_level: logLevel });
  log.info("agent_worker_starting", {
    agent_name: cfg.agentName,
    livekit_url: cfg.livekitUrl,
    health_port: cfg.healthPort,
    openai_base_url: cfg.openaiBaseUrl,
    profiles_dir: cfg.profilesDir,
    profiles: [...loaded.keys()],
  });
  for (const fallback of profileProviderFallbacks(cfg, loaded.values())) log.warn("provider_fallback", { ...fallback });
  try {
    await server.run();
  } catch (err) {
    log.error("agent_worker_stopped", { reason: "cannot stay connected to LiveKit", error: err });
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command !== "start") {
    console.error("usage: node agent/main.ts start   (configuration from the environment; see .env.example)");
    process.exit(2);
  }
  await start();
}
