/**
 * `/history/:session_id`: one stored conversation, rendered on the server so it reads without
 * JavaScript. Only final transcripts are shown; speech events only mark timing.
 */
import { html } from "hono/html";
import type { TranscriptResponse } from "../../contract/index.ts";
import { layout, type Html } from "./layout.ts";

const DATE = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" });
const LABEL = { user: "You", agent: "Agent" } as const;
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

function when(ms: number): Html {
  return html`<time datetime="${new Date(ms).toISOString()}">${DATE.format(ms)} UTC</time>`;
}

const RUNNING: Record<Exclude<TranscriptResponse["status"], "ended">, string> = {
  starting: "starting",
  active: "in progress",
  reconnecting: "in progress (reconnecting the agent)",
};

function status(t: TranscriptResponse): string {
  if (t.status !== "ended") return RUNNING[t.status];
  return (t.reason && REASON[t.reason]) ?? "ended";
}

/** The history page body for one transcript. */
export function historyPage(t: TranscriptResponse): Html {
  const lines = t.events.filter((e) => "text" in e && e.text.trim() !== "");
  const items = lines.map(
    (e) => html`<li class="caption caption--${e.role}">
<span class="caption__meta"><span class="caption__who">${LABEL[e.role]}</span><time class="caption__time" datetime="${new Date(e.ts).toISOString()}">${offset(e.ts - t.started_at)}</time></span>
<p class="caption__text">${"text" in e ? e.text : ""}</p></li>`,
  );
  return layout({
    title: "Conversation transcript · Voice agent",
    pageClass: "page--history",
    body: html`<article class="history">
<h1>Conversation transcript</h1>
<dl class="history__meta">
<div><dt>Started</dt><dd>${when(t.started_at)}</dd></div>
<div><dt>${t.ended_at === null ? "Status" : "Ended"}</dt><dd>${t.ended_at === null ? "" : when(t.ended_at)}${t.ended_at === null ? "" : " · "}${status(t)}</dd></div>
<div><dt>Length</dt><dd>${t.ended_at === null ? "—" : offset(t.ended_at - t.started_at)}</dd></div>
</dl>
${
  items.length > 0
    ? html`<ol class="history__list" aria-label="Transcript">${items}</ol>`
    : html`<p class="history__empty">Nothing was said in this conversation.</p>`
}
<p class="history__actions"><a class="btn btn--primary" href="/chat">Start a new conversation</a></p>
</article>`,
  });
}
