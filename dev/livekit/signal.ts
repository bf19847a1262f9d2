/**
 * The signal connection of one participant, v0 (`/rtc`, two peer connections: sfu.ts) or v1 (`/rtc/v1`, one
 * peer connection: sfu-single.ts): the join response, then every `SignalRequest`.
 * See docs/livekit.md, "Signal connection", and livekit-client's SignalClient.ts.
 */
import type { WebSocket } from "ws";
import type { ClaimGrants } from "livekit-server-sdk";
import {
  DisconnectReason,
  LeaveRequest,
  LeaveRequest_Action,
  ParticipantInfo_Kind,
  type ParticipantPermission,
  Pong,
  RequestResponse,
  RequestResponse_Reason,
  type SessionDescription,
  SignalRequest,
  SignalResponse,
  TrackInfo,
  TrackPublishedResponse,
  TrackSubscribed,
  TrackUnpublishedResponse,
  TrackType,
} from "@livekit/protocol";
import {
  isDependent,
  MAX_PARTICIPANTS_EXCEEDED,
  Participant,
  type PublishedTrack,
  type Room,
  type RoomRegistry,
  newId,
} from "./rooms.ts";
import { MediaSession } from "./sfu.ts";
import { SinglePeerSession } from "./sfu-single.ts";
import { type OfferedSection, type ParticipantMedia, peerConfig } from "./peer.ts";
import { relayData } from "./data.ts";
import {
  joinResponse,
  permissionFromClaims,
  PING_TIMEOUT_S,
  refreshedToken,
  refuseJoin,
  refuseResume,
  roomConfigFromClaims,
  TOKEN_REFRESH_INTERVAL_S,
} from "./join.ts";
import { errorSummary } from "../../contract/log.ts";
import { log } from "./log.ts";
import { RtpForwarder } from "./rtp-forwarder.ts";

/** What a signal connection needs from the server. */
export interface SignalContext {
  registry: RoomRegistry;
  serverInfo: import("@livekit/protocol").ServerInfo;
  mediaAddress?: string;
  /** The server's API key and secret, which sign the participant's refreshed tokens. */
  apiKey: string;
  apiSecret: string;
}

/** How a participant connects: from the v0 query (`reconnect`) or the v1 `JoinRequest`. */
export interface JoinOptions {
  /** A client resuming after a signal drop (v0 `?reconnect=1`, v1 `JoinRequest.reconnect`). */
  resume?: boolean;
  /** v1 (`/rtc/v1`): one peer connection, on which the client offers. */
  singlePeerConnection?: boolean;
  /** v1: the publisher offer the join request carried (`JoinRequest.publisherOffer`), answered after the join. */
  publisherOffer?: SessionDescription;
}

/**
 * Runs one participant's signal connection: joins `claims.video.room` as `claims.sub` (creating the room with
 * the token's `roomConfig` when it does not exist), sends the join response and a refreshed token, then in v0
 * the first subscriber offer, in v1 the answer to the join request's publisher offer, and serves requests until
 * the socket closes. A join the room's `maxParticipants` does not admit is refused with
 * `LeaveRequest{JOIN_FAILURE}` ({@link refuseJoin}), a resume with `LeaveRequest{RECONNECT}` ({@link refuseResume}).
 * @param ws an open WebSocket whose token was already verified (roomJoin + room, a parsable `roomConfig`)
 */
export function acceptParticipant(
  ws: WebSocket,
  claims: ClaimGrants,
  ctx: SignalContext,
  opts: JoinOptions = {},
): void {
  if (opts.resume) return refuseResume(ws, claims);
  const room = ctx.registry.getOrCreate(String(claims.video?.room), roomConfigFromClaims(claims));
  const kind =
    claims.kind === "agent"
      ? ParticipantInfo_Kind.AGENT
      : claims.kind === "egress"
        ? ParticipantInfo_Kind.EGRESS
        : ParticipantInfo_Kind.STANDARD;
  const permission = permissionFromClaims(claims);
  if (!ctx.registry.admits(room, String(claims.sub), isDependent(kind, permission))) {
    return refuseJoin(ws, claims, MAX_PARTICIPANTS_EXCEEDED);
  }
  new SignalSession(ws, claims, ctx, room, kind, permission, opts);
}

class SignalSession {
  private readonly ws: WebSocket;
  private readonly ctx: SignalContext;
  private readonly room: Room;
  private readonly participant: Participant;
  private readonly media: ParticipantMedia;
  private readonly pendingTracks = new Map<string, TrackInfo>();
  private lastSeen = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  private readonly tokenRefresh: NodeJS.Timeout;
  private disposed = false;

  constructor(
    ws: WebSocket,
    claims: ClaimGrants,
    ctx: SignalContext,
    room: Room,
    kind: ParticipantInfo_Kind,
    permission: ParticipantPermission,
    opts: JoinOptions,
  ) {
    this.ws = ws;
    this.ctx = ctx;
    this.room = room;
    this.participant = new Participant({
      identity: String(claims.sub),
      name: claims.name,
      metadata: claims.metadata,
      attributes: claims.attributes,
      kind,
      permission,
      link: {
        send: (res) => this.send(res),
        close: (reason, why) => this.close(reason, why),
        drop: (why) => this.drop(why),
        dispose: () => this.dispose(),
        subscribe: (track) => this.subscribe(track),
        unsubscribe: (track) => this.media.unsubscribe(track.info.sid),
        sendData: (bytes, label) => this.media.sendData(bytes, label),
      },
    });
    const who = { room: this.room.name, identity: this.participant.identity };
    const single = opts.singlePeerConnection === true;
    const Media = single ? SinglePeerSession : MediaSession;
    this.media = new Media(peerConfig(ctx.mediaAddress), (res) => this.send(res), who);
    this.media.onTrack = (cid, mid, track) => this.onPublisherTrack(cid, mid, track);
    this.media.onOffer = (sections) => this.unpublishStopped(sections);
    this.media.onData = (bytes, label) => relayData(this.room, this.participant, bytes, label);

    ws.on("message", (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on("close", () => ctx.registry.leave(this.room, this.participant));
    ws.on("error", (err) => log.warn("signal_socket_error", { ...who, reason: err }));
    this.watchdog = setInterval(() => {
      if (Date.now() - this.lastSeen > PING_TIMEOUT_S * 1000) this.close(DisconnectReason.SIGNAL_CLOSE, "ping timeout");
    }, 1000);
    this.watchdog.unref();
    // livekit-server (RoomManager.rtcSessionWorker) refreshes the token at the join and every 5 minutes.
    const sendRefreshedToken = () => {
      const token = refreshedToken(claims, ctx.apiKey, ctx.apiSecret, Date.now());
      this.send(new SignalResponse({ message: { case: "refreshToken", value: token } }));
    };
    this.tokenRefresh = setInterval(sendRefreshedToken, TOKEN_REFRESH_INTERVAL_S * 1000);
    this.tokenRefresh.unref();

    this.send(joinResponse(this.room, this.participant, ctx.serverInfo, single));
    sendRefreshedToken();
    this.media.start();
    if (opts.publisherOffer)
      void this.handle(new SignalRequest({ message: { case: "offer", value: opts.publisherOffer } })).catch(
        (err: unknown) => this.requestFailed("offer", err),
      );
    ctx.registry.join(this.room, this.participant);
  }

  private send(res: SignalResponse): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(res.toBinary());
  }

  /**
   * Subscribes this participant to `track`; once the subscription is negotiated its publisher gets
   * `trackSubscribed` (rtc-node's `waitForSubscription`, which LiveKit Agents awaits before playing audio,
   * and livekit-client's `LocalTrackSubscribed` resolve on it).
   */
  private subscribe(track: PublishedTrack): void {
    if (!this.participant.permission.canSubscribe) return;
    const kind = track.info.type === TrackType.VIDEO ? "video" : "audio";
    this.media.subscribe(track.owner.sid, track.info.sid, kind, track.forwarder, () => {
      if (track.owner.tracks.get(track.info.sid) !== track) return; // unpublished meanwhile
      track.owner.link.send(
        new SignalResponse({
          message: { case: "trackSubscribed", value: new TrackSubscribed({ trackSid: track.info.sid }) },
        }),
      );
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now();
    let req: SignalRequest;
    try {
      if (!isBinary) throw new Error("text frame (protobuf binary expected)");
      req = SignalRequest.fromBinary(new Uint8Array(data));
    } catch (err) {
      this.close(DisconnectReason.UNKNOWN_REASON, `bad signal message: ${errorSummary(err)}`);
      return;
    }
    this.handle(req).catch((err: unknown) => this.requestFailed(req.message.case, err));
  }

  private requestFailed(request: string | undefined, err: unknown): void {
    log.warn("signal_request_failed", {
      room: this.room.name,
      identity: this.participant.identity,
      request,
      reason: err,
    });
  }

  private async handle(req: SignalRequest): Promise<void> {
    const m = req.message;
    switch (m.case) {
      case "offer":
        log.debug("publisher_offer_received", { identity: this.participant.identity, id: m.value.id });
        return this.media.handleOffer(m.value);
      case "answer":
        return this.media.handleAnswer(m.value);
      case "trickle":
        return this.media.handleTrickle(m.value);
      case "addTrack":
        return this.addTrack(
          m.value.cid,
          new TrackInfo({
            sid: newId("TR_"),
            type: m.value.type,
            name: m.value.name,
            source: m.value.source,
            muted: m.value.muted,
            mimeType: m.value.type === TrackType.VIDEO ? "video/VP8" : "audio/opus",
            stereo: m.value.stereo,
            disableDtx: m.value.disableDtx,
            width: m.value.width,
            height: m.value.height,
            stream: m.value.stream,
          }),
        );
      case "mute":
        return this.mute(m.value.sid, m.value.muted);
      case "leave":
        this.close(DisconnectReason.CLIENT_INITIATED, "client left");
        return;
      case "ping":
        this.send(new SignalResponse({ message: { case: "pong", value: BigInt(Date.now()) } }));
        return;
      case "pingReq":
        this.send(
          new SignalResponse({
            message: {
              case: "pongResp",
              value: new Pong({ lastPingTimestamp: m.value.timestamp, timestamp: BigInt(Date.now()) }),
            },
          }),
        );
        return;
      case "updateMetadata":
        return this.updateMetadata(m.value.requestId, m.value.name, m.value.metadata, m.value.attributes);
      case undefined:
        this.close(DisconnectReason.UNKNOWN_REASON, "unknown signal request");
        return;
      default:
        // subscription, trackSetting, updateLayers, syncState, …: accepted and ignored (audio only, auto-subscribe).
        log.debug("signal_request_ignored", { identity: this.participant.identity, request: m.case });
    }
  }

  private addTrack(cid: string, info: TrackInfo): void {
    log.debug("add_track_requested", { identity: this.participant.identity, cid, source: info.source });
    const perm = this.participant.permission;
    const allowed =
      perm.canPublish && (perm.canPublishSources.length === 0 || perm.canPublishSources.includes(info.source));
    if (!allowed) {
      log.warn("publish_refused", { identity: this.participant.identity, source: info.source });
      this.send(
        new SignalResponse({
          message: {
            case: "requestResponse",
            value: new RequestResponse({
              reason: RequestResponse_Reason.NOT_ALLOWED,
              message: "publish not permitted",
            }),
          },
        }),
      );
      return;
    }
    this.pendingTracks.set(cid, info);
    this.send(
      new SignalResponse({
        message: { case: "trackPublished", value: new TrackPublishedResponse({ cid, track: info }) },
      }),
    );
  }

  private onPublisherTrack(
    cid: string | undefined,
    mid: string | undefined,
    remote: Parameters<MediaSession["onTrack"]>[2],
  ): void {
    let key = cid !== undefined && this.pendingTracks.has(cid) ? cid : undefined;
    // A publisher's msid may not carry the cid (older SDKs): take the only pending track of that kind.
    key ??= [...this.pendingTracks.entries()].find(
      ([, i]) => (i.type === TrackType.VIDEO) === (remote.kind === "video"),
    )?.[0];
    if (key === undefined) {
      const who = { room: this.room.name, identity: this.participant.identity };
      log.warn("unrequested_track_not_published", { ...who, cid, mid });
      return;
    }
    const info = this.pendingTracks.get(key)!;
    this.pendingTracks.delete(key);
    info.mid = mid ?? "";
    const track = { room: this.room.name, identity: this.participant.identity, track_sid: info.sid };
    this.ctx.registry.publish(this.room, { info, owner: this.participant, forwarder: new RtpForwarder(remote, track) });
  }

  /** Tracks whose section no longer sends (the client removed its sender) are unpublished. */
  private unpublishStopped(sections: Map<string, OfferedSection>): void {
    for (const track of [...this.participant.tracks.values()]) {
      if (!track.info.mid || sections.get(track.info.mid)?.sending) continue;
      this.ctx.registry.unpublish(this.room, track);
      this.send(
        new SignalResponse({
          message: { case: "trackUnpublished", value: new TrackUnpublishedResponse({ trackSid: track.info.sid }) },
        }),
      );
    }
  }

  private mute(trackSid: string, muted: boolean): void {
    const track = this.participant.tracks.get(trackSid);
    if (!track) return;
    track.info.muted = muted;
    this.ctx.registry.broadcast(this.room, this.participant);
  }

  private updateMetadata(requestId: number, name: string, metadata: string, attributes: Record<string, string>): void {
    const p = this.participant;
    if (p.permission.canUpdateMetadata) {
      if (name) p.name = name;
      if (metadata) p.metadata = metadata;
      for (const [k, v] of Object.entries(attributes)) {
        if (v === "") delete p.attributes[k];
        else p.attributes[k] = v;
      }
      this.ctx.registry.broadcast(this.room, p);
    }
    if (requestId) {
      const reason = p.permission.canUpdateMetadata ? RequestResponse_Reason.OK : RequestResponse_Reason.NOT_ALLOWED;
      this.send(
        new SignalResponse({ message: { case: "requestResponse", value: new RequestResponse({ requestId, reason }) } }),
      );
    }
  }

  /** Tells the client to leave (with `reason`), closes the socket; the close handler leaves the room. */
  close(reason: DisconnectReason, why: string): void {
    if (this.ws.readyState === this.ws.OPEN) {
      const level = reason === DisconnectReason.UNKNOWN_REASON ? "warn" : "info";
      const fields = { room: this.room.name, identity: this.participant.identity, reason: why };
      log[level]("participant_connection_closing", fields);
      this.send(
        new SignalResponse({
          message: { case: "leave", value: new LeaveRequest({ reason, action: LeaveRequest_Action.DISCONNECT }) },
        }),
      );
      this.ws.close(1000, why.slice(0, 120));
    }
    this.ctx.registry.leave(this.room, this.participant);
  }

  /** Destroys the socket without a word (see `ParticipantLink.drop`); the close handler leaves the room. */
  private drop(why: string): void {
    log.info("participant_connection_dropped", {
      room: this.room.name,
      identity: this.participant.identity,
      reason: why,
    });
    this.ws.terminate();
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.watchdog);
    clearInterval(this.tokenRefresh);
    this.media.close();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000, "left");
  }
}
