/**
 * Joining: the participant's permissions and room configuration from its token, the `JoinResponse` (the first
 * message, within 5 s), the refusal of a join the room's `maxParticipants` does not admit, the refusal of
 * resumes, and the refreshed tokens livekit-server sends every participant. See docs/livekit.md, "Signal
 * connection" (step 3) and "Rooms".
 */
import { createHmac } from "node:crypto";
import { gunzipSync } from "node:zlib";
import type { WebSocket } from "ws";
import type { ClaimGrants } from "livekit-server-sdk";
import {
  ClientInfo_SDK,
  DisconnectReason,
  JoinRequest,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantPermission,
  RoomConfiguration,
  type ServerInfo,
  SignalResponse,
  TrackSource,
  WrappedJoinRequest,
  WrappedJoinRequest_Compression,
} from "@livekit/protocol";
import type { Participant, Room } from "./rooms.ts";
import { log } from "./log.ts";

/** Seconds; sent in the join response; a participant silent for `PING_TIMEOUT_S` is dropped. */
export const PING_INTERVAL_S = 5;
export const PING_TIMEOUT_S = 15;

const SOURCES: Record<string, TrackSource> = {
  camera: TrackSource.CAMERA,
  microphone: TrackSource.MICROPHONE,
  screen_share: TrackSource.SCREEN_SHARE,
  screen_share_audio: TrackSource.SCREEN_SHARE_AUDIO,
};

/** The participant's permissions from its token's video grant (defaults as livekit-server applies them). */
export function permissionFromClaims(claims: ClaimGrants): ParticipantPermission {
  const v = claims.video ?? {};
  return new ParticipantPermission({
    canSubscribe: v.canSubscribe ?? true,
    canPublish: v.canPublish ?? true,
    canPublishData: v.canPublishData ?? true,
    canPublishSources: (v.canPublishSources ?? []).map((s) => SOURCES[String(s)] ?? Number(s)),
    canUpdateMetadata: v.canUpdateOwnMetadata ?? false,
    hidden: v.hidden ?? false,
    recorder: v.recorder ?? false,
    agent: v.agent ?? false,
  });
}

/**
 * The token's `roomConfig` claim (the room configuration a join applies when it creates the room), parsed
 * strictly as livekit-server parses it (`auth.RoomConfiguration.UnmarshalJSON`, protojson: an unknown field
 * is an error, which makes the whole token invalid there).
 * @returns undefined when the token has none
 * @throws Error naming the problem when the claim is not a valid `RoomConfiguration` JSON object
 */
export function roomConfigFromClaims(claims: ClaimGrants): RoomConfiguration | undefined {
  const raw: unknown = claims.roomConfig; // typed as the message, but the verified JWT holds its JSON
  if (raw === undefined || raw === null) return undefined;
  try {
    return RoomConfiguration.fromJson(raw as Parameters<typeof RoomConfiguration.fromJson>[0]);
  } catch (err) {
    throw new Error(`roomConfig: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * The join response for `participant` (not yet in `room`): everyone else, subscriber-primary (v0 only: with one
 * peer connection there is no subscriber connection, as livekit-server's `subscriberAsPrimary` is false in
 * single peer connection mode), fast publish, ping timing.
 * @param singlePeerConnection true for a v1 (`/rtc/v1`) join
 */
export function joinResponse(
  room: Room,
  participant: Participant,
  serverInfo: ServerInfo,
  singlePeerConnection = false,
): SignalResponse {
  const others = [...room.participants.values()].filter((p) => p.identity !== participant.identity);
  return new SignalResponse({
    message: {
      case: "join",
      value: new JoinResponse({
        room: room.info(),
        participant: participant.info(),
        otherParticipants: others.map((p) => p.info()),
        serverVersion: serverInfo.version,
        serverInfo,
        iceServers: [],
        subscriberPrimary: !singlePeerConnection,
        // As livekit-server does (pkg/rtc/room.go: CanPublish() && no ICE fallback): publishers negotiate their
        // publisher connection at join, so a first publish skips ICE/DTLS. It also puts the Rust SDK (rtc-node,
        // LiveKit Agents) on its queued negotiation path; its debounced path deadlocks when a second
        // negotiation is requested while an offer awaits its answer (livekit/rust-sdks#1252, fixed after
        // livekit-ffi 0.12.73, which rtc-node 0.13.35 ships): the agent's audio track then never publishes.
        fastPublish: participant.permission.canPublish,
        pingTimeout: PING_TIMEOUT_S,
        pingInterval: PING_INTERVAL_S,
        enabledPublishCodecs: [{ mime: "audio/opus" }, { mime: "video/VP8" }],
      }),
    },
  });
}

/**
 * Refuses a join that the room's `maxParticipants` does not admit, as livekit-server does when `Room.Join`
 * fails (`RoomManager.StartSession` closes the new participant with `JOIN_FAILED`): the first and only signal
 * message is `LeaveRequest{reason: JOIN_FAILURE, action: DISCONNECT}`, then the socket closes. livekit-client
 * rejects `connect()` with a `ConnectionError` ("Received leave request while trying to (re)connect").
 */
export function refuseJoin(ws: WebSocket, claims: ClaimGrants, why: string): void {
  log.warn("join_refused", { room: claims.video?.room, identity: claims.sub, reason: why });
  const leave = new LeaveRequest({ reason: DisconnectReason.JOIN_FAILURE, action: LeaveRequest_Action.DISCONNECT });
  ws.send(new SignalResponse({ message: { case: "leave", value: leave } }).toBinary());
  ws.close(1000, why.slice(0, 120));
}

/** Seconds between two refreshed tokens, and the least a refreshed token lives (livekit-server roommanager.go). */
export const TOKEN_REFRESH_INTERVAL_S = 300;
export const TOKEN_REFRESH_TTL_S = 600;

/**
 * A refreshed copy of a participant's token, as livekit-server's `RoomManager.refreshToken` makes it: the same
 * claims (identity, name, kind, metadata, attributes, video grant, room configuration), signed with the
 * server's key, valid from now for {@link TOKEN_REFRESH_TTL_S} or the original's remaining life, whichever is
 * longer. The server sends one at the join and every {@link TOKEN_REFRESH_INTERVAL_S}; the SDKs keep the latest
 * and use it to reconnect, so a short-lived join token only bounds when the first join may happen.
 * @param claims the verified claims of the token the participant joined with (with `exp`)
 * @param nowMs epoch ms
 * @returns an HS256 JWT
 */
export function refreshedToken(claims: ClaimGrants, apiKey: string, apiSecret: string, nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const remaining = typeof claims.exp === "number" ? claims.exp - now : 0;
  const payload = { ...claims, iss: apiKey, nbf: now, exp: now + Math.max(TOKEN_REFRESH_TTL_S, remaining) };
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part(payload)}`;
  return `${unsigned}.${createHmac("sha256", apiSecret).update(unsigned).digest("base64url")}`;
}

/**
 * Resuming a session (`?reconnect=1`: ICE restart on kept connections) is not supported: a LeaveRequest with
 * RECONNECT makes livekit-client give up the resume and rejoin from scratch (SignalClient validateFirstMessage).
 */
export function refuseResume(ws: WebSocket, claims: ClaimGrants): void {
  log.info("resume_refused", { room: claims.video?.room, identity: claims.sub });
  const leave = new LeaveRequest({ reason: DisconnectReason.STATE_MISMATCH, action: LeaveRequest_Action.RECONNECT });
  ws.send(new SignalResponse({ message: { case: "leave", value: leave } }).toBinary());
  ws.close(1000, "resume not supported");
}

/** The most bytes a v1 join request may have once decompressed (livekit-server: `http.DefaultMaxHeaderBytes`, 1 MiB). */
export const MAX_JOIN_REQUEST_BYTES = 1 << 20;

/**
 * Decodes a v1 `join_request` query parameter as livekit-server's `RTCService.validateInternal` does: base64url
 * of a protobuf `WrappedJoinRequest` whose `joinRequest` is a protobuf `JoinRequest`, gzip-compressed when
 * `compression` is `GZIP` (livekit-client compresses whenever the browser has `CompressionStream`; rtc-node
 * always does).
 * @throws Error with livekit-server's message ("join_request is required", "cannot base64 decode wrapped join
 *   request", "cannot unmarshal wrapped join request", "join request too large", "cannot read decompressed join
 *   request", "cannot unmarshal join request"): the caller answers 400
 */
export function parseJoinRequest(param: string | null): JoinRequest {
  if (!param) throw new Error("join_request is required");
  // livekit-client writes base64url with padding (its own +/ → -_ replacement of btoa's output).
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(param)) throw new Error("cannot base64 decode wrapped join request");
  let wrapped: WrappedJoinRequest;
  try {
    wrapped = WrappedJoinRequest.fromBinary(Buffer.from(param, "base64url"));
  } catch {
    throw new Error("cannot unmarshal wrapped join request");
  }
  let bytes = wrapped.joinRequest;
  if (wrapped.compression === WrappedJoinRequest_Compression.GZIP) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: MAX_JOIN_REQUEST_BYTES });
    } catch (err) {
      const tooLarge = (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
      throw new Error(tooLarge ? "join request too large" : "cannot read decompressed join request", { cause: err });
    }
  } else if (bytes.length > MAX_JOIN_REQUEST_BYTES) throw new Error("join request too large");
  try {
    return JoinRequest.fromBinary(bytes);
  } catch {
    throw new Error("cannot unmarshal join request");
  }
}

/**
 * Which clients `/rtc/v1` serves: `all` (the default: livekit-client and rtc-node each on one peer connection, as
 * livekit-server does), or `livekit-client` only, where every other SDK gets 404 and the Rust SDK (rtc-node) falls
 * back to `/rtc`, its two peer connections (docs/livekit.md, "Signal connection", step 1).
 */
export type SignalV1Clients = "all" | "livekit-client";

/** Whether the dev server serves this v1 join to its SDK (`clientInfo.sdk`), given {@link SignalV1Clients}. */
export function servesV1(join: JoinRequest, clients: SignalV1Clients = "all"): boolean {
  return clients === "all" || join.clientInfo?.sdk === ClientInfo_SDK.JS;
}
