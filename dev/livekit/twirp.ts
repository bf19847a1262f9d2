/**
 * Twirp JSON API at `/twirp/livekit.<Service>/<Method>` as livekit-server-sdk's TwirpRpc calls it: POST JSON
 * (protobuf JSON mapping) with `Authorization: Bearer <JWT>`; errors are `{"code","msg"}` with content type
 * exactly `application/json` (TwirpRPC.js `toTwirpError`). Only what the product uses is served.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  CreateAgentDispatchRequest,
  DeleteAgentDispatchRequest,
  DeleteRoomRequest,
  DeleteRoomResponse,
  DisconnectReason,
  ListAgentDispatchRequest,
  ListAgentDispatchResponse,
  ListParticipantsRequest,
  ListParticipantsResponse,
  ListRoomsRequest,
  ListRoomsResponse,
  RemoveParticipantResponse,
  RoomParticipantIdentity,
  SendDataRequest,
  SendDataResponse,
} from "@livekit/protocol";
import type { ClaimGrants, TokenVerifier } from "livekit-server-sdk";
import type { AgentDispatcher } from "./agent-dispatch.ts";
import type { Faults } from "./faults.ts";
import type { RoomRegistry } from "./rooms.ts";
import { MAX_SEND_DATA_BYTES, sendServerData } from "./data.ts";
import { errorSummary } from "../../contract/log.ts";
import { log } from "./log.ts";

/** A Twirp error: `code` is a Twirp error code, `status` its HTTP status. */
export class TwirpError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, msg: string) {
    super(msg);
    this.code = code;
    this.status = status;
  }
}

const MAX_BODY_BYTES = 1 << 20;

interface Ctx {
  registry: RoomRegistry;
  dispatcher: AgentDispatcher;
  verifier: TokenVerifier;
  faults: Faults;
}
/** A JSON answer body. */
export type Json = ReturnType<ListRoomsResponse["toJson"]>;
type Handler = (body: unknown, claims: ClaimGrants, ctx: Ctx) => Json;

/** Throws `permission_denied` (403) unless `ok`. */
export function requireGrant(ok: boolean | undefined, what: string): void {
  if (!ok) throw new TwirpError("permission_denied", 403, `token lacks the ${what} grant`);
}
/** Throws `permission_denied` (403) unless the token has `roomAdmin` for `room` (or for every room). */
export function requireRoomAdmin(claims: ClaimGrants, room: string): void {
  requireGrant(
    claims.video?.roomAdmin && (!claims.video.room || claims.video.room === room),
    `roomAdmin (room "${room}")`,
  );
}
function existingRoom(ctx: Ctx, name: string) {
  const room = ctx.registry.rooms.get(name);
  if (!room) throw new TwirpError("not_found", 404, "requested room does not exist");
  return room;
}
const parse = { ignoreUnknownFields: true };

const HANDLERS: Record<string, Handler> = {
  "RoomService/ListRooms": (body, claims, ctx) => {
    requireGrant(claims.video?.roomList, "roomList");
    const req = ListRoomsRequest.fromJson(body as Json, parse);
    const rooms = [...ctx.registry.rooms.values()].filter((r) => req.names.length === 0 || req.names.includes(r.name));
    return new ListRoomsResponse({ rooms: rooms.map((r) => r.info()) }).toJson();
  },
  "RoomService/DeleteRoom": (body, claims, ctx) => {
    requireGrant(claims.video?.roomCreate, "roomCreate");
    const req = DeleteRoomRequest.fromJson(body as Json, parse);
    if (ctx.faults.failDeleteRoom(req.room)) {
      throw new TwirpError("unavailable", 503, 'DeleteRoom is failing: injected fault (docs/livekit.md, "Faults")');
    }
    ctx.registry.close(existingRoom(ctx, req.room), DisconnectReason.ROOM_DELETED, "room deleted");
    return new DeleteRoomResponse().toJson();
  },
  "RoomService/ListParticipants": (body, claims, ctx) => {
    const req = ListParticipantsRequest.fromJson(body as Json, parse);
    requireRoomAdmin(claims, req.room);
    const room = existingRoom(ctx, req.room);
    return new ListParticipantsResponse({
      participants: [...room.participants.values()].map((p) => p.info()),
    }).toJson();
  },
  "RoomService/RemoveParticipant": (body, claims, ctx) => {
    const req = RoomParticipantIdentity.fromJson(body as Json, parse);
    requireRoomAdmin(claims, req.room);
    const room = existingRoom(ctx, req.room);
    const p = room.participants.get(req.identity);
    if (!p) throw new TwirpError("not_found", 404, "participant not found");
    p.link.close(DisconnectReason.PARTICIPANT_REMOVED, "removed by RoomService");
    ctx.registry.leave(room, p);
    return new RemoveParticipantResponse().toJson();
  },
  /**
   * livekit-server `RoomService.SendData` (`pkg/service/roomservice.go`): `roomAdmin` for the room, a nonce of
   * 0 or 16 bytes (else `invalid_argument`), then the room's node sends it (`RoomManager.SendData`, data.ts).
   * A room that does not exist has no node to take the request, so livekit-server answers psrpc's "no response
   * from servers" (`unavailable`, 503, after its 1 s selection timeout; seen in livekit/node-sdks#146), not
   * `not_found`; here it answers at once. The size limit is the stand-in's own ({@link MAX_SEND_DATA_BYTES}).
   */
  "RoomService/SendData": (body, claims, ctx) => {
    const req = SendDataRequest.fromJson(body as Json, parse);
    requireRoomAdmin(claims, req.room);
    if (req.nonce.length !== 0 && req.nonce.length !== 16) {
      throw new TwirpError(
        "invalid_argument",
        400,
        `nonce should be 16-bytes or not present, got: ${req.nonce.length} bytes`,
      );
    }
    if (req.data.length > MAX_SEND_DATA_BYTES) {
      throw new TwirpError("invalid_argument", 400, `data exceeds ${MAX_SEND_DATA_BYTES} bytes`);
    }
    const room = ctx.registry.rooms.get(req.room);
    if (!room) throw new TwirpError("unavailable", 503, "no response from servers");
    const sent = sendServerData(room, req);
    log.debug("api_data_sent", { room: room.name, bytes: req.data.length, participants: sent });
    return new SendDataResponse().toJson();
  },
  "AgentDispatchService/CreateDispatch": (body, claims, ctx) => {
    const req = CreateAgentDispatchRequest.fromJson(body as Json, parse);
    requireRoomAdmin(claims, req.room);
    if (!req.room || !req.agentName) throw new TwirpError("invalid_argument", 400, "room and agent_name are required");
    return ctx.dispatcher.create(req).toJson();
  },
  "AgentDispatchService/DeleteDispatch": (body, claims, ctx) => {
    const req = DeleteAgentDispatchRequest.fromJson(body as Json, parse);
    requireRoomAdmin(claims, req.room);
    const deleted = ctx.dispatcher.delete(req.dispatchId, req.room);
    if (!deleted) throw new TwirpError("not_found", 404, "dispatch not found");
    return deleted.toJson();
  },
  "AgentDispatchService/ListDispatch": (body, claims, ctx) => {
    const req = ListAgentDispatchRequest.fromJson(body as Json, parse);
    requireRoomAdmin(claims, req.room);
    existingRoom(ctx, req.room);
    return new ListAgentDispatchResponse({ agentDispatches: ctx.dispatcher.list(req.room, req.dispatchId) }).toJson();
  },
};

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new TwirpError("malformed", 400, "request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Serves one Twirp request; never throws (faults become Twirp `internal` errors and are logged).
 * @param method the path after `/twirp/livekit.`, e.g. `RoomService/DeleteRoom`
 */
export async function handleTwirp(method: string, req: IncomingMessage, res: ServerResponse, ctx: Ctx): Promise<void> {
  const handler = HANDLERS[method];
  await serveAuthenticatedJson(
    method,
    req,
    res,
    ctx.verifier,
    handler && ((body, claims) => handler(body, claims, ctx)),
  );
}

/**
 * Serves one POST whose JSON body is answered with JSON, with Twirp's authentication and error shape: a
 * `Authorization: Bearer <JWT>` signed with the server's API key and secret, errors as `{"code","msg"}`. Used
 * by the Twirp API and by the fault endpoints (faults.ts), so both accept exactly the same credentials.
 * Never throws: an unexpected error becomes a logged Twirp `internal` error.
 * @param method names the call in logs
 * @param handler undefined answers `bad_route` (404)
 */
export async function serveAuthenticatedJson(
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
  verifier: TokenVerifier,
  handler: ((body: unknown, claims: ClaimGrants) => Json) | undefined,
): Promise<void> {
  try {
    if (!handler) throw new TwirpError("bad_route", 404, `no handler for ${method}`);
    if (req.method !== "POST") throw new TwirpError("bad_route", 404, "Twirp methods are POST only");
    const auth = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (!auth) throw new TwirpError("unauthenticated", 401, "missing Bearer token");
    const claims = await verifier.verify(auth).catch((err: unknown) => {
      throw new TwirpError("unauthenticated", 401, `invalid token: ${errorSummary(err)}`);
    });
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req)) || "{}");
    } catch (err) {
      if (err instanceof TwirpError) throw err;
      throw new TwirpError("malformed", 400, "body is not JSON");
    }
    let out: Json;
    try {
      out = handler(body, claims);
    } catch (err) {
      if (err instanceof TwirpError) throw err;
      // fromJson rejects wrong field types: that is the caller's fault.
      if (err instanceof Error && /cannot decode|invalid|unexpected/i.test(err.message))
        throw new TwirpError("malformed", 400, err.message);
      throw err;
    }
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(out));
  } catch (err) {
    const e = err instanceof TwirpError ? err : new TwirpError("internal", 500, "internal error");
    if (!(err instanceof TwirpError)) log.error("twirp_handler_fault", { method, reason: err });
    else log.info("twirp_request_refused", { method, code: e.code });
    res
      .writeHead(e.status, { "Content-Type": "application/json" })
      .end(JSON.stringify({ code: e.code, msg: e.message }));
  }
}
