/**
 * Edge benchmark: agent ingest → browser WebSocket delivery through the real Worker and `SessionDO`
 * under `wrangler dev` (workerd, SQLite-backed storage), started as every test starts it
 * (test/support/wrangler.ts) and fed by the agent's ingest client (test/support/ingest.ts).
 *
 * Figures: delivery latency (POST of a one-event batch → the message on an open transcript socket),
 * p50/p99 over 300 events; sustained events/s through one `SessionDO` (10,000 finals in batches of 100,
 * 4 in flight) and whether any were lost (seq gaps). LiveKit's HTTP API is a local stub (dispatch and
 * DeleteRoom answer 200); no traffic leaves loopback. Results: docs/edge.md, "Performance".
 * Run: `npx node bench/run.ts edge-ingest` (or `npm run bench -- edge-ingest`).
 */
import WebSocket from "ws";
import { IngestClient } from "../test/support/ingest.ts";
import { sleep } from "../test/support/wait.ts";
import { startLiveKitApiStub } from "../test/support/livekit-api-stub.ts";
import { startWranglerDev } from "../test/support/wrangler.ts";

const LATENCY_SAMPLES = 300;
/** Latency samples sent first and not counted (the Worker, the object and the socket warm up). */
const WARM_UP = 20;
const THROUGHPUT_EVENTS = 10_000;
const BATCH = 100;
const IN_FLIGHT = 4;
/** How long to wait for the last throughput messages before counting the rest as lost, ms. */
const DRAIN_MS = 30_000;

// LiveKit's server API: CreateDispatch, ListParticipants and DeleteRoom succeed.
const liveKit = await startLiveKitApiStub();

const worker = await startWranglerDev({ LIVEKIT_URL: liveKit.url }, { logLevel: "error", timeoutMs: 60_000 }).catch(
  (err: unknown) => {
    liveKit.close();
    throw err;
  },
);
const base = worker.origin;

try {
  const health = await fetch(`${base}/health`);
  const cookie = health.headers.get("set-cookie")!.split(";")[0]!;
  const created = await fetch(`${base}/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: cookie },
    body: JSON.stringify({ room: "bench-room", identity: "visitor" }),
  });
  if (created.status !== 201) throw new Error(`POST /session answered ${created.status}: ${await created.text()}`);
  const { session_id: sessionId } = (await created.json()) as { session_id: string };

  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws/transcript/${sessionId}`, {
    headers: { Cookie: cookie, Origin: base },
  });
  const waiting = new Map<string, (t: number) => void>();
  const seqs: number[] = [];
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as { seq: number; text?: string };
    seqs.push(m.seq);
    if (m.text) waiting.get(m.text)?.(performance.now());
  });
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));

  const agent = new IngestClient({ origin: base, secret: worker.ingestSecret, sessionId, idPrefix: "bench" });
  const post = (texts: string[]) => agent.send(...texts.map((text) => ({ role: "user" as const, text, final: true })));

  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES + WARM_UP; i++) {
    const text = `lat-${i}`;
    const arrived = new Promise<number>((r) => waiting.set(text, r));
    const t0 = performance.now();
    await post([text]);
    const t1 = await arrived;
    waiting.delete(text);
    if (i >= WARM_UP) latencies.push(t1 - t0);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);

  const before = seqs.length;
  const t0 = performance.now();
  let next = 0;
  const sender = async () => {
    while (next < THROUGHPUT_EVENTS) {
      const from = next;
      next += BATCH;
      await post(Array.from({ length: Math.min(BATCH, THROUGHPUT_EVENTS - from) }, (_, k) => `thr-${from + k}`));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, sender));
  // Batches may land out of order; wait for the count rather than for one text.
  // No waitFor here: a shortfall is a figure (lost events), not a failure.
  const deadline = Date.now() + DRAIN_MS;
  while (seqs.length - before < THROUGHPUT_EVENTS && Date.now() < deadline) await sleep(10);
  const seconds = (performance.now() - t0) / 1000;
  const received = seqs.length - before;
  const gaps = seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1).length;

  console.log(
    JSON.stringify(
      {
        bench: "edge-ingest",
        ingest_to_socket_ms: { p50: Number(pct(0.5)), p99: Number(pct(0.99)), samples: latencies.length },
        throughput: {
          events: THROUGHPUT_EVENTS,
          received,
          lost: THROUGHPUT_EVENTS - received,
          seq_gaps: gaps,
          seconds: Number(seconds.toFixed(2)),
          events_per_s: Math.round(received / seconds),
        },
      },
      null,
      2,
    ),
  );
  ws.close();
} finally {
  await worker.close();
  liveKit.close();
}
process.exit(0);
