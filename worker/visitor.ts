/**
 * The visitor cookie `vid`: a random 128-bit id, HMAC-SHA256-signed with `COOKIE_SECRET`
 * (hono's signed cookies), HttpOnly, SameSite=Lax, Secure on https. Issued on first contact with
 * any route; a missing or forged cookie gets a fresh id.
 *
 * See docs/architecture.md, "Security model".
 */
import type { MiddlewareHandler } from "hono";
import { getSignedCookie, setSignedCookie } from "hono/cookie";
import type { AppEnv } from "./app-env.ts";

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

/** Sets `c.var.visitorId`, issuing a new signed cookie when the request has no valid one. */
export const visitorMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const secret = c.var.config.cookieSecret;
  const existing = await getSignedCookie(c, secret, VISITOR_COOKIE);
  if (typeof existing === "string" && VISITOR_ID.test(existing)) {
    c.set("visitorId", existing);
  } else {
    const id = randomId();
    c.set("visitorId", id);
    await setSignedCookie(c, VISITOR_COOKIE, id, secret, {
      httpOnly: true,
      sameSite: "Lax",
      secure: new URL(c.req.url).protocol === "https:",
      path: "/",
      maxAge: MAX_AGE_S,
    });
  }
  await next();
};
