/**
 * `/history`: the visitor's conversations, newest first, a page at a time (`GET /conversations` of the JSON API,
 * contract/conversations.ts), rendered on the server so it works without JavaScript. Each entry says when it
 * started (UTC, like the transcript page: the server does not know the visitor's zone), how long it lasted, with
 * which agent (and with which first name of the visitor's, when they had given one), what it was about (the summary,
 * else its first lines), how it ended, and, once the agent reported its usage, its turns, median reply latency and
 * estimated cost (usage.ts); it links to its transcript
 * (`/history/{id}`) and, once ended, to `/chat?resume={id}`; a form deletes it (`POST /history/{id}/delete`), and
 * one inside a `<details>` deletes them all (`POST /history/delete-all`). Forms, not scripts: the CSP allows no
 * inline script, and `form-action 'self'` allows these.
 */
import { html } from "hono/html";
import { type ConversationEntry, DEFAULT_USAGE_PRICES, type UsagePrices } from "../../contract/index.ts";
import { statusText, when } from "./history.ts";
import { layout, type Html } from "./layout.ts";
import { usageParts } from "./usage.ts";

/** What the `/history` page shows. */
export interface ConversationsPageOptions {
  /** This page's conversations, newest first (contract `ConversationsResponse.conversations`). */
  conversations: ConversationEntry[];
  /** The cursor of the next (older) page, or null on the last page (`ConversationsResponse.next_cursor`). */
  nextCursor: string | null;
  /** Whether this is a later page (`?cursor=` given): it links back to the newest. */
  older?: boolean;
  /**
   * `RETENTION_DAYS`: days an ended conversation is kept before it is deleted; 0 keeps them until the visitor
   * deletes them.
   */
  retentionDays: number;
  /** Display names of profiles by id (e.g. `planner` → "Planner"); an id without one is shown as is. */
  profileNames?: Readonly<Record<string, string>>;
  /**
   * The prices a conversation's cost is estimated with (the Worker's `PRICE_*`, edge/config.ts `usagePrices`);
   * default `DEFAULT_USAGE_PRICES`.
   */
  prices?: Readonly<UsagePrices>;
}

/**
 * A duration in words: "45 s", "3 min 05 s", "1 h 02 min".
 * @param ms milliseconds; negative counts as 0
 */
export function duration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

/**
 * The retention policy in a sentence: "Conversations are deleted 30 days after they end." or, for 0, "Conversations
 * are kept until you delete them."
 */
export function retentionText(retentionDays: number): string {
  if (retentionDays <= 0) return "Conversations are kept until you delete them.";
  return `Conversations are deleted ${retentionDays} ${retentionDays === 1 ? "day" : "days"} after they end.`;
}

/** What the conversation was about: its summary, else its first lines, else that nothing was said. */
function about(e: ConversationEntry): Html {
  if (e.summary) return html`<p class="conversation__summary">${e.summary}</p>`;
  if (e.preview) return html`<p class="conversation__preview">${e.preview}</p>`;
  return html`<p class="conversation__empty">Nothing was said.</p>`;
}

/** One conversation of the list. */
function entry(e: ConversationEntry, names: Readonly<Record<string, string>>, prices: UsagePrices): Html {
  const id = e.session_id;
  const ended = e.status === "ended";
  const length = ended && e.ended_at !== null ? duration(e.ended_at - e.started_at) : "in progress";
  // The date names the entry for the links and buttons that repeat on every entry ("Read", "Delete").
  const label = html`<span class="visually-hidden"> the conversation of ${when(e.started_at)}</span>`;
  return html`<li class="conversation" data-session-id="${id}" data-status="${e.status}">
<h2 class="conversation__title"><a href="/history/${id}">${when(e.started_at)}</a></h2>
<p class="conversation__meta"><span>${Object.hasOwn(names, e.profile) ? names[e.profile] : e.profile}${
    e.visitor_name ? html` with ${e.visitor_name}` : ""
  }</span><span>${length}</span>${ended ? html`<span>${statusText(e.status, e.reason)}</span>` : ""}${
    e.resumed_from ? html`<span>continues <a href="/history/${e.resumed_from}">an earlier conversation</a></span>` : ""
  }</p>
${
  e.usage
    ? html`<p class="conversation__meta conversation__usage">${usageParts(e.usage, prices)}</p>
`
    : ""
}${about(e)}
<div class="conversation__actions">
<a class="btn" href="/history/${id}">Read${label}</a>${ended ? html`<a class="btn btn--primary" href="/chat?resume=${id}">Continue${label}</a>` : ""}
<form method="post" action="/history/${id}/delete"><button class="btn btn--danger" type="submit">Delete${label}</button></form>
</div>
</li>`;
}

/** The `/history` page body. */
export function conversationsPage(options: ConversationsPageOptions): Html {
  const names = options.profileNames ?? {};
  const prices = options.prices ?? DEFAULT_USAGE_PRICES;
  const list = options.conversations;
  const nav =
    options.nextCursor || options.older
      ? html`<nav class="conversations__pages" aria-label="Pages">${options.older ? html`<a href="/history">Newest conversations</a>` : ""}${
          options.nextCursor
            ? html`<a href="/history?cursor=${options.nextCursor}" rel="next">Older conversations</a>`
            : ""
        }</nav>`
      : "";
  return layout({
    title: "Your conversations · Voice agent",
    pageClass: "page--conversations",
    body: html`<section class="conversations">
<h1>Your conversations</h1>
<p class="lede">Only you can see them. ${retentionText(options.retentionDays)} No audio is kept.</p>
${
  list.length > 0
    ? html`<ol class="conversations__list">${list.map((e) => entry(e, names, prices))}</ol>
${nav}
<details class="delete-all">
<summary>Delete all conversations</summary>
<p>This deletes every one of your conversations, on this page and the others, with their transcripts and summaries. It can't be undone.</p>
<form method="post" action="/history/delete-all"><button class="btn btn--danger" type="submit">Yes, delete all my conversations</button></form>
</details>`
    : html`<div class="conversations__none">
<p>${options.older ? "No older conversations." : "No conversations yet."}</p>
<p><a class="btn btn--primary" href="/chat">Start a conversation</a></p>
</div>
${nav}`
}
</section>`,
  });
}
