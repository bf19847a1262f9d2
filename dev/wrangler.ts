/**
 * How this project runs `wrangler dev` (Node only): used by `npm run dev`, the tests' Worker
 * (test/support/wrangler.ts) and the edge benchmark, so that all three start it the same way, with the local D1
 * database migrated first ({@link applyLocalMigrations}).
 *
 * Secrets reach wrangler through a private env file (mode 0600), never the command line (visible in `ps`).
 * Nothing leaves the machine: no telemetry, no fetch of Cloudflare's `cf.json`.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** The wrangler CLI of this project's node_modules (run it with `process.execPath`). */
export const WRANGLER_BIN = join(
  createRequire(import.meta.url).resolve("wrangler/package.json"),
  "..",
  "bin",
  "wrangler.js",
);

/** Environment for the wrangler process: no telemetry and no network look-ups. */
export const WRANGLER_ENV: Record<string, string> = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/**
 * Writes the Worker's variables and secrets as a dotenv file readable only by this user.
 * @param path where to write it (inside a private temporary folder)
 * @param vars variable → value; undefined values are left out
 */
export function writeWorkerEnvFile(path: string, vars: Record<string, string | undefined>): void {
  const lines = Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  writeFileSync(path, lines.join("\n") + "\n", { mode: 0o600 });
}

/** Options of {@link wranglerDevArgs}. */
export interface WranglerDevOptions {
  port: number;
  /** The file written by {@link writeWorkerEnvFile}. */
  envFile: string;
  /** Listen address; default wrangler's own (localhost). */
  ip?: string;
  /** Inspector port; default wrangler's own (9229, so give one when several run at once). */
  inspectorPort?: number;
  /** Folder for local Durable Object and D1 state; default `.wrangler/state`. */
  persistTo?: string;
  /** wrangler's `--log-level`; default its own (log). */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /**
   * Variables given on the command line (`--var NAME:value`), visible in `ps`: for values that are not
   * secret only. It is the one way to set a variable that is neither in wrangler.toml's `[vars]` nor a
   * required secret: with `[secrets]` declared, wrangler dev loads only those names from the env file.
   */
  publicVars?: Record<string, string>;
}

/** The arguments after `process.execPath` that start `wrangler dev` with `options`. */
export function wranglerDevArgs(options: WranglerDevOptions): string[] {
  const args = [
    WRANGLER_BIN,
    "dev",
    "--port",
    String(options.port),
    "--env-file",
    options.envFile,
    "--show-interactive-dev-session=false",
  ];
  if (options.ip) args.push("--ip", options.ip);
  if (options.inspectorPort) args.push("--inspector-port", String(options.inspectorPort));
  if (options.persistTo) args.push("--persist-to", options.persistTo);
  if (options.logLevel) args.push("--log-level", options.logLevel);
  for (const [name, value] of Object.entries(options.publicVars ?? {})) args.push("--var", `${name}:${value}`);
  return args;
}

/** The D1 binding of the tutor's curriculum (wrangler.toml `[[d1_databases]]`, migrations/). */
export const CURRICULUM_BINDING = "CURRICULUM";

/**
 * Applies the D1 migrations (migrations/, wrangler.toml `migrations_dir`) to the local database that `wrangler dev`
 * with the same `persistTo` uses: `wrangler d1 migrations apply CURRICULUM --local`. Already applied ones are skipped,
 * so it is cheap to run before every start.
 * @param persistTo the state folder given to `wrangler dev` (default `.wrangler/state`)
 * @param cwd the project's root (where wrangler.toml is); default the current directory
 * @throws Error with wrangler's output when it fails
 */
export function applyLocalMigrations(persistTo?: string, cwd?: string): void {
  const args = [WRANGLER_BIN, "d1", "migrations", "apply", CURRICULUM_BINDING, "--local"];
  if (persistTo) args.push("--persist-to", persistTo);
  const env = { ...process.env, ...WRANGLER_ENV, CI: "true" };
  const run = spawnSync(process.execPath, args, { env, encoding: "utf8", ...(cwd ? { cwd } : {}) });
  if (run.status !== 0) {
    throw new Error(`wrangler d1 migrations apply failed (${run.status}):\n${run.stdout}${run.stderr}`.trim());
  }
}
