/**
 * The worker's start with bad profiles: the real `node agent/main.ts start` stops before it connects anywhere,
 * with one `agent_profiles_invalid` line naming every problem the loader found (profiles/load.ts).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../../agent/main.ts", import.meta.url));
const ENV = {
  LIVEKIT_URL: "ws://127.0.0.1:9",
  LIVEKIT_API_KEY: "devkey",
  LIVEKIT_API_SECRET: "secret",
  INGEST_URL: "http://127.0.0.1:9",
  AGENT_INGEST_SECRET: "startup-test-ingest-secret-0123456789abcdef",
  OPENAI_API_KEY: "sk-test",
};

/** Runs the worker until it exits (at most 30 s); its exit code and its JSON lines. */
function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [MAIN, "start"], {
    env: { ...process.env, ...ENV, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise<{ code: number | null; lines: Array<Record<string, unknown>> }>((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      const lines = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, lines });
    }),
  );
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("worker start with bad profiles", () => {
  it("stops with every problem named, before connecting to anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "profiles-"));
    dirs.push(dir);
    mkdirSync(join(dir, "assistant"));
    writeFileSync(join(dir, "assistant", "prompt.md"), "Help.\n");
    writeFileSync(
      join(dir, "assistant", "profile.yaml"),
      "display_name: A\ngreeting: Hi.\nvoice: robot\nlanguage: en\nmodel:\n  name: gpt-4o-mini\n",
    );
    mkdirSync(join(dir, "empty"));
    const { code, lines } = await start({ PROFILES_DIR: dir });
    expect(code).toBe(1);
    const invalid = lines.filter((l) => l.msg === "agent_profiles_invalid");
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toMatchObject({ level: "error", profiles_dir: dir });
    const problems = invalid[0]!.problems as string[];
    expect(problems).toEqual([
      expect.stringMatching(/assistant\/profile\.yaml: voice \(line 3\): must be one of alloy, .*verse$/),
      expect.stringMatching(/empty\/: holds neither profile\.yaml nor prompt\.md/),
    ]);
    expect(lines.map((l) => l.msg)).not.toContain("agent_worker_starting");
  });

  it("stops when PROFILES_DIR does not exist", async () => {
    const { code, lines } = await start({ PROFILES_DIR: join(tmpdir(), "no-such-profiles-folder") });
    expect(code).toBe(1);
    expect(lines.find((l) => l.msg === "agent_profiles_invalid")).toMatchObject({
      problems: [expect.stringMatching(/no-such-profiles-folder: cannot read the profiles folder/)],
    });
  });
});
