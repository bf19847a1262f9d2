/**
 * `npm run dev`: the whole product on one machine.
 *
 * Builds the page script, then starts — each as a child process with prefixed output —
 * the dev LiveKit server (only when LIVEKIT_URL is unset), the local OpenAI-compatible provider (only
 * when OPENAI_API_KEY is unset), `wrangler dev` with the Worker and its Durable Objects, and the agent
 * worker. Every component is configured to find the others; no hand-written `.env` or `.dev.vars` is
 * needed (a `.env` in the project root, when present, supplies real credentials and overrides).
 * Ctrl-C stops everything; a component that dies stops the rest and the run exits non-zero.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { httpReady, Supervisor } from "./supervisor.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
process.chdir(root);
// `--no-dotenv` (used by the e2e tests) ignores a developer's .env so that only stand-ins run.
if (!process.argv.includes("--no-dotenv") && existsSync(".env")) process.loadEnvFile(".env");
const env = process.env;

const WORKER_PORT = Number(env.WORKER_PORT ?? 8787);
const LIVEKIT_PORT = Number(env.LIVEKIT_DEV_PORT ?? 7880);
const OPENAI_PORT = Number(env.OPENAI_DEV_PORT ?? 8788);
const AGENT_HEALTH_PORT = env.AGENT_HEALTH_PORT ?? "8081";
const workerUrl = `http://localhost:${WORKER_PORT}`;

// Empty counts as unset, so a test can switch a variable off.
for (const [k, v] of Object.entries(env)) if (v === "") delete env[k];
const liveKitStandIn = !env.LIVEKIT_URL;
const openAIStandIn = !env.OPENAI_API_KEY;
const liveKit = {
  url: env.LIVEKIT_URL ?? `ws://localhost:${LIVEKIT_PORT}`,
  key: env.LIVEKIT_API_KEY ?? (liveKitStandIn ? "devkey" : undefined),
  secret: env.LIVEKIT_API_SECRET ?? (liveKitStandIn ? "secret" : undefined),
};
for (const [name, value] of [["LIVEKIT_API_KEY", liveKit.key], ["LIVEKIT_API_SECRET", liveKit.secret]]) {
  if (!value) {
    console.error(`✖ LIVEKIT_URL is set but ${name} is not: add it to .env (see .env.example).`);
    process.exit(1);
  }
}
const openAIBaseURL = openAIStandIn ? `http://localhost:${OPENAI_PORT}/v1` : env.OPENAI_BASE_URL;
// Per-run secrets when none are configured: the Worker and the agent get the same values.
const ingestSecret = env.AGENT_INGEST_SECRET ?? randomBytes(32).toString("hex");
const cookieSecret = env.COOKIE_SECRET ?? randomBytes(32).toString("hex");
const agentName = env.AGENT_NAME ?? "voice-agent";

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
};
for (const name of [
  "ALLOWED_ORIGINS",
  "ALLOW_CLIENT_SYSTEM_PROMPT",
  "MAX_SESSION_S",
  "CLIENT_GRACE_S",
  "AGENT_LEASE_S",
  "AGENT_JOIN_TIMEOUT_S",
  "ROOM_CLAIM_TTL_S",
  "MAX_ACTIVE_SESSIONS_PER_VISITOR",
]) {
  if (env[name] !== undefined) workerVars[name] = env[name];
}
writeFileSync(
  workerEnvFile,
  Object.entries(workerVars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join("\n") + "\n",
  { mode: 0o600 },
);

const node = process.execPath;
const wranglerBin = join(createRequire(import.meta.url).resolve("wrangler/package.json"), "..", "bin", "wrangler.js");

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
      args: ["dev/openai/cli.ts", "--port", String(OPENAI_PORT)],
      url: openAIBaseURL!,
      ready: () => httpReady(`${openAIBaseURL}/models`),
    });
  }
  await sup.start({
    name: "worker",
    command: node,
    args: [wranglerBin, "dev", "--port", String(WORKER_PORT), "--env-file", workerEnvFile, "--show-interactive-dev-session=false"],
    // No telemetry, and no fetch of Cloudflare's cf.json: nothing leaves the machine.
    env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
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
      INGEST_URL: workerUrl,
      AGENT_INGEST_SECRET: ingestSecret,
      OPENAI_API_KEY: env.OPENAI_API_KEY ?? "sk-local-stand-in",
      OPENAI_BASE_URL: openAIBaseURL,
      AGENT_HEALTH_PORT,
    },
    url: `http://localhost:${AGENT_HEALTH_PORT}`,
    ready: () => httpReady(`http://localhost:${AGENT_HEALTH_PORT}/`),
    readyTimeoutMs: 120_000,
  });
} catch (err) {
  console.error(`✖ ${(err as Error).message}`);
  await sup.stop(1);
}

printBanner();

function printBanner(): void {
  const line = (name: string, url: string, note = "") => console.log(`  ${name.padEnd(8)} ${url}${note}`);
  console.log("\nVoice agent is running. Open the page and click Start:\n");
  line("page", `${workerUrl}/chat`);
  line("worker", workerUrl);
  line("livekit", liveKit.url, liveKitStandIn ? "   (local stand-in)" : "");
  line("openai", openAIBaseURL ?? "https://api.openai.com/v1", openAIStandIn ? "   (local stand-in)" : "");
  line("agent", `registered as "${agentName}", health http://localhost:${AGENT_HEALTH_PORT}/`);
  if (liveKitStandIn || openAIStandIn) {
    console.log("\n┌─ Stand-ins in use ───────────────────────────────────────────────────────────");
    if (liveKitStandIn) {
      console.log("│ LiveKit: a development server for this machine (audio, data, agent dispatch,");
      console.log("│   webhooks). No video, no TURN, no scaling: use LiveKit Cloud or livekit-server.");
    }
    if (openAIStandIn) {
      console.log("│ OpenAI: offline stand-in. Speech recognition is pocketsphinx (rough), replies are");
      console.log("│   scripted echoes, the voice is espeak-ng. Set OPENAI_API_KEY in .env for the real thing.");
    }
    console.log("└──────────────────────────────────────────────────────────────────────────────");
  }
  console.log("\nCtrl-C stops everything.\n");
}
