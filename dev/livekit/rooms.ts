/**
 * Rooms and participants: who is in which room, the `ParticipantUpdate`s everyone receives, the lifecycle
 * events that webhooks and agent dispatch listen to, and livekit-server's room limits: `maxParticipants` at
 * join and the empty/departure timeouts, both counting only participants that are not "dependent" (agents,
 * egress). Source: livekit-server `pkg/rtc/room.go` (`Join`, `CloseIfEmpty`), `pkg/rtc/participant.go`
 * (`IsDependent`), `pkg/service/roomallocator.go` (`CreateRoom`). See docs/livekit.md, "Rooms".
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
  type RoomConfiguration,
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

/**
 * livekit-server's `ParticipantImpl.IsDependent`: agents and egress participants, and participants whose grant
 * says agent or recorder. Dependent participants neither count toward `maxParticipants` nor keep a room open.
 */
export function isDependent(kind: ParticipantInfo_Kind, permission: ParticipantPermission): boolean {
  if (kind === ParticipantInfo_Kind.AGENT || kind === ParticipantInfo_Kind.EGRESS) return true;
  return permission.agent || permission.recorder;
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

  /** Whether the participant is dependent ({@link isDependent}). */
  get dependent(): boolean {
    return isDependent(this.kind, this.permission);
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

/**
 * A room's limits, seconds and a count; 0 for `maxParticipants` means no limit. livekit-server's defaults
 * (`pkg/config/config.go`): empty 300 s, departure 20 s, no participant limit.
 */
export interface RoomLimits {
  /** Seconds a room in which no non-dependent participant has joined yet stays open after its creation. */
  emptyTimeoutS: number;
  /** Seconds a room stays open after the last participant left, once a non-dependent participant had joined. */
  departureTimeoutS: number;
  /** Most non-dependent participants at once; 0: unlimited. */
  maxParticipants: number;
}

/** The reason livekit-server gives a join refused by `maxParticipants` (`pkg/rtc/errors.go`). */
export const MAX_PARTICIPANTS_EXCEEDED = "room has exceeded its max participants";

/** One room; `sid` starts with `RM_`. */
export class Room {
  readonly sid = newId("RM_");
  readonly createdAtMs = Date.now();
  readonly participants = new Map<string, Participant>();
  /** Closes the room when it stays without non-dependent participants (see {@link RoomRegistry}). */
  idleTimer: NodeJS.Timeout | undefined;
  /** When the first non-dependent participant joined (epoch ms), 0 before. */
  firstJoinedAtMs = 0;
  /** When a participant last left (epoch ms), 0 before. */
  lastLeftAtMs = 0;
  readonly name: string;
  readonly limits: RoomLimits;

  constructor(name: string, limits: RoomLimits) {
    this.name = name;
    this.limits = limits;
  }

  info(): RoomInfo {
    return new RoomInfo({
      sid: this.sid,
      name: this.name,
      emptyTimeout: this.limits.emptyTimeoutS,
      departureTimeout: this.limits.departureTimeoutS,
      maxParticipants: this.limits.maxParticipants,
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
  /** The server's room defaults (its `maxParticipants` is normally 0). */
  readonly defaults: RoomLimits;

  constructor(defaults: RoomLimits) {
    super();
    this.defaults = defaults;
  }

  /**
   * The room called `name`, created (and `room_started` emitted) when it does not exist yet. A `config` (a
   * join token's `roomConfig`) applies only when this call creates the room, and each of its non-zero
   * fields overrides the server's default, as livekit-server's `roomallocator.CreateRoom` does; an existing
   * room keeps its limits.
   */
  getOrCreate(name: string, config?: RoomConfiguration): Room {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, {
        emptyTimeoutS: config?.emptyTimeout || this.defaults.emptyTimeoutS,
        departureTimeoutS: config?.departureTimeout || this.defaults.departureTimeoutS,
        maxParticipants: config?.maxParticipants || this.defaults.maxParticipants,
      });
      this.rooms.set(name, room);
      log.info("room_started", { room: name, room_sid: room.sid, ...room.limits });
      this.emit("room_started", room);
      this.scheduleIdleClose(room);
    }
    return room;
  }

  /**
   * Whether a participant `identity` (`dependent` or not) may join `room` under its `maxParticipants`, counted as livekit-server's
   * `Room.Join` counts: dependent participants are never refused and never counted, and an older
   * participant with the same identity is not counted (it is replaced before the join, as
   * `RoomManager.StartSession` removes a duplicate first).
   */
  admits(room: Room, identity: string, dependent: boolean): boolean {
    const max = room.limits.maxParticipants;
    if (max === 0 || dependent) return true;
    let counted = 0;
    for (const p of room.participants.values()) if (!p.dependent && p.identity !== identity) counted++;
    return counted < max;
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
    if (!participant.dependent && room.firstJoinedAtMs === 0) room.firstJoinedAtMs = Date.now();
    room.participants.set(participant.identity, participant);
    this.scheduleIdleClose(room);
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
    room.lastLeftAtMs = Date.now();
    this.emit("participant_left", room, participant);
    if (this.rooms.get(room.name) === room) this.scheduleIdleClose(room);
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
    clearTimeout(room.idleTimer);
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

  /**
   * (Re)arms the room's idle close as livekit-server's `Room.CloseIfEmpty` decides it: no timer while a
   * non-dependent participant is in the room; otherwise the room closes `departureTimeoutS` after the last
   * participant left when a non-dependent participant had joined, else `emptyTimeoutS` after its creation.
   * livekit-server checks this on a periodic tick with whole seconds; here a timer fires at the exact time.
   */
  private scheduleIdleClose(room: Room): void {
    clearTimeout(room.idleTimer);
    room.idleTimer = undefined;
    if ([...room.participants.values()].some((p) => !p.dependent)) return;
    const departed = room.firstJoinedAtMs > 0 && room.lastLeftAtMs > 0;
    const at = departed
      ? room.lastLeftAtMs + room.limits.departureTimeoutS * 1000
      : room.createdAtMs + room.limits.emptyTimeoutS * 1000;
    const why = departed ? "departure timeout" : "empty timeout";
    room.idleTimer = setTimeout(() => this.close(room, DisconnectReason.ROOM_CLOSED, why), at - Date.now());
    room.idleTimer.unref();
  }
}
