/**
 * `wrangler dev` with the real Worker and Durable Objects, for page tests. Listens on a free port on
 * 127.0.0.1 (and a free inspector port); secrets go through a private env file (as dev/run.ts does).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./browser.ts";

export interface WranglerDev {
  origin: string;
  /** The `AGENT_INGEST_SECRET` the Worker was given (to sign ingest batches as the agent would). */
  ingestSecret: string;
  /** Everything wrangler printed (for failure messages). */
  output(): string;
  close(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (closed again before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev`.
 * @param vars Worker variables overriding wrangler.toml's (e.g. `LIVEKIT_URL`, `AGENT_JOIN_TIMEOUT_S`)
 * @throws Error with wrangler's output when `/health` does not answer within `timeoutMs`
 */
export async function startWranglerDev(vars: Record<string, string>, timeoutMs = 90_000): Promise<WranglerDev> {
  const dir = mkdtempSync(join(tmpdir(), "web-wrangler-"));
  const ingestSecret = randomBytes(32).toString("hex");
  const envFile = join(dir, "worker.env");
  const all = {
    LIVEKIT_API_KEY: "devkey",
    LIVEKIT_API_SECRET: "secret",
    AGENT_INGEST_SECRET: ingestSecret,
    COOKIE_SECRET: randomBytes(32).toString("hex"),
    ...vars,
  };
  writeFileSync(envFile, Object.entries(all).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("\n") + "\n", { mode: 0o600 });
  const [port, inspector] = [await freePort(), await freePort()];
  const wrangler = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const child: ChildProcess = spawn(
    process.execPath,
    [wrangler, "dev", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspector), "--env-file", envFile,
      "--persist-to", join(dir, "state"), "--show-interactive-dev-session=false", "--log-level", "warn"],
    { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, stdio: ["ignore", "pipe", "pipe"] },
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
    const ok = await fetch(`${origin}/health`).then((r) => r.ok, () => false);
    if (ok) return { origin, ingestSecret, output: () => out, close };
    if (Date.now() - started > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  await close();
  throw new Error(`wrangler dev did not become ready:\n${out.slice(-3000)}`);
}
