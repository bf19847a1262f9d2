/**
 * Joining: the participant's permissions from its token, the `JoinResponse` (the first message, within 5 s),
 * and the refusal of resumes. See docs/livekit.md, "Signal connection" (step 3).
 */
import type { WebSocket } from "ws";
import type { ClaimGrants } from "livekit-server-sdk";
import {
  DisconnectReason,
  JoinResponse,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantPermission,
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
    agent: v.agent ?? false,
  });
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
 * Resuming a session (`?reconnect=1`: ICE restart on kept connections) is not supported: a LeaveRequest with
 * RECONNECT makes livekit-client give up the resume and rejoin from scratch (SignalClient validateFirstMessage).
 */
export function refuseResume(ws: WebSocket, claims: ClaimGrants): void {
  log.info("resume_refused", { room: claims.video?.room, identity: claims.sub });
  const leave = new LeaveRequest({ reason: DisconnectReason.STATE_MISMATCH, action: LeaveRequest_Action.RECONNECT });
  ws.send(new SignalResponse({ message: { case: "leave", value: leave } }).toBinary());
  ws.close(1000, "resume not supported");
}
