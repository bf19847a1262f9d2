/**
 * RTP fan-out of one published track to its subscribers' senders (the SFU's forwarding half; the peer
 * connections are in sfu.ts). See docs/livekit.md, "werift pitfalls".
 */
import { type MediaStreamTrack, type RTCRtpSender, RtpPacket } from "werift";
import { log } from "./log.ts";

/** Fans one published track's RTP out to every subscriber's sender. */
export class RtpForwarder {
  /** Subscriber senders, each with the log fields of its subscriber (for the first-packet debug line). */
  readonly sinks = new Map<RTCRtpSender, Record<string, string>>();

  /** @param track log fields naming the published track (room, identity, track sid) */
  constructor(remote: MediaStreamTrack, track: Record<string, string> = {}) {
    let received = false;
    const reached = new WeakSet<RTCRtpSender>();
    remote.onReceiveRtp.subscribe((rtp) => {
      if (!received) {
        received = true;
        log.debug("first_rtp_received", track);
      }
      if (this.sinks.size === 0) return;
      const bytes = rtp.serialize();
      for (const [sink, subscriber] of this.sinks) {
        // sendRtp rewrites the packet in place (ssrc, payload type, extensions): one copy per subscriber.
        const copy = RtpPacket.deSerialize(bytes);
        copy.header.extensions = [];
        copy.header.extension = false;
        sink.sendRtp(copy).catch(() => {});
        if (!reached.has(sink)) {
          reached.add(sink);
          log.debug("first_rtp_forwarded", { ...track, subscriber: subscriber.identity ?? "" });
        }
      }
    });
  }
}
