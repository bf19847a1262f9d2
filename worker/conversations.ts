/**
 * The visitor's conversations, as the JSON API (worker/routes/conversations.ts) and the `/history` pages
 * (worker/routes/pages.ts) share them: the list (from the visitor's `VisitorDO`, with the status of running ones
 * from their `SessionDO`), deleting one or all (each `SessionDO` purged, then unlisted), and the newest one.
 *
 * See docs/architecture.md, "Conversations".
 */
import {
  CONVERSATIONS_PAGE_DEFAULT,
  type ConversationEntry,
  type ConversationsResponse,
  SessionId,
} from "../contract/index.ts";
import type { ConversationPosition } from "../durable-objects/visitor-do.ts";
import { HttpError } from "./errors.ts";
import { sessionStub, visitorStub } from "./sessions.ts";

/** Most conversations `DELETE /conversations` deletes in one request (the rest: call again). */
export const DELETE_ALL_MAX = 200;

/**
 * The cursor that starts the page after `entry` (contract `Cursor`): base64url of `<started_at>.<session_id>`.
 */
export function encodeCursor(entry: ConversationPosition): string {
  return btoa(`${entry.started_at}.${entry.session_id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The position a cursor names.
 * @throws HttpError 400 `invalid_cursor` for anything {@link encodeCursor} did not make
 */
export function decodeCursor(cursor: string): ConversationPosition {
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw invalidCursor();
  }
  const m = /^(\d{1,15})\.(.+)$/.exec(text);
  if (!m || !SessionId.safeParse(m[2]).success) throw invalidCursor();
  return { started_at: Number(m[1]), session_id: m[2]! };
}

function invalidCursor(): HttpError {
  return new HttpError(400, "invalid_cursor", "cursor must be a next_cursor from this API.");
}

/**
 * The visitor's conversations, newest first: a page of `limit` (default `CONVERSATIONS_PAGE_DEFAULT`) after
 * `cursor`. A running conversation's status is its session's current one.
 * @throws HttpError 400 `invalid_cursor`
 */
export async function listConversations(
  env: Env,
  visitorId: string,
  query: { cursor?: string; limit?: number },
): Promise<ConversationsResponse> {
  const from = query.cursor === undefined ? null : decodeCursor(query.cursor);
  const limit = query.limit ?? CONVERSATIONS_PAGE_DEFAULT;
  const page = await visitorStub(env, visitorId).conversations(from, limit);
  const conversations = await Promise.all(page.entries.map((e) => withLiveStatus(env, e)));
  const last = page.entries.at(-1);
  return { conversations, next_cursor: page.more && last ? encodeCursor(last) : null };
}

/** `entry` with the current status of its session while it runs (the list is written at start and at end only). */
async function withLiveStatus(env: Env, entry: ConversationEntry): Promise<ConversationEntry> {
  if (entry.status === "ended") return entry;
  const info = await sessionStub(env, entry.session_id).info();
  if (!info) return entry;
  return { ...entry, status: info.status, reason: info.reason, ended_at: info.ended_at };
}

/** The visitor's newest conversation, or null when there is none. */
export async function lastConversation(env: Env, visitorId: string): Promise<ConversationEntry | null> {
  const { conversations } = await listConversations(env, visitorId, { limit: 1 });
  return conversations[0] ?? null;
}

/**
 * Deletes one of the visitor's conversations: stops it when it is running, deletes its storage (events, summary)
 * and unlists it. A conversation listed but whose storage is gone already (an earlier delete cut short) is
 * unlisted.
 * @throws HttpError 404 `session_not_found`, 403 `forbidden` (another visitor's)
 */
export async function deleteConversation(env: Env, visitorId: string, sessionId: string): Promise<void> {
  const visitor = visitorStub(env, visitorId);
  const session = sessionStub(env, sessionId);
  const info = await session.info();
  if (!info) {
    if (!(await visitor.conversation(sessionId))) {
      throw new HttpError(404, "session_not_found", "There is no conversation with this id.");
    }
  } else if (info.owner !== visitorId) {
    throw new HttpError(403, "forbidden", "This conversation belongs to another visitor.");
  } else {
    await session.purge("deleted");
  }
  await visitor.forgetConversation(sessionId);
}

/**
 * Deletes the visitor's conversations, newest first, at most {@link DELETE_ALL_MAX} per call.
 * @returns how many were deleted
 */
export async function deleteAllConversations(env: Env, visitorId: string): Promise<number> {
  const ids = (await visitorStub(env, visitorId).conversationIds()).slice(0, DELETE_ALL_MAX);
  for (const id of ids) await deleteConversation(env, visitorId, id);
  return ids.length;
}
