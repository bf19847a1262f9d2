/**
 * The ingest forwarder against a real local HTTP server (test/agent/ingest-server.ts) that verifies the
 * contract's signature and body schema and refuses bodies over `INGEST_BODY_MAX_BYTES`, as the Worker does.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  INGEST_BATCH_MAX_BYTES,
  IngestForwarder,
  type IngestForwarderOptions,
  type IngestRefusal,
  type PendingEvent,
} from "../../agent/ingest-forwarder.ts";
import { TEXT_MAX } from "../../contract/index.ts";
import { createLogger } from "../../contract/log.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { type IngestServer, startIngestServer } from "./ingest-server.ts";

const SECRET = "test-ingest-secret";
const SESSION = "AAAAAAAAAAAAAAAAAAAAAA";
const quiet = createLogger({ component: "agent", level: "error", write: () => {} });

let server: IngestServer;
beforeEach(async () => {
  server = await startIngestServer(SECRET);
});
afterEach(async () => {
  await server.close();
});

function forwarder(extra: Partial<IngestForwarderOptions> = {}): IngestForwarder {
  return new IngestForwarder({
    ingestUrl: server.url,
    secret: SECRET,
    sessionId: SESSION,
    jobId: "AJ_1",
    log: quiet,
    retryBaseMs: 20,
    ...extra,
  });
}
const final = (text: string) => ({ role: "user" as const, text, final: true });
const interim = (text: string) => ({ role: "user" as const, text, final: false });
const textOf = (e: object) => ("text" in e ? String(e.text) : "");

/** A logger that keeps every line, parsed. */
function recordingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ component: "agent", level: "debug", write: (l) => void lines.push(JSON.parse(l)) });
  return { log, lines };
}

/** Collects unhandled rejections while `run` runs (and shortly after). */
async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => void seen.push(reason);
  process.on("unhandledRejection", onRejection);
  try {
    await run();
    await sleep(20);
  } finally {
    process.off("unhandledRejection", onRejection);
  }
  return seen;
}

describe("ingest forwarder", () => {
  it("posts signed batches that verify, with ids <job_id>:<counter>, in order", async () => {
    const f = forwarder();
    f.push({ type: "agent_joined" });
    f.push({ role: "user", event: "speech_started" });
    f.push(interim("go forward"));
    f.push(final("go forward ten meters"));
    expect(await f.close()).toBe(true);
    expect(server.requests).toHaveLength(1); // pushed in one tick: one batch
    expect(server.requests[0]!.verdict).toBe("ok");
    expect(server.requests[0]!.sessionId).toBe(SESSION);
    expect(server.requests[0]!.jobId).toBe("AJ_1"); // the session tells its current agent from a replaced one
    expect(server.stored.map((e) => e.id)).toEqual(["AJ_1:1", "AJ_1:2", "AJ_1:3", "AJ_1:4"]);
    expect(server.stored[3]).toMatchObject({ role: "user", text: "go forward ten meters", final: true });
  });

  it("splits large bursts into batches of at most 100 and keeps order across them", async () => {
    const f = forwarder();
    for (let i = 0; i < 250; i++) f.push(final(`line ${i}`));
    await f.close();
    expect(server.requests.map((r) => r.events.length)).toEqual([100, 100, 50]);
    expect(server.stored.map((e) => ("text" in e ? e.text : ""))).toEqual(
      Array.from({ length: 250 }, (_, i) => `line ${i}`),
    );
    expect(server.connections()).toBe(1); // keep-alive: one connection for all batches
  });

  it("retries a 503 with backoff, re-sending the same ids", async () => {
    server.script.push(503, 503);
    const f = forwarder();
    f.push(final("hello"));
    f.push(final("world"));
    await f.close();
    expect(server.requests).toHaveLength(3);
    const ids = server.requests.map((r) => r.events.map((e) => e.id).join(","));
    expect(new Set(ids).size).toBe(1);
    expect(server.stored).toHaveLength(2);
    expect(f.stats).toMatchObject({ retries: 2, sent: 2, rejected: 0 });
  });

  it("re-sends a batch whose response was lost with the same ids, so the server counts it once", async () => {
    server.script.push(-502);
    const f = forwarder();
    f.push(final("only once"));
    await f.close();
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.events[0]!.id).toBe(server.requests[1]!.events[0]!.id);
    expect(server.stored).toHaveLength(1);
  });

  it("does not retry a 400 and carries on with later events", async () => {
    server.script.push(400);
    const f = forwarder();
    f.push(final("refused"));
    await sleep(50);
    f.push(final("accepted"));
    await f.close();
    expect(server.requests).toHaveLength(2);
    expect(server.stored.map((e) => e.id)).toEqual(["AJ_1:2"]);
    expect(f.stats).toMatchObject({ rejected: 1, retries: 0 });
  });

  it("flushes everything queued on close", async () => {
    const f = forwarder();
    for (let i = 0; i < 30; i++) {
      f.push(final(`t${i}`));
      await Promise.resolve();
    }
    f.push({ type: "agent_left" });
    expect(await f.close()).toBe(true);
    expect(server.stored).toHaveLength(31);
    expect(server.stored.at(-1)).toMatchObject({ type: "agent_left" });
  });

  it("keeps a bounded queue that drops interims first and never finals", async () => {
    server.script.push(503, 503, 503);
    const f = forwarder({ maxQueue: 6 });
    f.push(final("first"));
    await sleep(5); // "first" is in flight and being retried
    for (let i = 0; i < 10; i++) f.push(interim(`partial ${i}`));
    for (let i = 0; i < 4; i++) f.push(final(`final ${i}`));
    expect(f.pending).toBe(6);
    await f.close();
    const texts = server.stored.map((e) => ("text" in e ? e.text : ""));
    expect(texts.filter((t) => t.startsWith("final") || t === "first")).toEqual([
      "first",
      "final 0",
      "final 1",
      "final 2",
      "final 3",
    ]);
    expect(texts.filter((t) => t.startsWith("partial"))).toEqual(["partial 8", "partial 9"]);
    expect(f.stats.dropped).toBe(8);
  });

  it("retries network errors and gives up at the close deadline", async () => {
    await server.close();
    const f = forwarder({ retryBaseMs: 10, retryMaxMs: 50 });
    f.push(final("lost"));
    expect(await f.close(300)).toBe(false);
    expect(f.stats.retries).toBeGreaterThan(1);
    expect(f.stats.dropped).toBe(1);
  });

  it("sends agent_heartbeat events at the configured interval", async () => {
    const f = forwarder({ heartbeatMs: 40 });
    f.startHeartbeat();
    await sleep(150);
    await f.close();
    const beats = server.stored.filter((e) => "type" in e && e.type === "agent_heartbeat");
    expect(beats.length).toBeGreaterThanOrEqual(2);
    const n = server.stored.length;
    await sleep(100);
    expect(server.stored.length).toBe(n); // stopped on close
  });

  it("keeps every batch under 256 KiB, so a burst of long finals is never refused as too large", async () => {
    const f = forwarder();
    // 100 finals of ≈ 24 KB each (a 3-byte character 7990 times): 2.4 MB, over the Worker's 1 MB body limit.
    for (let i = 0; i < 100; i++) f.push(final(`${i} ${"€".repeat(7990)}`));
    expect(await f.close()).toBe(true);
    expect(server.stored).toHaveLength(100);
    expect(server.stored.map((e) => textOf(e).split(" ")[0])).toEqual(Array.from({ length: 100 }, (_, i) => `${i}`));
    expect(Math.max(...server.requests.map((r) => r.bytes))).toBeLessThanOrEqual(INGEST_BATCH_MAX_BYTES);
    expect(server.requests.length).toBeGreaterThanOrEqual(10);
    expect(f.stats).toMatchObject({ sent: 100, rejected: 0, dropped: 0 });
  });

  it("drops an invalid event alone, logged without its text, never as an unhandled rejection", async () => {
    const { log, lines } = recordingLog();
    const f = forwarder({ log });
    const unhandled = await unhandledDuring(async () => {
      f.push(final("before"));
      expect(f.push(final(`secret words ${"x".repeat(TEXT_MAX)}`))).toBeNull(); // over TEXT_MAX
      expect(f.push({ ...final("secret words"), confidence: 0.9 } as PendingEvent)).toBeNull(); // unknown field
      f.push(final("after"));
      expect(await f.close()).toBe(true);
    });
    expect(unhandled).toEqual([]);
    expect(server.stored.map(textOf)).toEqual(["before", "after"]);
    expect(server.stored.map((e) => e.id)).toEqual(["AJ_1:1", "AJ_1:2"]); // no gap in the numbering
    const invalid = lines.filter((l) => l.msg === "ingest_event_invalid");
    expect(invalid).toHaveLength(2);
    expect(invalid[0]).toMatchObject({
      level: "warn",
      kind: "user final",
      issues: expect.stringMatching(/^text: too_big/),
    });
    expect(invalid[1]).toMatchObject({ issues: expect.stringMatching(/unrecognized_keys/) });
    expect(JSON.stringify(lines)).not.toContain("secret words");
    expect(f.stats).toMatchObject({ invalid: 2, sent: 2, rejected: 0 });
  });

  it("backs off with full jitter: uniform in [0, min(5 s, 200 ms × 2^n)]", async () => {
    const waits = (random: () => number) => async () => {
      const delays: number[] = [];
      server.script.push(...Array<number>(8).fill(503));
      const f = forwarder({ retryBaseMs: undefined, random, sleep: async (ms) => void delays.push(ms) });
      f.push(final("x"));
      expect(await f.close()).toBe(true);
      return delays;
    };
    // The ceilings of the real policy, scaled by the jitter.
    expect(await waits(() => 0.5)()).toEqual([100, 200, 400, 800, 1600, 2500, 2500, 2500]);
    expect(await waits(() => 0)()).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const real = await waits(Math.random)();
    const ceilings = [200, 400, 800, 1600, 3200, 5000, 5000, 5000];
    real.forEach((d, i) => expect(d).toBeLessThan(ceilings[i]!));
    expect(new Set(real).size).toBeGreaterThan(4); // jittered, not a fixed schedule
  });

  it("retries 429 and 408 like a 5xx (transient), not as a refusal", async () => {
    server.script.push(429, 408);
    const refused: IngestRefusal[] = [];
    const f = forwarder({ onRefused: (r) => refused.push(r) });
    f.push(final("later"));
    expect(await f.close()).toBe(true);
    expect(server.stored.map(textOf)).toEqual(["later"]);
    expect(f.stats).toMatchObject({ retries: 2, rejected: 0 });
    expect(refused).toEqual([]);
  });

  it.each([
    [401, "signature_mismatch"],
    [404, "session_not_found"],
    [409, "session_ended"],
    [409, "agent_replaced"],
  ])("stops at %i %s: no retry, nothing more sent, the owner told once", async (status, code) => {
    server.refusals.set(SESSION, { status, code });
    const { log, lines } = recordingLog();
    const refused: IngestRefusal[] = [];
    const f = forwarder({ log, heartbeatMs: 20, onRefused: (r) => refused.push(r) });
    f.startHeartbeat();
    f.push(final("one"));
    f.push(final("two"));
    await waitFor("the refusal", () => refused.length > 0, { timeoutMs: 2000, intervalMs: 5 });
    expect(f.push(final("three"))).toBeNull();
    await sleep(100); // heartbeats would be due by now
    expect(refused).toEqual([{ status, code }]);
    expect(f.refusal).toEqual({ status, code });
    expect(server.requests).toHaveLength(1);
    const started = Date.now();
    expect(await f.close()).toBe(true);
    expect(Date.now() - started).toBeLessThan(100);
    expect(f.stats).toMatchObject({ retries: 0, sent: 0 });
    // "one", "two" and "three", plus the heartbeats that fell due while the refused batch was in flight (on a loaded
    // host the 20 ms timer fires once or more before the refusal arrives): dropped, never sent. The refusal's line
    // counts what it dropped then: the batch in flight and those heartbeats, not "three", pushed after it.
    expect(f.stats.rejected).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l.msg === "ingest_refused")).toEqual([
      expect.objectContaining({ level: "warn", status, code, events: f.stats.rejected - 1 }),
    ]);
  });

  it("loses no final over a 60 s Worker outage, with the real retry policy (virtual clock)", async () => {
    // The job below speaks in 4 s cycles for 75 s: the visitor talks for 3 s (an interim every 50 ms, as a
    // realtime STT sends deltas), then a user final, the agent's speech and final; a heartbeat every 5 s. The
    // Worker answers 503 for the first 30 s and resets every connection for the next 30 s. Time is virtual: it
    // advances by each backoff wait the forwarder asks for, and the job pushes what it would have said meanwhile.
    const OUTAGE_MS = 60_000;
    const pushed: PendingEvent[] = [];
    let now = 0;
    let recoveredAt = -1;
    const delays: number[] = [];
    const f = forwarder({ retryBaseMs: undefined, sleep: async (ms) => void (await advance(ms)) });
    const say = (e: PendingEvent) => {
      pushed.push(e);
      f.push(e);
    };
    const jobBetween = (from: number, to: number) => {
      for (let t = Math.ceil(from / 50) * 50; t < to; t += 50) {
        const inCycle = t % 4000;
        const turn = Math.floor(t / 4000);
        if (t % 5000 === 0) say({ type: "agent_heartbeat" });
        if (inCycle === 0) say({ role: "user", event: "speech_started" });
        if (inCycle < 3000) say(interim(`turn ${turn} partial ${inCycle}`));
        if (inCycle === 3000) say({ role: "user", event: "speech_ended" });
        if (inCycle === 3050) say(final(`turn ${turn} user`));
        if (inCycle === 3100) say({ role: "agent", event: "speech_started" });
        if (inCycle === 3150) say({ role: "agent", text: `turn ${turn} agent`, final: true });
        if (inCycle === 3950) say({ role: "agent", event: "speech_ended" });
        if (t === 30_000) say({ type: "agent_error", detail: "llm_error, recoverable: upstream timeout" });
      }
    };
    const setWorker = () => {
      if (now < OUTAGE_MS / 2) server.refusals.set(SESSION, { status: 503, code: "worker_unavailable" });
      else server.refusals.delete(SESSION);
      server.down = now >= OUTAGE_MS / 2 && now < OUTAGE_MS;
      if (now >= OUTAGE_MS && recoveredAt < 0) recoveredAt = now;
    };
    async function advance(ms: number) {
      delays.push(ms);
      jobBetween(now, now + ms);
      now += ms;
      setWorker();
      await new Promise((r) => setImmediate(r));
    }

    setWorker();
    const unhandled = await unhandledDuring(async () => {
      say(final("turn start"));
      await waitFor("the outage to pass", () => recoveredAt >= 0, { timeoutMs: 20_000, intervalMs: 5 });
      jobBetween(now, 75_000); // the job goes on after the outage, until its end
      now = 75_000;
      say({ type: "agent_left", detail: "room disconnected" });
      expect(await f.close()).toBe(true);
    });
    expect(unhandled).toEqual([]);

    // The outage was real and covered by retries no longer than the 5 s cap.
    expect(server.resets()).toBeGreaterThan(0);
    expect(server.requests.filter((r) => r.events.length > 0).length).toBeGreaterThan(1);
    expect(delays.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(OUTAGE_MS);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5000);
    expect(recoveredAt - OUTAGE_MS).toBeLessThanOrEqual(5000); // delivered within one capped wait of the recovery
    expect(new Set(delays).size).toBeGreaterThan(delays.length / 2); // jittered

    // Every final arrived, once, in order; and so did every speech and lifecycle event.
    const finals = (events: object[]) => events.filter((e) => "final" in e && e.final).map(textOf);
    expect(finals(pushed)).toHaveLength(1 + 2 * 18); // 18 whole turns in 75 s
    expect(finals(server.stored)).toEqual(finals(pushed));
    expect(new Set(server.stored.map((e) => e.id)).size).toBe(server.stored.length);
    const notInterim = (events: object[]) => events.filter((e) => !("final" in e) || e.final).length;
    expect(notInterim(server.stored)).toBe(notInterim(pushed));
    expect(server.stored.at(-1)).toMatchObject({ type: "agent_left" });
    // The bound (500 waiting events) took only interims.
    const interims = pushed.filter((e) => "final" in e && !e.final).length;
    expect(f.stats.dropped).toBeGreaterThan(0);
    expect(server.stored.length).toBe(pushed.length - f.stats.dropped);
    expect(server.stored.filter((e) => "final" in e && !e.final).length).toBe(interims - f.stats.dropped);
  });
});
