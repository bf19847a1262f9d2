/**
 * Faults nobody caught, in a real Node process (agent/process-faults.ts): an unhandled rejection is logged and the
 * process goes on; an uncaught exception is logged and the process still exits with 1. agent/main.ts installs the
 * handlers at its top level, which every job process runs too (the framework imports main.ts there).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const url = (path: string) => new URL(path, import.meta.url).href;

/** Runs an ES module script with this Node; resolves its exit code and output. */
function run(script: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, ...env },
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string; lines: Array<Record<string, unknown>> }>(
    (resolve) =>
      child.on("exit", (code) => {
        const lines = stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({ code, stdout, stderr, lines });
      }),
  );
}

describe("process faults", () => {
  it("logs an unhandled rejection and goes on; logs an uncaught exception and exits 1 as before", async () => {
    const { code, stdout, stderr, lines } = await run(`
      const { logProcessFaults } = await import(${JSON.stringify(url("../../agent/process-faults.ts"))});
      const { createLogger } = await import(${JSON.stringify(url("../../contract/log.ts"))});
      const log = createLogger({ component: "agent", write: (l) => process.stdout.write(l + "\\n") });
      logProcessFaults(log);
      logProcessFaults(log); // a second call installs nothing more
      Promise.reject(new Error("stray rejection"));
      setTimeout(() => {
        console.log("still alive");
        throw new TypeError("bad state");
      }, 100);
    `);
    expect(lines.filter((l) => l.msg === "unhandled_rejection")).toEqual([
      expect.objectContaining({ level: "error", error: "Error: stray rejection", pid: expect.any(Number) }),
    ]);
    expect(stdout).toContain("still alive");
    expect(lines.filter((l) => l.msg === "uncaught_exception")).toEqual([
      expect.objectContaining({ level: "error", error: "TypeError: bad state", origin: "uncaughtException" }),
    ]);
    expect(stderr).toContain("TypeError: bad state"); // Node's own report, then its exit code
    expect(code).toBe(1);
  });

  it("is installed by agent/main.ts in whatever process loads it (the worker and every job process)", async () => {
    const { code, stdout, lines } = await run(
      `
      await import(${JSON.stringify(url("../../agent/main.ts"))});
      Promise.reject(new Error("stray rejection in a job"));
      setTimeout(() => console.log("still alive"), 100);
    `,
      { LOG_LEVEL: "info" },
    );
    expect(lines.filter((l) => l.msg === "unhandled_rejection")).toEqual([
      expect.objectContaining({ component: "agent", error: "Error: stray rejection in a job" }),
    ]);
    expect(stdout).toContain("still alive");
    expect(code).toBe(0);
  }, 30_000);
});
