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
 *
 * The name step: `/chat` shows it (a form, Start hidden) on a profile with `ask_name` until the visitor has answered
 * (a name, or Skip), and on `/chat?name=edit`; it posts to `POST /chat/name` (`name`, `skip`, `agent`, `resume`;
 * `STOP_LIMITER`, like the other writes), which stores the answer in the visitor's `VisitorDO` and answers 303 back
 * to `/chat?agent=<agent>` (or `?resume=<id>`); a name the contract's `VisitorName` refuses gets the page again with
 * the name step, the typed value and why (400). The same origin check and SameSite=Lax cookie as the `/history`
 * forms protect it. See docs/edge.md, "Visitor name".
 *
 * The widget's panel `/embed/chat?agent=<id>&host=<origin>` is `/chat` without the site's shell, framable by
 * `ALLOWED_ORIGINS` only (docs/widget.md); `/embed.js` is the widget's loader.
 *
 * `/chat` speaks its profile's `language` (web/i18n/, docs/web.md "Languages"): the page gets the profile's language,
 * and a refused name or a conversation that cannot be continued are passed as what happened, for the page to say in
 * its language. The other pages are English.
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ProfileId, SessionId, type TranscriptResponse, VisitorName } from "../../contract/index.ts";
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
  type NameProblem,
} from "../../web/pages/index.ts";
import { tutorPlace } from "../curriculum.ts";
import { hasPlanner, hasTutor, profileById } from "../profiles.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { ownedSession, sessionStub, visitorStub } from "../sessions.ts";
import { EMBED_PANEL_PATH } from "../visitor.ts";

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

pageRoutes.get("/", (c) => {
  const { retentionDays, allowedProfiles, defaultProfile } = c.var.config;
  const agents = [...allowedProfiles].flatMap((id) => {
    const profile = id === defaultProfile ? undefined : profileById(id);
    return profile ? [{ id, name: profile.display_name, language: profile.language }] : [];
  });
  return c.html(renderHome(retentionDays, agents));
});

/** What `/chat` shows of profile `id`, or undefined when a visitor may not talk with it (not allowed, or unknown). */
function chatProfile(allowed: ReadonlySet<string>, id: string): ChatProfile | undefined {
  const profile = allowed.has(id) ? profileById(id) : undefined;
  if (!profile) return undefined;
  return {
    id,
    name: profile.display_name,
    planner: hasPlanner(profile),
    tutor: hasTutor(profile),
    askName: profile.ask_name,
    language: profile.language,
  };
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

/** What `/chat` is asked to show. */
interface ChatRequest {
  /**
   * `/embed/chat?host=`: the page is the widget's panel, framed by a page of this origin (one of `ALLOWED_ORIGINS`,
   * checked by the route).
   */
  embed?: { host: string } | undefined;
  /** `?agent=`: the profile to talk with (absent or empty: `DEFAULT_PROFILE`). */
  agent: string | undefined;
  /** `?resume=`: the conversation to continue. */
  resume: string | undefined;
  /** `?name=edit`: the name step, whatever the visitor answered before. */
  editName: boolean;
  /** The name step as `POST /chat/name` refused it: what was typed and why (said in the page's language). */
  refused?: { value: string; problem: NameProblem };
}

/**
 * The `/chat` page for `request`: the profile (`agent`, or the conversation `resume` continues), the visitor's last
 * conversation, their first name and, when due, the name step, and for a tutor profile their place in the curriculum
 * (one D1 query).
 * @param status the response's status (400 for a refused name)
 * @throws HttpError 429 `rate_limited` (`READ_LIMITER`, with `resume`)
 */
async function chatResponse(c: Context<AppEnv>, request: ChatRequest, status: 200 | 400 = 200): Promise<Response> {
  const { turnstile, allowedProfiles, defaultProfile } = c.var.config;
  const resumeId = request.resume;
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
  profile ??= chatProfile(allowedProfiles, request.agent || defaultProfile);
  if (!profile) return c.html(renderErrorPage(404, "There is no agent by that name to talk with here."), 404);
  const [last, visitorName, place] = await Promise.all([
    lastConversation(c.env, c.var.visitorId),
    visitorStub(c.env, c.var.visitorId).visitorName(),
    profile.tutor ? tutorPlace(c.env.CURRICULUM, c.var.visitorId) : null,
  ]);
  const asking = request.editName || (profile.askName === true && !visitorName.asked);
  const nameStep = request.refused ?? (asking ? { value: visitorName.name ?? "" } : undefined);
  return c.html(
    renderChat({
      turnstileSiteKey: turnstile?.siteKey,
      turnstileOrigin: turnstile?.origin,
      profile,
      resume,
      resumeRefused: Boolean(resumeId && !resume),
      last,
      visitorName,
      nameStep,
      tutorPlace: place,
      embed: request.embed,
      liveMode: c.var.config.liveMode,
    }),
    status,
  );
}

pageRoutes.get("/chat", (c) =>
  htmlErrors(c, () =>
    chatResponse(c, {
      agent: c.req.query("agent"),
      resume: c.req.query("resume"),
      editName: c.req.query("name") === "edit",
    }),
  ),
);

/**
 * The host origin of `/embed/chat?host=<origin>` when it may embed the panel (one of `ALLOWED_ORIGINS`), else
 * undefined.
 */
function embedHost(c: Context<AppEnv>, host: string | undefined): string | undefined {
  return host !== undefined && c.var.config.allowedOrigins.has(host) ? host : undefined;
}

/**
 * `/embed/chat?agent=<id>&host=<origin>`: the chat page as the widget's panel (docs/widget.md), framed by the page
 * that loaded `/embed.js` on `host`. The same page as `/chat` (`resume`, `name=edit`, the name step) without the
 * site's header and footer, plus the bridge script that tells the host page what happens (web/src/embed-panel.ts);
 * its CSP lets `ALLOWED_ORIGINS` frame it (worker/security.ts) and it issues the partitioned visitor cookie
 * (worker/visitor.ts). A `host` that is not allowed gets a 403 page, which no one may frame.
 */
pageRoutes.get(EMBED_PANEL_PATH, (c) =>
  htmlErrors(c, () => {
    const host = embedHost(c, c.req.query("host"));
    if (!host) return Promise.resolve(c.html(renderErrorPage(403, "This site may not embed the voice agent."), 403));
    c.set("framable", true);
    return chatResponse(c, {
      agent: c.req.query("agent"),
      resume: c.req.query("resume"),
      editName: c.req.query("name") === "edit",
      embed: { host },
    });
  }),
);

/** Largest `POST /chat/name` body, bytes: the form's few fields with a name fit many times over. */
const NAME_FORM_MAX_BYTES = 2048;

const limitNameForm = bodyLimit({
  maxSize: NAME_FORM_MAX_BYTES,
  onError: (c) => c.html(renderErrorPage(413, "That form was too large to take."), 413),
});

/** A form field's text, or undefined when it is absent or not text (a file). */
function field(form: Record<string, string | File>, key: string): string | undefined {
  const value = form[key];
  return typeof value === "string" ? value : undefined;
}

/**
 * Why `VisitorName` refused a name (never the name itself); the name step says it in the page's language.
 * @param code the zod issue code of the first problem (`too_small`: empty, `too_big`: too long, else not letters)
 */
function nameProblem(code: string | undefined): NameProblem {
  if (code === "too_small") return "empty";
  if (code === "too_big") return "too_long";
  return "invalid";
}

/**
 * Where `POST /chat/name` sends the visitor back: `/chat?resume=<id>`, `/chat?agent=<id>`, or `/chat`; the panel's
 * `/embed/chat?…&host=<origin>` when the form came from the panel (`host`, an allowed one).
 */
function chatPathFor(agent: string | undefined, resume: string | undefined, host: string | undefined): string {
  const query = new URLSearchParams();
  if (resume !== undefined && SessionId.safeParse(resume).success) query.set("resume", resume);
  else if (agent !== undefined && ProfileId.safeParse(agent).success) query.set("agent", agent);
  if (host !== undefined) query.set("host", host);
  const search = query.size > 0 ? `?${query.toString()}` : "";
  return `${host !== undefined ? EMBED_PANEL_PATH : "/chat"}${search}`;
}

/**
 * `POST /chat/name` (application/x-www-form-urlencoded or multipart/form-data: `name`, `skip`, `agent`, `resume`):
 * the name step's answer. `skip` present: no name (null); else `name` must be a `VisitorName`. Stored, then 303 back
 * to the chat page; a refused name: the chat page with the name step, the typed value and why, 400.
 */
pageRoutes.post("/chat/name", limitNameForm, (c) =>
  htmlErrors(c, async () => {
    await enforceRateLimit(c, c.env.STOP_LIMITER);
    const form = await c.req.parseBody();
    const agent = field(form, "agent");
    const resume = field(form, "resume");
    const host = embedHost(c, field(form, "host"));
    const embed = host === undefined ? undefined : { host };
    let name: string | null = null;
    if (field(form, "skip") === undefined) {
      const typed = field(form, "name") ?? "";
      const parsed = VisitorName.safeParse(typed);
      if (!parsed.success) {
        const refused = { value: typed, problem: nameProblem(parsed.error.issues[0]?.code) };
        return chatResponse(c, { agent, resume, editName: true, refused, embed }, 400);
      }
      name = parsed.data;
    }
    await visitorStub(c.env, c.var.visitorId).setVisitorName(name, Date.now());
    return c.redirect(chatPathFor(agent, resume, host), 303);
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
        prices: c.var.config.usagePrices,
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
  const [transcript, entry] = await Promise.all([
    stub.transcript(),
    visitorStub(c.env, c.var.visitorId).conversation(id.data),
  ]);
  if (!transcript) return c.html(renderErrorPage(404, "There is no conversation at this address."), 404);
  return c.html(renderHistory(transcript, entry?.visitor_name, c.var.config.usagePrices));
});

/**
 * `/static/*`: the page script and stylesheet, the icons and the manifest from Workers static assets, and
 * `/favicon.ico`. wrangler.toml runs the Worker first for these paths (`run_worker_first`), so that they carry the security headers; they keep the assets layer's own
 * caching (`ETag`, revalidation) and get no visitor cookie. Mounted before the visitor and no-store middleware.
 * Source: https://developers.cloudflare.com/workers/static-assets/binding/#run_worker_first
 */
export const staticRoutes = new Hono<AppEnv>();

staticRoutes.get("/static/*", async (c) => {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  // A fetched response has immutable headers; copy it so the security middleware can add its own.
  return new Response(asset.body, asset);
});

/**
 * `/embed.js`: the widget's loader (web/src/embed.ts, built to `/static/embed.js`), at the address a site owner's
 * `<script src>` keeps. Cached for 5 minutes, so that a new version reaches every host page soon.
 */
staticRoutes.get("/embed.js", async (c) => {
  const asset = await c.env.ASSETS.fetch(new Request(new URL("/static/embed.js", c.req.url), c.req.raw));
  const res = new Response(asset.body, asset);
  if (res.ok) res.headers.set("Cache-Control", "public, max-age=300");
  return res;
});

/** `/favicon.ico`, where browsers look for it whatever the page links: `/static/favicon.ico` (web/build.ts). */
staticRoutes.get("/favicon.ico", async (c) => {
  const asset = await c.env.ASSETS.fetch(new Request(new URL("/static/favicon.ico", c.req.url), c.req.raw));
  return new Response(asset.body, asset);
});
