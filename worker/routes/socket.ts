/**
 * `GET /ws/transcript/{id}[?after=<seq>]`: checks the Origin (`null` and foreign origins are refused), the rate
 * limit (`SOCKET_LIMITER`, per visitor and per client IP) and the visitor, then forwards the upgrade to the
 * session's Durable Object, which accepts it (Hibernation API) unless the session already has
 * `TRANSCRIPT_SOCKETS_MAX` sockets open (`too_many_sockets`).
 *
 * A refused upgrade still answers 101, sends one `{"type":"error","code","message"}` frame and closes
 * with 1011 (contract `SocketErrorMessage`): browsers hide the status and body of a failed upgrade,
 * and the page must know not to reconnect. Only a request that is not an upgrade at all gets an HTTP
 * error (426). See docs/architecture.md, "Transcript socket" and "Security model"; the partyserver pattern.
 */
import { Hono } from "hono";
import { ErrorBody, ReplayQuery, type SocketErrorMessage } from "../../contract/index.ts";
import { log } from "../../edge/log.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { enforceRateLimit } from "../rate-limit.ts";
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

/**
 * The `SessionDO`'s refusal of an upgrade (a contract `ErrorBody`, e.g. 429 `too_many_sockets`) as an HttpError, so
 * that it reaches the page as a refusal frame like the Worker's own.
 */
async function objectRefusal(res: Response): Promise<HttpError> {
  const body = ErrorBody.safeParse(await res.json().catch(() => null));
  const { code, message } = body.success
    ? body.data.error
    : { code: "socket_refused", message: "The transcript socket was refused." };
  return new HttpError(res.status as ConstructorParameters<typeof HttpError>[0], code, message);
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
    await enforceRateLimit(c, c.env.SOCKET_LIMITER);
    parseWith(ReplayQuery, c.req.query(), "invalid_after");
    await ownedSession(c, sessionId);
    const res = await sessionStub(c.env, sessionId).fetch(c.req.raw);
    if (res.status !== 101) throw await objectRefusal(res);
    return res;
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    log.info("socket_refused", { code: err.code, status: err.status });
    return refuseSocket(err.code, err.message);
  }
});
