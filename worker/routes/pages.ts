/**
 * HTML pages (rendered by web/pages, owned by the web part) and the static files under `/static/*`.
 * `/chat?agent=<id>` talks with profile `<id>` (absent: `DEFAULT_PROFILE`); one not in `ALLOWED_PROFILES` (or not
 * in the bundled registry) is a 404 page. `/history/{id}` applies the same visitor check as `/transcripts/{id}`
 * and the same rate limit (`READ_LIMITER`), but answers with HTML.
 */
import { Hono } from "hono";
import { SessionId } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { renderChat, renderErrorPage, renderHistory, renderHome, type ChatProfile } from "../../web/pages/index.ts";
import { profileById } from "../profiles.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { sessionStub } from "../sessions.ts";

export const pageRoutes = new Hono<AppEnv>();

pageRoutes.get("/", (c) => c.html(renderHome()));

/** The intents of the planner backend (worker/actions/): a profile with any of them gets the plan panel. */
const PLANNER_INTENTS: ReadonlySet<string> = new Set(["GOAL", "NEW_TASK", "RESCHEDULE_TASK"]);

/** What `/chat` shows of profile `id`, or undefined when a visitor may not talk with it (not allowed, or unknown). */
function chatProfile(allowed: ReadonlySet<string>, id: string): ChatProfile | undefined {
  const profile = allowed.has(id) ? profileById(id) : undefined;
  if (!profile) return undefined;
  return { id, name: profile.display_name, planner: profile.intents.some((i) => PLANNER_INTENTS.has(i.name)) };
}

pageRoutes.get("/chat", (c) => {
  const { turnstile, allowedProfiles, defaultProfile } = c.var.config;
  const profile = chatProfile(allowedProfiles, c.req.query("agent") || defaultProfile);
  if (!profile) return c.html(renderErrorPage(404, "There is no agent by that name to talk with here."), 404);
  return c.html(renderChat({ turnstileSiteKey: turnstile?.siteKey, turnstileOrigin: turnstile?.origin, profile }));
});

pageRoutes.get("/history/:session_id", async (c) => {
  try {
    await enforceRateLimit(c, c.env.READ_LIMITER);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return c.html(renderErrorPage(err.status, "Too many requests; try again in a minute."), err.status, err.headers);
  }
  const id = SessionId.safeParse(c.req.param("session_id"));
  if (!id.success) return c.html(renderErrorPage(404, "There is no conversation at this address."), 404);
  const stub = sessionStub(c.env, id.data);
  const info = await stub.info();
  if (!info) return c.html(renderErrorPage(404, "There is no conversation at this address."), 404);
  if (info.owner !== c.var.visitorId) {
    return c.html(renderErrorPage(403, "This conversation belongs to someone else."), 403);
  }
  const transcript = await stub.transcript();
  if (!transcript) return c.html(renderErrorPage(404, "There is no conversation at this address."), 404);
  return c.html(renderHistory(transcript));
});

/**
 * `/static/*`: the page script and stylesheet from Workers static assets. wrangler.toml runs the Worker first for
 * these paths (`run_worker_first`), so that they carry the security headers; they keep the assets layer's own
 * caching (`ETag`, revalidation) and get no visitor cookie. Mounted before the visitor and no-store middleware.
 * Source: https://developers.cloudflare.com/workers/static-assets/binding/#run_worker_first
 */
export const staticRoutes = new Hono<AppEnv>();

staticRoutes.get("/static/*", async (c) => {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  // A fetched response has immutable headers; copy it so the security middleware can add its own.
  return new Response(asset.body, asset);
});
