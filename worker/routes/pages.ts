/**
 * HTML pages (rendered by web/pages, owned by the web part) and the `/static/*` fallback.
 * `/history/{id}` applies the same visitor check as `/transcripts/{id}` but answers with HTML.
 */
import { Hono } from "hono";
import { SessionId } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { renderChat, renderErrorPage, renderHistory, renderHome } from "../../web/pages/index.ts";
import { sessionStub } from "../sessions.ts";

export const pageRoutes = new Hono<AppEnv>();

pageRoutes.get("/", (c) => c.html(renderHome()));
pageRoutes.get("/chat", (c) => c.html(renderChat()));

pageRoutes.get("/history/:session_id", async (c) => {
  const id = SessionId.safeParse(c.req.param("session_id"));
  if (!id.success) return c.html(renderErrorPage(404, "There is no conversation at this address."), 404);
  const stub = sessionStub(c.env, id.data);
  const info = await stub.info();
  if (!info) return c.html(renderErrorPage(404, "There is no conversation at this address."), 404);
  if (info.owner !== c.var.visitorId) {
    return c.html(renderErrorPage(403, "This conversation belongs to someone else."), 403);
  }
  const transcript = await stub.transcript();
  if (!transcript) return c.html(renderErrorPage(404, "There is no conversation at this address."), 404);
  return c.html(renderHistory(transcript));
});

// Static files are normally served by the assets layer before the Worker runs; this covers the rest.
// A fetched response has immutable headers; copy it so the security middleware can add its own.
pageRoutes.get("/static/*", async (c) => {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  return new Response(asset.body, asset);
});
