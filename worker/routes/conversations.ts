/**
 * The visitor's conversations as JSON (contract/conversations.ts): `GET /conversations?cursor=&limit=` (newest
 * first, `READ_LIMITER`), `DELETE /conversations/{id}` and `DELETE /conversations` (`STOP_LIMITER`, shared with
 * `DELETE /session/{id}`). Scoped to the calling visitor (worker/conversations.ts).
 *
 * See docs/architecture.md, "Conversations".
 */
import { Hono } from "hono";
import {
  type ConversationDeleteResponse,
  ConversationsQuery,
  type ConversationsDeleteResponse,
} from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { deleteAllConversations, deleteConversation, listConversations } from "../conversations.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { parseWith, sessionIdParam } from "../validate.ts";

export const conversationRoutes = new Hono<AppEnv>();

conversationRoutes.get("/conversations", async (c) => {
  await enforceRateLimit(c, c.env.READ_LIMITER);
  const query = parseWith(ConversationsQuery, {
    cursor: c.req.query("cursor"),
    limit: c.req.query("limit"),
  });
  return c.json(await listConversations(c.env, c.var.visitorId, query));
});

conversationRoutes.delete("/conversations/:session_id", async (c) => {
  await enforceRateLimit(c, c.env.STOP_LIMITER);
  const sessionId = sessionIdParam(c);
  await deleteConversation(c.env, c.var.visitorId, sessionId);
  const response: ConversationDeleteResponse = { deleted: true };
  return c.json(response);
});

conversationRoutes.delete("/conversations", async (c) => {
  await enforceRateLimit(c, c.env.STOP_LIMITER);
  const response: ConversationsDeleteResponse = { deleted: await deleteAllConversations(c.env, c.var.visitorId) };
  return c.json(response);
});
