/**
 * The SFU for one participant in signal v0 (`/rtc`, two peer connections): its publisher connection (client
 * offers, we answer: peer.ts) and its subscriber connection (we offer, renegotiating one change at a time), on
 * werift. Signal v1's single connection is sfu-single.ts. See docs/livekit.md, "Signal connection" (steps 4–7)
 * and "werift pitfalls".
 */
import { type PeerConfig, RTCPeerConnection, type RTCRtpTransceiver } from "werift";
import { SessionDescription, SignalResponse, SignalTarget, type TrickleRequest } from "@livekit/protocol";
import { log } from "./log.ts";
import type { RtpForwarder } from "./rtp-forwarder.ts";
import { DataOut } from "./data-out.ts";
import { AnsweringPeer, type ParticipantMedia, RemoteCandidates, trickleOut } from "./peer.ts";

/** The answer timeout of one subscriber renegotiation, ms (the client answers in well under a second). */
const ANSWER_TIMEOUT_MS = 10_000;

/** Both peer connections of one participant and the subscriptions carried by the subscriber one. */
export class MediaSession implements ParticipantMedia {
  readonly publisher: AnsweringPeer;
  readonly subscriber: RTCPeerConnection;
  onTrack: ParticipantMedia["onTrack"] = () => {};
  onOffer: ParticipantMedia["onOffer"] = () => {};
  onData: ParticipantMedia["onData"] = () => {};
  private readonly send: (res: SignalResponse) => void;
  private readonly who: Record<string, string>;
  private readonly data: DataOut;
  private readonly subscriptions = new Map<string, { tx: RTCRtpTransceiver; forwarder: RtpForwarder }>();
  private readonly subscriberCandidates: RemoteCandidates;
  private chain: Promise<void> = Promise.resolve();
  /** Settles the pending subscriber negotiation: an answer's SDP, or undefined when the session closed. */
  private answerWaiter: ((sdp: string | undefined) => void) | undefined;
  private offerId = 0;
  private closed = false;

  constructor(config: Partial<PeerConfig>, send: (res: SignalResponse) => void, who: Record<string, string>) {
    this.send = send;
    this.who = who;
    this.publisher = new AnsweringPeer(config, send, who, "publisher", () => this.closed);
    this.publisher.onTrack = (cid, mid, track) => this.onTrack(cid, mid, track);
    this.publisher.onOffer = (sections) => this.onOffer(sections);
    this.publisher.onData = (bytes, label) => this.onData(bytes, label);
    this.subscriber = new RTCPeerConnection(config);
    this.subscriberCandidates = new RemoteCandidates(this.subscriber, who);
    trickleOut(this.subscriber, SignalTarget.SUBSCRIBER, send, () => this.closed);
    this.subscriber.connectionStateChange.subscribe((state) =>
      log.debug("peer_connection_state", { ...who, pc: "subscriber", state }),
    );
    this.subscriber.iceConnectionStateChange.subscribe((state) =>
      log.debug("ice_connection_state", { ...who, pc: "subscriber", state }),
    );
    this.data = new DataOut(who);
    this.data.attach(this.subscriber.createDataChannel("_reliable", { ordered: true }));
    this.data.attach(this.subscriber.createDataChannel("_lossy", { ordered: false, maxRetransmits: 0 }));
  }

  /** Sends the first subscriber offer (with the data channels and any tracks already subscribed). */
  start(): void {
    this.renegotiate();
  }

  /** Answers a publisher offer, in arrival order ({@link AnsweringPeer.handleOffer}). */
  handleOffer(offer: SessionDescription): Promise<void> {
    return this.publisher.handleOffer(offer);
  }

  /** The client's answer to our latest subscriber offer. */
  handleAnswer(answer: SessionDescription): void {
    const waiter = this.answerWaiter;
    this.answerWaiter = undefined;
    waiter?.(answer.sdp);
  }

  /** A remote ICE candidate (`candidateInit` is the JSON of an RTCIceCandidateInit), for either connection. */
  async handleTrickle(trickle: TrickleRequest): Promise<void> {
    const target = trickle.target === SignalTarget.SUBSCRIBER ? this.subscriberCandidates : this.publisher.candidates;
    await target.add(trickle.candidateInit);
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

  /** Sends a data packet on the subscriber channel `label` ({@link DataOut.send}: reliable ones wait for it to open). */
  sendData(bytes: Uint8Array, label: string): boolean {
    return this.data.send(bytes, label);
  }

  /** Closes both connections and stops every subscription. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.subscriptions.values()) sub.forwarder.sinks.delete(sub.tx.sender);
    this.subscriptions.clear();
    this.data.close();
    this.answerWaiter?.(undefined);
    this.answerWaiter = undefined;
    this.publisher.close();
    void this.subscriber.close().catch(() => {});
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
    await this.subscriberCandidates.flush();
    return true;
  }
}
