/**
 * The ingest forwarder: numbers the job's events (`<job_id>:<counter>`), queues them, and posts signed
 * batches to the Worker's ingest endpoint, in order, one batch in flight at a time.
 *
 * Contract (docs/architecture.md, "Agent ingest"): body `IngestBatch` (1–100 events), header `X-Signature` from
 * `signIngest`, response `IngestResponse`; retry with backoff on 5xx and network errors, never on 4xx; a bounded
 * queue that drops interims first and never finals. Node's `fetch` (undici) keeps connections alive between
 * batches.
 */
import {
  type AgentEvent,
  type UnnumberedAgentEvent,
  INGEST_BATCH_MAX,
  IngestBatch,
  IngestResponse,
  SIGNATURE_HEADER,
  signIngest,
} from "../contract/index.ts";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../contract/log.ts";

/** An event before the ingest forwarder gives it an id (and a `ts` when missing). */
export type PendingEvent = UnnumberedAgentEvent;

/** Options of {@link IngestForwarder}. */
export interface IngestForwarderOptions {
  /** Worker base URL, e.g. `http://localhost:8787` (no trailing slash). */
  ingestUrl: string;
  /** `AGENT_INGEST_SECRET`. */
  secret: string;
  sessionId: string;
  /** Prefix of every event id. */
  jobId: string;
  log: Logger;
  /** Most events kept waiting; beyond it interims, then heartbeats, then speech events are dropped. Default 500. */
  maxQueue?: number;
  /** First retry delay in ms, doubled per attempt up to `retryMaxMs`. Default 200. */
  retryBaseMs?: number;
  /** Longest retry delay in ms. Default 5000. */
  retryMaxMs?: number;
  /** Timeout of one POST in ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Interval of `agent_heartbeat` events in ms once {@link IngestForwarder.startHeartbeat} is called. Default 5000. */
  heartbeatMs?: number;
}

/** Counters for tests, benchmarks and the closing log line. */
export interface IngestForwarderStats {
  sent: number;
  dropped: number;
  rejected: number;
  retries: number;
}

function dropRank(e: AgentEvent): number {
  if ("final" in e) return e.final ? Infinity : 0;
  if ("type" in e) return e.type === "agent_heartbeat" ? 1 : Infinity;
  return 2; // speech started/ended: a lost one leaves only an indicator stale
}

/** Posts a session's events to ingest; see the module comment for the guarantees. */
export class IngestForwarder {
  readonly stats: IngestForwarderStats = { sent: 0, dropped: 0, rejected: 0, retries: 0 };
  #opts: Required<Omit<IngestForwarderOptions, "log">> & { log: Logger };
  #queue: AgentEvent[] = [];
  #counter = 0;
  #pump: Promise<void> | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  #abort = new AbortController();

  constructor(opts: IngestForwarderOptions) {
    this.#opts = {
      maxQueue: 500,
      retryBaseMs: 200,
      retryMaxMs: 5000,
      requestTimeoutMs: 10_000,
      heartbeatMs: 5000,
      ...opts,
    };
  }

  /**
   * Queues one event; it gets the next id and, when missing, `ts = Date.now()`.
   * Never throws; events pushed after {@link close} started are still sent if the flush is running.
   * @returns the event as it will be sent
   */
  push(event: PendingEvent): AgentEvent {
    const full = { ...event, id: `${this.#opts.jobId}:${++this.#counter}`, ts: event.ts ?? Date.now() } as AgentEvent;
    this.#queue.push(full);
    this.#bound();
    this.#kick();
    return full;
  }

  /** Starts `agent_heartbeat` events every `heartbeatMs` until {@link close}. */
  startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => this.push({ type: "agent_heartbeat" }), this.#opts.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Events waiting to be sent (not counting a batch in flight). */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Stops the heartbeat and sends everything queued, retrying as usual, for at most `deadlineMs`.
   * @param deadlineMs give up (and count the rest as dropped) after this long; default 5000
   * @returns true when everything was delivered or refused by a 4xx, false at the deadline
   */
  async close(deadlineMs = 5000): Promise<boolean> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    const drained = (async () => {
      while (this.#pump || this.#queue.length) await (this.#pump ?? this.#kick());
      return true;
    })();
    const timer = sleep(deadlineMs, false, { ref: false });
    const ok = await Promise.race([drained, timer]);
    if (!ok) {
      this.stats.dropped += this.#queue.length;
      this.#opts.log.warn("ingest_flush_timed_out", { dropped: this.#queue.length });
      this.#queue = [];
      this.#abort.abort();
      await this.#pump; // returns at once when aborted; counts the batch that was in flight
    }
    return ok;
  }

  #bound(): void {
    while (this.#queue.length > this.#opts.maxQueue) {
      let victim = -1;
      let rank = Infinity;
      this.#queue.forEach((e, i) => {
        const r = dropRank(e);
        if (r < rank) [victim, rank] = [i, r];
      });
      if (victim < 0) return; // only finals and lifecycle events left: never dropped
      this.#queue.splice(victim, 1);
      this.stats.dropped++;
    }
  }

  #kick(): Promise<void> {
    if (!this.#pump) {
      this.#pump = this.#run().finally(() => {
        this.#pump = null;
      });
    }
    return this.#pump;
  }

  async #run(): Promise<void> {
    await Promise.resolve(); // let events pushed in the same tick join the batch
    while (this.#queue.length && !this.#abort.signal.aborted) {
      // The batch leaves the queue before sending so that the bound never evicts an event in flight.
      const batch = this.#queue.splice(0, INGEST_BATCH_MAX);
      if (await this.#deliver(batch)) this.stats.sent += batch.length;
      else if (this.#abort.signal.aborted) this.stats.dropped += batch.length;
    }
  }

  /** Sends one batch until it is accepted (true), refused with a 4xx (false) or aborted (false). */
  async #deliver(events: AgentEvent[]): Promise<boolean> {
    const body = JSON.stringify(IngestBatch.parse({ events }));
    const url = `${this.#opts.ingestUrl}/session/${encodeURIComponent(this.#opts.sessionId)}/events`;
    for (let attempt = 0; ; attempt++) {
      if (this.#abort.signal.aborted) return false;
      let status = 0;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            [SIGNATURE_HEADER]: await signIngest(this.#opts.secret, this.#opts.sessionId, body),
          },
          body,
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#opts.requestTimeoutMs)]),
        });
        status = res.status;
        const text = await res.text();
        if (res.ok) {
          const parsed = IngestResponse.safeParse(safeJson(text));
          if (!parsed.success) this.#opts.log.warn("ingest_response_unexpected", { status });
          return true;
        }
        if (status < 500) {
          this.stats.rejected += events.length;
          this.#opts.log.error("ingest_batch_refused", { status, events: events.length, body: text.slice(0, 200) });
          return false;
        }
      } catch (err) {
        if (this.#abort.signal.aborted) return false;
        this.#opts.log.warn("ingest_request_failed", { error: err });
      }
      const delay = Math.min(this.#opts.retryMaxMs, this.#opts.retryBaseMs * 2 ** attempt);
      this.stats.retries++;
      this.#opts.log.warn("ingest_retry_scheduled", { status, attempt: attempt + 1, delay_ms: delay });
      await sleep(delay, undefined, { signal: this.#abort.signal }).catch(() => undefined);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
