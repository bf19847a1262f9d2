/**
 * The ingest forwarder against a real local HTTP server (test/agent/ingest-server.ts) that verifies the
 * contract's signature and body schema.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IngestForwarder, type IngestForwarderOptions } from "../../agent/ingest-forwarder.ts";
import { createLogger } from "../../contract/log.ts";
import { sleep } from "../support/wait.ts";
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
});
