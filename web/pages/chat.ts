/**
 * The `/chat` page markup. Element ids are the page script's interface (web/src/view.ts
 * `findElements`): rename both together. The typed-input form (`#typed`) starts disabled: the page script
 * enables it while the session is active, and without the script it does nothing. `/chat?resume=<id>` shows the
 * earlier conversation's captions above the live ones and carries its id in `#chat[data-resume]`; the visitor's
 * last conversation is offered under the lede, so that it survives a reload (server-rendered, no script).
 *
 * The name step (`#name-step`, a form posting to `/chat/name`, no script) asks the visitor's first name before their
 * first Start on a profile with `ask_name`, or when they follow "Change name" (`?name=edit`); while it is shown the
 * controls (`.controls`, with `#start`) are `hidden`, which hides Start whatever the page script sets on the button.
 * Once they answered, "Hi <name> · Change name" (or "Add your name" after a skip) sits under the heading.
 *
 * The agent's voice visualizer (`#visualizer`, five bars, `aria-hidden`: the agent's state is the text next to it)
 * sits under the agent's state; the bars are flat until web/src/visualizer.ts sets their heights. The microphone
 * choice (`#microphones`, a labelled `<select id="microphone">`) follows the controls, `hidden` until
 * web/src/microphones.ts finds two or more inputs, and hidden by CSS with the controls during the name step.
 *
 * The page speaks its profile's language (web/i18n/index.ts `pageLanguage`): `<html lang>`, every text here and in
 * the shell, and the page script's texts, rendered as a JSON data block (`#texts`, read by web/src/texts.ts: the
 * script bundles no texts of its own, so every page carries the block, English ones too). The
 * plan and lesson panels and the action cards are English whatever the language (no shipped non-English profile has
 * intents).
 */
import { html, raw } from "hono/html";
import { TURNSTILE_ORIGIN, TURNSTILE_SCRIPT_PATH } from "../../contract/defaults.ts";
import { TYPED_TEXT_MAX } from "../../contract/messages.ts";
import {
  VISITOR_NAME_MAX,
  type ConversationEntry,
  type TranscriptResponse,
  type TutorPlace,
  type VisitorNameResponse,
} from "../../contract/index.ts";
import { fill, pageLanguage, type PageLanguage, type PageTexts, type ScriptTexts } from "../i18n/index.ts";
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
  /** A short notice under the lede (`#notice`), as written. */
  notice?: string | undefined;
  /**
   * `/chat?resume=<id>` named a conversation that cannot be continued: the notice says so ("That conversation can't
   * be continued.", in the page's language), unless `notice` is given.
   */
  resumeRefused?: boolean | undefined;
  /**
   * The visitor's newest conversation (the Worker's `lastConversation`), so that it is still offered after a
   * reload: "Your last conversation: <date> — Read / Continue" (`#last-conversation`; Continue once it ended).
   * Not shown when it is the one `resume` continues.
   */
  last?: ConversationEntry | null | undefined;
  /**
   * The visitor's first name and whether they answered the name step (`GET /visitor/name`): with a name, "Hi <name>
   * · Change name" under the heading (`#visitor-greeting`, a link to `?name=edit`); without one after answering, on
   * a profile that asks (`profile.askName`), "Add your name". Absent: neither.
   */
  visitorName?: VisitorNameResponse | undefined;
  /**
   * The name step, when the page shows it (the Worker decides: a profile with `ask_name` the visitor has not answered
   * yet, or `?name=edit`): a form (`#name-step`) posting `name`, `agent` (the profile's id) and `resume` (the id
   * `resume` continues) to `/chat/name`, with Continue and Skip (`skip`); the controls with Start are hidden meanwhile.
   */
  nameStep?: NameStep | undefined;
  /**
   * For a profile with tutor intents (`profile.tutor`), the visitor's place in the curriculum (worker/curriculum.ts
   * `tutorPlace`), null before any topic: the lesson panel `#tutor` carries it as JSON in `data-place`, and
   * web/src/tutor.ts shows it and follows the tutor's actions.
   */
  tutorPlace?: TutorPlace | null | undefined;
  /**
   * The page is the widget's panel (`/embed/chat`, docs/widget.md), framed by a page of `host` (an origin the Worker
   * allowed): the shell without header and footer (layout.ts `embedded`), `#chat[data-embed-host]` for the bridge
   * script (web/src/embed-panel.ts, which posts its events to that origin only), its own links back to
   * `/embed/chat?…&host=` (name step, resume), and no links to the transcript pages: the panel's visitor has another
   * cookie than the standalone pages' (worker/visitor.ts), so those pages would not know them.
   */
  embed?: { host: string } | undefined;
  /**
   * The deployment offers live mode (`ENABLE_VOICE_LIVE_MODE`): a "Live mode" switch (`#live-mode`, a checkbox with
   * `role="switch"`, off) after the microphone choice; web/src/live-mode.ts sends `mode: "live"` with `POST /session`
   * when it is on, and during a conversation switches the session's mode (`POST /session/{id}/mode`). Hidden with the
   * controls during the name step. Default false.
   */
  liveMode?: boolean | undefined;
}

/**
 * Why a typed name was refused: `empty` (nothing but spaces), `too_long` (over `VISITOR_NAME_MAX`), `invalid` (not
 * letters).
 */
export type NameProblem = "empty" | "too_long" | "invalid";

/** The name step's state. */
export interface NameStep {
  /** What the input holds: the visitor's name when they change it, what they typed when it was refused, else "". */
  value: string;
  /** Why the typed name was refused, one sentence as written (`#name-error`); absent: `problem`'s sentence, if any. */
  error?: string | undefined;
  /** Why the typed name was refused, said in the page's language (`#name-error`); absent: nothing refused. */
  problem?: NameProblem | undefined;
}

/** What the chat page shows of a profile. */
export interface ChatProfile {
  /** The profile id (contract `ProfileId`). */
  id: string;
  /** Its `display_name`, e.g. "Planner". */
  name: string;
  /** Whether it has planner intents (GOAL, NEW_TASK, RESCHEDULE_TASK): the page shows the plan panel. */
  planner: boolean;
  /** Whether it has tutor intents (START_TOPIC, …): the page shows the lesson panel. Default false. */
  tutor?: boolean | undefined;
  /** Its `ask_name`: the page asks the visitor's first name before their first Start. Default false. */
  askName?: boolean | undefined;
  /**
   * Its `language` (BCP 47, e.g. `es`): the page's language when web/i18n/ has a catalog for it (else English), and
   * the captions' always. Default `en`.
   */
  language?: string | undefined;
}

/**
 * The lesson panel (web/src/tutor.ts fills it from `data-place` and the tutor's action frames): the topic, its parts
 * in order with the current one marked, and how many the visitor understood.
 */
function lessonPanel(place: TutorPlace | null | undefined): Html {
  return html`<section class="plan tutor" id="tutor" aria-labelledby="tutor-title"${place ? html` data-place="${JSON.stringify(place)}"` : ""}>
<h2 id="tutor-title">Your lesson</h2>
<p class="tutor__topic" id="tutor-topic" aria-live="polite">No topic yet: ask the tutor to teach you one.</p>
<ol class="tutor__parts" id="tutor-parts"></ol>
<p class="plan__note" id="tutor-progress"></p>
</section>`;
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
function earlier(t: TranscriptResponse, language: PageLanguage, embedded: boolean): Html {
  const { page: p, script: s } = language;
  const labels = { user: s.you, agent: s.agentLabel, mode: s.mode };
  const items = t.events.map((e) => transcriptItem(e, t, undefined, labels)).filter((i) => i !== null);
  return html`<section class="earlier" id="earlier" aria-labelledby="earlier-title">
<div class="transcript__head"><h2 id="earlier-title">${p.earlier}</h2>${
    embedded ? "" : html`<a class="transcript__link" href="/history/${t.session_id}">${p.transcript}</a>`
  }</div>
${t.summary ? html`<p class="earlier__summary">${t.summary}</p>` : ""}${
    items.length > 0
      ? html`<div class="earlier__box" role="region" aria-label="${p.earlierScrollable}" tabindex="0"><ol class="history__list earlier__list"${conversationLang(language)}>${items}</ol></div>`
      : html`<p class="history__empty">${p.earlierEmpty}</p>`
  }
</section>
`;
}

/**
 * ` lang="<tag>"` for what is said in the conversation (captions, the earlier conversation) when its language is not
 * the page's (a profile language without a catalog: English texts around, e.g., German captions); else nothing.
 */
function conversationLang(language: PageLanguage): Html | "" {
  return language.conversation !== language.lang ? html` lang="${language.conversation}"` : "";
}

/**
 * The page script's texts as a JSON data block (`#texts`, web/src/texts.ts), on every page in every language: the
 * script bundles none (docs/web.md, "Budget"). A data block is not run, so the CSP's `script-src 'self'` allows it;
 * its `<` are escaped (`\u003c`), so no text can close the element or open a comment.
 */
function textsBlock(texts: ScriptTexts): Html {
  return raw(`<script type="application/json" id="texts">${JSON.stringify(texts).replace(/</g, "\\u003c")}</script>`);
}

/**
 * "Your last conversation: <date> — Read · Continue" (Continue once it ended). In the panel, only Continue: no
 * transcript pages there.
 */
function lastConversation(e: ConversationEntry, t: PageTexts, options: ChatPageOptions): Html | "" {
  const ended = e.status === "ended";
  const resume = pagePath({ resume: e.session_id }, options.embed);
  if (options.embed) {
    return ended
      ? html`<p class="last-conversation" id="last-conversation">${t.lastConversation} ${when(e.started_at, t.dateLocale)} — <a href="${resume}">${t.continue}</a></p>
`
      : "";
  }
  return html`<p class="last-conversation" id="last-conversation">${t.lastConversation} ${when(e.started_at, t.dateLocale)} — <a href="/history/${e.session_id}">${t.read}</a>${
    ended ? html` · <a href="${resume}">${t.continue}</a>` : ""
  } · <a href="/history">${t.allConversations}</a></p>
`;
}

/**
 * The chat page's address for `query` (`resume` or `agent`): `/chat?…`, or in the panel `/embed/chat?…&host=<origin>`.
 */
function pagePath(query: { resume?: string; agent?: string }, embed: ChatPageOptions["embed"]): string {
  const params = new URLSearchParams(query);
  if (embed) params.set("host", embed.host);
  const search = params.size > 0 ? `?${params.toString()}` : "";
  return `${embed ? "/embed/chat" : "/chat"}${search}`;
}

/**
 * This page's own address: `/chat?resume=<id>`, `/chat?agent=<id>`, or `/chat` (in the panel, `/embed/chat` with the
 * same and `host`).
 */
function chatPath(options: ChatPageOptions): string {
  if (options.resume) return pagePath({ resume: options.resume.session_id }, options.embed);
  return pagePath(options.profile ? { agent: options.profile.id } : {}, options.embed);
}

/** This page with `?name=edit`: the name step, to give, change or forget the name. */
function editNamePath(options: ChatPageOptions): string {
  const path = chatPath(options);
  return `${path}${path.includes("?") ? "&" : "?"}name=edit`;
}

/** "Hi Alice · Change name" once the visitor gave a name; "Add your name" after a skip on a profile that asks. */
function visitorGreeting(options: ChatPageOptions, t: PageTexts): Html | "" {
  const { visitorName, nameStep, profile } = options;
  if (nameStep || !visitorName) return "";
  if (visitorName.name !== null) {
    return html`<p class="visitor-greeting" id="visitor-greeting">${fill(t.hiName, { name: visitorName.name })} · <a href="${editNamePath(options)}">${t.changeName}</a></p>
`;
  }
  if (visitorName.asked && profile?.askName) {
    return html`<p class="visitor-greeting" id="visitor-greeting"><a href="${editNamePath(options)}">${t.addName}</a></p>
`;
  }
  return "";
}

/** The sentence of a refused name: the one given as written, else the page language's for its problem. */
function nameError(step: NameStep, t: PageTexts): string | undefined {
  if (step.error !== undefined) return step.error;
  switch (step.problem) {
    case "empty":
      return t.nameEmpty;
    case "too_long":
      return fill(t.nameTooLong, { max: VISITOR_NAME_MAX });
    case "invalid":
      return t.nameInvalid;
    default:
      return undefined;
  }
}

/**
 * The name step: a first-name form posting to `/chat/name` (no script). "Skip" submits without the browser's
 * `required` check; after an earlier answer it reads "Forget my name" (with a name) and there is a way back.
 */
function nameStepForm(step: NameStep, options: ChatPageOptions, agentName: string, t: PageTexts): Html {
  const answered = options.visitorName?.asked === true;
  const hasName = options.visitorName?.name != null;
  const error = nameError(step, t);
  const invalid = error !== undefined;
  return html`<form class="name-step" id="name-step" method="post" action="/chat/name" aria-labelledby="name-step-title">
<h2 id="name-step-title">${fill(t.nameTitle, { agent: agentName })}</h2>
<p class="name-step__note">${t.nameNote}</p>
${options.profile ? html`<input type="hidden" name="agent" value="${options.profile.id}">` : ""}${
    options.resume ? html`<input type="hidden" name="resume" value="${options.resume.session_id}">` : ""
  }${options.embed ? html`<input type="hidden" name="host" value="${options.embed.host}">` : ""}
<label for="name-input">${t.nameLabel}</label>
<div class="typed">
<input class="typed__text" id="name-input" name="name" type="text" value="${step.value}" maxlength="${VISITOR_NAME_MAX}" autocomplete="given-name" autocapitalize="words" spellcheck="false" required${
    invalid ? html` aria-invalid="true" aria-describedby="name-error"` : ""
  }${invalid || answered ? html` autofocus` : ""}>
<button class="btn btn--primary" id="name-continue" type="submit">${t.nameContinue}</button>
<button class="btn" id="name-skip" type="submit" name="skip" value="1" formnovalidate>${hasName ? t.nameForget : t.nameSkip}</button>
</div>
${
  invalid
    ? html`<p class="notice" id="name-error" role="alert">${error}</p>
`
    : ""
}${
    answered
      ? html`<p><a href="${chatPath(options)}">${hasName ? t.nameKeep : t.nameWithout}</a></p>
`
      : ""
  }</form>
`;
}

/** The chat page body. */
export function chatPage(options: ChatPageOptions = {}): Html {
  const siteKey = options.turnstileSiteKey;
  const resume = options.resume;
  const last = options.last && options.last.session_id !== resume?.session_id ? options.last : undefined;
  const script = `${options.turnstileOrigin ?? TURNSTILE_ORIGIN}${TURNSTILE_SCRIPT_PATH}`;
  const profile = options.profile;
  const language = pageLanguage(profile?.language);
  const { page: t, script: s } = language;
  const name = profile?.name ?? t.theAgent;
  const talkWith = fill(t.talkWith, { name });
  const notice = options.notice ?? (options.resumeRefused ? t.cannotResume : undefined);
  return layout({
    title: `${talkWith} · ${t.brand}`,
    pageClass: "page--chat",
    script: "chat.js",
    embedded: options.embed !== undefined,
    lang: language.lang,
    texts: t,
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
    }${options.embed ? html` data-embed-host="${options.embed.host}"` : ""}>
<h1${options.embed ? html` class="visually-hidden"` : ""}>${talkWith}</h1>
${visitorGreeting(options, t)}<p class="lede">${resume ? t.ledeResume : t.lede}</p>
${
  notice
    ? html`<p class="notice" id="notice">${notice}</p>
`
    : ""
}${options.nameStep ? nameStepForm(options.nameStep, options, name, t) : ""}${last ? lastConversation(last, t, options) : ""}<section class="stage" aria-label="${t.participants}">
<div class="party party--user" id="party-user" data-speaking="false">
<div class="party__avatar">${MIC}</div>
<div class="party__text"><p class="party__name">${s.you}</p><p class="party__state" id="user-state">${s.user.off}</p>
<div class="meter" id="meter" aria-hidden="true"><span class="meter__bar"></span></div></div>
</div>
<div class="party party--agent" id="party-agent" data-speaking="false" data-state="offline">
<div class="party__avatar">${AGENT}</div>
<div class="party__text"><p class="party__name">${profile?.name ?? s.agentLabel}</p><p class="party__state" id="agent-state">${s.agent.offline}</p>
<div class="visualizer" id="visualizer" aria-hidden="true"><span></span><span></span><span></span><span></span><span></span></div></div>
</div>
</section>
<div class="alert" id="alert" role="alert" hidden>
<p class="alert__title" id="alert-title"></p>
<p class="alert__message" id="alert-message"></p>
<p class="alert__detail" id="alert-detail" hidden></p>
</div>
<div class="controls"${options.nameStep ? html` hidden` : ""}>
<button class="btn btn--primary" id="start" type="button">${s.start}</button>
<button class="btn btn--toggle" id="mute" type="button" aria-pressed="false" hidden>${t.mute}</button>
<button class="btn btn--danger" id="stop" type="button" hidden>${t.stop}</button>
<button class="btn" id="play-audio" type="button" hidden>${t.playAudio}</button>
<p class="status" id="status" role="status">${s.status.ready}</p>
</div>
<div class="microphones" id="microphones" hidden><label for="microphone">${t.microphone}</label><select class="microphones__select" id="microphone"></select></div>
${
  options.liveMode
    ? html`<div class="live-mode"><input type="checkbox" role="switch" id="live-mode" aria-describedby="live-mode-note"><label for="live-mode">${t.liveMode}</label><p class="live-mode__note" id="live-mode-note">${t.liveModeNote}</p></div>
`
    : ""
}<form class="typed" id="typed">
<label class="visually-hidden" for="message">${t.typeMessage}</label>
<input class="typed__text" id="message" type="text" maxlength="${TYPED_TEXT_MAX}" autocomplete="off" enterkeyhint="send" placeholder="${s.placeholder.idle}" disabled>
<button class="btn" id="send" type="submit" disabled>${t.send}</button>
</form>
${
  siteKey
    ? html`<div class="turnstile" id="turnstile"></div>
`
    : ""
}${resume ? earlier(resume, language, options.embed !== undefined) : ""}<section class="transcript" aria-labelledby="captions-title">
<div class="transcript__head"><h2 id="captions-title">${t.captions}</h2><a class="transcript__link" id="history-link" href="/" hidden>${t.savedTranscript}</a></div>
<div class="captions" id="captions-box" role="region" aria-label="${t.captionsScrollable}" tabindex="0">
<p class="captions__empty" id="captions-empty">${t.captionsEmpty}</p>
<div class="captions__log" id="captions" role="log" aria-live="polite" aria-labelledby="captions-title"${conversationLang(language)}></div>
</div>
</section>
${profile?.planner ? PLAN : ""}${profile?.tutor ? lessonPanel(options.tutorPlace) : ""}<noscript><p class="alert">${t.noScript}</p></noscript>
${textsBlock(s)}</div>`,
  });
}
