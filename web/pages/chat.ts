/**
 * The `/chat` page markup. Element ids are the page script's interface (web/src/view.ts
 * `findElements`): rename both together. The typed-input form (`#typed`) starts disabled: the page script
 * enables it while the session is active, and without the script it does nothing. `/chat?resume=<id>` shows the
 * earlier conversation's captions above the live ones and carries its id in `#chat[data-resume]`; the visitor's
 * last conversation is offered under the lede, so that it survives a reload (server-rendered, no script).
 */
import { html, raw } from "hono/html";
import { TURNSTILE_ORIGIN, TURNSTILE_SCRIPT_PATH } from "../../contract/defaults.ts";
import { TYPED_TEXT_MAX } from "../../contract/messages.ts";
import type { ConversationEntry, TranscriptResponse } from "../../contract/index.ts";
import { transcriptItem, when } from "./history.ts";
import { layout, type Html } from "./layout.ts";

const MIC = raw(
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><rect x="9" y="3" width="6" height="11" rx="3"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/></svg>',
);
const AGENT = raw(
  '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 10v4M8 7v10M12 4v16M16 8v8M20 11v2"/></svg>',
);

/** What the chat page depends on in the deployment's configuration. */
export interface ChatPageOptions {
  /**
   * Cloudflare Turnstile's public sitekey when the deployment has Turnstile on (`TURNSTILE_SITE_KEY`), else
   * undefined. When set, the page preloads the widget script, carries the key in `#chat[data-turnstile-sitekey]`
   * (the CSP allows no inline script) and has the widget's container `#turnstile`; web/src/turnstile.ts
   * renders the widget there.
   */
  turnstileSiteKey?: string | undefined;
  /**
   * The origin of Turnstile's widget script (`TURNSTILE_ORIGIN`); default Cloudflare's. The script's URL goes
   * in `#chat[data-turnstile-script]` next to the sitekey.
   */
  turnstileOrigin?: string | undefined;
  /**
   * The agent's profile the page talks to (`/chat?agent=<id>`, checked by the Worker): its `id` goes in
   * `#chat[data-profile]` (sent with `POST /session`), its display `name` in the title, the heading
   * ("Talk with <name>") and `#chat[data-profile-name]`, and `planner` (the profile has planner intents) adds
   * the plan panel `#plan` and `#chat[data-planner="true"]`. Default: none named (the Worker's default
   * profile), "the agent", no panel.
   */
  profile?: ChatProfile | undefined;
  /**
   * The earlier conversation `/chat?resume=<id>` continues: one of the visitor's, ended (the Worker checks). Its
   * id goes in `#chat[data-resume]` (sent as `resume_from` with `POST /session`), and its captions and actions
   * are listed above the live captions under "Earlier in this conversation" (`#earlier`), as the transcript page
   * shows them, with its summary when it has one. The Worker passes the earlier conversation's profile as
   * `profile`.
   */
  resume?: TranscriptResponse | undefined;
  /** A short notice under the lede, e.g. "That conversation can't be continued." (`#notice`). */
  notice?: string | undefined;
  /**
   * The visitor's newest conversation (the Worker's `lastConversation`), so that it is still offered after a
   * reload: "Your last conversation: <date> — Read / Continue" (`#last-conversation`; Continue once it ended).
   * Not shown when it is the one `resume` continues.
   */
  last?: ConversationEntry | null | undefined;
}

/** What the chat page shows of a profile. */
export interface ChatProfile {
  /** The profile id (contract `ProfileId`). */
  id: string;
  /** Its `display_name`, e.g. "Planner". */
  name: string;
  /** Whether it has planner intents (GOAL, NEW_TASK, RESCHEDULE_TASK): the page shows the plan panel. */
  planner: boolean;
}

/** The plan panel (web/src/plan.ts fills it): goals and upcoming tasks, from `GET /planner`. */
const PLAN = html`<section class="plan" id="plan" aria-labelledby="plan-title">
<h2 id="plan-title">Your plan</h2>
<p class="plan__note" id="plan-note">Loading your plan…</p>
<div class="plan__group" hidden><h3>Goals</h3><ul class="plan__list" id="plan-goals"></ul></div>
<div class="plan__group" hidden><h3>Upcoming tasks</h3><ul class="plan__list" id="plan-tasks"></ul></div>
</section>
`;

/**
 * The earlier conversation's captions and actions (`/chat?resume=`), in a scrollable region that starts at its end
 * (CSS `column-reverse`, no script), with its summary.
 */
function earlier(t: TranscriptResponse): Html {
  const items = t.events.map((e) => transcriptItem(e, t)).filter((i) => i !== null);
  return html`<section class="earlier" id="earlier" aria-labelledby="earlier-title">
<div class="transcript__head"><h2 id="earlier-title">Earlier in this conversation</h2><a class="transcript__link" href="/history/${t.session_id}">Transcript</a></div>
${t.summary ? html`<p class="earlier__summary">${t.summary}</p>` : ""}${
    items.length > 0
      ? html`<div class="earlier__box" role="region" aria-label="Earlier in this conversation, scrollable" tabindex="0"><ol class="history__list earlier__list">${items}</ol></div>`
      : html`<p class="history__empty">Nothing was said in that conversation.</p>`
  }
</section>
`;
}

/** "Your last conversation: <date> — Read · Continue" (Continue once it ended). */
function lastConversation(e: ConversationEntry): Html {
  return html`<p class="last-conversation" id="last-conversation">Your last conversation: ${when(e.started_at)} — <a href="/history/${e.session_id}">Read</a>${
    e.status === "ended" ? html` · <a href="/chat?resume=${e.session_id}">Continue</a>` : ""
  } · <a href="/history">All conversations</a></p>
`;
}

/** The chat page body. */
export function chatPage(options: ChatPageOptions = {}): Html {
  const siteKey = options.turnstileSiteKey;
  const resume = options.resume;
  const last = options.last && options.last.session_id !== resume?.session_id ? options.last : undefined;
  const script = `${options.turnstileOrigin ?? TURNSTILE_ORIGIN}${TURNSTILE_SCRIPT_PATH}`;
  const profile = options.profile;
  const name = profile?.name ?? "the agent";
  return layout({
    title: `Talk with ${name} · Voice agent`,
    pageClass: "page--chat",
    script: "chat.js",
    ...(siteKey
      ? {
          head: html`
<link rel="preload" href="${script}" as="script">`,
        }
      : {}),
    body: html`<div class="chat" id="chat" data-phase="idle"${
      profile
        ? html` data-profile="${profile.id}" data-profile-name="${profile.name}"${profile.planner ? html` data-planner="true"` : ""}`
        : ""
    }${siteKey ? html` data-turnstile-sitekey="${siteKey}" data-turnstile-script="${script}"` : ""}${
      resume ? html` data-resume="${resume.session_id}"` : ""
    }>
<h1>Talk with ${name}</h1>
<p class="lede">${
      resume
        ? "You're continuing an earlier conversation: press Start, and the agent picks up where you left off."
        : "Press Start, allow the microphone, and speak naturally. You can interrupt the agent at any time."
    }</p>
${
  options.notice
    ? html`<p class="notice" id="notice">${options.notice}</p>
`
    : ""
}${last ? lastConversation(last) : ""}<section class="stage" aria-label="Participants">
<div class="party party--user" id="party-user" data-speaking="false">
<div class="party__avatar">${MIC}</div>
<div class="party__text"><p class="party__name">You</p><p class="party__state" id="user-state">Mic off</p>
<div class="meter" id="meter" aria-hidden="true"><span class="meter__bar"></span></div></div>
</div>
<div class="party party--agent" id="party-agent" data-speaking="false" data-state="offline">
<div class="party__avatar">${AGENT}</div>
<div class="party__text"><p class="party__name">${profile?.name ?? "Agent"}</p><p class="party__state" id="agent-state">Offline</p></div>
</div>
</section>
<div class="alert" id="alert" role="alert" hidden>
<p class="alert__title" id="alert-title"></p>
<p class="alert__message" id="alert-message"></p>
<p class="alert__detail" id="alert-detail" hidden></p>
</div>
<div class="controls">
<button class="btn btn--primary" id="start" type="button">Start</button>
<button class="btn btn--toggle" id="mute" type="button" aria-pressed="false" hidden>Mute</button>
<button class="btn btn--danger" id="stop" type="button" hidden>Stop</button>
<button class="btn" id="play-audio" type="button" hidden>Play agent audio</button>
<p class="status" id="status" role="status">Ready when you are.</p>
</div>
<form class="typed" id="typed">
<label class="visually-hidden" for="message">Type a message</label>
<input class="typed__text" id="message" type="text" maxlength="${TYPED_TEXT_MAX}" autocomplete="off" enterkeyhint="send" placeholder="Press Start to type" disabled>
<button class="btn" id="send" type="submit" disabled>Send</button>
</form>
${
  siteKey
    ? html`<div class="turnstile" id="turnstile"></div>
`
    : ""
}${resume ? earlier(resume) : ""}<section class="transcript" aria-labelledby="captions-title">
<div class="transcript__head"><h2 id="captions-title">Captions</h2><a class="transcript__link" id="history-link" href="/" hidden>Saved transcript</a></div>
<div class="captions" id="captions-box" role="region" aria-label="Captions, scrollable" tabindex="0">
<p class="captions__empty" id="captions-empty">What you and the agent say appears here as you speak.</p>
<div class="captions__log" id="captions" role="log" aria-live="polite" aria-labelledby="captions-title"></div>
</div>
</section>
${profile?.planner ? PLAN : ""}<noscript><p class="alert">The voice chat needs JavaScript. Past conversations can still be read without it.</p></noscript>
</div>`,
  });
}
