/**
 * `npm run dev`: the whole product on one machine.
 *
 * Builds the page script and the profiles' registry, then starts — each as a child process with prefixed output —
 * the dev LiveKit server (only when LIVEKIT_URL is unset), the local OpenAI-compatible provider (only
 * when OPENAI_API_KEY is unset; the Worker's conversation summaries use it too), the local Deepgram stand-in (only
 * when STT_PROVIDER, TTS_PROVIDER or a profile asks for Deepgram and DEEPGRAM_API_KEY is unset), the local Turnstile stand-in (only with `--turnstile`, which turns the bot
 * check on session start on), `wrangler dev` with the Worker and its Durable Objects, and the agent
 * worker. Every component is configured to find the others; no hand-written `.env` or `.dev.vars` is
 * needed (a `.env` in the project root, when present, supplies real credentials and overrides).
 * Ctrl-C stops everything; a component that dies stops the rest and the run exits non-zero.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
import { count, httpUrl, port, readEnv, requiredString, secret, sessionSettings } from "../contract/config.ts";
import { DEFAULT_RETENTION_DAYS, RETENTION_DAYS_MAX } from "../contract/conversations.ts";
import { LIVE_MINUTES_PER_DAY_DEFAULT } from "../contract/mode.ts";
import { DEFAULT_AGENT_NAME, DEV_PORTS } from "../contract/defaults.ts";
import { SPEECH_PROVIDERS } from "../contract/profile.ts";
import { loadProfiles } from "../profiles/load.ts";
import { DEEPGRAM_DEV_PORT, STAND_IN_DEEPGRAM_KEY } from "./deepgram/server.ts";
import { STAND_IN_OPENAI_KEY } from "./openai/server.ts";
import { STAND_IN_TURNSTILE_KEYS } from "./turnstile/server.ts";
import { httpReady, Supervisor } from "./supervisor.ts";
import { applyLocalMigrations, WRANGLER_ENV, wranglerDevArgs, writeWorkerEnvFile } from "./wrangler.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
const { values: flags } = parseArgs({
  options: {
    // Ignores a developer's .env so that only stand-ins run (the e2e tests use it).
    "no-dotenv": { type: "boolean", default: false },
    // Turns Turnstile on against the local stand-in (dev/turnstile/server.ts).
    turnstile: { type: "boolean", default: false },
  },
});
if (!flags["no-dotenv"] && existsSync(".env")) process.loadEnvFile(".env");
const env = process.env;
// Empty counts as unset, so a test can switch a variable off (for the children too, which inherit env).
for (const [k, v] of Object.entries(env)) if (v === "") delete env[k];

/** What `npm run dev` reads (see .env.example and docs/architecture.md, "Configuration"). */
const DevEnv = z.object({
  WORKER_PORT: port(DEV_PORTS.worker),
  LIVEKIT_DEV_PORT: port(DEV_PORTS.livekit),
  OPENAI_DEV_PORT: port(DEV_PORTS.openai),
  AGENT_HEALTH_PORT: port(DEV_PORTS.agentHealth),
  TURNSTILE_DEV_PORT: port(DEV_PORTS.turnstile),
  HOST_DEV_PORT: port(DEV_PORTS.host),
  /** Unset: the dev LiveKit server runs. */
  LIVEKIT_URL: requiredString()
    .regex(/^wss?:\/\/\S+$/, "must be a ws:// or wss:// URL")
    .optional(),
  LIVEKIT_API_KEY: requiredString().optional(),
  LIVEKIT_API_SECRET: requiredString().optional(),
  /** Unset: the local OpenAI-compatible stand-in runs. */
  OPENAI_API_KEY: requiredString().optional(),
  OPENAI_BASE_URL: httpUrl().optional(),
  /** Deepgram for speech (the agent checks these again, agent/config.ts); default OpenAI. */
  STT_PROVIDER: z.enum(SPEECH_PROVIDERS, { error: "must be openai or deepgram" }).optional(),
  TTS_PROVIDER: z.enum(SPEECH_PROVIDERS, { error: "must be openai or deepgram" }).optional(),
  /** Unset while Deepgram is asked for: the local Deepgram stand-in runs. */
  DEEPGRAM_API_KEY: requiredString().optional(),
  DEEPGRAM_BASE_URL: httpUrl().optional(),
  DEEPGRAM_DEV_PORT: port(DEEPGRAM_DEV_PORT),
  AGENT_NAME: requiredString().default(DEFAULT_AGENT_NAME),
  /** Unset: a fresh random secret per run. Set: at least 32 characters, no .env.example placeholder (as the Worker checks). */
  AGENT_INGEST_SECRET: secret().optional(),
  COOKIE_SECRET: secret().optional(),
  /**
   * Development and tests only: the agent's `INGEST_URL`. Unset: the Worker's URL. The e2e tests point it at a
   * TCP proxy in front of the Worker so that they can cut the agent's ingest alone (test/e2e/stack.ts).
   */
  AGENT_INGEST_URL: httpUrl().optional(),
  /**
   * Development and tests only: where wrangler keeps the local Durable Object and D1 state. Unset: wrangler's
   * own `.wrangler/state` in the project. The e2e stack gives each run its own, so that a test run and a
   * developer's `npm run dev` in the same checkout never share (and lock) one SQLite file.
   */
  DEV_STATE_DIR: requiredString().optional(),
});

/**
 * The Worker's own settings that `npm run dev` passes through when they are set, checked here so that a bad
 * value fails at start rather than as a Worker that never gets healthy (the unset ones keep wrangler.toml's
 * `[vars]`). The Worker checks them again, with `ALLOWED_ORIGINS`' entries.
 */
const WorkerPassThrough = z.object({
  ALLOWED_ORIGINS: z.string().optional(),
  RETENTION_DAYS: count(DEFAULT_RETENTION_DAYS, RETENTION_DAYS_MAX, 0),
  SUMMARY_MODEL: z.string().optional(),
  // Live minutes per visitor per UTC day (1-1440); the Worker checks it again (edge/config.ts).
  LIVE_MINUTES_PER_DAY: count(LIVE_MINUTES_PER_DAY_DEFAULT, 1440),
  ...sessionSettings(),
  // The usage estimate's prices on /history (docs/edge.md, "Usage and latency"); the Worker checks them.
  PRICE_LLM_INPUT_USD_PER_MTOK: z.string().optional(),
  PRICE_LLM_CACHED_INPUT_USD_PER_MTOK: z.string().optional(),
  PRICE_LLM_OUTPUT_USD_PER_MTOK: z.string().optional(),
  PRICE_STT_USD_PER_MINUTE: z.string().optional(),
  PRICE_TTS_USD_PER_MINUTE: z.string().optional(),
  PRICE_TTS_USD_PER_MCHARS: z.string().optional(),
});

const Config = DevEnv.extend(WorkerPassThrough.shape);
let config: z.output<typeof Config>;
try {
  config = readEnv(Config, env, "npm run dev configuration");
} catch (err) {
  console.error(`✖ ${(err as Error).message}`);
  process.exit(1);
}

const WORKER_PORT = config.WORKER_PORT;
const LIVEKIT_PORT = config.LIVEKIT_DEV_PORT;
const AGENT_HEALTH_PORT = config.AGENT_HEALTH_PORT;
/** `AGENT_LOAD_THRESHOLD` of the dev stack's worker unless .env sets one: never full (load is 0-1). */
const DEV_LOAD_THRESHOLD = "2";
const workerUrl = `http://localhost:${WORKER_PORT}`;

const liveKitStandIn = config.LIVEKIT_URL === undefined;
const openAIStandIn = config.OPENAI_API_KEY === undefined;
const liveKit = {
  url: config.LIVEKIT_URL ?? `ws://localhost:${LIVEKIT_PORT}`,
  key: config.LIVEKIT_API_KEY ?? (liveKitStandIn ? "devkey" : undefined),
  secret: config.LIVEKIT_API_SECRET ?? (liveKitStandIn ? "secret" : undefined),
};
for (const [name, value] of [
  ["LIVEKIT_API_KEY", liveKit.key],
  ["LIVEKIT_API_SECRET", liveKit.secret],
]) {
  if (!value) {
    console.error(`✖ LIVEKIT_URL is set but ${name} is not: add it to .env (see .env.example).`);
    process.exit(1);
  }
}
// Real Turnstile keys belong to a deployment: wrangler dev would not even pass the secret on (it loads only
// the secrets wrangler.toml requires), so say so rather than run with the check silently off.
for (const name of ["TURNSTILE_SITE_KEY", "TURNSTILE_SECRET_KEY", "TURNSTILE_ORIGIN"]) {
  if (env[name] !== undefined) {
    console.error(
      `✖ ${name} is set, but npm run dev runs Turnstile only as its local stand-in: remove it from .env and ` +
        'run `npm run dev -- --turnstile` (docs/security.md, "Turnstile").',
    );
    process.exit(1);
  }
}
const turnstileOrigin = flags.turnstile ? `http://127.0.0.1:${config.TURNSTILE_DEV_PORT}` : undefined;
const openAIBaseURL = openAIStandIn ? `http://localhost:${config.OPENAI_DEV_PORT}/v1` : config.OPENAI_BASE_URL;
// The Worker's conversation summaries (docs/edge.md, "Summaries") run against the stand-in only: wrangler dev
// loads from the env file only [vars] and the secrets wrangler.toml requires, so a real OPENAI_API_KEY could reach
// the Worker only on the command line (visible in `ps`). With a real key, summaries are off under npm run dev.
const workerPublicVars: Record<string, string> = {
  ...(turnstileOrigin ? { TURNSTILE_SECRET_KEY: STAND_IN_TURNSTILE_KEYS.secretKey } : {}),
  ...(openAIStandIn ? { OPENAI_API_KEY: STAND_IN_OPENAI_KEY } : {}),
};
// Per-run secrets when none are configured: the Worker and the agent get the same values.
const ingestSecret = config.AGENT_INGEST_SECRET ?? randomBytes(32).toString("hex");
const cookieSecret = config.COOKIE_SECRET ?? randomBytes(32).toString("hex");
const agentName = config.AGENT_NAME;

// Secrets reach wrangler through a private env file, not the command line (visible in `ps`).
const secretsDir = mkdtempSync(join(tmpdir(), "voice-agent-dev-"));
const workerEnvFile = join(secretsDir, "worker.env");
const workerVars: Record<string, string | undefined> = {
  LIVEKIT_URL: liveKit.url,
  LIVEKIT_API_KEY: liveKit.key,
  LIVEKIT_API_SECRET: liveKit.secret,
  AGENT_NAME: agentName,
  AGENT_INGEST_SECRET: ingestSecret,
  COOKIE_SECRET: cookieSecret,
  // In wrangler.toml's [vars], so wrangler dev takes them from the env file; the stand-in's secret is not
  // secret and goes on the command line (dev/wrangler.ts `publicVars`).
  TURNSTILE_SITE_KEY: turnstileOrigin && STAND_IN_TURNSTILE_KEYS.siteKey,
  TURNSTILE_ORIGIN: turnstileOrigin,
  // Summaries: with the OpenAI stand-in only, whose key goes on the command line (workerPublicVars above).
  OPENAI_BASE_URL: openAIStandIn ? openAIBaseURL : undefined,
};
for (const name of Object.keys(WorkerPassThrough.shape) as (keyof typeof WorkerPassThrough.shape)[]) {
  if (env[name] !== undefined) workerVars[name] = String(config[name]);
}
// Live mode runs against the OpenAI stand-in's realtime socket as it would against OpenAI: on unless .env says.
workerVars.ENABLE_VOICE_LIVE_MODE =
  env.ENABLE_VOICE_LIVE_MODE === undefined ? "true" : String(config.ENABLE_VOICE_LIVE_MODE);
// The widget's sample host page (dev/host/server.ts) on another origin, allowed to embed the panel.
const hostOrigin = `http://127.0.0.1:${config.HOST_DEV_PORT}`;
workerVars.ALLOWED_ORIGINS = [config.ALLOWED_ORIGINS, hostOrigin].filter(Boolean).join(",");
writeWorkerEnvFile(workerEnvFile, workerVars);

const node = process.execPath;

/**
 * Whether any session may use Deepgram: the deployment's `STT_PROVIDER`/`TTS_PROVIDER`, or a profile's `providers`
 * (profiles that do not load are reported by the build below, which stops the run).
 */
function deepgramAsked(): boolean {
  if (config.STT_PROVIDER === "deepgram" || config.TTS_PROVIDER === "deepgram") return true;
  try {
    const profiles = [...loadProfiles(env.PROFILES_DIR).values()];
    return profiles.some((p) => p.providers?.stt === "deepgram" || p.providers?.tts === "deepgram");
  } catch {
    return false;
  }
}
const deepgramStandIn = config.DEEPGRAM_API_KEY === undefined && deepgramAsked();
const deepgramBaseURL = deepgramStandIn ? `http://localhost:${config.DEEPGRAM_DEV_PORT}` : config.DEEPGRAM_BASE_URL;
const deepgramInUse = deepgramStandIn || config.DEEPGRAM_API_KEY !== undefined;

function tcpReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "localhost", () => (socket.destroy(), resolve(true)));
    socket.on("error", () => resolve(false));
  });
}

const build = spawnSync(node, ["web/build.ts"], { stdio: "inherit" });
if (build.status !== 0) {
  console.error("✖ building the page script failed (see above)");
  process.exit(1);
}
// The Worker bundles the profiles' registry (profiles/build.ts validates every profile and writes it).
if (spawnSync(node, ["profiles/build.ts"], { stdio: "inherit" }).status !== 0) {
  console.error("✖ a profile is not valid (see above): fix it and start again");
  process.exit(1);
}

const sup = new Supervisor();
void sup.done.then((code) => {
  rmSync(secretsDir, { recursive: true, force: true });
  process.exit(code);
});

try {
  if (liveKitStandIn) {
    await sup.start({
      name: "livekit",
      command: node,
      args: ["dev/livekit/cli.ts", "--port", String(LIVEKIT_PORT), "--webhook", `${workerUrl}/livekit/webhook`],
      url: liveKit.url,
      ready: () => tcpReady(LIVEKIT_PORT),
    });
  }
  if (openAIStandIn) {
    await sup.start({
      name: "openai",
      command: node,
      args: ["dev/openai/cli.ts", "--port", String(config.OPENAI_DEV_PORT)],
      url: openAIBaseURL!,
      ready: () => httpReady(`${openAIBaseURL}/models`),
    });
  }
  if (deepgramStandIn) {
    await sup.start({
      name: "deepgram",
      command: node,
      args: ["dev/deepgram/cli.ts", "--port", String(config.DEEPGRAM_DEV_PORT)],
      url: deepgramBaseURL!,
      ready: () => httpReady(`${deepgramBaseURL}/`),
    });
  }
  if (turnstileOrigin) {
    await sup.start({
      name: "turnstile",
      command: node,
      args: ["dev/turnstile/cli.ts", "--port", String(config.TURNSTILE_DEV_PORT), "--host", "127.0.0.1"],
      url: turnstileOrigin,
      ready: () => tcpReady(config.TURNSTILE_DEV_PORT),
    });
  }
  // The curriculum's local D1 database, migrated and seeded before the Worker starts (skips what is applied).
  applyLocalMigrations(config.DEV_STATE_DIR);
  await sup.start({
    name: "worker",
    command: node,
    args: wranglerDevArgs({
      port: WORKER_PORT,
      envFile: workerEnvFile,
      ...(config.DEV_STATE_DIR ? { persistTo: config.DEV_STATE_DIR } : {}),
      publicVars: workerPublicVars,
    }),
    // No telemetry, and no fetch of Cloudflare's cf.json: nothing leaves the machine.
    env: WRANGLER_ENV,
    url: workerUrl,
    ready: () => httpReady(`${workerUrl}/health`),
    readyTimeoutMs: 90_000,
  });
  await sup.start({
    name: "agent",
    command: node,
    args: ["agent/main.ts", "start"],
    env: {
      LIVEKIT_URL: liveKit.url,
      LIVEKIT_API_KEY: liveKit.key,
      LIVEKIT_API_SECRET: liveKit.secret,
      AGENT_NAME: agentName,
      INGEST_URL: config.AGENT_INGEST_URL ?? workerUrl,
      AGENT_INGEST_SECRET: ingestSecret,
      OPENAI_API_KEY: config.OPENAI_API_KEY ?? STAND_IN_OPENAI_KEY,
      OPENAI_BASE_URL: openAIBaseURL,
      STT_PROVIDER: config.STT_PROVIDER,
      TTS_PROVIDER: config.TTS_PROVIDER,
      DEEPGRAM_API_KEY: config.DEEPGRAM_API_KEY ?? (deepgramStandIn ? STAND_IN_DEEPGRAM_KEY : undefined),
      DEEPGRAM_BASE_URL: deepgramBaseURL,
      AGENT_HEALTH_PORT: String(AGENT_HEALTH_PORT),
      // One machine runs the whole stack and the developer's browser: the CPU the stack takes while it starts (the
      // worker saw load 0.99 over the default 0.7) must not make the first visitor wait for a worker that reports
      // itself full. Above 1 the worker is never full; a value in .env still wins.
      AGENT_LOAD_THRESHOLD: env.AGENT_LOAD_THRESHOLD ?? DEV_LOAD_THRESHOLD,
    },
    url: `http://localhost:${AGENT_HEALTH_PORT}`,
    ready: () => httpReady(`http://localhost:${AGENT_HEALTH_PORT}/`),
    readyTimeoutMs: 120_000,
  });
  await sup.start({
    name: "host",
    command: node,
    args: ["dev/host/cli.ts", "--worker", workerUrl, "--port", String(config.HOST_DEV_PORT), "--host", "127.0.0.1"],
    url: hostOrigin,
    ready: () => httpReady(`${hostOrigin}/`),
  });
} catch (err) {
  console.error(`✖ ${(err as Error).message}`);
  await sup.stop(1);
}

printBanner();

function printBanner(): void {
  const line = (name: string, url: string, note = "") => console.log(`  ${name.padEnd(9)} ${url}${note}`);
  console.log("\nVoice agent is running. Open the page and click Start:\n");
  line("page", `${workerUrl}/chat`);
  line("widget", `${hostOrigin}/`, "   (a sample host page that embeds the widget)");
  line("worker", workerUrl);
  line("livekit", liveKit.url, liveKitStandIn ? "   (local stand-in)" : "");
  line("openai", openAIBaseURL ?? "https://api.openai.com/v1", openAIStandIn ? "   (local stand-in)" : "");
  if (deepgramInUse) {
    const speech = `STT ${config.STT_PROVIDER ?? "openai"}, TTS ${config.TTS_PROVIDER ?? "openai"}`;
    line(
      "deepgram",
      deepgramBaseURL ?? "https://api.deepgram.com",
      `   (${deepgramStandIn ? "local stand-in; " : ""}${speech})`,
    );
  }
  line("agent", `registered as "${agentName}", health http://localhost:${AGENT_HEALTH_PORT}/`);
  line(
    "summaries",
    openAIStandIn ? "on, from the OpenAI stand-in" : "off (a real OPENAI_API_KEY stays out of wrangler dev)",
  );
  if (turnstileOrigin) line("turnstile", turnstileOrigin, "   (local stand-in)");
  if (liveKitStandIn || openAIStandIn || deepgramStandIn || turnstileOrigin) {
    console.log("\n┌─ Stand-ins in use ───────────────────────────────────────────────────────────");
    if (liveKitStandIn) {
      console.log("│ LiveKit: a development server for this machine (audio, data, agent dispatch,");
      console.log("│   webhooks). No video, no TURN, no scaling: use LiveKit Cloud or livekit-server.");
    }
    if (openAIStandIn) {
      console.log("│ OpenAI: offline stand-in. Speech recognition is pocketsphinx (rough), replies are");
      console.log("│   scripted echoes, the voice is espeak-ng, summaries are a deterministic sentence.");
      console.log("│   Set OPENAI_API_KEY in .env for the real thing.");
    }
    if (deepgramStandIn) {
      console.log("│ Deepgram: offline stand-in of its live STT and streaming TTS sockets: pocketsphinx");
      console.log("│   hears (English only), espeak-ng speaks. Set DEEPGRAM_API_KEY in .env for the real thing.");
    }
    if (turnstileOrigin) {
      console.log("│ Turnstile: every visitor passes the stand-in's check; the Worker verifies its tokens");
      console.log("│   as it does Cloudflare's (once, 300 s, action and hostname).");
    }
    console.log("└──────────────────────────────────────────────────────────────────────────────");
  }
  console.log("\nCtrl-C stops everything.\n");
}
