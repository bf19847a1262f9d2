/**
 * `serve_extra_routes` (agent/framework/http-routes.ts) against the installed framework's own `HTTPServer`, listening
 * on a real port, and `listen_to_job_processes` (job-channel.ts)'s shape check against the real `JobProcExecutor`
 * (the worker test, test/agent/worker.test.ts, sees a job process's metrics reach the worker through it).
 */
import { initializeLogger } from "@livekit/agents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adapt } from "../../../agent/framework/adaptation.ts";
import { loadHttpServer, serveExtraRoutes } from "../../../agent/framework/http-routes.ts";
import { listenToJobProcesses, loadJobProcExecutor } from "../../../agent/framework/job-channel.ts";
import { freePort } from "../../support/ports.ts";
import { collectingLogger, skipped } from "./log-lines.ts";

interface Server {
  run(): Promise<void>;
  close(): Promise<void>;
}
type ServerClass = new (
  host: string,
  port: number,
  health: () => { healthy: boolean; message: string },
  worker: () => object,
) => Server;

const servers: Server[] = [];
// The framework's server logs through its logger, which the worker initializes before adapting (agent/main.ts).
beforeAll(() => initializeLogger({ pretty: false, level: "warn" }));
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe("serve_extra_routes", () => {
  it("answers its routes on the framework's health server and leaves the framework's own routes as they were", async () => {
    const { log, lines } = collectingLogger();
    const HTTPServer = await loadHttpServer();
    const routes = {
      "/metrics": (_req: unknown, res: { end(body: string): void }) => res.end("metrics here"),
      "/broken": () => {
        throw new Error("boom");
      },
      "/rejects": async () => Promise.reject(new Error("later boom")),
    };
    expect(adapt(serveExtraRoutes(routes as never), HTTPServer, log)).toBe(true);
    expect(adapt(serveExtraRoutes(routes as never), HTTPServer, log)).toBe(true); // once is enough: no double wrap
    expect(skipped(lines)).toEqual([]);

    const port = await freePort();
    const server = new (HTTPServer as ServerClass)(
      "127.0.0.1",
      port,
      () => ({ healthy: true, message: "OK" }),
      () => ({
        agent_name: "test",
      }),
    );
    servers.push(server);
    await server.run();
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: await res.text() };
    };
    expect(await get("/metrics")).toEqual({ status: 200, body: "metrics here" });
    expect(await get("/metrics?x=1")).toEqual({ status: 200, body: "metrics here" });
    expect(await get("/")).toEqual({ status: 200, body: "OK" });
    expect(JSON.parse((await get("/worker")).body)).toEqual({ agent_name: "test" });
    expect((await get("/nothing")).status).toBe(404);
    expect(await get("/broken")).toEqual({ status: 500, body: "internal error" });
    expect(await get("/rejects")).toEqual({ status: 500, body: "internal error" });
  });

  it("changes nothing and warns once when the framework's server has another shape", () => {
    const { log, lines } = collectingLogger();
    class NoApp {
      run() {}
    }
    const adaptation = serveExtraRoutes({});
    expect(adapt(adaptation, NoApp, log)).toBe(false);
    expect(adapt(adaptation, undefined, log)).toBe(false);
    expect(skipped(lines).map((l) => l.missing)).toEqual([
      "HTTPServer#app (object); HTTPServer#app.listeners (node:http Server) (function)",
    ]);
  });
});

describe("listen_to_job_processes", () => {
  it("finds what it relies on in the installed framework, and nothing in another shape", async () => {
    const adaptation = listenToJobProcesses(() => {});
    expect(adaptation.missing(await loadJobProcExecutor())).toEqual([]);
    expect(adaptation.missing(class {})).toEqual(["JobProcExecutor.prototype.createProcess (function)"]);
    expect(adaptation.missing(undefined)).toEqual([
      "@livekit/agents dist/ipc/job_proc_executor.js export JobProcExecutor (function)",
    ]);
  });
});
