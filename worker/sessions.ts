/**
 * Durable Object stubs by name and the ownership check every session route shares. The Worker sees a
 * session only through the object's view type, `SessionInfo`, never its storage row.
 */
import type { Context } from "hono";
import type { SessionInfo } from "../durable-objects/session-do.ts";
import type { AppEnv } from "./app-env.ts";
import { HttpError } from "./errors.ts";

/** The `SessionDO` of `sessionId`. */
export function sessionStub(env: Env, sessionId: string) {
  return env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
}

/** The `RoomDO` of LiveKit room `room`. */
export function roomStub(env: Env, room: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(room));
}

/** The `VisitorDO` of visitor id `visitorId`. */
export function visitorStub(env: Env, visitorId: string) {
  return env.VISITORS.get(env.VISITORS.idFromName(visitorId));
}

/**
 * The session's {@link SessionInfo} when the calling visitor owns it.
 * @throws HttpError 404 `session_not_found`, 403 `forbidden` when another visitor owns it
 */
export async function ownedSession(c: Context<AppEnv>, sessionId: string): Promise<SessionInfo> {
  const info = await sessionStub(c.env, sessionId).info();
  if (!info) throw new HttpError(404, "session_not_found", "There is no session with this id.");
  if (info.owner !== c.var.visitorId) throw new HttpError(403, "forbidden", "This session belongs to another visitor.");
  return info;
}
