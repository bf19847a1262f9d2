/**
 * Conversations that last: the visitor's list of conversations (`GET /conversations`), deleting one or all of them
 * (`DELETE /conversations/{id}`, `DELETE /conversations`), their summaries, their retention, and resuming one
 * (`POST /session {resume_from}`).
 *
 * Written with `zod/mini`, like rest.ts, so the page can import it.
 *
 * See docs/architecture.md, "Conversations".
 */
import * as z from "zod/mini";
import { EndReason, SessionStatus } from "./events.ts";
import { ProfileId, SessionId, VisitorName } from "./rest.ts";
import { SUMMARY_MAX } from "./defaults.ts";
import { SessionUsage } from "./usage.ts";

export { SUMMARY_MAX };

/** Epoch milliseconds. */
const EpochMs = z.number().check(z.int(), z.nonnegative());

/** Longest preview (the first lines of a conversation without a summary), in characters. */
export const PREVIEW_MAX = 240;
/** Default days an ended conversation is kept (`RETENTION_DAYS`; 0 keeps them forever). */
export const DEFAULT_RETENTION_DAYS = 30;
/** Most `RETENTION_DAYS` accepted (ten years). */
export const RETENTION_DAYS_MAX = 3650;
/** Most attempts at a summary before it is given up (logged `summary_abandoned`). */
export const SUMMARY_ATTEMPTS_MAX = 3;
/** Conversations per page of `GET /conversations` by default, and at most. */
export const CONVERSATIONS_PAGE_DEFAULT = 20;
export const CONVERSATIONS_PAGE_MAX = 50;
/**
 * What a resumed conversation's agent gets of the earlier one, at most: its newest finals within
 * {@link RESUME_HISTORY_MAX_ITEMS} items and {@link RESUME_HISTORY_MAX_CHARS} characters; the turns left out are
 * covered by the earlier conversation's summary.
 */
export const RESUME_HISTORY_MAX_ITEMS = 30;
export const RESUME_HISTORY_MAX_CHARS = 6000;

/** A summary: 1 to {@link SUMMARY_MAX} characters. */
export const Summary = z.string().check(z.minLength(1), z.maxLength(SUMMARY_MAX));

/**
 * An opaque page cursor of `GET /conversations` (the `next_cursor` of the page before): base64url, at most 64
 * characters. A cursor the server did not make is a 400 `invalid_cursor`.
 */
export const Cursor = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "cursor must be a next_cursor from this API"));

/** `GET /conversations` query. */
export const ConversationsQuery = z.object({
  cursor: z.optional(Cursor),
  limit: z.optional(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(CONVERSATIONS_PAGE_MAX))),
});
export type ConversationsQuery = z.infer<typeof ConversationsQuery>;

/**
 * One conversation in the visitor's list. `status` is `ended` or the running session's; `reason` is how it ended;
 * `summary` is null until one is made (and for a conversation without a visitor turn); `preview` is its first lines
 * (null while nothing has been said); `resumed_from` the conversation it continues; `visitor_name` the first name the
 * visitor had given when it started (`PUT /visitor/name`), absent when none; `usage` its usage and latency summary
 * (contract/usage.ts: turns, median reply latency, summed usage counts; `/history` adds the estimated cost), absent
 * while the agent has reported none. A running conversation's `usage` is as of its agent's latest `usage` event.
 */
export const ConversationEntry = z.object({
  session_id: SessionId,
  profile: ProfileId,
  status: SessionStatus,
  reason: z.nullable(EndReason),
  started_at: EpochMs,
  ended_at: z.nullable(EpochMs),
  summary: z.nullable(Summary),
  preview: z.nullable(z.string().check(z.maxLength(PREVIEW_MAX))),
  resumed_from: z.nullable(SessionId),
  visitor_name: z.optional(VisitorName),
  usage: z.optional(SessionUsage),
});
export type ConversationEntry = z.infer<typeof ConversationEntry>;

/** `GET /conversations` 200 body: newest first; `next_cursor` is null on the last page. */
export const ConversationsResponse = z.object({
  conversations: z.array(ConversationEntry),
  next_cursor: z.nullable(Cursor),
});
export type ConversationsResponse = z.infer<typeof ConversationsResponse>;

/** `DELETE /conversations/{id}` 200 body. */
export const ConversationDeleteResponse = z.object({ deleted: z.literal(true) });
export type ConversationDeleteResponse = z.infer<typeof ConversationDeleteResponse>;

/** `DELETE /conversations` 200 body: how many were deleted. */
export const ConversationsDeleteResponse = z.object({ deleted: z.number().check(z.int(), z.nonnegative()) });
export type ConversationsDeleteResponse = z.infer<typeof ConversationsDeleteResponse>;
