/**
 * `wrangler dev` with the real Worker and Durable Objects, for tests and benchmarks. Listens on a free
 * port on 127.0.0.1 (and a free inspector port), keeps its state in a temporary folder, and is started
 * the way `npm run dev` starts it (dev/wrangler.ts).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyLocalMigrations, WRANGLER_ENV, wranglerDevArgs, writeWorkerEnvFile } from "../../dev/wrangler.ts";
import { freePort } from "./ports.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A running `wrangler dev`. */
export interface WranglerDev {
  /** e.g. `http://127.0.0.1:41234` */
  origin: string;
  /** The `AGENT_INGEST_SECRET` the Worker was given (to sign ingest batches as the agent would). */
  ingestSecret: string;
  /** Everything wrangler printed (for failure messages). */
  output(): string;
  /** Stops wrangler (SIGTERM, then SIGKILL after 5 s) and deletes its state. */
  close(): Promise<void>;
}

/** Options of {@link startWranglerDev}. */
export interface StartWranglerOptions {
  /** Give up when `/health` does not answer within this long, ms. Default 90 000. */
  timeoutMs?: number;
  /** wrangler's `--log-level`. Default "warn". */
  logLevel?: "info" | "log" | "warn" | "error";
}

/**
 * Starts `wrangler dev` with stand-in LiveKit credentials and fresh random secrets.
 * @param vars Worker variables overriding wrangler.toml's (e.g. `LIVEKIT_URL`, `AGENT_JOIN_TIMEOUT_S`)
 * @throws Error with wrangler's output when `/health` does not answer within the timeout
 */
export async function startWranglerDev(
  vars: Record<string, string>,
  options: StartWranglerOptions = {},
): Promise<WranglerDev> {
  const { timeoutMs = 90_000, logLevel = "warn" } = options;
  const dir = mkdtempSync(join(tmpdir(), "test-wrangler-"));
  const ingestSecret = randomBytes(32).toString("hex");
  const envFile = join(dir, "worker.env");
  writeWorkerEnvFile(envFile, {
    LIVEKIT_API_KEY: "devkey",
    LIVEKIT_API_SECRET: "secret",
    AGENT_INGEST_SECRET: ingestSecret,
    COOKIE_SECRET: randomBytes(32).toString("hex"),
    ...vars,
  });
  const [port, inspectorPort] = [await freePort(), await freePort()];
  applyLocalMigrations(join(dir, "state"), ROOT);
  const child = spawn(
    process.execPath,
    wranglerDevArgs({ port, envFile, ip: "127.0.0.1", inspectorPort, persistTo: join(dir, "state"), logLevel }),
    {
      cwd: ROOT,
      env: { ...process.env, ...WRANGLER_ENV, CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const origin = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`${origin}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { origin, ingestSecret, output: () => out, close };
    if (Date.now() - started > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  await close();
  throw new Error(`wrangler dev did not become ready:\n${out.slice(-3000)}`);
}
