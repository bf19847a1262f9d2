/**
 * HTML pages rendered by the Worker. Owned by the web part; the Worker's routes call these.
 * Pure functions: data in, HTML string out, every interpolated value escaped (hono/html). No inline
 * scripts or styles (the CSP forbids them): the page script and stylesheet come from `/static/`
 * (built by `npm run build:web`).
 */
import type { TranscriptResponse, UsagePrices } from "../../contract/index.ts";
import { chatPage, type ChatPageOptions, type ChatProfile, type NameProblem, type NameStep } from "./chat.ts";
import { conversationsPage, type ConversationsPageOptions } from "./conversations.ts";
import { errorPage } from "./error.ts";
import { historyPage } from "./history.ts";
import { type HomeAgent, homePage } from "./home.ts";
import { toHtml } from "./layout.ts";

/**
 * `GET /`: what this is, a way into `/chat`, the deployment's other agents, and the privacy line (what is stored,
 * for how long, where to delete it).
 * @param retentionDays `RETENTION_DAYS` (default `DEFAULT_RETENTION_DAYS`, 30): days an ended conversation is
 *   kept; 0 keeps them until the visitor deletes them
 * @param agents the profiles offered besides the default one (`ALLOWED_PROFILES`), in order: id and display name
 */
export function renderHome(retentionDays?: number, agents: readonly HomeAgent[] = []): string {
  return toHtml(homePage(retentionDays, agents));
}

export type { ChatPageOptions, ChatProfile, ConversationsPageOptions, HomeAgent, NameProblem, NameStep };

/**
 * `GET /chat`: the voice chat page (script `/static/chat.js`, stylesheet `/static/chat.css`).
 * @param options the deployment's settings the page needs: `turnstileSiteKey` (and `turnstileOrigin`) when
 *   Turnstile is on; `profile` (`{id, name, planner, language}`), the profile `/chat?agent=` chose (the Worker checks
 *   it is allowed): its id goes with `POST /session`, its display name titles the page ("Talk with <name>"),
 *   `planner` (it has planner intents) adds the plan panel, and its `language` is the page's (web/i18n/: `lang` and
 *   every text, English for a language without a catalog); `resume` (`/chat?resume=<id>`: the earlier conversation,
 *   the visitor's and ended) its captions above the live ones and `#chat[data-resume]`; `notice` a short sentence
 *   under the lede (`resumeRefused`: the page language's "That conversation can't be continued."); `last` the visitor's newest conversation, offered with Read / Continue links; `visitorName` the
 *   visitor's first name ("Hi <name> · Change name"); `nameStep` the name step's form (Start hidden meanwhile)
 */
export function renderChat(options: ChatPageOptions = {}): string {
  return toHtml(chatPage(options));
}

/**
 * `GET /history/:session_id`: one stored conversation, readable without JavaScript: the finals and the
 * actions (as cards; their times in UTC, since the server does not know the visitor's zone).
 * @param transcript the `GET /transcripts/{session_id}` body (contract `TranscriptResponse`)
 * @param visitorName the visitor's first name when it started (its list entry's `visitor_name`), which labels their
 *   captions instead of "You"
 * @param prices the prices its estimated cost is shown with (the Worker's `PRICE_*`); default `DEFAULT_USAGE_PRICES`
 */
export function renderHistory(
  transcript: TranscriptResponse,
  visitorName?: string,
  prices?: Readonly<UsagePrices>,
): string {
  return toHtml(historyPage(transcript, visitorName, prices));
}

/**
 * `GET /history`: the visitor's conversations, a page at a time, newest first, readable and deletable without
 * JavaScript (forms posting to `/history/{id}/delete` and `/history/delete-all`).
 * @param options `conversations` and `nextCursor` (a `ConversationsResponse`), `older` (a later page),
 *   `retentionDays` (`RETENTION_DAYS`), `profileNames` (display names by profile id), `prices` (the `PRICE_*` each
 *   conversation's estimated cost is shown with)
 */
export function renderConversations(options: ConversationsPageOptions): string {
  return toHtml(conversationsPage(options));
}

/**
 * An error page for browser routes (404, 403).
 * @param status the HTTP status the response carries
 * @param message a human sentence (escaped here)
 */
export function renderErrorPage(status: number, message: string): string {
  return toHtml(errorPage(status, message));
}
