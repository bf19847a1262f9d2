/**
 * Extra routes on the worker's health port: the agent's `GET /metrics` (agent/metrics.ts) next to the framework's
 * own `/` and `/worker`.
 *
 * Upstream behaviour (@livekit/agents 1.9.0, `src/http_server.ts`, `HTTPServer`): the worker builds one
 * `HTTPServer` on `ServerOptions.port`; its constructor gives `node:http` `createServer` one request listener that
 * answers `/`, `/worker`, and 404 for anything else, and `run()` starts listening. The server is a private field of
 * the worker and the class is not in the package's exports map; no option adds a route.
 *
 * The adaptation `serve_extra_routes` wraps `HTTPServer.prototype.run`: before listening, it replaces the request
 * listeners of the instance's `app` (a `node:http` Server) with one that answers the extra routes and hands every
 * other request to the framework's listeners unchanged. Routes match the path exactly (a query string is ignored).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { type Adaptation, expectType } from "./adaptation.ts";

/** Answers one request of an extra route. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** The parts of @livekit/agents 1.9.0's `HTTPServer` this relies on. */
interface HttpServerInternals {
  app: Server;
  run(): Promise<void>;
}
type HttpServerClass = (new (...args: never[]) => HttpServerInternals) & { prototype: HttpServerInternals };

const PATCHED = Symbol("serveExtraRoutes");

/**
 * Loads the installed framework's `HTTPServer` class (not in the exports map): by file URL next to the package's
 * main entry, the module instance the framework itself uses.
 * @returns the class, or undefined when that file or export is not there (the adaptation then reports it)
 */
export async function loadHttpServer(): Promise<unknown> {
  try {
    const url = new URL("./http_server.js", import.meta.resolve("@livekit/agents"));
    return ((await import(url.href)) as { HTTPServer?: unknown }).HTTPServer;
  } catch {
    return undefined;
  }
}

/**
 * The adaptation `serve_extra_routes`, applied to the framework's `HTTPServer` class (see {@link loadHttpServer}).
 * Its shape check builds one server (it does not listen) to see its `app`: call it after the framework's
 * `initializeLogger` (the server's constructor takes the framework's logger).
 * @param routes exact paths (e.g. `/metrics`) and their handlers; a handler that throws or rejects gets a 500
 */
export function serveExtraRoutes(routes: Readonly<Record<string, RouteHandler>>): Adaptation<unknown> {
  const answer = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? "/").split("?")[0]!;
    const handler = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (!handler) return false;
    const fail = () => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end("internal error");
    };
    try {
      void Promise.resolve(handler(req, res)).catch(fail);
    } catch {
      fail();
    }
    return true;
  };
  return {
    name: "serve_extra_routes",
    missing(serverClass) {
      if (typeof serverClass !== "function")
        return ["@livekit/agents dist/http_server.js export HTTPServer (function)"];
      const proto = (serverClass as HttpServerClass).prototype;
      const missing = expectType(proto?.run, "function", "HTTPServer.prototype.run");
      const probe = new (serverClass as new (...args: unknown[]) => Partial<HttpServerInternals>)(
        "127.0.0.1",
        0,
        () => ({ healthy: true, message: "" }),
        () => ({}),
      );
      const app = probe.app as Partial<Server> | undefined;
      missing.push(...expectType(app, "object", "HTTPServer#app"));
      missing.push(...expectType(app?.listeners, "function", "HTTPServer#app.listeners (node:http Server)"));
      if (typeof app?.listeners === "function" && app.listeners("request").length === 0) {
        missing.push("HTTPServer#app request listener (function)");
      }
      return missing;
    },
    apply(serverClass) {
      const proto = (serverClass as HttpServerClass).prototype as HttpServerInternals & { [PATCHED]?: true };
      if (proto[PATCHED]) return;
      const run = proto.run;
      proto.run = function (this: HttpServerInternals) {
        const app = this.app;
        const upstream = app.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
        app.removeAllListeners("request");
        app.on("request", (req: IncomingMessage, res: ServerResponse) => {
          if (answer(req, res)) return;
          for (const listener of upstream) listener.call(app, req, res);
        });
        return run.call(this);
      };
      proto[PATCHED] = true;
    },
  };
}
