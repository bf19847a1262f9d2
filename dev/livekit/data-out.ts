/**
 * Downstream data to one participant on its `_reliable` and `_lossy` channels, whichever side opened them (v0: the
 * server's subscriber connection; v1: the client's connection), with the reliable packets that wait for `_reliable`
 * to open. See docs/livekit.md, "Signal connection" (step 9) and "Signal v1".
 */
import type { RTCDataChannel } from "werift";
import { log } from "./log.ts";

type DataLabel = "_reliable" | "_lossy";

/**
 * Reliable data held for a participant whose `_reliable` channel is not open yet (it opens after ICE, DTLS and
 * SCTP, shortly after the SDK's `connect()` resolves), in bytes; beyond it further packets are dropped and logged.
 */
export const MAX_PENDING_RELIABLE_BYTES = 1 << 20;

/**
 * Downstream data channels `_reliable` and `_lossy`, whichever side created them, and the reliable packets
 * waiting for `_reliable` to open.
 */
export class DataOut {
  private readonly channels = new Map<DataLabel, RTCDataChannel>();
  /** Reliable packets waiting for the `_reliable` channel to open, in send order. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;
  private readonly who: Record<string, string>;

  constructor(who: Record<string, string>) {
    this.who = who;
  }

  /** Uses `dc` for its label from now on (other labels are ignored); queued reliable packets go once it is open. */
  attach(dc: RTCDataChannel): void {
    if (dc.label !== "_reliable" && dc.label !== "_lossy") return;
    this.channels.set(dc.label, dc);
    if (dc.label !== "_reliable") return;
    if (dc.readyState === "open") this.flush(dc);
    dc.stateChanged.subscribe((state) => {
      if (state === "open") this.flush(dc);
      else if (state === "closed") this.dropPending("channel closed");
    });
  }

  /**
   * Sends on channel `label` (`_lossy`, else `_reliable`). A reliable packet sent before its channel exists or
   * opens is queued (up to {@link MAX_PENDING_RELIABLE_BYTES}) and goes out, in order, once it opens; a lossy
   * one is dropped.
   * @returns true when sent or queued; false when dropped (lossy channel not open, queue full, closed)
   */
  send(bytes: Uint8Array, label: string): boolean {
    if (this.closed) return false;
    const lossy = label === "_lossy";
    const dc = this.channels.get(lossy ? "_lossy" : "_reliable");
    const data = Buffer.from(bytes);
    if (!lossy && (!dc || dc.readyState === "connecting" || this.pending.length > 0)) {
      if (this.pendingBytes + data.byteLength > MAX_PENDING_RELIABLE_BYTES) {
        log.warn("reliable_data_dropped", { ...this.who, queued_bytes: this.pendingBytes });
        return false;
      }
      this.pending.push(data);
      this.pendingBytes += data.byteLength;
      return true;
    }
    if (!dc || dc.readyState !== "open") return false;
    return this.sendOn(dc, data);
  }

  close(): void {
    this.closed = true;
    this.dropPending("session closed");
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

  private flush(dc: RTCDataChannel): void {
    const queued = this.pending;
    if (queued.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    log.debug("queued_reliable_data_sent", { ...this.who, packets: queued.length });
    for (const data of queued) this.sendOn(dc, data);
  }

  private dropPending(reason: string): void {
    if (this.pending.length === 0) return;
    log.debug("queued_reliable_data_dropped", { ...this.who, packets: this.pending.length, reason });
    this.pending = [];
    this.pendingBytes = 0;
  }
}
