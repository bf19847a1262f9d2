/**
 * The visitor cookie: a random 128-bit id, HMAC-SHA256-signed with `COOKIE_SECRET` (hono's signed cookies),
 * HttpOnly, SameSite=Lax, one year. On https it is `__Host-vid` (Secure, Path=/, no Domain: a sibling
 * subdomain or a plain-http response cannot set or overwrite it; MDN, "Set-Cookie", cookie prefixes); on
 * plain-http local development it is `vid`. Issued on first contact with any browser route; a missing or
 * forged cookie gets a fresh id.
 *
 * Rotation: a cookie signed with `COOKIE_SECRET_PREVIOUS` is still accepted and re-signed with `COOKIE_SECRET`,
 * so its visitor keeps the id (and with it its rooms and transcripts). See docs/edge.md, "Rotating
 * COOKIE_SECRET", and docs/architecture.md, "Security model".
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import type { AppEnv } from "./app-env.ts";

/** The cookie's base name: `__Host-vid` on https, `vid` on http. */
export const VISITOR_COOKIE = "vid";
/** Cookie lifetime, seconds (one year). */
const MAX_AGE_S = 365 * 24 * 3600;
const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;

/** 128 random bits, base64url without padding (22 characters). Used for visitor and session ids. */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A fresh LiveKit room name, `room-` and {@link randomId} (`GET /token` and `POST /session` without `room`). */
export function newRoomName(): string {
  return `room-${randomId()}`;
}

/**
 * The visitor id in the request's cookie when it is signed with `secret` and well formed, else null.
 * @param prefix "host" reads `__Host-vid`, undefined reads `vid`
 */
async function signedVisitorId(c: Context<AppEnv>, secret: string, prefix: "host" | undefined): Promise<string | null> {
  const value = await getSignedCookie(c, secret, VISITOR_COOKIE, prefix);
  return typeof value === "string" && VISITOR_ID.test(value) ? value : null;
}

/**
 * Sets `c.var.visitorId` from the signed cookie, issuing a new cookie when the request has no valid one and
 * re-signing one signed with `COOKIE_SECRET_PREVIOUS`. On https a leftover plain `vid` cookie (from before the
 * `__Host-` prefix, or planted) is ignored and expired.
 */
export const visitorMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { cookieSecret, previousCookieSecret } = c.var.config;
  const https = new URL(c.req.url).protocol === "https:";
  const prefix = https ? "host" : undefined;
  let id = await signedVisitorId(c, cookieSecret, prefix);
  const issue = id === null;
  if (id === null && previousCookieSecret !== null) id = await signedVisitorId(c, previousCookieSecret, prefix);
  id ??= randomId();
  c.set("visitorId", id);
  if (issue) {
    await setSignedCookie(c, VISITOR_COOKIE, id, cookieSecret, {
      prefix,
      httpOnly: true,
      sameSite: "Lax",
      secure: https,
      path: "/",
      maxAge: MAX_AGE_S,
    });
  }
  if (https && getCookie(c, VISITOR_COOKIE) !== undefined) deleteCookie(c, VISITOR_COOKIE, { path: "/", secure: true });
  await next();
};
