/**
 * `/history/:session_id`: one stored conversation, rendered on the server so it reads without
 * JavaScript. Final transcripts are shown, and the agent's actions as cards (web/src/actions.ts says what a card
 * shows, as on `/chat`; due times in UTC, since the server does not know the visitor's zone); speech events only
 * mark timing; a change of the conversation's mode (contract `ModeMessage`) is a separator line where it happened
 * ("Live mode on", "Live mode off (daily live minutes used up)"). With its summary, a link to the conversation it continues, and, once it has ended, "Continue this
 * conversation" (`/chat?resume=<id>`). The visitor's captions are labelled with the first name they had given when
 * the conversation started (its list entry's `visitor_name`), else "You". Once the agent reported its usage, the
 * details say its turns, median reply latency and estimated cost (usage.ts).
 */
import { html } from "hono/html";
import {
  type ActionMessage,
  DEFAULT_USAGE_PRICES,
  type EndReason,
  type ModeMessage,
  type SessionStatus,
  type StoredEvent,
  type TranscriptResponse,
  type UsagePrices,
} from "../../contract/index.ts";
import { script as english, type ScriptTexts } from "../i18n/en.ts";
import { actionCard, when as dueText } from "../src/actions.ts";
import { layout, type Html } from "./layout.ts";
import { usageParts } from "./usage.ts";

/** Date formats by locale (`when`): made once each. */
const DATES = new Map<string, Intl.DateTimeFormat>();
/** The labels a transcript's items carry (the page's language's on `/chat?resume=`; English on the transcript page). */
export interface TranscriptLabels {
  /** The visitor's and the agent's captions ("You", "Agent"). */
  user: string;
  agent: string;
  /** The mode separators, by the mode changed to, or `live_limit` (web/i18n/en.ts `script.mode`). */
  mode: ScriptTexts["mode"];
}
const LABEL: TranscriptLabels = { user: english.you, agent: english.agentLabel, mode: english.mode };
const REASON: Record<string, string> = {
  stopped: "ended by you",
  timeout: "ended after its time limit or inactivity",
  agent_lost: "ended because the agent left",
  agent_unavailable: "no agent joined",
  no_visitor: "ended because your browser did not join the audio in time",
  error: "ended by a server error",
};

/** `m:ss` (or `h:mm:ss`) from `ms` milliseconds; negative values count as 0. */
export function offset(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * `<time>` of epoch ms `ms`, read in UTC ("21 Nov 2026, 09:30 UTC"): the server does not know the visitor's zone.
 * @param locale the locale it is written in (default `en-GB`; `/chat` passes its language's, e.g. `es-ES`)
 */
export function when(ms: number, locale = "en-GB"): Html {
  let format = DATES.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" });
    DATES.set(locale, format);
  }
  return html`<time datetime="${new Date(ms).toISOString()}">${format.format(ms)} UTC</time>`;
}

const RUNNING: Record<Exclude<TranscriptResponse["status"], "ended">, string> = {
  starting: "starting",
  active: "in progress",
  reconnecting: "in progress (reconnecting the agent)",
};

/**
 * How a conversation stands, in words: "in progress" while it runs, else how it ended ("ended by you", "no agent
 * joined", …; "ended" for a reason without words).
 */
export function statusText(status: SessionStatus, reason: EndReason | null | undefined): string {
  if (status !== "ended") return RUNNING[status];
  return (reason && REASON[reason]) ?? "ended";
}

function status(t: TranscriptResponse): string {
  return statusText(t.status, t.reason);
}

/** " · <time>Tue 09:00 UTC</time>" for an ISO due (relative to `ts`, when it was set), or nothing. */
function due(iso: string | undefined, ts: number): Html | "" {
  const text = iso ? dueText(iso, ts, "UTC", "en-GB") : "";
  return text ? html` · <time datetime="${iso}">${text}${iso!.length > 10 ? " UTC" : ""}</time>` : "";
}

/** One action as a card: the outcome, the Worker's sentence, its due and, when ambiguous, the candidates. */
function card(e: ActionMessage, at: Html): Html {
  const c = actionCard(e);
  const choices = c.choices.map((choice) => html`<li>${choice.title}${due(choice.when, e.ts)}</li>`);
  return html`<li class="caption action action--${e.status}">
<span class="caption__meta"><span class="caption__who">${c.label}</span>${at}</span>
<p class="caption__text">${c.text}${due(c.when, e.ts)}</p>${choices.length > 0 ? html`<ul class="action__choices">${choices}</ul>` : ""}</li>`;
}

/** The separator text of a mode change: the mode it changed to, or that the day's live minutes ran out. */
export function modeText(e: Pick<ModeMessage, "mode" | "reason">, labels: ScriptTexts["mode"]): string {
  return labels[e.reason === "live_limit" ? "live_limit" : e.mode];
}

/**
 * One stored event as a list item (`li.caption`, an action card `li.caption.action`, or a mode change's separator
 * `li.caption.caption--mode`), with its time as an offset from `t.started_at`; null for events that only mark timing
 * (speech, empty finals). The transcript page and `/chat?resume=` (the earlier captions) render with it.
 * @param visitorName the label of the visitor's captions (their first name); default `labels.user`
 * @param labels the items' labels (default English; `/chat` passes its language's)
 */
export function transcriptItem(
  e: StoredEvent,
  t: Pick<TranscriptResponse, "started_at">,
  visitorName?: string,
  labels: Readonly<TranscriptLabels> = LABEL,
): Html | null {
  const at = html`<time class="caption__time" datetime="${new Date(e.ts).toISOString()}">${offset(e.ts - t.started_at)}</time>`;
  if ("call_id" in e) return card(e, at);
  if ("mode" in e) {
    return html`<li class="caption caption--mode caption--mode-${e.mode}"><p class="caption__text">${modeText(e, labels.mode)}</p>${at}</li>`;
  }
  if (!("text" in e) || e.text.trim() === "") return null;
  return html`<li class="caption caption--${e.role}${e.typed ? " caption--typed" : ""}">
<span class="caption__meta"><span class="caption__who">${e.role === "user" && visitorName ? visitorName : labels[e.role]}</span>${at}</span>
<p class="caption__text">${e.text}</p></li>`;
}

/**
 * The history page body for one transcript.
 * @param visitorName the visitor's first name when the conversation started (its entry's `visitor_name`): the
 *   label of their captions instead of "You"
 * @param prices the prices its cost is estimated with (the Worker's `PRICE_*`); default `DEFAULT_USAGE_PRICES`
 */
export function historyPage(
  t: TranscriptResponse,
  visitorName?: string,
  prices: Readonly<UsagePrices> = DEFAULT_USAGE_PRICES,
): Html {
  const items = t.events.map((e) => transcriptItem(e, t, visitorName)).filter((i) => i !== null);
  const usage = t.usage ? usageParts(t.usage, prices) : [];
  return layout({
    title: "Conversation transcript · Voice agent",
    pageClass: "page--history",
    body: html`<article class="history">
<h1>Conversation transcript</h1>
<dl class="history__meta">
<div><dt>Started</dt><dd>${when(t.started_at)}</dd></div>
<div><dt>${t.ended_at === null ? "Status" : "Ended"}</dt><dd>${t.ended_at === null ? "" : when(t.ended_at)}${t.ended_at === null ? "" : " · "}${status(t)}</dd></div>
<div><dt>Length</dt><dd>${t.ended_at === null ? "—" : offset(t.ended_at - t.started_at)}</dd></div>${
      usage.length > 0
        ? html`
<div><dt>Usage</dt><dd>${usage.map((p, i) => (i === 0 ? p : html`<span aria-hidden="true"> · </span>${p}`))}</dd></div>`
        : ""
    }
</dl>
${
  t.resumed_from
    ? html`<p class="history__resumed">This conversation continues <a href="/history/${t.resumed_from}">an earlier one</a>.</p>
`
    : ""
}${
      t.summary
        ? html`<p class="history__summary">${t.summary}</p>
`
        : ""
    }${
      items.length > 0
        ? html`<ol class="history__list" aria-label="Transcript">${items}</ol>`
        : html`<p class="history__empty">Nothing was said in this conversation.</p>`
    }
<p class="history__actions">${
      t.status === "ended"
        ? html`<a class="btn btn--primary" href="/chat?resume=${t.session_id}">Continue this conversation</a> <a class="btn" href="/chat">Start a new conversation</a>`
        : html`<a class="btn btn--primary" href="/chat">Start a new conversation</a>`
    } <a class="btn" href="/history">All conversations</a></p>
</article>`,
  });
}
