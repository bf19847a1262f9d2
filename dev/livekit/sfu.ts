/**
 * The audio SFU for one participant: its publisher connection (client offers, we answer) and its subscriber
 * connection (we offer, renegotiating one change at a time), on werift. See docs/livekit.md, "Signal
 * connection" (steps 4–7) and "werift pitfalls".
 */
import {
  type MediaStreamTrack,
  type PeerConfig,
  type RTCDataChannel,
  RTCIceCandidate,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RTCRtpTransceiver,
} from "werift";
import { SessionDescription, SignalResponse, SignalTarget, TrickleRequest } from "@livekit/protocol";
import { log } from "./log.ts";
import type { RtpForwarder } from "./rtp-forwarder.ts";

/** The answer timeout of one subscriber renegotiation, ms (the client answers in well under a second). */
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * werift configuration: Opus plus VP8 (the Rust SDK's publisher offer carries video sections and werift
 * fails "negotiate codecs" without a video codec), no header extensions, IPv4, and when `mediaAddress` is set
 * only that interface (bound and advertised).
 */
export function peerConfig(mediaAddress?: string): Partial<PeerConfig> {
  return {
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2, payloadType: 111 })],
      video: [new RTCRtpCodecParameters({ mimeType: "video/VP8", clockRate: 90000, payloadType: 96 })],
    },
    headerExtensions: { audio: [], video: [] },
    iceUseIpv6: false,
    iceInterfaceAddresses: mediaAddress ? { udp4: mediaAddress } : undefined,
  };
}

/** One media section of a publisher offer: its msid track id (the `cid`) and whether it sends. */
export interface OfferedSection {
  cid: string | undefined;
  sending: boolean;
}

/**
 * Media sections of an offer by `mid`. Rust writes `a=msid:- <cid>`; a section stops sending (unpublish)
 * when its direction becomes recvonly/inactive or its port 0.
 */
export function offeredSections(sdp: string): Map<string, OfferedSection> {
  const out = new Map<string, OfferedSection>();
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const mid = /\r?\na=mid:(\S+)/.exec(section)?.[1];
    if (!mid || section.startsWith("application")) continue;
    const cid = /\r?\na=msid:\S+ (\S+)/.exec(section)?.[1];
    const direction = /\r?\na=(sendrecv|sendonly|recvonly|inactive)/.exec(section)?.[1] ?? "sendrecv";
    const port = /^\S+ (\d+)/.exec(section)?.[1];
    out.set(mid, { cid, sending: port !== "0" && (direction === "sendrecv" || direction === "sendonly") });
  }
  return out;
}

type DataLabel = "_reliable" | "_lossy";

/**
 * Reliable data held for a participant whose `_reliable` channel is not open yet (it opens after ICE, DTLS and
 * SCTP, shortly after the SDK's `connect()` resolves), in bytes; beyond it further packets are dropped and logged.
 */
export const MAX_PENDING_RELIABLE_BYTES = 1 << 20;

/** Both peer connections of one participant and the subscriptions carried by the subscriber one. */
export class MediaSession {
  readonly publisher: RTCPeerConnection;
  readonly subscriber: RTCPeerConnection;
  /** A publisher track arrived in section `mid`: `cid` is its msid track id. */
  onTrack: (cid: string | undefined, mid: string | undefined, track: MediaStreamTrack) => void = () => {};
  /** A publisher offer was applied: the sections it carries, by mid (unpublished tracks stop sending). */
  onOffer: (sections: Map<string, OfferedSection>) => void = () => {};
  /** A data packet (protobuf `DataPacket` bytes) arrived on the publisher's channel `label`. */
  onData: (bytes: Uint8Array, label: string) => void = () => {};
  private readonly send: (res: SignalResponse) => void;
  private readonly who: Record<string, string>;
  private readonly channels = new Map<DataLabel, RTCDataChannel>();
  /** Reliable packets waiting for the `_reliable` channel to open, in send order. */
  private pendingReliable: Buffer[] = [];
  private pendingReliableBytes = 0;
  private readonly subscriptions = new Map<string, { tx: RTCRtpTransceiver; forwarder: RtpForwarder }>();
  private readonly pendingCandidates: [RTCIceCandidate[], RTCIceCandidate[]] = [[], []];
  private chain: Promise<void> = Promise.resolve();
  /** Settles the pending subscriber negotiation: an answer's SDP, or undefined when the session closed. */
  private answerWaiter: ((sdp: string | undefined) => void) | undefined;
  private offerId = 0;
  private closed = false;
  private publisherSections = new Map<string, OfferedSection>();

  constructor(config: Partial<PeerConfig>, send: (res: SignalResponse) => void, who: Record<string, string>) {
    this.send = send;
    this.who = who;
    this.publisher = new RTCPeerConnection(config);
    this.subscriber = new RTCPeerConnection(config);
    this.trickleOut(this.publisher, SignalTarget.PUBLISHER);
    this.trickleOut(this.subscriber, SignalTarget.SUBSCRIBER);
    for (const [pc, name] of [
      [this.publisher, "publisher"],
      [this.subscriber, "subscriber"],
    ] as const) {
      pc.connectionStateChange.subscribe((state) => log.debug("peer_connection_state", { ...who, pc: name, state }));
      pc.iceConnectionStateChange.subscribe((state) => log.debug("ice_connection_state", { ...who, pc: name, state }));
    }
    const reliable = this.subscriber.createDataChannel("_reliable", { ordered: true });
    reliable.stateChanged.subscribe((state) => {
      if (state === "open") this.flushReliable(reliable);
      else if (state === "closed") this.dropPendingReliable("channel closed");
    });
    this.channels.set("_reliable", reliable);
    this.channels.set("_lossy", this.subscriber.createDataChannel("_lossy", { ordered: false, maxRetransmits: 0 }));
    this.publisher.onDataChannel.subscribe((dc) => {
      dc.onMessage.subscribe((data) => {
        if (typeof data !== "string") this.onData(data, dc.label);
      });
    });
    this.publisher.ontrack = ({ track, transceiver }) => {
      const mid = transceiver.mid ?? undefined;
      const cid = mid ? this.publisherSections.get(mid)?.cid : undefined;
      log.debug("publisher_track_received", { ...this.who, mid, kind: track.kind, cid });
      this.onTrack(cid, mid, track);
    };
  }

  /** Sends the first subscriber offer (with the data channels and any tracks already subscribed). */
  start(): void {
    this.renegotiate();
  }

  /** The publisher offers being answered, in arrival order (see {@link handleOffer}). */
  private offers: Promise<void> = Promise.resolve();

  /**
   * Answers a publisher offer; the answer echoes `offer.id`. Offers are answered one at a time, in arrival order, as
   * livekit-server does: a client may send its next offer before it has the answer to the last one (livekit-client
   * renegotiates when a track is published while its first offer is out), and an offer applied while the last one's
   * answer is being made would leave that answer, or its own, to be made in the wrong signalling state (werift:
   * "createAnswer failed"; the client then waits for an answer that never comes).
   * @throws the failure of applying or answering this offer (an earlier offer's failure does not stop it)
   */
  handleOffer(offer: SessionDescription): Promise<void> {
    const answered = this.offers.then(() => this.answerOffer(offer));
    this.offers = answered.catch(() => undefined);
    return answered;
  }

  private async answerOffer(offer: SessionDescription): Promise<void> {
    this.publisherSections = offeredSections(offer.sdp);
    await this.publisher.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    const sections = JSON.stringify([...this.publisherSections]);
    log.debug("publisher_offer_applied", { ...this.who, id: offer.id, sections });
    this.onOffer(this.publisherSections);
    await this.flushCandidates(SignalTarget.PUBLISHER);
    await this.publisher.setLocalDescription(await this.publisher.createAnswer());
    const answer = this.publisher.localDescription!;
    // werift answers inactive sections with port 0 but keeps them in BUNDLE; libwebrtc then never connects.
    const sdp = answer.sdp.replace(/^m=(audio|video) 0 /gm, "m=$1 9 ");
    log.debug("publisher_answer_sent", { ...this.who, id: offer.id });
    this.send(
      new SignalResponse({
        message: { case: "answer", value: new SessionDescription({ type: "answer", sdp, id: offer.id }) },
      }),
    );
  }

  /** The client's answer to our latest subscriber offer. */
  handleAnswer(answer: SessionDescription): void {
    const waiter = this.answerWaiter;
    this.answerWaiter = undefined;
    waiter?.(answer.sdp);
  }

  /** A remote ICE candidate (`candidateInit` is the JSON of an RTCIceCandidateInit). */
  async handleTrickle(trickle: TrickleRequest): Promise<void> {
    const init = JSON.parse(trickle.candidateInit) as Partial<RTCIceCandidate>;
    if (!init.candidate) return;
    const target = trickle.target === SignalTarget.SUBSCRIBER ? SignalTarget.SUBSCRIBER : SignalTarget.PUBLISHER;
    this.pendingCandidates[target].push(new RTCIceCandidate(init));
    await this.flushCandidates(target);
  }

  /**
   * Starts forwarding `forwarder`'s track (Opus or VP8) as `trackSid` with msid `participantSid|trackSid trackSid`.
   * `onSubscribed` runs once, when this participant's answer to the offer carrying the track has been applied
   * (livekit-server's "downtrack bound", which is when it tells the publisher `trackSubscribed`); never when the
   * track was already subscribed or the negotiation fails.
   */
  subscribe(
    participantSid: string,
    trackSid: string,
    kind: "audio" | "video",
    forwarder: RtpForwarder,
    onSubscribed: () => void = () => {},
  ): void {
    this.enqueue(async () => {
      if (this.subscriptions.has(trackSid)) return;
      const tx = this.subscriber.addTransceiver(kind, { direction: "sendonly" });
      tx.sender.streamIds = [`${participantSid}|${trackSid}`];
      // The Rust SDK drops tracks whose id lacks the TR_ prefix, so the sender's track id is the track sid.
      (tx.sender as { trackId: string }).trackId = trackSid;
      this.subscriptions.set(trackSid, { tx, forwarder });
      forwarder.sinks.set(tx.sender, this.who);
      if ((await this.negotiate()) && this.subscriptions.get(trackSid)?.tx === tx) onSubscribed();
    });
  }

  /** Stops forwarding a track; its section becomes inactive in the next subscriber offer. */
  unsubscribe(trackSid: string): void {
    this.enqueue(async () => {
      const sub = this.subscriptions.get(trackSid);
      if (!sub) return;
      this.subscriptions.delete(trackSid);
      sub.forwarder.sinks.delete(sub.tx.sender);
      sub.tx.setDirection("inactive");
      await this.negotiate();
    });
  }

  /**
   * Sends a data packet to this participant on the subscriber channel `label`.
   * A reliable packet sent before the channel opens is queued (up to {@link MAX_PENDING_RELIABLE_BYTES}) and goes
   * out, in order, once it opens; a lossy one is dropped.
   * @returns true when sent or queued; false when dropped (lossy channel not open, queue full, session closed)
   */
  sendData(bytes: Uint8Array, label: string): boolean {
    if (this.closed) return false;
    const lossy = label === "_lossy";
    const dc = this.channels.get(lossy ? "_lossy" : "_reliable");
    if (!dc) return false;
    const data = Buffer.from(bytes);
    if (!lossy && (dc.readyState === "connecting" || this.pendingReliable.length > 0)) {
      if (this.pendingReliableBytes + data.byteLength > MAX_PENDING_RELIABLE_BYTES) {
        log.warn("reliable_data_dropped", { ...this.who, queued_bytes: this.pendingReliableBytes });
        return false;
      }
      this.pendingReliable.push(data);
      this.pendingReliableBytes += data.byteLength;
      return true;
    }
    if (dc.readyState !== "open") return false;
    return this.sendOn(dc, data);
  }

  /** Closes both connections and stops every subscription. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.subscriptions.values()) sub.forwarder.sinks.delete(sub.tx.sender);
    this.subscriptions.clear();
    this.dropPendingReliable("session closed");
    this.answerWaiter?.(undefined);
    this.answerWaiter = undefined;
    void this.publisher.close().catch(() => {});
    void this.subscriber.close().catch(() => {});
  }

  private sendOn(dc: RTCDataChannel, data: Buffer): boolean {
    try {
      dc.send(data);
      return true;
    } catch (err) {
      log.debug("data_channel_send_failed", { ...this.who, reason: err });
      return false;
    }
  }

  private flushReliable(dc: RTCDataChannel): void {
    const queued = this.pendingReliable;
    if (queued.length === 0) return;
    this.pendingReliable = [];
    this.pendingReliableBytes = 0;
    log.debug("queued_reliable_data_sent", { ...this.who, packets: queued.length });
    for (const data of queued) this.sendOn(dc, data);
  }

  private dropPendingReliable(reason: string): void {
    if (this.pendingReliable.length === 0) return;
    log.debug("queued_reliable_data_dropped", { ...this.who, packets: this.pendingReliable.length, reason });
    this.pendingReliable = [];
    this.pendingReliableBytes = 0;
  }

  private renegotiate(): void {
    this.enqueue(async () => void (await this.negotiate()));
  }

  private enqueue(step: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await step();
      } catch (err) {
        if (!this.closed) log.warn("subscriber_renegotiation_failed", { ...this.who, reason: err });
      }
    });
  }

  /** One subscriber offer/answer round; true when the answer was applied, false when the session closed first. */
  private async negotiate(): Promise<boolean> {
    await this.subscriber.setLocalDescription(await this.subscriber.createOffer());
    const offer = this.subscriber.localDescription!;
    const id = ++this.offerId;
    const answered = new Promise<string | undefined>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to subscriber offer ${id}`)), ANSWER_TIMEOUT_MS);
      this.answerWaiter = (sdp) => {
        clearTimeout(timer);
        resolve(sdp);
      };
    });
    this.send(
      new SignalResponse({
        message: { case: "offer", value: new SessionDescription({ type: "offer", sdp: offer.sdp, id }) },
      }),
    );
    log.debug("subscriber_offer_sent", { ...this.who, id });
    const sdp = await answered;
    if (this.closed || sdp === undefined) return false;
    log.debug("subscriber_answer_received", { ...this.who, id });
    await this.subscriber.setRemoteDescription({ type: "answer", sdp });
    await this.flushCandidates(SignalTarget.SUBSCRIBER);
    return true;
  }

  private trickleOut(pc: RTCPeerConnection, target: SignalTarget): void {
    pc.onIceCandidate.subscribe((candidate) => {
      if (!candidate || this.closed) return;
      const init = {
        ...candidate.toJSON(),
        sdpMid: candidate.sdpMid ?? "0",
        sdpMLineIndex: candidate.sdpMLineIndex ?? 0,
      };
      this.send(
        new SignalResponse({
          message: { case: "trickle", value: new TrickleRequest({ candidateInit: JSON.stringify(init), target }) },
        }),
      );
    });
  }

  private async flushCandidates(target: SignalTarget): Promise<void> {
    const pc = target === SignalTarget.SUBSCRIBER ? this.subscriber : this.publisher;
    if (!pc.remoteDescription) return;
    const queue = this.pendingCandidates[target];
    this.pendingCandidates[target] = [];
    for (const candidate of queue) {
      await pc.addIceCandidate(candidate).catch((err: unknown) => {
        log.debug("ice_candidate_rejected", { ...this.who, reason: err });
      });
    }
  }
}
