/**
 * Every LiveKit server API call the edge makes: visitor access tokens and webhook verification (the
 * Worker), explicit agent dispatch (the session-start service, and the `SessionDO` for a replacement
 * agent), the room's participants (the `SessionDO`, when an agent's lease runs out) and room deletion (the
 * `SessionDO` when a session ends, which ends the agent's job and disconnects the visitor; the `RoomDO` for a
 * room a visitor joined without a session).
 *
 * Sources: livekit-server-sdk 2.x (`AccessToken` with `roomConfig`, `AgentDispatchClient.createDispatch`,
 * `WebhookReceiver.receive`, `RoomServiceClient.deleteRoom`, `.listParticipants` and `.sendData`, i.e. Twirp
 * `livekit.RoomService/DeleteRoom`, `/ListParticipants` and `/SendData`; `ParticipantInfo.kind` from @livekit/protocol);
 * docs/architecture.md, "Security model" and "Dispatch".
 */
import { DataPacket_Kind, ParticipantInfo_Kind, RoomConfiguration } from "@livekit/protocol";
import {
  AccessToken,
  AgentDispatchClient,
  RoomServiceClient,
  TrackSource,
  TwirpError,
  type WebhookEvent,
  WebhookReceiver,
} from "livekit-server-sdk";
import type { DispatchMetadata } from "../contract/index.ts";
import { errorSummary } from "../contract/log.ts";
import type { EdgeConfig } from "./config.ts";
import { log } from "./log.ts";

/** Seconds a LiveKit API call may take before it counts as unreachable. */
export const LIVEKIT_TIMEOUT_S = 5;

/**
 * `maxParticipants` of a visitor's room: one visitor. Agents do not count: livekit-server counts only
 * participants that are not "dependent" (`pkg/rtc/room.go` `Join`; `pkg/rtc/participant.go` `IsDependent`:
 * kind AGENT or EGRESS, or an agent or recorder grant; livekit/protocol `RoomConfiguration.max_participants`:
 * "excluding Egress and Agent participants"), so the agent, and its replacement while the lost one is still
 * listed, always join. The visitor rejoining with its identity is not refused either: LiveKit removes the
 * older participant of that identity before it counts (`pkg/service/roommanager.go` `StartSession`).
 */
export const VISITOR_ROOM_MAX_PARTICIPANTS = 1;

/**
 * Seconds LiveKit waits beyond `CLIENT_GRACE_S` before it closes a room its visitor left (see
 * {@link visitorRoomConfig}): room for a late alarm on a loaded host.
 */
export const ROOM_CLOSE_MARGIN_S = 15;

/**
 * The room configuration a visitor's token carries (`RoomConfiguration` in the JWT's `roomConfig` claim): LiveKit
 * applies it when that token's join creates the room, and only then (livekit-server `ValidateConnectRequest` →
 * `roomallocator.CreateRoom`; an existing room, e.g. one `CreateDispatch` created first, keeps the server's
 * defaults). One visitor ({@link VISITOR_ROOM_MAX_PARTICIPANTS}); the room closes `CLIENT_GRACE_S` +
 * {@link ROOM_CLOSE_MARGIN_S} after its visitor left, agents or not (`departureTimeout`; `Room.CloseIfEmpty` does
 * not count agents), and as long after its creation when no visitor ever joined it (`emptyTimeout`). The margin
 * lets the session's own grace end it first, so that the session, not LiveKit, decides how it ends: a room closed
 * by LiveKit while the session still waited would take the agent with it, and look like a lost agent.
 *
 * The JSON holds only these fields: protobuf-es's `toJSON` would write every field with its default, and
 * livekit-server parses the claim with strict protojson, so a server older than a field (e.g. `tags`, added
 * to the protocol in 2026) would refuse the whole token.
 */
export function visitorRoomConfig(config: EdgeConfig): RoomConfiguration {
  const closeAfterS = config.clientGraceS + ROOM_CLOSE_MARGIN_S;
  const roomConfig = new RoomConfiguration({
    maxParticipants: VISITOR_ROOM_MAX_PARTICIPANTS,
    emptyTimeout: closeAfterS,
    departureTimeout: closeAfterS,
  });
  return Object.assign(roomConfig, { toJSON: () => roomConfig.toJson() });
}

/**
 * Mints a visitor token: join one room, publish the microphone only, subscribe, publish data, with the room
 * configuration of {@link visitorRoomConfig}. Valid for `TOKEN_TTL_S` (LiveKit accepts it up to 60 s longer,
 * its clock leeway: livekit/protocol `auth/verifier.go`); a connected participant gets refreshed tokens from
 * LiveKit itself. Never grants roomAdmin, roomCreate, roomList or roomRecord.
 * @returns the signed JWT
 */
export async function mintToken(config: EdgeConfig, room: string, identity: string, name?: string): Promise<string> {
  const token = new AccessToken(config.liveKitApiKey, config.liveKitApiSecret, {
    identity,
    ...(name ? { name } : {}),
    ttl: config.tokenTtlS,
  });
  token.roomConfig = visitorRoomConfig(config);
  token.addGrant({
    roomJoin: true,
    room,
    canPublish: true,
    canPublishSources: [TrackSource.MICROPHONE],
    canSubscribe: true,
    canPublishData: true,
  });
  return token.toJwt();
}

/**
 * Asks LiveKit to dispatch `AGENT_NAME` into `room` with the session's metadata (JSON).
 * @throws whatever the SDK throws when LiveKit refuses (TwirpError) or is unreachable (TypeError,
 *   timeout after {@link LIVEKIT_TIMEOUT_S} s); the caller turns it into a 502
 */
export async function dispatchAgent(config: EdgeConfig, room: string, metadata: DispatchMetadata): Promise<void> {
  const client = new AgentDispatchClient(config.liveKitHttpUrl, config.liveKitApiKey, config.liveKitApiSecret, {
    requestTimeout: LIVEKIT_TIMEOUT_S,
  });
  await client.createDispatch(room, config.agentName, { metadata: JSON.stringify(metadata) });
}

/**
 * Verifies a webhook (JWT in `Authorization`, signed with the API secret, carrying the body's
 * SHA-256) and decodes it. Source: https://docs.livekit.io/home/server/webhooks/
 * @throws Error when the header is missing, the signature or the body hash is wrong, or the body is not JSON
 */
export async function receiveWebhook(
  config: EdgeConfig,
  body: string,
  authorization: string | undefined,
): Promise<WebhookEvent> {
  const receiver = new WebhookReceiver(config.liveKitApiKey, config.liveKitApiSecret);
  return receiver.receive(body, authorization);
}

/** A participant as the `SessionDO` tracks it: LiveKit's sid, its identity, and whether it is an agent. */
export interface RoomParticipant {
  sid: string;
  identity: string;
  agent: boolean;
}

/** What one verified webhook says about a room, reduced to what the `SessionDO` needs. */
export interface RoomNotice {
  event: "room_started" | "room_finished" | "participant_joined" | "participant_left";
  /** LiveKit's sid of the room instance ("" when the event carries none). */
  roomSid: string;
  /** When LiveKit created the event, epoch ms (it has second precision: `createdAt` is in seconds). */
  at: number;
  participant: RoomParticipant | null;
}

const NOTICE_EVENTS = new Set<string>(["room_started", "room_finished", "participant_joined", "participant_left"]);

/**
 * Reduces a verified webhook to a {@link RoomNotice}.
 * @param receivedAt epoch ms, used when the event carries no `createdAt`
 * @returns null for events the session lifecycle does not use (tracks, egress, …) or without a room name
 */
export function roomNotice(event: WebhookEvent, receivedAt: number): RoomNotice | null {
  if (!NOTICE_EVENTS.has(event.event) || !event.room?.name) return null;
  const p = event.participant;
  return {
    event: event.event as RoomNotice["event"],
    roomSid: event.room.sid ?? "",
    at: event.createdAt ? Number(event.createdAt) * 1000 : receivedAt,
    participant: p ? { sid: p.sid, identity: p.identity, agent: p.kind === ParticipantInfo_Kind.AGENT } : null,
  };
}

/**
 * Lists the participants LiveKit has in `room`.
 * @param sessionId only for the log line
 * @returns the participants ([] when the room does not exist), or null when LiveKit refused or could not be
 *   reached (logged)
 */
export async function listParticipants(
  config: EdgeConfig,
  room: string,
  sessionId: string,
): Promise<RoomParticipant[] | null> {
  const client = new RoomServiceClient(config.liveKitHttpUrl, config.liveKitApiKey, config.liveKitApiSecret, {
    requestTimeout: LIVEKIT_TIMEOUT_S,
  });
  try {
    const list = await client.listParticipants(room);
    return list.map((p) => ({ sid: p.sid, identity: p.identity, agent: p.kind === ParticipantInfo_Kind.AGENT }));
  } catch (err) {
    if (err instanceof TwirpError && err.status === 404) return [];
    log.warn("livekit_list_participants_failed", { session_id: sessionId, room, error: errorSummary(err) });
    return null;
  }
}

/**
 * Deletes a LiveKit room. A room that no longer exists counts as deleted. Never throws.
 * @param sessionId only for the log line; omitted for a room no session holds (`RoomDO`)
 * @returns true when the room is gone, false when LiveKit refused or could not be reached (logged)
 */
export async function deleteRoom(config: EdgeConfig, room: string, sessionId?: string): Promise<boolean> {
  const client = new RoomServiceClient(config.liveKitHttpUrl, config.liveKitApiKey, config.liveKitApiSecret, {
    requestTimeout: LIVEKIT_TIMEOUT_S,
  });
  try {
    await client.deleteRoom(room);
    return true;
  } catch (err) {
    if (err instanceof TwirpError && err.status === 404) return true;
    const session = sessionId === undefined ? {} : { session_id: sessionId };
    log.warn("livekit_delete_room_failed", { ...session, room, error: errorSummary(err) });
    return false;
  }
}

/**
 * Sends a reliable data packet from the server (no sender identity: a participant cannot forge one) to the
 * participant `destinationSid` in `room`, on `topic`. Never throws.
 * Source: livekit-server-sdk `RoomServiceClient.sendData` (Twirp `livekit.RoomService/SendData`, `roomAdmin` grant).
 * @param data the payload bytes (LiveKit delivers at most about 15 KiB on the reliable channel; callers stay far below)
 * @param sessionId only for the log line
 * @returns true when LiveKit took the packet, false when it refused or could not be reached (logged)
 */
export async function sendServerData(
  config: EdgeConfig,
  room: string,
  destinationSid: string,
  topic: string,
  data: Uint8Array,
  sessionId: string,
): Promise<boolean> {
  const client = new RoomServiceClient(config.liveKitHttpUrl, config.liveKitApiKey, config.liveKitApiSecret, {
    requestTimeout: LIVEKIT_TIMEOUT_S,
  });
  try {
    await client.sendData(room, data, DataPacket_Kind.RELIABLE, { destinationSids: [destinationSid], topic });
    return true;
  } catch (err) {
    log.warn("livekit_send_data_failed", { session_id: sessionId, room, topic, error: errorSummary(err) });
    return false;
  }
}
