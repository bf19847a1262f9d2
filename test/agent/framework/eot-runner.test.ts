/**
 * `skip_local_eot_runner` (agent/framework/eot-runner.ts) against the installed framework: its real
 * `InferenceRunner`, `AgentServer` and `InferenceProcExecutor` (the class that decides whether an inference process
 * is started). Also `adaptWorker`, which applies it in the worker's main process.
 */
import { AgentServer, InferenceRunner, initializeLogger, ServerOptions } from "@livekit/agents";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { adapt } from "../../../agent/framework/adaptation.ts";
import { EOT_INFERENCE_METHOD, skipLocalEotRunner } from "../../../agent/framework/eot-runner.ts";
import { adaptWorker } from "../../../agent/framework/index.ts";
import { collectingLogger, skipped } from "./log-lines.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Options of a server that is built but never run (no socket, no process). */
const serverOptions = () =>
  new ServerOptions({ agent: "unused.js", wsURL: "ws://127.0.0.1:9", apiKey: "key", apiSecret: "secret", port: 0 });

/** The framework's `InferenceProcExecutor.createIfNeeded`, not exported: loaded by file URL like the pool. */
async function createInferenceExecutorIfNeeded(): Promise<unknown> {
  const url = new URL("./ipc/inference_proc_executor.js", import.meta.resolve("@livekit/agents"));
  const mod = (await import(url.href)) as { InferenceProcExecutor: { createIfNeeded(): unknown } };
  return mod.InferenceProcExecutor.createIfNeeded();
}

beforeAll(() => initializeLogger({ pretty: false, level: "error" }));

describe("skip_local_eot_runner", () => {
  it("is needed: an untouched framework registers the end-of-turn runner when a server is built", () => {
    // In a fresh process, so that this process's framework stays untouched for the tests below.
    const script = [
      'import { AgentServer, InferenceRunner, initializeLogger, ServerOptions } from "@livekit/agents";',
      'initializeLogger({ pretty: false, level: "fatal" });',
      'const options = { agent: "unused.js", wsURL: "ws://127.0.0.1:9", apiKey: "k", apiSecret: "s" };',
      "new AgentServer(new ServerOptions(options));",
      "console.log(JSON.stringify(Object.keys(InferenceRunner.registeredRunners)));",
    ].join("\n");
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(JSON.parse(out.trim().split("\n").at(-1)!)).toEqual([EOT_INFERENCE_METHOD]);
  });

  it("keeps the server from registering it, so no inference process is created", async () => {
    const { log, lines } = collectingLogger();
    expect(adapt(skipLocalEotRunner(), InferenceRunner, log)).toBe(true);
    new AgentServer(serverOptions());
    expect(Object.keys(InferenceRunner.registeredRunners)).toEqual([]);
    expect(InferenceRunner.registeredRunners[EOT_INFERENCE_METHOD]).toBeTruthy(); // what the registration checks
    expect(await createInferenceExecutorIfNeeded()).toBeUndefined();
    expect(adapt(skipLocalEotRunner(), InferenceRunner, log)).toBe(true); // applying again changes nothing
    expect(skipped(lines)).toEqual([]);
  });

  it("changes nothing when the runner is already registered (the server was built first), and warns once", () => {
    const { log, lines } = collectingLogger();
    const runners = { [EOT_INFERENCE_METHOD]: "file:///runner.js" };
    const late = { registeredRunners: runners, registerRunner() {} };
    const adaptation = skipLocalEotRunner();
    expect(adapt(adaptation, late, log)).toBe(false);
    expect(adapt(adaptation, late, log)).toBe(false);
    expect(runners).toEqual({ [EOT_INFERENCE_METHOD]: "file:///runner.js" });
    expect(skipped(lines)).toHaveLength(1);
    const [warning] = skipped(lines);
    expect(warning).toMatchObject({ adaptation: "skip_local_eot_runner" });
    expect(warning!.missing).toMatch(/before new AgentServer/);
  });

  it("changes nothing for a class without the runner registry, and warns once", () => {
    const { log, lines } = collectingLogger();
    const adaptation = skipLocalEotRunner();
    class NoRegistry {}
    expect(adapt(adaptation, NoRegistry, log)).toBe(false);
    expect(adapt(adaptation, NoRegistry, log)).toBe(false);
    expect(Object.getOwnPropertyNames(NoRegistry)).not.toContain("registeredRunners");
    expect(skipped(lines).map((l) => l.missing)).toEqual([
      "InferenceRunner.registeredRunners (object); InferenceRunner.registerRunner (function)",
    ]);
  });
});

describe("adaptWorker", () => {
  it("applies the main process's adaptations to the installed framework without a warning", async () => {
    const { log, lines } = collectingLogger();
    const hooks = { routes: {}, onJobMessage: () => {} };
    expect(await adaptWorker(log, hooks)).toEqual({
      defer_idle_refill: true,
      skip_local_eot_runner: true,
      serve_extra_routes: true,
      listen_to_job_processes: true,
    });
    expect(lines.filter((l) => l.level === "warn")).toEqual([]);
  });
});
