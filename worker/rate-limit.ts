/**
 * Rate limits with the Workers rate-limiting binding (`[[ratelimits]]` in wrangler.toml: limit per period),
 * per visitor and per client IP: `TOKEN_LIMITER` (`GET /token`), `SESSION_LIMITER` (`POST /session`),
 * `READ_LIMITER` (`GET /transcripts/*`, `GET /history`, `GET /history/*`, `GET /conversations`, `GET /planner`,
 * `GET /tutor`, `GET /tutor/subtopics/*`, `GET /visitor/name`, `GET /chat?resume=`), `SOCKET_LIMITER`
 * (`GET /ws/transcript/*`), `STOP_LIMITER` (`DELETE /session/*`, `DELETE /conversations`, `DELETE /conversations/*`,
 * the `/history` delete forms, `PUT /visitor/name`, `POST /chat/name`), `MESSAGE_LIMITER`
 * (`POST /session/{id}/messages`); and per client IP only `INGEST_REJECT_LIMITER` (refused ingest signatures). A
 * refused request gets 429 `rate_limited` with `Retry-After` equal to the binding's period.
 * The binding counts per Cloudflare location and is approximate by design.
 *
 * Source: https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env.ts";
import { clientIpKey } from "./client-ip.ts";
import { HttpError } from "./errors.ts";

/** Period of every limiter in wrangler.toml, seconds (the binding supports 10 or 60). */
export const RATE_LIMIT_PERIOD_S = 60;

/** The client address as Cloudflare reports it (`CF-Connecting-IP`); "unknown" locally without it. */
export function clientIp(c: Context<AppEnv>): string {
  return c.req.header("CF-Connecting-IP") ?? "unknown";
}

/**
 * Counts one request against `limiter` for the calling visitor and client IP.
 * @throws HttpError 429 `rate_limited` with `Retry-After` when either key is over its limit
 */
export async function enforceRateLimit(c: Context<AppEnv>, limiter: RateLimit): Promise<void> {
  await limitCaller(limiter, { visitorId: c.var.visitorId, clientIp: clientIp(c) });
}

/** Who a rate limit counts: the visitor id and the client IP (each is its own key). */
export interface Caller {
  visitorId: string;
  clientIp: string;
  /** The hostname the request was sent to; not counted here (the Turnstile check uses it: worker/turnstile.ts). */
  hostname?: string;
}

/**
 * Counts one request against `limiter` for `caller`'s visitor id and for its IP (an IPv6 address by its /64).
 * @throws HttpError 429 `rate_limited` with `Retry-After` when either key is over its limit
 */
export async function limitCaller(limiter: RateLimit, caller: Caller): Promise<void> {
  const [visitor, ip] = await Promise.all([
    limiter.limit({ key: `vid:${caller.visitorId}` }),
    limiter.limit({ key: ipKey(caller.clientIp) }),
  ]);
  if (!visitor.success || !ip.success) throw rateLimited();
}

/**
 * The rate-limit key of a client address. IPv6 clients count per /64 (worker/client-ip.ts), so rotating addresses
 * within one does not escape a limit.
 */
function ipKey(clientIp: string): string {
  return `ip:${clientIpKey(clientIp)}`;
}

/** The 429 `rate_limited` error, with `Retry-After` the limiters' period. */
export function rateLimited(): HttpError {
  return new HttpError(429, "rate_limited", "Too many requests; try again in a minute.", {
    "Retry-After": String(RATE_LIMIT_PERIOD_S),
  });
}

/**
 * Counts one event against `limiter` for client address `clientIp` alone (no visitor: e.g. a refused ingest
 * signature, which carries no cookie).
 * @returns true when the address is over the limit
 */
export async function ipOverLimit(limiter: RateLimit, clientIp: string): Promise<boolean> {
  return !(await limiter.limit({ key: ipKey(clientIp) })).success;
}

/**
 * Middleware counting each request against the limiter `pick` selects, per visitor and per client IP. Mount it
 * after the visitor middleware (it needs `c.var.visitorId`).
 * @throws HttpError 429 `rate_limited` with `Retry-After` when either key is over its limit
 */
export function rateLimit(pick: (env: Env) => RateLimit): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await enforceRateLimit(c, pick(c.env));
    await next();
  };
}
