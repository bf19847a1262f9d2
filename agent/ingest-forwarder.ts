/**
 * The ingest forwarder: numbers the job's events (`<job_id>:<counter>`), queues them, and posts signed
 * batches to the Worker's ingest endpoint, in order, one batch in flight at a time.
 *
 * Contract (docs/architecture.md, "Agent ingest"): body `IngestBatch` (`job_id` and 1–100 events), header
 * `X-Signature` from `signIngest` (signed-post.ts, shared with the actions client), response `IngestResponse`.
 * What it guarantees while the job runs:
 *
 * - **nothing invalid leaves**: each event is checked against the contract's `AgentEvent` when pushed; an invalid
 *   one is logged (`ingest_event_invalid`, without its text) and dropped alone, so it can never make the Worker
 *   refuse a batch of good events (and it never surfaces as a rejected promise);
 * - **batches fit**: at most {@link INGEST_BATCH_MAX} events and {@link INGEST_BATCH_MAX_BYTES} bytes of body, a
 *   quarter of the Worker's `INGEST_BODY_MAX_BYTES` (one event is at most ≈ 48 KB: 8000 characters of text, each
 *   at most 6 bytes once JSON-escaped);
 * - **no final is lost to an outage**: 5xx, 408, 425, 429 and network errors are retried, for as long as the job
 *   runs, with exponential backoff and *full jitter* (each wait is uniform in [0, min(5 s, 200 ms × 2^attempt)],
 *   as in "Exponential Backoff And Jitter", AWS Architecture Blog), so a fleet of agents does not hammer a Worker
 *   that comes back. The queue is bounded: beyond `maxQueue` waiting events, interims are dropped first, then
 *   heartbeats, then speech events; finals and the other lifecycle events never;
 * - **a refusal that means the session is over or not ours ends the forwarding**: 401 (signature), 404
 *   (`session_not_found`) and 409 (`session_ended`, `agent_replaced`) are not retried; the forwarder drops what is
 *   queued, refuses further events, and reports it once through `onRefused`, so that the job can leave. Any other
 *   4xx drops that one batch (logged) and goes on.
 *
 * Node's `fetch` (undici) keeps connections alive between batches.
 */
import { AgentEvent, type UnnumberedAgentEvent, INGEST_BATCH_MAX, IngestResponse } from "../contract/index.ts";
import { setTimeout as timer } from "node:timers/promises";
import type { Logger } from "../contract/log.ts";
import { errorCode, jsonBody, postSigned } from "./signed-post.ts";

/** An event before the ingest forwarder gives it an id (and a `ts` when missing). */
export type PendingEvent = UnnumberedAgentEvent;

/** Most bytes of one batch's body (256 KiB), well under the Worker's `INGEST_BODY_MAX_BYTES` (1 MB). */
export const INGEST_BATCH_MAX_BYTES = 256 * 1024;

/** Statuses that mean the session is over or not this job's: never retried, and the job should leave. */
const REFUSAL_STATUSES = new Set([401, 404, 409]);
/** 4xx statuses that are transient (timeout, too early, rate limited): retried like a 5xx. */
const TRANSIENT_4XX = new Set([408, 425, 429]);

/** What ingest answered when it refused the session: its status and error `code` (null when unreadable). */
export interface IngestRefusal {
  status: number;
  code: string | null;
}

/** Options of {@link IngestForwarder}. */
export interface IngestForwarderOptions {
  /** Worker base URL, e.g. `http://localhost:8787` (no trailing slash). */
  ingestUrl: string;
  /** `AGENT_INGEST_SECRET`. */
  secret: string;
  sessionId: string;
  /** The job's id (LiveKit's): the batch's `job_id` and the prefix of every event id. */
  jobId: string;
  log: Logger;
  /**
   * Called once when ingest refuses the session (401, 404, 409, see the module comment), after the forwarder
   * stopped. An exception it throws is logged, not propagated.
   */
  onRefused?: (refusal: IngestRefusal) => void;
  /** Most events kept waiting; beyond it interims, then heartbeats, then speech events are dropped. Default 500. */
  maxQueue?: number;
  /** Most bytes of one batch's body. Default {@link INGEST_BATCH_MAX_BYTES}. */
  maxBatchBytes?: number;
  /** Base of the backoff in ms: the n-th retry waits up to `retryBaseMs × 2^(n-1)`, capped. Default 200. */
  retryBaseMs?: number;
  /** Cap of the backoff in ms. Default 5000. */
  retryMaxMs?: number;
  /** Timeout of one POST in ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Interval of `agent_heartbeat` events in ms once {@link IngestForwarder.startHeartbeat} is called. Default 5000. */
  heartbeatMs?: number;
  /**
   * The wait between two attempts: resolves after `ms` milliseconds, or early (resolving or rejecting) once
   * `signal` aborts. Default a real timer; tests pass a virtual clock.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Source of the jitter, uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
}

/** Counters for tests, benchmarks and the closing log line. */
export interface IngestForwarderStats {
  /** Events the Worker accepted (including duplicates of a re-sent batch). */
  sent: number;
  /** Events dropped by the queue bound or at the close deadline. */
  dropped: number;
  /** Events refused by ingest (a 4xx), or not sent because ingest refused the session. */
  rejected: number;
  /** Events that failed the contract's `AgentEvent` check when pushed. */
  invalid: number;
  /** Retried attempts. */
  retries: number;
}

interface Queued {
  event: AgentEvent;
  /** Its JSON length in bytes. */
  bytes: number;
}

function dropRank(e: AgentEvent): number {
  if ("final" in e) return e.final ? Infinity : 0;
  if ("type" in e) return e.type === "agent_heartbeat" ? 1 : Infinity;
  return 2; // speech started/ended: a lost one leaves only an indicator stale
}

/** What kind of event it is, for logs (never its text). */
function kindOf(e: PendingEvent): string {
  if ("type" in e) return String(e.type);
  if ("event" in e) return `${String(e.role)} ${String(e.event)}`;
  if ("final" in e) return `${String(e.role)} ${e.final ? "final" : "interim"}`;
  return "unknown";
}

const realSleep = (ms: number, signal: AbortSignal): Promise<void> => timer(ms, undefined, { signal });

/** Posts a session's events to ingest; see the module comment for the guarantees. */
export class IngestForwarder {
  readonly stats: IngestForwarderStats = { sent: 0, dropped: 0, rejected: 0, invalid: 0, retries: 0 };
  readonly #opts: Required<Omit<IngestForwarderOptions, "onRefused">> & Pick<IngestForwarderOptions, "onRefused">;
  readonly #jobIdField: { job_id?: string };
  #queue: Queued[] = [];
  #counter = 0;
  #pump: Promise<void> | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #abort = new AbortController();
  #refusal: IngestRefusal | null = null;

  constructor(opts: IngestForwarderOptions) {
    this.#opts = {
      ...opts,
      maxQueue: opts.maxQueue ?? 500,
      maxBatchBytes: opts.maxBatchBytes ?? INGEST_BATCH_MAX_BYTES,
      retryBaseMs: opts.retryBaseMs ?? 200,
      retryMaxMs: opts.retryMaxMs ?? 5000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
      heartbeatMs: opts.heartbeatMs ?? 5000,
      sleep: opts.sleep ?? realSleep,
      random: opts.random ?? Math.random,
    };
    // The contract allows 1–128 characters; LiveKit's job ids are far shorter. Left out rather than refused.
    this.#jobIdField = opts.jobId.length >= 1 && opts.jobId.length <= 128 ? { job_id: opts.jobId } : {};
  }

  /**
   * Checks one event against the contract and queues it; it gets the next id and, when missing, `ts = Date.now()`.
   * Never throws. An invalid event is logged (`ingest_event_invalid`: its kind and what is wrong, never its text)
   * and dropped; after a refusal (see {@link refusal}) nothing is queued any more. Events pushed after
   * {@link close} started are still sent if the flush is running.
   * @returns the event as it will be sent, or null when it was dropped
   */
  push(event: PendingEvent): AgentEvent | null {
    if (this.#refusal) {
      this.stats.rejected++;
      return null;
    }
    const candidate = { ...event, id: `${this.#opts.jobId}:${this.#counter + 1}`, ts: event.ts ?? Date.now() };
    const checked = AgentEvent.safeParse(candidate);
    if (!checked.success) {
      this.stats.invalid++;
      this.#opts.log.warn("ingest_event_invalid", {
        kind: kindOf(event),
        issues: checked.error.issues.map((i) => `${i.path.join(".") || "event"}: ${i.code}`).join("; "),
      });
      return null;
    }
    this.#counter++;
    const full = checked.data;
    this.#queue.push({ event: full, bytes: Buffer.byteLength(JSON.stringify(full)) });
    this.#bound();
    void this.#kick();
    return full;
  }

  /** Starts `agent_heartbeat` events every `heartbeatMs` until {@link close} or a refusal. */
  startHeartbeat(): void {
    if (this.#heartbeat || this.#refusal) return;
    this.#heartbeat = setInterval(() => this.push({ type: "agent_heartbeat" }), this.#opts.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Events waiting to be sent (not counting a batch in flight). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Ingest's refusal of the session once it happened (the forwarder has stopped), else null. */
  get refusal(): IngestRefusal | null {
    return this.#refusal;
  }

  /**
   * Stops the heartbeat and sends everything queued, retrying as usual, for at most `deadlineMs`.
   * @param deadlineMs give up (and count the rest as dropped) after this long; default 5000
   * @returns true when everything was delivered or refused by a 4xx, false at the deadline
   */
  async close(deadlineMs = 5000): Promise<boolean> {
    this.#stopHeartbeat();
    const drained = (async () => {
      while (this.#pump || this.#queue.length) await (this.#pump ?? this.#kick());
      return true;
    })();
    const deadline = timer(deadlineMs, false, { ref: false });
    const ok = await Promise.race([drained, deadline]);
    if (!ok) {
      this.stats.dropped += this.#queue.length;
      this.#opts.log.warn("ingest_flush_timed_out", { dropped: this.#queue.length });
      this.#queue = [];
      this.#abort.abort();
      await this.#pump; // returns at once when aborted; counts the batch that was in flight
    }
    return ok;
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  #bound(): void {
    while (this.#queue.length > this.#opts.maxQueue) {
      let victim = -1;
      let rank = Infinity;
      this.#queue.forEach((q, i) => {
        const r = dropRank(q.event);
        if (r < rank) [victim, rank] = [i, r];
      });
      if (victim < 0) return; // only finals and lifecycle events left: never dropped
      this.#queue.splice(victim, 1);
      this.stats.dropped++;
    }
  }

  #kick(): Promise<void> {
    if (!this.#pump) {
      this.#pump = this.#run()
        .catch((err: unknown) => this.#opts.log.error("ingest_pump_failed", { error: err }))
        .finally(() => {
          this.#pump = null;
        });
    }
    return this.#pump;
  }

  /** The next batch, taken off the queue: at most `INGEST_BATCH_MAX` events and `maxBatchBytes` of body. */
  #takeBatch(): AgentEvent[] {
    // `{"job_id":"…","events":[` … `]}`, with room for the commas between events.
    let bytes = 64 + Buffer.byteLength(this.#opts.jobId);
    let n = 0;
    while (n < this.#queue.length && n < INGEST_BATCH_MAX) {
      const size = this.#queue[n]!.bytes + 1;
      if (n > 0 && bytes + size > this.#opts.maxBatchBytes) break;
      bytes += size;
      n++;
    }
    return this.#queue.splice(0, n).map((q) => q.event);
  }

  async #run(): Promise<void> {
    await Promise.resolve(); // let events pushed in the same tick join the batch
    while (this.#queue.length && !this.#abort.signal.aborted && !this.#refusal) {
      // The batch leaves the queue before sending so that the bound never evicts an event in flight.
      const batch = this.#takeBatch();
      const outcome = await this.#deliver(batch);
      if (outcome === "accepted") this.stats.sent += batch.length;
      else if (outcome === "aborted") this.stats.dropped += batch.length;
      else this.stats.rejected += batch.length;
    }
  }

  /** The backoff before retry number `attempt + 1`: full jitter over the capped exponential. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(this.#opts.retryMaxMs, this.#opts.retryBaseMs * 2 ** Math.min(attempt, 30));
    return Math.floor(this.#opts.random() * ceiling);
  }

  /** Sends one batch until it is accepted, refused (a 4xx) or aborted (the close deadline). */
  async #deliver(events: AgentEvent[]): Promise<"accepted" | "refused" | "aborted"> {
    const url = `${this.#opts.ingestUrl}/session/${encodeURIComponent(this.#opts.sessionId)}/events`;
    for (let attempt = 0; ; attempt++) {
      if (this.#abort.signal.aborted) return "aborted";
      let status = 0;
      try {
        const body = JSON.stringify({ ...this.#jobIdField, events });
        const res = await postSigned({
          url,
          secret: this.#opts.secret,
          sessionId: this.#opts.sessionId,
          body,
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#opts.requestTimeoutMs)]),
        });
        status = res.status;
        const text = await res.text();
        if (res.ok) {
          const parsed = IngestResponse.safeParse(jsonBody(text));
          if (!parsed.success) this.#opts.log.warn("ingest_response_unexpected", { status });
          return "accepted";
        }
        if (status < 500 && !TRANSIENT_4XX.has(status)) {
          const code = errorCode(text);
          if (REFUSAL_STATUSES.has(status)) this.#refused({ status, code }, events.length);
          else this.#opts.log.error("ingest_batch_refused", { status, code, events: events.length });
          return "refused";
        }
      } catch (err) {
        if (this.#abort.signal.aborted) return "aborted";
        this.#opts.log.warn("ingest_request_failed", { error: err });
      }
      const delay = this.#backoff(attempt);
      this.stats.retries++;
      this.#opts.log.warn("ingest_retry_scheduled", { status, attempt: attempt + 1, delay_ms: delay });
      await this.#opts.sleep(delay, this.#abort.signal).catch(() => undefined);
    }
  }

  /** Stops forwarding for good and tells the owner once. */
  #refused(refusal: IngestRefusal, inFlight: number): void {
    this.#refusal = refusal;
    this.#stopHeartbeat();
    const queued = this.#queue.length;
    this.stats.rejected += queued;
    this.#queue = [];
    this.#opts.log.warn("ingest_refused", { ...refusal, events: inFlight + queued });
    try {
      this.#opts.onRefused?.(refusal);
    } catch (err) {
      this.#opts.log.error("ingest_refused_callback_failed", { error: err });
    }
  }
}
