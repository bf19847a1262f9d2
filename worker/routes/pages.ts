/**
 * HTML pages (rendered by web/pages, owned by the web part) and the static files under `/static/*`.
 * `/chat?agent=<id>` talks with profile `<id>` (absent: `DEFAULT_PROFILE`); one not in `ALLOWED_PROFILES` (or not
 * in the bundled registry) is a 404 page. `/chat?resume=<id>` continues one of the visitor's ended conversations
 * with its profile (`agent` is then ignored); any other id gets the ordinary page with a notice. `/chat` also
 * offers the visitor's last conversation. `/history/{id}` applies the same visitor check as `/transcripts/{id}`
 * and the same rate limit (`READ_LIMITER`), but answers with HTML; so does `/history`, the visitor's conversations
 * (worker/conversations.ts, as `GET /conversations`). `POST /history/{id}/delete` and `POST /history/delete-all`
 * (the list's forms; `STOP_LIMITER`, like `DELETE /session/{id}`) delete and answer 303 to `/history`. Browser
 * forms carry `Origin`, so the Worker's origin check (worker/security.ts `requireAllowedOrigin`) refuses them from
 * other sites. Errors are HTML pages here, never JSON.
 */
import { Hono, type Context } from "hono";
import { SessionId, type TranscriptResponse } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { deleteAllConversations, deleteConversation, lastConversation, listConversations } from "../conversations.ts";
import { HttpError } from "../errors.ts";
import {
  renderChat,
  renderConversations,
  renderErrorPage,
  renderHistory,
  renderHome,
  type ChatProfile,
} from "../../web/pages/index.ts";
import { profileById } from "../profiles.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { ownedSession, sessionStub } from "../sessions.ts";

export const pageRoutes = new Hono<AppEnv>();

/** The sentence an error page shows for an `HttpError` code of the routes below. */
const ERROR_SENTENCES: Record<string, string> = {
  rate_limited: "Too many requests; try again in a minute.",
  invalid_cursor: "That page of conversations doesn't exist. Start again from the newest.",
  session_not_found: "There is no conversation at this address.",
  forbidden: "This conversation belongs to someone else.",
};

/**
 * Runs `handler`, answering an `HttpError` it throws with the HTML error page of its status (and its headers, e.g.
 * `Retry-After`), since these routes are opened by the browser. Other errors go on to the Worker's handler.
 */
async function htmlErrors(c: Context<AppEnv>, handler: () => Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return c.html(renderErrorPage(err.status, ERROR_SENTENCES[err.code] ?? err.message), err.status, err.headers);
  }
}

pageRoutes.get("/", (c) => c.html(renderHome(c.var.config.retentionDays)));

/** The intents of the planner backend (worker/actions/): a profile with any of them gets the plan panel. */
const PLANNER_INTENTS: ReadonlySet<string> = new Set(["GOAL", "NEW_TASK", "RESCHEDULE_TASK"]);

/** What `/chat` shows of profile `id`, or undefined when a visitor may not talk with it (not allowed, or unknown). */
function chatProfile(allowed: ReadonlySet<string>, id: string): ChatProfile | undefined {
  const profile = allowed.has(id) ? profileById(id) : undefined;
  if (!profile) return undefined;
  return { id, name: profile.display_name, planner: profile.intents.some((i) => PLANNER_INTENTS.has(i.name)) };
}

/**
 * The conversation `/chat?resume=<id>` continues, when it can be: one of the calling visitor's, ended, whose
 * transcript is still stored; else undefined (unknown, another visitor's, running, deleted, or not a session id).
 */
async function resumable(c: Context<AppEnv>, id: string): Promise<TranscriptResponse | undefined> {
  if (!SessionId.safeParse(id).success) return undefined;
  try {
    await ownedSession(c, id);
  } catch (err) {
    if (err instanceof HttpError) return undefined;
    throw err;
  }
  // The RPC stub's type loses TranscriptResponse (its action events carry `unknown`, which the RPC types do not
  // count as serializable), so it is restated here.
  const transcript = (await sessionStub(c.env, id).transcript()) as TranscriptResponse | null;
  if (!transcript || transcript.status !== "ended") return undefined;
  return transcript;
}

const CANNOT_RESUME = "That conversation can't be continued.";

pageRoutes.get("/chat", (c) =>
  htmlErrors(c, async () => {
    const { turnstile, allowedProfiles, defaultProfile } = c.var.config;
    const resumeId = c.req.query("resume");
    let resume: TranscriptResponse | undefined;
    let profile: ChatProfile | undefined;
    if (resumeId) {
      // Reads a stored transcript, like /history/{id}.
      await enforceRateLimit(c, c.env.READ_LIMITER);
      resume = await resumable(c, resumeId);
      // The earlier conversation's profile, whatever `agent` says; one no longer allowed cannot be continued.
      profile = resume ? chatProfile(allowedProfiles, resume.profile ?? defaultProfile) : undefined;
      if (!profile) resume = undefined;
    }
    profile ??= chatProfile(allowedProfiles, c.req.query("agent") || defaultProfile);
    if (!profile) return c.html(renderErrorPage(404, "There is no agent by that name to talk with here."), 404);
    return c.html(
      renderChat({
        turnstileSiteKey: turnstile?.siteKey,
        turnstileOrigin: turnstile?.origin,
        profile,
        resume,
        notice: resumeId && !resume ? CANNOT_RESUME : undefined,
        last: await lastConversation(c.env, c.var.visitorId),
      }),
    );
  }),
);

pageRoutes.get("/history", (c) =>
  htmlErrors(c, async () => {
    await enforceRateLimit(c, c.env.READ_LIMITER);
    const cursor = c.req.query("cursor") || undefined;
    const page = await listConversations(c.env, c.var.visitorId, cursor === undefined ? {} : { cursor });
    const profileNames: Record<string, string> = {};
    for (const { profile } of page.conversations) {
      const name = profileById(profile)?.display_name;
      if (name) profileNames[profile] = name;
    }
    return c.html(
      renderConversations({
        conversations: page.conversations,
        nextCursor: page.next_cursor,
        older: cursor !== undefined,
        retentionDays: c.var.config.retentionDays,
        profileNames,
      }),
    );
  }),
);

/** `POST /history/delete-all`: deletes the visitor's conversations, then back to the (empty) list. */
pageRoutes.post("/history/delete-all", (c) =>
  htmlErrors(c, async () => {
    await enforceRateLimit(c, c.env.STOP_LIMITER);
    await deleteAllConversations(c.env, c.var.visitorId);
    return c.redirect("/history", 303);
  }),
);

/**
 * `POST /history/{id}/delete`: deletes one of the visitor's conversations, then back to the list. One that is
 * already gone (e.g. the form sent twice) also goes back to the list; another visitor's is the 403 page.
 */
pageRoutes.post("/history/:session_id/delete", (c) =>
  htmlErrors(c, async () => {
    await enforceRateLimit(c, c.env.STOP_LIMITER);
    const id = SessionId.safeParse(c.req.param("session_id"));
    try {
      if (id.success) await deleteConversation(c.env, c.var.visitorId, id.data);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
    }
    return c.redirect("/history", 303);
  }),
);

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
