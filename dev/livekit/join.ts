/**
 * Joining: the participant's permissions and room configuration from its token, the `JoinResponse` (the first
 * message, within 5 s), the refusal of a join the room's `maxParticipants` does not admit, the refusal of
 * resumes, and the refreshed tokens livekit-server sends every participant. See docs/livekit.md, "Signal
 * connection" (step 3) and "Rooms".
 */
import { createHmac } from "node:crypto";
import type { WebSocket } from "ws";
import type { ClaimGrants } from "livekit-server-sdk";
import {
  DisconnectReason,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantPermission,
  RoomConfiguration,
  type ServerInfo,
  SignalResponse,
  TrackSource,
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

/** The join response for `participant` (not yet in `room`): everyone else, subscriber-primary, fast publish, ping timing. */
export function joinResponse(room: Room, participant: Participant, serverInfo: ServerInfo): SignalResponse {
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
        subscriberPrimary: true,
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
