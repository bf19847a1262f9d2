/**
 * One log line per request, for operators: `{"msg":"request","method","route","status","ms"}` at `info`, with the
 * route as the app registered it (`/session/:session_id/actions`, `/static/*`), never the path itself, its query,
 * the visitor's cookie, address or user agent: a path or a query can carry a session id, a room name or words a
 * visitor chose. A request that no route's handler answered (a 404, or a middleware's refusal such as a foreign
 * `Origin`) logs `route: "(none)"`.
 *
 * `ms` is the wall time the Worker saw, from the request to its response (the body may still stream). In workerd
 * the clock advances only at I/O, so it counts the waits on storage, Durable Objects and fetches, not CPU time.
 * Source: Hono 4 `hono/route` (`matchedRoutes`, `routePath`: the route that answered, at `c.req.routeIndex`); Cloudflare Workers, "Performance
 * and timers" (https://developers.cloudflare.com/workers/runtime-apis/performance/).
 */
import type { MiddlewareHandler } from "hono";
import { METHOD_NAME_ALL } from "hono/router";
import { matchedRoutes, routePath } from "hono/route";
import type { Logger } from "../contract/log.ts";
import { log as edgeLog } from "../edge/log.ts";

/**
 * The middleware, to register before every other one so that it also logs requests they refuse.
 * @param log where the line goes (default the edge logger, component `edge`)
 */
export function requestLog(log: Logger = edgeLog): MiddlewareHandler {
  return async (c, next) => {
    const started = Date.now();
    await next();
    // The route that answered; a request that reached no handler ends on a middleware (registered for any method).
    const answered = matchedRoutes(c)[c.req.routeIndex];
    const route = !answered || answered.method === METHOD_NAME_ALL ? "(none)" : routePath(c);
    log.info("request", { method: c.req.method, route, status: c.res.status, ms: Date.now() - started });
  };
}
