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
 *
 * The embedded panel (`/embed/chat`, docs/widget.md) runs in a third-party iframe, where browsers send no SameSite=Lax
 * cookie. There the visitor gets a second cookie, `__Host-evid` (`evid` on http): SameSite=None, Secure and
 * Partitioned (CHIPS: the browser keeps one per top-level site and sends it only in frames under that site, so it
 * tracks no one across sites; MDN, "Cookies Having Independent Partitioned State"). It is issued only by the panel's
 * page for an allowed host (`/embed/chat?host=<one of ALLOWED_ORIGINS>`), so the standalone pages keep their
 * SameSite=Lax cookie; every route reads the Lax cookie first and the partitioned one when the Lax one is absent (the
 * panel's own requests). An embedded visitor is therefore another
 * visitor than the same person on the standalone pages, and one per embedding site.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { randomId } from "../edge/random-id.ts";
import type { AppEnv } from "./app-env.ts";

/** The cookie's base name: `__Host-vid` on https, `vid` on http. */
export const VISITOR_COOKIE = "vid";
/** The embedded panel's partitioned cookie's base name: `__Host-evid` on https, `evid` on http. */
export const EMBED_VISITOR_COOKIE = "evid";
/** The path of the embedded panel's page, the one route that issues {@link EMBED_VISITOR_COOKIE}. */
export const EMBED_PANEL_PATH = "/embed/chat";
/** Cookie lifetime, seconds (one year). */
const MAX_AGE_S = 365 * 24 * 3600;
const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;

/** A fresh LiveKit room name, `room-` and {@link randomId} (`GET /token` and `POST /session` without `room`). */
export function newRoomName(): string {
  return `room-${randomId()}`;
}

/**
 * The visitor id in the request's cookie when it is signed with `secret` and well formed, else null.
 * @param prefix "host" reads `__Host-vid`, undefined reads `vid`
 */
async function signedVisitorId(
  c: Context<AppEnv>,
  secret: string,
  prefix: "host" | undefined,
  name: string,
): Promise<string | null> {
  const value = await getSignedCookie(c, secret, name, prefix);
  return typeof value === "string" && VISITOR_ID.test(value) ? value : null;
}

/**
 * The visitor id of the request's cookie `name`: signed with `COOKIE_SECRET`, else with `COOKIE_SECRET_PREVIOUS`
 * (`rotated`), else null.
 */
async function cookieVisitor(
  c: Context<AppEnv>,
  name: string,
  prefix: "host" | undefined,
): Promise<{ id: string; rotated: boolean } | null> {
  const { cookieSecret, previousCookieSecret } = c.var.config;
  const id = await signedVisitorId(c, cookieSecret, prefix, name);
  if (id !== null) return { id, rotated: false };
  const old = previousCookieSecret === null ? null : await signedVisitorId(c, previousCookieSecret, prefix, name);
  return old === null ? null : { id: old, rotated: true };
}

/**
 * Sets `c.var.visitorId` from the signed cookie, issuing a new cookie when the request has no valid one and
 * re-signing one signed with `COOKIE_SECRET_PREVIOUS`. On https a leftover plain `vid` cookie (from before the
 * `__Host-` prefix, or planted) is ignored and expired. Without the SameSite=Lax cookie, the embedded panel's
 * partitioned one counts; the panel's page issues that one instead of the Lax one (see the module's comment).
 */
export const visitorMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { cookieSecret } = c.var.config;
  const https = new URL(c.req.url).protocol === "https:";
  const prefix = https ? "host" : undefined;
  const lax = await cookieVisitor(c, VISITOR_COOKIE, prefix);
  const partitioned = lax ? null : await cookieVisitor(c, EMBED_VISITOR_COOKIE, prefix);
  const found = lax ?? partitioned;
  const id = found?.id ?? randomId();
  c.set("visitorId", id);
  if (found === null || found.rotated) {
    // The panel's page (or a rotated partitioned cookie) gets the partitioned cookie; everything else the Lax one.
    const panel = c.req.path === EMBED_PANEL_PATH && c.var.config.allowedOrigins.has(c.req.query("host") ?? "");
    const embedded = partitioned !== null || (found === null && panel);
    await setSignedCookie(c, embedded ? EMBED_VISITOR_COOKIE : VISITOR_COOKIE, id, cookieSecret, {
      prefix,
      httpOnly: true,
      path: "/",
      maxAge: MAX_AGE_S,
      // SameSite=None and Partitioned need Secure; browsers take Secure cookies from http://localhost too (MDN,
      // "Set-Cookie", Secure), which is where local development embeds the panel.
      ...(embedded ? { sameSite: "None", secure: true, partitioned: true } : { sameSite: "Lax", secure: https }),
    });
  }
  if (https && getCookie(c, VISITOR_COOKIE) !== undefined) deleteCookie(c, VISITOR_COOKIE, { path: "/", secure: true });
  if (https && getCookie(c, EMBED_VISITOR_COOKIE) !== undefined) {
    deleteCookie(c, EMBED_VISITOR_COOKIE, { path: "/", secure: true, sameSite: "None", partitioned: true });
  }
  await next();
};
