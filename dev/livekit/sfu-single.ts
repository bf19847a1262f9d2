/**
 * The SFU for one participant in signal v1 (`/rtc/v1`): livekit-client's single peer connection, which carries the
 * tracks it publishes and the tracks it subscribes to, on werift. The client always offers; the server only
 * answers, and asks for an offer with `MediaSectionsRequirement` when it has something to send. See
 * docs/livekit.md, "Signal connection" (v1).
 *
 * How livekit-client 2.23 drives it (room/RTCEngine.ts `join`, `applyInitialPublisherLayout`, `addMediaSections`,
 * `onMediaSectionsRequirement`; room/PCTransportManager.ts in `publisher-only` mode, where a server offer is
 * ignored): its first offer (inside the join request, or right after the join response in Firefox) carries its
 * data channels and 3 `recvonly` audio and 3 `recvonly` video sections. A subscribed track goes out on a free
 * `recvonly` section of the kind: the answer makes it `sendonly` with msid `participantSid|trackSid trackSid`
 * and maps its mid to the track sid (`SessionDescription.midToTrackId`). `MediaSectionsRequirement{numAudios,
 * numVideos}` makes the client add that many `recvonly` sections and offer again; livekit-server sends it with
 * the sections it lacks, or with zeros just to get an offer (pkg/rtc/transport.go `handleSendOffer`,
 * `sendUnmatchedMediaRequirement`). Downstream data goes on the channels the client opened.
 */
import type { PeerConfig, RTCRtpTransceiver } from "werift";
import {
  MediaSectionsRequirement,
  type SessionDescription,
  SignalResponse,
  type TrickleRequest,
} from "@livekit/protocol";
import { log } from "./log.ts";
import type { RtpForwarder } from "./rtp-forwarder.ts";
import { DataOut } from "./data-out.ts";
import { AnsweringPeer, type OfferedSection, type ParticipantMedia } from "./peer.ts";

/** A subscription: unbound until an offer has a free section of its kind. */
interface Subscription {
  participantSid: string;
  trackSid: string;
  kind: "audio" | "video";
  forwarder: RtpForwarder;
  onSubscribed: () => void;
  /** The section carrying it, once bound. */
  tx?: RTCRtpTransceiver;
  /** Bound in the answer being made: `onSubscribed` runs once that answer is sent. */
  fresh?: boolean;
}

/** The one peer connection of a v1 participant and the subscriptions it carries. */
export class SinglePeerSession implements ParticipantMedia {
  readonly peer: AnsweringPeer;
  onTrack: ParticipantMedia["onTrack"] = () => {};
  onOffer: ParticipantMedia["onOffer"] = () => {};
  onData: ParticipantMedia["onData"] = () => {};
  private readonly send: (res: SignalResponse) => void;
  private readonly who: Record<string, string>;
  private readonly data: DataOut;
  /** By track sid, in subscription order. */
  private readonly subscriptions = new Map<string, Subscription>();
  /** Sections that carried a subscription: each carries one track for good (simpler than livekit-server's reuse). */
  private readonly spentMids = new Set<string>();
  /** Offers received and not yet answered. */
  private inFlight = 0;
  /** A section stopped sending since the last answer: the client must offer again to learn it. */
  private changed = false;
  private closed = false;

  constructor(config: Partial<PeerConfig>, send: (res: SignalResponse) => void, who: Record<string, string>) {
    this.send = send;
    this.who = who;
    this.data = new DataOut(who);
    this.peer = new AnsweringPeer(config, send, who, "single", () => this.closed);
    this.peer.onTrack = (cid, mid, track) => this.onTrack(cid, mid, track);
    this.peer.onOffer = (sections) => this.onOffer(sections);
    this.peer.onData = (bytes, label) => this.onData(bytes, label);
    this.peer.onChannel = (dc) => this.data.attach(dc);
    this.peer.beforeAnswer = (sections) => this.bind(sections);
    this.peer.afterAnswer = () => this.announce();
  }

  /** Nothing: the client makes the first offer (with its join request, or right after the join response). */
  start(): void {}

  /**
   * Answers a client offer, in arrival order, binding waiting subscriptions to its free `recvonly` sections;
   * afterwards asks for more sections if some subscriptions still wait ({@link requestOffer}).
   * @throws the failure of applying or answering this offer
   */
  async handleOffer(offer: SessionDescription): Promise<void> {
    this.inFlight++;
    try {
      await this.peer.handleOffer(offer);
    } finally {
      this.inFlight--;
      this.requestOffer();
    }
  }

  /** The client never answers in this mode (it ignores server offers): logged and dropped. */
  handleAnswer(answer: SessionDescription): void {
    log.debug("unexpected_answer_ignored", { ...this.who, id: answer.id });
  }

  /** A remote ICE candidate (whatever its target: there is one connection). */
  async handleTrickle(trickle: TrickleRequest): Promise<void> {
    await this.peer.candidates.add(trickle.candidateInit);
  }

  /**
   * Starts forwarding `forwarder`'s track as `trackSid` on a `recvonly` section of the client's next offer;
   * `onSubscribed` runs once, when the answer carrying it has been sent (never when the track was already
   * subscribed, or is unsubscribed first).
   */
  subscribe(
    participantSid: string,
    trackSid: string,
    kind: "audio" | "video",
    forwarder: RtpForwarder,
    onSubscribed: () => void = () => {},
  ): void {
    if (this.closed || this.subscriptions.has(trackSid)) return;
    this.subscriptions.set(trackSid, { participantSid, trackSid, kind, forwarder, onSubscribed });
    this.requestOffer();
  }

  /** Stops forwarding a track; its section is answered `inactive` from the next offer on. */
  unsubscribe(trackSid: string): void {
    const sub = this.subscriptions.get(trackSid);
    if (!sub) return;
    this.subscriptions.delete(trackSid);
    if (!sub.tx) return;
    sub.forwarder.sinks.delete(sub.tx.sender);
    sub.tx.setDirection("inactive");
    sub.tx.sender.streamIds = [];
    this.changed = true;
    this.requestOffer();
  }

  /** Sends a data packet on the client's channel `label` ({@link DataOut.send}: reliable ones wait for it). */
  sendData(bytes: Uint8Array, label: string): boolean {
    return this.data.send(bytes, label);
  }

  /** Closes the connection and stops every subscription. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of this.subscriptions.values()) if (sub.tx) sub.forwarder.sinks.delete(sub.tx.sender);
    this.subscriptions.clear();
    this.data.close();
    this.peer.close();
  }

  /**
   * Asks the client for an offer when a subscription waits for a section or a section stopped:
   * `MediaSectionsRequirement` with the sections of each kind the last offer lacks (zeros when it has enough).
   * Not while an offer is being answered (that answer binds what it can, then this runs again), nor before the
   * client's first offer (which comes anyway).
   */
  private requestOffer(): void {
    if (this.closed || this.inFlight > 0 || !this.peer.pc.remoteDescription) return;
    const waiting = [...this.subscriptions.values()].filter((s) => !s.tx);
    if (waiting.length === 0 && !this.changed) return;
    const free = [...this.peer.sections].filter(([mid, s]) => s.recvOnly && !this.spentMids.has(mid));
    const lacking = (kind: "audio" | "video") =>
      Math.max(0, waiting.filter((s) => s.kind === kind).length - free.filter(([, s]) => s.kind === kind).length);
    const requirement = new MediaSectionsRequirement({ numAudios: lacking("audio"), numVideos: lacking("video") });
    log.debug("media_sections_requested", { ...this.who, audio: requirement.numAudios, video: requirement.numVideos });
    this.send(new SignalResponse({ message: { case: "mediaSectionsRequirement", value: requirement } }));
  }

  /**
   * Binds waiting subscriptions to free `recvonly` sections of the offer just applied (in subscription order):
   * the section's transceiver sends with msid `participantSid|trackSid trackSid` (the Rust SDK and
   * livekit-client take the track sid from it), and the forwarder feeds its sender.
   * @returns the answer's `midToTrackId`: every section carrying a subscription
   */
  private bind(sections: Map<string, OfferedSection>): Record<string, string> {
    this.changed = false;
    const transceivers = this.peer.pc.getTransceivers();
    for (const sub of this.subscriptions.values()) {
      if (sub.tx) continue;
      const mid = [...sections].find(([m, s]) => s.kind === sub.kind && s.recvOnly && !this.spentMids.has(m))?.[0];
      const tx = mid === undefined ? undefined : transceivers.find((t) => t.mid === mid);
      if (!tx || mid === undefined) continue;
      this.spentMids.add(mid);
      tx.setDirection("sendonly");
      tx.sender.streamIds = [`${sub.participantSid}|${sub.trackSid}`];
      (tx.sender as { trackId: string }).trackId = sub.trackSid;
      sub.forwarder.sinks.set(tx.sender, this.who);
      sub.tx = tx;
      sub.fresh = true;
      log.debug("subscription_bound", { ...this.who, track_sid: sub.trackSid, mid });
    }
    const midToTrackId: Record<string, string> = {};
    for (const sub of this.subscriptions.values()) if (sub.tx?.mid) midToTrackId[sub.tx.mid] = sub.trackSid;
    return midToTrackId;
  }

  /** The answer carrying freshly bound subscriptions went out: their publishers may hear of them. */
  private announce(): void {
    for (const sub of this.subscriptions.values()) {
      if (!sub.fresh) continue;
      sub.fresh = false;
      sub.onSubscribed();
    }
  }
}
