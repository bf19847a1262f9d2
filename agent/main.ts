/**
 * The agent worker: `node agent/main.ts start` (`npm run agent`).
 *
 * Registers with the LiveKit server for explicit dispatch under `AGENT_NAME`, serves the health
 * endpoint on `AGENT_HEALTH_PORT` (`GET /` → 200 when connected to LiveKit, else 503; `GET /worker`
 * → JSON), and runs each job in a child process (LiveKit Agents `ProcPool`) whose `prewarm` loads
 * Silero once per process.
 *
 * SIGTERM/SIGINT drain (drain.ts): no new jobs, running jobs get up to `DRAIN_TIMEOUT_S`, then they
 * are closed (each flushes `agent_left`) and the process exits. The framework's own CLI handler is not
 * used because its `drain()` gives up at once while an idle process is still starting
 * ("runner not started", @livekit/agents 1.9.0 `worker.ts`).
 */
import { AgentServer, defineAgent, InferenceRunner, initializeLogger, type JobContext, type JobProcess, ServerOptions, type VAD } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { fileURLToPath } from "node:url";
import { type AgentConfig, ConfigError, readConfig } from "./config.ts";
import { drainOnSignals } from "./drain.ts";
import { deferIdleRefill } from "./idle-refill.ts";
import { runJob } from "./job.ts";
import { createLogger } from "./log.ts";

const log = createLogger({ component: "agent" });
/** `EOT_INFERENCE_METHOD` of @livekit/agents 1.9.0 (`inference/eot/runner.ts`; not exported). */
const EOT_INFERENCE_METHOD = "lk_eot_audio";

function configOrExit(): AgentConfig {
  try {
    return readConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error(err.message);
    process.exit(1);
  }
}

export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    proc.userData.vad = await silero.VAD.load();
  },
  entry: async (ctx: JobContext) => {
    await runJob(ctx, configOrExit(), ctx.proc.userData.vad as VAD, log);
  },
});

async function start(): Promise<void> {
  const cfg = configOrExit();
  initializeLogger({ pretty: false, level: process.env.LOG_LEVEL ?? "info" });
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
      // After the drain deadline a job gets this long to close (its agent_left flush takes at most 5 s).
      shutdownProcessTimeout: 15_000,
      production: true,
    }),
  );
  // The framework registers its local audio end-of-turn model whenever the native binding loads, and runs
  // it in a shared inference process (≈ 340 MB RSS). This agent detects turns with the VAD and never asks
  // it; the executor reads the runner list when it starts, in run(). (@livekit/agents 1.9.0 worker.ts)
  delete InferenceRunner.registeredRunners[EOT_INFERENCE_METHOD];
  await deferIdleRefill(log);
  drainOnSignals(server, cfg.drainTimeoutS * 1000, log);
  log.info("agent worker starting", { agent_name: cfg.agentName, livekit_url: cfg.livekitUrl, health_port: cfg.healthPort, openai_base_url: cfg.openaiBaseUrl });
  try {
    await server.run();
  } catch (err) {
    log.error("agent worker stopped: cannot stay connected to LiveKit", { error: err });
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
