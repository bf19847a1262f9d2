/**
 * Building blocks both media modes share (sfu.ts: two peer connections for signal v0; sfu-single.ts: one for
 * v1): the werift configuration, the client-offers connection that answers publisher offers, and ICE trickle both
 * ways (downstream data: data-out.ts). See docs/livekit.md, "Signal connection" (steps 5 and 6) and "werift
 * pitfalls".
 */
import {
  type MediaStreamTrack,
  type PeerConfig,
  type RTCDataChannel,
  RTCIceCandidate,
  RTCPeerConnection,
  RTCRtpCodecParameters,
} from "werift";
import { SessionDescription, SignalResponse, SignalTarget, TrickleRequest } from "@livekit/protocol";
import { log } from "./log.ts";
import type { RtpForwarder } from "./rtp-forwarder.ts";

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

/**
 * One media section of a publisher offer: its kind, its msid track id (the `cid`), whether the client sends
 * on it (a published track) and whether it only receives (livekit-client's `recvonly` sections, which carry
 * subscribed tracks in single peer connection mode).
 */
export interface OfferedSection {
  kind: "audio" | "video";
  cid: string | undefined;
  sending: boolean;
  recvOnly: boolean;
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
    const open = port !== "0";
    out.set(mid, {
      kind: section.startsWith("video") ? "video" : "audio",
      cid,
      sending: open && (direction === "sendrecv" || direction === "sendonly"),
      recvOnly: open && direction === "recvonly",
    });
  }
  return out;
}

/**
 * An offer with its `bundle-only` sections opened: Firefox (bundle policy max-bundle) offers every section after the
 * first of a BUNDLE group on port 0 with `a=bundle-only` in its initial offer (RFC 8843 §7.2, RFC 8829 §5.2.1), which
 * werift reads as rejected and answers at port 0 outside the BUNDLE with no `rtcp-mux` (Firefox then refuses the
 * answer: "m-section at level 1 is missing a=rtcp-mux"). Such a section is accepted into the bundle as if offered
 * on port 9, as RFC 8843 §7.3.2 has the answerer do.
 */
export function openBundleOnly(sdp: string): string {
  const [head, ...sections] = sdp.split(/(?=\r?\nm=)/);
  return [
    head,
    ...sections.map((m) => (/\r?\na=bundle-only\b/.test(m) ? m.replace(/^(\r?\nm=\S+) 0 /, "$1 9 ") : m)),
  ].join("");
}

/**
 * A participant's media, whichever mode: what signal.ts drives. Tracks arrive through `onTrack`, data
 * through `onData`; subscriptions and downstream data go out through the methods.
 */
export interface ParticipantMedia {
  /** A publisher track arrived in section `mid`: `cid` is its msid track id. */
  onTrack: (cid: string | undefined, mid: string | undefined, track: MediaStreamTrack) => void;
  /** A publisher offer was applied: the sections it carries, by mid (unpublished tracks stop sending). */
  onOffer: (sections: Map<string, OfferedSection>) => void;
  /** A data packet (protobuf `DataPacket` bytes) arrived on the client's channel `label`. */
  onData: (bytes: Uint8Array, label: string) => void;
  /** Starts what the server does first after the join response. */
  start(): void;
  /** Answers a client offer (`SignalRequest.offer`), in arrival order. */
  handleOffer(offer: SessionDescription): Promise<void>;
  /** The client's answer to a server offer (`SignalRequest.answer`). */
  handleAnswer(answer: SessionDescription): void;
  /** A remote ICE candidate (`SignalRequest.trickle`). */
  handleTrickle(trickle: TrickleRequest): Promise<void>;
  /**
   * Starts forwarding `forwarder`'s track as `trackSid` with msid `participantSid|trackSid trackSid`;
   * `onSubscribed` runs once, when the client has the description that carries it.
   */
  subscribe(
    participantSid: string,
    trackSid: string,
    kind: "audio" | "video",
    forwarder: RtpForwarder,
    onSubscribed?: () => void,
  ): void;
  /** Stops forwarding a track. */
  unsubscribe(trackSid: string): void;
  /** Sends a data packet to the client on channel `label`; false when dropped. */
  sendData(bytes: Uint8Array, label: string): boolean;
  /** Closes the peer connection(s) and stops every subscription. */
  close(): void;
}

/**
 * Sends `pc`'s local ICE candidates to the client as `TrickleRequest{candidateInit, target}` (the JSON of an
 * RTCIceCandidateInit), until `isClosed()`.
 */
export function trickleOut(
  pc: RTCPeerConnection,
  target: SignalTarget,
  send: (res: SignalResponse) => void,
  isClosed: () => boolean,
): void {
  pc.onIceCandidate.subscribe((candidate) => {
    if (!candidate || isClosed()) return;
    const init = {
      ...candidate.toJSON(),
      sdpMid: candidate.sdpMid ?? "0",
      sdpMLineIndex: candidate.sdpMLineIndex ?? 0,
    };
    send(
      new SignalResponse({
        message: { case: "trickle", value: new TrickleRequest({ candidateInit: JSON.stringify(init), target }) },
      }),
    );
  });
}

/** Remote ICE candidates of one peer connection, held until its remote description is set. */
export class RemoteCandidates {
  private queue: RTCIceCandidate[] = [];
  private readonly pc: RTCPeerConnection;
  private readonly who: Record<string, string>;

  constructor(pc: RTCPeerConnection, who: Record<string, string>) {
    this.pc = pc;
    this.who = who;
  }

  /** Adds a candidate (`candidateInit` JSON of an RTCIceCandidateInit; an empty candidate is ignored). */
  async add(candidateInit: string): Promise<void> {
    const init = JSON.parse(candidateInit) as Partial<RTCIceCandidate>;
    if (!init.candidate) return;
    this.queue.push(new RTCIceCandidate(init));
    await this.flush();
  }

  /** Adds the held candidates once the remote description is set; a rejected candidate is logged. */
  async flush(): Promise<void> {
    if (!this.pc.remoteDescription) return;
    const queue = this.queue;
    this.queue = [];
    for (const candidate of queue) {
      await this.pc.addIceCandidate(candidate).catch((err: unknown) => {
        log.debug("ice_candidate_rejected", { ...this.who, reason: err });
      });
    }
  }
}

/**
 * Makes werift the DTLS server (`a=setup:passive` in its answer) of the connections a client offered with
 * `actpass` (both SDKs do) and whose role is not set yet: werift's DTLS client waits a fixed 100 ms before its
 * ClientHello (werift 0.25 `transport/dtls.ts` `start`), which every join paid; as the server it answers the
 * client's ClientHello at once (RFC 5763 §5 lets the answerer pick either role). An offer with `a=setup:passive`
 * keeps werift the client.
 */
export function answerAsDtlsServer(pc: RTCPeerConnection, offer: string): void {
  const setups = offer.match(/^a=setup:(\w+)/gm) ?? [];
  if (setups.length === 0 || setups.some((line) => line.endsWith(":passive"))) return;
  for (const transport of pc.dtlsTransports) if (transport.role === "auto") transport.role = "server";
}

/**
 * The peer connection on which the client offers and the server answers: the publisher connection of v0, the
 * only one of v1. Publisher tracks come out of `onTrack`, data from every channel the client opens out of
 * `onData` (and the channel itself out of `onChannel`).
 */
export class AnsweringPeer {
  readonly pc: RTCPeerConnection;
  onTrack: ParticipantMedia["onTrack"] = () => {};
  onOffer: ParticipantMedia["onOffer"] = () => {};
  onData: ParticipantMedia["onData"] = () => {};
  /** A data channel the client opened (v1 sends downstream data on them). */
  onChannel: (dc: RTCDataChannel) => void = () => {};
  /**
   * Runs after an offer is applied and before its answer is made (v1 binds subscriptions to the offer's
   * sections here); returns the answer's `midToTrackId`.
   */
  beforeAnswer: (sections: Map<string, OfferedSection>) => Record<string, string> = () => ({});
  /** Runs once an answer was sent. */
  afterAnswer: () => void = () => {};
  /** The sections of the last offer applied, by mid. */
  sections = new Map<string, OfferedSection>();
  readonly candidates: RemoteCandidates;
  /** The offers being answered, in arrival order (see {@link handleOffer}). */
  private offers: Promise<void> = Promise.resolve();
  private readonly send: (res: SignalResponse) => void;
  private readonly who: Record<string, string>;

  /**
   * @param name the connection's name in debug logs ("publisher", "single")
   * @param isClosed stops the trickle of local candidates once true
   */
  constructor(
    config: Partial<PeerConfig>,
    send: (res: SignalResponse) => void,
    who: Record<string, string>,
    name: string,
    isClosed: () => boolean,
  ) {
    this.send = send;
    this.who = who;
    this.pc = new RTCPeerConnection(config);
    this.candidates = new RemoteCandidates(this.pc, who);
    trickleOut(this.pc, SignalTarget.PUBLISHER, send, isClosed);
    this.pc.connectionStateChange.subscribe((state) => log.debug("peer_connection_state", { ...who, pc: name, state }));
    this.pc.iceConnectionStateChange.subscribe((state) =>
      log.debug("ice_connection_state", { ...who, pc: name, state }),
    );
    this.pc.onDataChannel.subscribe((dc) => {
      dc.onMessage.subscribe((data) => {
        if (typeof data !== "string") this.onData(data, dc.label);
      });
      this.onChannel(dc);
    });
    this.pc.ontrack = ({ track, transceiver }) => {
      const mid = transceiver.mid ?? undefined;
      const cid = mid ? this.sections.get(mid)?.cid : undefined;
      log.debug("publisher_track_received", { ...this.who, mid, kind: track.kind, cid });
      this.onTrack(cid, mid, track);
    };
  }

  /**
   * Answers a client offer; the answer echoes `offer.id`. Offers are answered one at a time, in arrival order, as
   * livekit-server does: a client may send its next offer before it has the answer to the last one (livekit-client
   * renegotiates when a track is published while its first offer is out), and an offer applied while the last one's
   * answer is being made would leave that answer, or its own, to be made in the wrong signalling state (werift:
   * "createAnswer failed"; the client then waits for an answer that never comes).
   * @throws the failure of applying or answering this offer (an earlier offer's failure does not stop it)
   */
  handleOffer(offer: SessionDescription): Promise<void> {
    const answered = this.offers.then(() => this.answer(offer));
    this.offers = answered.catch(() => undefined);
    return answered;
  }

  private async answer(offer: SessionDescription): Promise<void> {
    const offered = openBundleOnly(offer.sdp);
    this.sections = offeredSections(offered);
    await this.pc.setRemoteDescription({ type: "offer", sdp: offered });
    log.debug("publisher_offer_applied", { ...this.who, id: offer.id, sections: JSON.stringify([...this.sections]) });
    this.onOffer(this.sections);
    await this.candidates.flush();
    const midToTrackId = this.beforeAnswer(this.sections);
    answerAsDtlsServer(this.pc, offered);
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    // werift answers inactive sections with port 0 but keeps them in BUNDLE; libwebrtc then never connects.
    const sdp = this.pc.localDescription!.sdp.replace(/^m=(audio|video) 0 /gm, "m=$1 9 ");
    log.debug("publisher_answer_sent", { ...this.who, id: offer.id });
    this.send(
      new SignalResponse({
        message: { case: "answer", value: new SessionDescription({ type: "answer", sdp, id: offer.id, midToTrackId }) },
      }),
    );
    this.afterAnswer();
  }

  close(): void {
    void this.pc.close().catch(() => {});
  }
}
