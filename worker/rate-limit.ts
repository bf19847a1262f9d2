/**
 * Per-visitor and per-IP limits on `/token` and `/session` with the Workers rate-limiting binding
 * (`[[ratelimits]]` in wrangler.toml: limit per period). A refused request gets 429 with
 * `Retry-After` equal to the binding's period.
 *
 * Source: https://developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit/
 */
import type { Context } from "hono";
import type { AppEnv } from "./app-env.ts";
import { HttpError } from "./errors.ts";

/** Period of both limiters in wrangler.toml, seconds (the binding supports 10 or 60). */
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
}

/**
 * Counts one request against `limiter` for `caller`'s visitor id and for its IP.
 * @throws HttpError 429 `rate_limited` with `Retry-After` when either key is over its limit
 */
export async function limitCaller(limiter: RateLimit, caller: Caller): Promise<void> {
  const [visitor, ip] = await Promise.all([
    limiter.limit({ key: `vid:${caller.visitorId}` }),
    limiter.limit({ key: `ip:${caller.clientIp}` }),
  ]);
  if (!visitor.success || !ip.success) {
    throw new HttpError(429, "rate_limited", "Too many requests; try again in a minute.", {
      "Retry-After": String(RATE_LIMIT_PERIOD_S),
    });
  }
}
