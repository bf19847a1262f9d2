/**
 * `GET /ws/transcript/{id}[?after=<seq>]`: checks the Origin and the visitor, then forwards the
 * upgrade to the session's Durable Object, which accepts it (Hibernation API).
 *
 * A refused upgrade still answers 101, sends one `{"type":"error","code","message"}` frame and closes
 * with 1011 (contract `SocketErrorMessage`): browsers hide the status and body of a failed upgrade,
 * and the page must know not to reconnect. Only a request that is not an upgrade at all gets an HTTP
 * error (426). See docs/architecture.md, "Transcript socket" and "Security model"; the partyserver pattern.
 */
import { Hono } from "hono";
import { ReplayQuery, type SocketErrorMessage } from "../../contract/index.ts";
import { log } from "../../edge/log.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { originAllowed } from "../security.ts";
import { ownedSession, sessionStub } from "../sessions.ts";
import { parseWith, sessionIdParam } from "../validate.ts";

export const socketRoutes = new Hono<AppEnv>();

/** Close code of a refused socket (RFC 6455 1011, "unexpected condition"; the partyserver convention). */
export const CLOSE_REFUSED = 1011;

/** Accepts a throwaway socket that carries only the refusal, then closes it with 1011. */
function refuseSocket(code: string, message: string): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.send(JSON.stringify({ type: "error", code, message } satisfies SocketErrorMessage));
  server.close(CLOSE_REFUSED, code);
  return new Response(null, { status: 101, webSocket: client });
}

socketRoutes.get("/ws/transcript/:session_id", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    throw new HttpError(426, "upgrade_required", "This address only accepts WebSocket upgrades.", {
      Upgrade: "websocket",
    });
  }
  try {
    const sessionId = sessionIdParam(c);
    // Browsers always send Origin on upgrades; a missing one is a non-browser client, checked by cookie alone.
    const origin = c.req.header("Origin");
    if (origin !== undefined && !originAllowed(c, origin)) {
      throw new HttpError(403, "origin_not_allowed", "WebSocket connections from this origin are not allowed.");
    }
    parseWith(ReplayQuery, c.req.query(), "invalid_after");
    await ownedSession(c, sessionId);
    return await sessionStub(c.env, sessionId).fetch(c.req.raw);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    log.info("socket_refused", { code: err.code, status: err.status });
    return refuseSocket(err.code, err.message);
  }
});
