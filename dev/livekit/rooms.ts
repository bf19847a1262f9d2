/**
 * Rooms and participants: who is in which room, the `ParticipantUpdate`s everyone receives, and the
 * lifecycle events that webhooks and agent dispatch listen to.
 */
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import {
  LeaveRequest,
  LeaveRequest_Action,
  DisconnectReason,
  ParticipantInfo,
  ParticipantInfo_Kind,
  ParticipantInfo_State,
  ParticipantPermission,
  ParticipantUpdate,
  Room as RoomInfo,
  SignalResponse,
  TrackInfo,
} from "@livekit/protocol";
import { log } from "./log.ts";
import type { RtpForwarder } from "./rtp-forwarder.ts";

/** A LiveKit-style id: `prefix` + 12 random base58-ish characters (`RM_`, `PA_`, `TR_`, `AJ_`, …). */
export function newId(prefix: string): string {
  return prefix + randomBytes(9).toString("base64url").replace(/[-_]/g, "x");
}

/** What rooms.ts needs of a participant's signal connection (implemented in signal.ts). */
export interface ParticipantLink {
  send(res: SignalResponse): void;
  /** Ends the connection; `reason` goes to the log and to the client's `LeaveRequest`. */
  close(reason: DisconnectReason, why: string): void;
  /**
   * Cuts the connection as a dead network would (fault injection, faults.ts): no `LeaveRequest`, no close
   * frame; the participant leaves the room and its media stops.
   */
  drop(why: string): void;
  /** Called once the participant is removed from its room (tears down its media). */
  dispose(): void;
  /** Forwards an already published track of another participant to this one. */
  subscribe(track: PublishedTrack): void;
  unsubscribe(track: PublishedTrack): void;
  /** Sends a relayed `DataPacket` on the subscriber channel `label` (reliable ones wait for it to open); false when dropped. */
  sendData(bytes: Uint8Array, label: string): boolean;
}

/** A track a participant published; `info.sid` starts with `TR_`. */
export interface PublishedTrack {
  info: TrackInfo;
  owner: Participant;
  forwarder: RtpForwarder;
}

/** One participant in one room. */
export class Participant {
  readonly sid = newId("PA_");
  readonly joinedAtMs = Date.now();
  readonly tracks = new Map<string, PublishedTrack>();
  version = 0;
  state = ParticipantInfo_State.JOINED;
  readonly identity: string;
  name: string;
  metadata: string;
  attributes: Record<string, string>;
  readonly kind: ParticipantInfo_Kind;
  readonly permission: ParticipantPermission;
  readonly link: ParticipantLink;

  constructor(init: {
    identity: string;
    name?: string;
    metadata?: string;
    attributes?: Record<string, string>;
    kind: ParticipantInfo_Kind;
    permission: ParticipantPermission;
    link: ParticipantLink;
  }) {
    this.identity = init.identity;
    this.name = init.name ?? "";
    this.metadata = init.metadata ?? "";
    this.attributes = init.attributes ?? {};
    this.kind = init.kind;
    this.permission = init.permission;
    this.link = init.link;
  }

  /** The participant as the protocol describes it; each call after a change bumps `version`. */
  info(): ParticipantInfo {
    return new ParticipantInfo({
      sid: this.sid,
      identity: this.identity,
      name: this.name,
      state: this.state,
      tracks: [...this.tracks.values()].map((t) => t.info),
      metadata: this.metadata,
      attributes: this.attributes,
      joinedAt: BigInt(Math.floor(this.joinedAtMs / 1000)),
      joinedAtMs: BigInt(this.joinedAtMs),
      version: this.version,
      permission: this.permission,
      kind: this.kind,
      isPublisher: this.tracks.size > 0,
    });
  }
}

/** One room; `sid` starts with `RM_`. */
export class Room {
  readonly sid = newId("RM_");
  readonly createdAtMs = Date.now();
  readonly participants = new Map<string, Participant>();
  emptyTimer: NodeJS.Timeout | undefined;
  readonly name: string;
  readonly emptyTimeoutS: number;

  constructor(name: string, emptyTimeoutS: number) {
    this.name = name;
    this.emptyTimeoutS = emptyTimeoutS;
  }

  info(): RoomInfo {
    return new RoomInfo({
      sid: this.sid,
      name: this.name,
      emptyTimeout: this.emptyTimeoutS,
      departureTimeout: this.emptyTimeoutS,
      creationTime: BigInt(Math.floor(this.createdAtMs / 1000)),
      creationTimeMs: BigInt(this.createdAtMs),
      numParticipants: this.participants.size,
      numPublishers: [...this.participants.values()].filter((p) => p.tracks.size > 0).length,
      enabledCodecs: [{ mime: "audio/opus" }, { mime: "video/VP8" }],
    });
  }
}

/**
 * Lifecycle events (webhook names): `room_started(room)`, `room_finished(room)`,
 * `participant_joined(room, participant)`, `participant_left(room, participant)`,
 * `track_published(room, participant, track)`.
 */
export class RoomRegistry extends EventEmitter {
  readonly rooms = new Map<string, Room>();
  readonly emptyTimeoutS: number;

  constructor(emptyTimeoutS: number) {
    super();
    this.emptyTimeoutS = emptyTimeoutS;
  }

  /** The room called `name`, created (and `room_started` emitted) when it does not exist yet. */
  getOrCreate(name: string): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, this.emptyTimeoutS);
      this.rooms.set(name, room);
      log.info("room_started", { room: name, room_sid: room.sid });
      this.emit("room_started", room);
      this.armEmptyTimer(room);
    }
    return room;
  }

  /**
   * Adds a participant; an older participant with the same identity is disconnected first
   * (`DUPLICATE_IDENTITY`), as LiveKit does.
   */
  join(room: Room, participant: Participant): void {
    const older = room.participants.get(participant.identity);
    if (older) {
      older.link.close(DisconnectReason.DUPLICATE_IDENTITY, "duplicate identity joined");
      this.leave(room, older);
    }
    clearTimeout(room.emptyTimer);
    room.emptyTimer = undefined;
    room.participants.set(participant.identity, participant);
    for (const other of room.participants.values()) {
      if (other === participant) continue;
      for (const track of other.tracks.values()) participant.link.subscribe(track);
    }
    this.broadcast(room, participant);
    log.info("participant_joined", { room: room.name, identity: participant.identity, kind: participant.kind });
    this.emit("participant_joined", room, participant);
  }

  /** Removes a participant (idempotent): its tracks leave every subscriber, others get its DISCONNECTED update. */
  leave(room: Room, participant: Participant): void {
    if (room.participants.get(participant.identity) !== participant) return;
    room.participants.delete(participant.identity);
    for (const track of participant.tracks.values()) {
      for (const other of room.participants.values()) other.link.unsubscribe(track);
    }
    participant.state = ParticipantInfo_State.DISCONNECTED;
    this.broadcast(room, participant);
    participant.link.dispose();
    log.info("participant_left", { room: room.name, identity: participant.identity });
    this.emit("participant_left", room, participant);
    if (this.rooms.get(room.name) === room && room.participants.size === 0) this.armEmptyTimer(room);
  }

  /** Publishes a track: it is announced to everyone, then forwarded to every other participant. */
  publish(room: Room, track: PublishedTrack): void {
    track.owner.tracks.set(track.info.sid, track);
    this.broadcast(room, track.owner);
    for (const other of room.participants.values()) {
      if (other !== track.owner) other.link.subscribe(track);
    }
    log.info("track_published", { room: room.name, identity: track.owner.identity, track_sid: track.info.sid });
    this.emit("track_published", room, track.owner, track);
  }

  /** Unpublishes a track: subscribers drop it, everyone gets the owner's update. */
  unpublish(room: Room, track: PublishedTrack): void {
    if (!track.owner.tracks.delete(track.info.sid)) return;
    for (const other of room.participants.values()) {
      if (other !== track.owner) other.link.unsubscribe(track);
    }
    this.broadcast(room, track.owner);
  }

  /** Sends `participant`'s current info (with a bumped version) to every participant of the room. */
  broadcast(room: Room, participant: Participant): void {
    participant.version += 1;
    const update = new SignalResponse({
      message: { case: "update", value: new ParticipantUpdate({ participants: [participant.info()] }) },
    });
    for (const p of room.participants.values()) p.link.send(update);
  }

  /** Closes a room now: every participant is told to leave, `room_finished` fires. */
  close(room: Room, reason: DisconnectReason, why: string): void {
    if (this.rooms.get(room.name) !== room) return;
    this.rooms.delete(room.name);
    clearTimeout(room.emptyTimer);
    for (const p of [...room.participants.values()]) {
      p.link.send(
        new SignalResponse({
          message: { case: "leave", value: new LeaveRequest({ reason, action: LeaveRequest_Action.DISCONNECT }) },
        }),
      );
      p.link.close(reason, why);
      this.leave(room, p);
    }
    log.info("room_finished", { room: room.name, room_sid: room.sid, reason: why });
    this.emit("room_finished", room);
  }

  /** Closes every room (server shutdown). */
  closeAll(): void {
    for (const room of [...this.rooms.values()]) this.close(room, DisconnectReason.SERVER_SHUTDOWN, "server shutdown");
  }

  private armEmptyTimer(room: Room): void {
    clearTimeout(room.emptyTimer);
    room.emptyTimer = setTimeout(() => {
      if (room.participants.size === 0) this.close(room, DisconnectReason.ROOM_CLOSED, "empty timeout");
    }, room.emptyTimeoutS * 1000);
    room.emptyTimer.unref();
  }
}
