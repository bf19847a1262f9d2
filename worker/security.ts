/**
 * Browser-facing protections: the Content-Security-Policy and companion headers on every response,
 * the CORS allow-list for the REST API, and the `Origin` check for cookie-bearing API calls and the
 * transcript socket upgrade (same origin is always allowed, plus `ALLOWED_ORIGINS`).
 *
 * See docs/architecture.md, "Security model".
 */
import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { EdgeConfig } from "../edge/config.ts";
import type { AppEnv } from "./app-env.ts";
import { HttpError } from "./errors.ts";

const cspCache = new WeakMap<EdgeConfig, string>();

/**
 * The page's CSP: only same-origin scripts, styles and connections, plus the LiveKit signal origin
 * (its ws/wss form and the http/https twin the SDK uses for region and validation requests).
 */
export function contentSecurityPolicy(config: EdgeConfig): string {
  const hit = cspCache.get(config);
  if (hit) return hit;
  const signal = new URL(config.liveKitUrl).origin.replace(/^http/, "ws");
  const twin = new URL(config.liveKitHttpUrl).origin;
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    `connect-src 'self' ${signal} ${twin}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
  cspCache.set(config, csp);
  return csp;
}

/** Sets the security headers on every response the Worker builds. */
export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status === 101) return; // the socket's response comes from the Durable Object as is
  c.res.headers.set("Content-Security-Policy", contentSecurityPolicy(c.var.config));
  c.res.headers.set("X-Content-Type-Options", "nosniff");
  c.res.headers.set("Referrer-Policy", "strict-origin-when-cross-origin");
};

/** Whether `origin` may call the API: the request's own origin or one in `ALLOWED_ORIGINS`. */
export function originAllowed(c: Context<AppEnv>, origin: string): boolean {
  return origin === new URL(c.req.url).origin || c.var.config.allowedOrigins.has(origin);
}

/** CORS for the REST API: credentials (the `vid` cookie) only for allowed origins. */
export const apiCors: MiddlewareHandler<AppEnv> = (c, next) =>
  cors({
    origin: (origin) => (originAllowed(c, origin) ? origin : null),
    credentials: true,
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type"],
    maxAge: 600,
  })(c, next);

/**
 * Refuses browser requests from other origins (403 `origin_not_allowed`). Requests without an
 * `Origin` header (same-origin GETs, non-browser clients) pass: the cookie still decides access.
 */
export const requireAllowedOrigin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("Origin");
  if (origin !== undefined && !originAllowed(c, origin)) {
    throw new HttpError(403, "origin_not_allowed", "Requests from this origin are not allowed.");
  }
  await next();
};
