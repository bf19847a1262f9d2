/**
 * Browser-facing protections: the Content-Security-Policy and companion headers (Permissions-Policy, HSTS on
 * https, nosniff, Referrer-Policy) on every response, the CORS allow-list for the REST API, and the `Origin`
 * check for every cookie-bearing route and the transcript socket upgrade (same origin is always allowed, plus
 * `ALLOWED_ORIGINS`; the opaque origin `null` never is).
 *
 * See docs/architecture.md, "Security model".
 */
import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { EdgeConfig } from "../edge/config.ts";
import type { AppEnv } from "./app-env.ts";
import { HttpError } from "./errors.ts";

const cspCache = new WeakMap<EdgeConfig, { page: string; panel: string }>();

/**
 * Hosts of LiveKit Cloud, as livekit-client recognises them (`isCloud()` in src/room/utils.ts: a hostname ending in
 * `.livekit.cloud` or `.livekit.run`). For such a URL the SDK asks `https://<project host>/settings/regions` for the
 * project's region URLs (src/room/RegionUrlProvider.ts) and, when a connection fails, reconnects to the next region's
 * URL, a different host under the same domain; LiveKit's firewall guide lists `*.livekit.cloud`
 * for the same reason (https://docs.livekit.io/deploy/admin/firewall/).
 */
const LIVEKIT_CLOUD_DOMAINS = ["livekit.cloud", "livekit.run"] as const;

/**
 * The `connect-src` sources livekit-client needs for `LIVEKIT_URL`: the signal origin (ws/wss) and its http(s) twin
 * (region settings, `/rtc/validate`). For a LiveKit Cloud project, every host of its cloud domain, so that region
 * failover is not blocked; for a self-hosted server, its own origin only.
 * @param liveKitUrl the configured signal URL, e.g. `wss://my-project.livekit.cloud` or `ws://localhost:7880`
 */
export function liveKitConnectSources(liveKitUrl: string): string[] {
  const url = new URL(liveKitUrl);
  const secure = url.protocol === "wss:" || url.protocol === "https:";
  const [ws, http] = secure ? ["wss:", "https:"] : ["ws:", "http:"];
  const cloud = LIVEKIT_CLOUD_DOMAINS.find((domain) => url.hostname.endsWith(`.${domain}`));
  const host = cloud ? `*.${cloud}` : url.host;
  return [`${ws}//${host}`, `${http}//${host}`];
}

/**
 * The page may use the microphone itself (same-origin frames included); every other powerful feature it never
 * uses is denied, for it and for any frame (MDN, "Permissions-Policy"; features Chromium knows, so that no console
 * warning is printed).
 */
export const PERMISSIONS_POLICY =
  "microphone=(self), camera=(), geolocation=(), display-capture=(), payment=(), usb=(), serial=(), hid=()";

/**
 * The page's CSP: only same-origin scripts, styles and connections, plus LiveKit ({@link liveKitConnectSources}:
 * the signal origin and its http(s) twin, or every LiveKit Cloud host for a Cloud project). With
 * Turnstile on (worker/turnstile.ts), also its widget script and challenge frame from its origin (`TURNSTILE_ORIGIN`)
 * (Cloudflare's "Content Security Policy" page for Turnstile: `script-src` and `frame-src`).
 *
 * No page may be framed (`frame-ancestors 'none'`), except the embedded panel (`panel`: `/embed/chat`,
 * docs/widget.md), which the origins of `ALLOWED_ORIGINS` may frame, and only they ('none' when there are none).
 * @param panel true for the embedded panel's responses
 */
export function contentSecurityPolicy(config: EdgeConfig, panel = false): string {
  let hit = cspCache.get(config);
  if (!hit) {
    const liveKit = liveKitConnectSources(config.liveKitUrl).join(" ");
    const turnstile = config.turnstile ? ` ${config.turnstile.origin}` : "";
    const policy = (ancestors: string) =>
      [
        "default-src 'self'",
        `script-src 'self'${turnstile}`,
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        `connect-src 'self' ${liveKit}`,
        ...(config.turnstile ? [`frame-src ${config.turnstile.origin}`] : []),
        `frame-ancestors ${ancestors}`,
        "base-uri 'none'",
        "form-action 'self'",
      ].join("; ");
    const framers = [...config.allowedOrigins].join(" ");
    hit = { page: policy("'none'"), panel: policy(framers || "'none'") };
    cspCache.set(config, hit);
  }
  return panel ? hit.panel : hit.page;
}

/**
 * Sets the security headers on every response the Worker builds (static files included: wrangler.toml runs the
 * Worker first for `/static/*`). `Strict-Transport-Security: max-age=<HSTS_MAX_AGE_S>` only on https responses:
 * browsers ignore it over http (RFC 6797 §8.1), and local development stays on http.
 */
export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status === 101) return; // the socket's response comes from the Durable Object as is
  const headers = c.res.headers;
  headers.set("Content-Security-Policy", contentSecurityPolicy(c.var.config, c.var.framable === true));
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Referrer-Policy", "strict-origin-when-cross-origin");
  headers.set("Permissions-Policy", PERMISSIONS_POLICY);
  if (new URL(c.req.url).protocol === "https:") {
    headers.set("Strict-Transport-Security", `max-age=${c.var.config.hstsMaxAgeS}`);
  }
};

/**
 * Whether `origin` may call the API: the request's own origin or one in `ALLOWED_ORIGINS`. Never the opaque
 * origin `null`, which browsers send from sandboxed frames, `data:` and `file:` documents and after some
 * cross-origin redirects (Fetch standard, "serializing a request origin"): anyone can produce it.
 */
export function originAllowed(c: Context<AppEnv>, origin: string): boolean {
  if (origin === "null") return false;
  return origin === new URL(c.req.url).origin || c.var.config.allowedOrigins.has(origin);
}

/** CORS for the REST API: credentials (the `vid` cookie) only for allowed origins. */
export const apiCors: MiddlewareHandler<AppEnv> = (c, next) =>
  cors({
    origin: (origin) => (originAllowed(c, origin) ? origin : null),
    credentials: true,
    allowMethods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type"],
    maxAge: 600,
  })(c, next);

/**
 * Refuses browser requests from other origins and from `Origin: null` (403 `origin_not_allowed`), on every
 * cookie-bearing route. Requests without an `Origin` header (navigations, same-origin GETs, non-browser clients)
 * pass: the cookie still decides access.
 * @throws HttpError 403 `origin_not_allowed`
 */
export const requireAllowedOrigin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = c.req.header("Origin");
  if (origin !== undefined && !originAllowed(c, origin)) {
    throw new HttpError(403, "origin_not_allowed", "Requests from this origin are not allowed.");
  }
  await next();
};
