/**
 * vitest globalSetup for the e2e project (and the stack of bench/voice.bench.ts): runs the README's main
 * command (`dev/run.ts`, what `npm run dev` runs) once, inside the test's network namespace, with every
 * stand-in (dev LiveKit, local OpenAI-compatible provider) and a short client grace period, and tears it
 * down at the end.
 * Its output goes to a log file whose path tests receive (`inject("stackLog")`), so they can look for
 * the agent's and the Worker's log lines.
 *
 * The agent's ingest (its `INGEST_URL`, through `AGENT_INGEST_URL` of dev/run.ts) goes through a TCP proxy
 * in front of the Worker (test/support/tcp-proxy.ts) that this setup runs, so that a fault test can cut the
 * agent off the Worker and nothing else: tests get its control URL (`inject("ingestProxyControl")`), and its
 * log lines appear in the stack log as `[ingest-proxy]`.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { DEV_PORTS } from "../../contract/defaults.ts";
import { createLogger } from "../../contract/log.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait.ts";

declare module "vitest" {
  export interface ProvidedContext {
    workerUrl: string;
    liveKitUrl: string;
    stackLog: string;
    stackDir: string;
    /** Control endpoint of the TCP proxy between the agent and the Worker (test/support/tcp-proxy.ts). */
    ingestProxyControl: string;
    /** The run's random ingest and cookie secrets (test/e2e/privacy.test.ts looks for them in the log). */
    stackSecrets: StackSecrets;
  }
}

/** Seconds a session may go without a browser socket in the e2e stack (the production default is 30). */
export const E2E_CLIENT_GRACE_S = 5;
const STARTUP_TIMEOUT_MS = 240_000;

/** Secrets the stack runs with, random per run (`AGENT_INGEST_SECRET`, `COOKIE_SECRET` of dev/run.ts). */
export interface StackSecrets {
  ingestSecret: string;
  cookieSecret: string;
}

/** The running stack: its URLs, its log, and how to stop it. */
export interface Stack {
  workerUrl: string;
  liveKitUrl: string;
  /** Every component's output, one line each, prefixed with the component (`[agent]`, `[livekit]`, …). */
  logPath: string;
  /** A scratch directory for the run (recordings, the log). */
  dir: string;
  secrets: StackSecrets;
  /** Appends one line to the log as `[component] line`, like the stack's own components. */
  appendLog(component: string, line: string): void;
  /** Signals the whole process group (SIGINT, then SIGKILL after 20 s) and waits for it. */
  stop(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** The agent's ingest URL (`AGENT_INGEST_URL`); default the Worker's URL. */
  agentIngestUrl?: string;
  /**
   * The local OpenAI-compatible provider's mode (`OPENAI_STAND_IN_MODE`): `engines` (default: pocketsphinx and
   * espeak-ng) or `instant` (known recordings by fingerprint, a buzz for speech: benchmarks of this project's share).
   */
  providerMode?: "engines" | "instant";
}

/**
 * Runs `dev/run.ts --no-dotenv --turnstile` (what `npm run dev -- --turnstile` runs) in its own process group
 * with every stand-in,
 * and waits until it prints its ready banner.
 * @throws Error with the log's tail when it exits early or is not ready within 240 s
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "e2e-stack-"));
  const logPath = join(dir, "stack.log");
  const log = createWriteStream(logPath);
  const secrets = { ingestSecret: randomBytes(32).toString("hex"), cookieSecret: randomBytes(32).toString("hex") };
  // With Turnstile on against its local stand-in, as a hardened deployment runs: every visit in the e2e tests
  // passes the bot check the way a real page does.
  const child = spawn(process.execPath, ["dev/run.ts", "--no-dotenv", "--turnstile"], {
    cwd: join(import.meta.dirname, "..", ".."),
    env: {
      ...process.env,
      LIVEKIT_URL: "",
      OPENAI_API_KEY: "",
      CLIENT_GRACE_S: String(E2E_CLIENT_GRACE_S),
      // Chromium, workerd and the agent share two CI cores: never let the agent report itself full.
      AGENT_LOAD_THRESHOLD: "100",
      WRANGLER_SEND_METRICS: "false",
      AGENT_INGEST_URL: options.agentIngestUrl ?? "",
      AGENT_INGEST_SECRET: secrets.ingestSecret,
      // Its own Durable Object state, not the checkout's .wrangler/state that `npm run dev` uses.
      DEV_STATE_DIR: join(dir, "wrangler-state"),
      COOKIE_SECRET: secrets.cookieSecret,
      OPENAI_STAND_IN_MODE: options.providerMode ?? "engines",
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: teardown signals the whole group, as Ctrl-C in a terminal does, so that no
    // grandchild (workerd, agent job processes) outlives the run.
    detached: true,
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });

  const started = Date.now();
  // The log file appears once the write stream has opened it.
  const output = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  const banner = () => {
    if (child.exitCode !== null) throw new Error("npm run dev exited early");
    return output().includes("Voice agent is running");
  };
  try {
    await waitFor("npm run dev's ready banner", banner, { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 500 });
  } catch (err) {
    signalGroup("SIGKILL");
    throw new Error(`${(err as Error).message}:\n${output().slice(-4000)}`, { cause: err });
  }
  console.log(`[e2e] stack ready in ${Date.now() - started} ms (log: ${logPath})`);
  return {
    workerUrl: `http://localhost:${DEV_PORTS.worker}`,
    liveKitUrl: `ws://localhost:${DEV_PORTS.livekit}`,
    logPath,
    dir,
    secrets,
    appendLog: (component, line) => void log.write(`[${component}] ${line}\n`),
    stop: async () => {
      const exited = new Promise((r) => child.once("exit", r));
      signalGroup("SIGINT");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
      signalGroup("SIGKILL");
      child.stdout.destroy();
      child.stderr.destroy();
      log.end();
    },
  };
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  if (!process.env.NETNS_ADDR) {
    if (process.env.CI === "true") throw new Error("e2e tests must run inside the network namespace (npm test)");
    return; // the tests skip themselves
  }
  // The proxy starts first (the agent's URL must name its port); its lines wait for the stack's log.
  let writeLog: (line: string) => void;
  const early: string[] = [];
  writeLog = (line) => early.push(line);
  const proxy = await startTcpProxy({
    upstreamHost: "localhost",
    upstreamPort: DEV_PORTS.worker,
    log: createLogger({ component: "ingest-proxy", write: (line) => writeLog(line) }),
  });
  let stack: Stack;
  try {
    stack = await startStack({ agentIngestUrl: `http://127.0.0.1:${proxy.port}` });
  } catch (err) {
    await proxy.close();
    throw err;
  }
  writeLog = (line) => stack.appendLog("ingest-proxy", line);
  early.splice(0).forEach((line) => writeLog(line));
  project.provide("workerUrl", stack.workerUrl);
  project.provide("liveKitUrl", stack.liveKitUrl);
  project.provide("stackLog", stack.logPath);
  project.provide("stackDir", stack.dir);
  project.provide("ingestProxyControl", proxy.controlUrl);
  project.provide("stackSecrets", stack.secrets);
  return async () => {
    await stack.stop();
    await proxy.close();
  };
}
