/**
 * Durable Object stubs by name and the ownership check every session route shares.
 */
import type { Context } from "hono";
import type { SessionRow } from "../durable-objects/session-store.ts";
import type { AppEnv } from "./app-env.ts";
import { ApiError } from "./errors.ts";

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
 * The session row when the calling visitor owns it.
 * @throws ApiError 404 `session_not_found`, 403 `forbidden` when another visitor owns it
 */
export async function ownedSession(c: Context<AppEnv>, sessionId: string): Promise<SessionRow> {
  const row = await sessionStub(c.env, sessionId).info();
  if (!row) throw new ApiError(404, "session_not_found", "There is no session with this id.");
  if (row.owner !== c.var.visitorId) throw new ApiError(403, "forbidden", "This session belongs to another visitor.");
  return row;
}
