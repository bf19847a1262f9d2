/**
 * `GET /token?room=&identity=&name=`: a LiveKit token for the visitor's room. The first token for a
 * room claims it for the visitor and binds its participant identity (`RoomDO`); another visitor gets 403
 * `room_forbidden`, another identity 403 `identity_mismatch`. Omitting `room` picks a fresh one. The token
 * lives `TOKEN_TTL_S` and makes LiveKit create the room with one visitor and short timeouts
 * (edge/livekit.ts `mintToken`). The participant's name is the visitor's first name when they gave one
 * (`PUT /visitor/name`, the page's name step), else `name` when the query has one, else none.
 *
 * See docs/architecture.md, "REST API" and "Security model".
 */
import { Hono } from "hono";
import { TokenQuery, type TokenResponse } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { mintToken } from "../../edge/livekit.ts";
import { roomStub, visitorStub } from "../sessions.ts";
import { parseWith } from "../validate.ts";
import { newRoomName } from "../visitor.ts";

export const tokenRoutes = new Hono<AppEnv>();

tokenRoutes.get("/token", async (c) => {
  const query = parseWith(TokenQuery, c.req.query());
  await enforceRateLimit(c, c.env.TOKEN_LIMITER);
  const room = query.room ?? newRoomName();
  // The visitor's name is read alongside the claim (a refused claim discards it).
  const [verdict, { name }] = await Promise.all([
    roomStub(c.env, room).claim(c.var.visitorId, Date.now(), query.identity),
    visitorStub(c.env, c.var.visitorId).visitorName(),
  ]);
  if (!verdict.ok && verdict.reason === "identity") {
    throw new HttpError(
      403,
      "identity_mismatch",
      "This room admits only the participant identity it was first issued for.",
    );
  }
  if (!verdict.ok) throw new HttpError(403, "room_forbidden", "This room belongs to another visitor.");
  const config = c.var.config;
  const body: TokenResponse = {
    token: await mintToken(config, room, query.identity, name ?? query.name),
    room,
    identity: query.identity,
    url: config.liveKitUrl,
  };
  return c.json(body);
});
