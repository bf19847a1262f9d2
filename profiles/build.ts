/**
 * Builds the profile registry the Worker bundles: loads and checks every profile (profiles/load.ts) and writes
 * `profiles/dist/registry.json`, a {@link ProfileRegistry} (every profile's `profile.yaml`, without its prompt,
 * which only the agent needs). See docs/profiles.md.
 *
 * Usage: `node profiles/build.ts [--out <file>] [--dir <profiles folder>]` (`npm run build:profiles`; defaults:
 * {@link REGISTRY_PATH} and the repository's `profiles/`). On a bad profile it prints
 * `✖ <problems>` and exits 1, writing nothing.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ProfileRegistry } from "../contract/profile.ts";
import { loadProfiles, PROFILES_DIR, ProfileError } from "./load.ts";

/** Where the build writes the registry by default: `profiles/dist/registry.json` (gitignored). */
export const REGISTRY_PATH = join(PROFILES_DIR, "dist", "registry.json");

/**
 * Loads and checks the profiles of `dir` and returns the registry: every profile's file (defaults applied,
 * e.g. `intents: []`) by id, in id order, without prompts.
 * @param dir the profiles folder (default: the repository's `profiles/`)
 * @throws ProfileError listing every problem, when a profile is bad
 */
export function buildRegistry(dir: string = PROFILES_DIR): ProfileRegistry {
  const profiles: ProfileRegistry["profiles"] = {};
  for (const [id, profile] of [...loadProfiles(dir)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { id: _id, prompt: _prompt, ...file } = profile;
    profiles[id] = file;
  }
  // Parsing again guards the output against a loader that let something through.
  return ProfileRegistry.parse({ profiles });
}

/**
 * {@link buildRegistry}, written as JSON (2-space indent, newline-terminated) to `out` atomically: to a temporary
 * file beside it, then renamed, so that a reader (wrangler's bundler) never sees half a file. Creates `out`'s folder.
 * @param options.dir the profiles folder (default: the repository's `profiles/`)
 * @param options.out the file to write (default: {@link REGISTRY_PATH})
 * @returns the written path and the registry
 * @throws ProfileError when a profile is bad (nothing is written); file system errors as thrown by node:fs
 */
export function writeRegistry(options: { dir?: string; out?: string } = {}): {
  path: string;
  registry: ProfileRegistry;
} {
  const registry = buildRegistry(options.dir);
  const path = resolve(options.out ?? REGISTRY_PATH);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(registry, null, 2)}\n`);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  return { path, registry };
}

const USAGE = "usage: node profiles/build.ts [--out <file>] [--dir <profiles folder>]";

/** The CLI: `node profiles/build.ts [--out <file>] [--dir <profiles folder>]`; returns the exit code. */
function main(argv: string[]): number {
  const options: { out?: string; dir?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--(out|dir)(?:=(.*))?$/.exec(argv[i] ?? "");
    const value = match?.[2] ?? (match ? argv[++i] : undefined);
    if (!match || !value) {
      console.error(`✖ bad argument ${JSON.stringify(argv[i] ?? argv[i - 1])}; ${USAGE}`);
      return 2;
    }
    options[match[1] as "out" | "dir"] = value;
  }
  try {
    const { path, registry } = writeRegistry(options);
    const ids = Object.keys(registry.profiles);
    console.log(`✔ ${ids.length} profiles (${ids.join(", ")}) → ${path}`);
    return 0;
  } catch (err) {
    if (err instanceof ProfileError) {
      console.error(`✖ ${err.message}`);
      return 1;
    }
    throw err;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
