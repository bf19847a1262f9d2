/**
 * Edge benchmark: agent ingest → browser WebSocket delivery through the real Worker and `SessionDO`
 * under `wrangler dev` (workerd, SQLite-backed storage).
 *
 * Figures: delivery latency (POST of a one-event batch → the message on an open transcript socket),
 * p50/p99 over 300 events; sustained events/s through one `SessionDO` (10,000 finals in batches of 100,
 * 4 in flight) and whether any were lost (seq gaps). LiveKit's HTTP API is a local stub (dispatch and
 * DeleteRoom answer 200); no traffic leaves loopback.
 * Run: `npx node test/netns.ts npx node bench/edge-ingest.bench.ts` (or `npm run bench -- edge`).
 */
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { signIngest } from "../contract/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const LATENCY_SAMPLES = 300;
const THROUGHPUT_EVENTS = 10_000;
const BATCH = 100;
const IN_FLIGHT = 4;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

// A LiveKit Twirp stand-in: CreateDispatch and DeleteRoom succeed.
const liveKit = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{}");
  });
}).listen(0, "127.0.0.1");
await new Promise((r) => liveKit.once("listening", r));
const liveKitPort = (liveKit.address() as AddressInfo).port;

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), "edge-bench-"));
const ingestSecret = "bench-ingest-secret";
writeFileSync(
  join(dir, "worker.env"),
  `LIVEKIT_URL=ws://127.0.0.1:${liveKitPort}\nLIVEKIT_API_KEY=devkey\nLIVEKIT_API_SECRET=secret\nAGENT_INGEST_SECRET=${ingestSecret}\nCOOKIE_SECRET=bench-cookie\n`,
  { mode: 0o600 },
);
const wrangler = join(createRequire(import.meta.url).resolve("wrangler/package.json"), "..", "bin", "wrangler.js");
const child = spawn(process.execPath, [wrangler, "dev", "--port", String(port), "--ip", "127.0.0.1", "--env-file", join(dir, "worker.env"), "--show-interactive-dev-session=false", "--log-level", "error", "--persist-to", join(dir, "state")], {
  cwd: root,
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
  stdio: ["ignore", "ignore", "inherit"],
});
const base = `http://127.0.0.1:${port}`;

try {
  const started = Date.now();
  for (;;) {
    if (Date.now() - started > 60_000) throw new Error("wrangler dev did not start in 60 s");
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const health = await fetch(`${base}/health`);
  const cookie = health.headers.get("set-cookie")!.split(";")[0]!;
  const created = await fetch(`${base}/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: cookie },
    body: JSON.stringify({ room: "bench-room", identity: "visitor" }),
  });
  if (created.status !== 201) throw new Error(`POST /session answered ${created.status}: ${await created.text()}`);
  const { session_id: sessionId } = (await created.json()) as { session_id: string };

  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/transcript/${sessionId}`, { headers: { Cookie: cookie, Origin: base } });
  const waiting = new Map<string, (t: number) => void>();
  const seqs: number[] = [];
  ws.on("message", (data) => {
    const m = JSON.parse(String(data)) as { seq: number; text?: string };
    seqs.push(m.seq);
    if (m.text) waiting.get(m.text)?.(performance.now());
  });
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));

  let n = 0;
  const post = async (texts: string[]) => {
    const body = JSON.stringify({ events: texts.map((text) => ({ id: `bench:${++n}`, ts: Date.now(), role: "user", text, final: true })) });
    const res = await fetch(`${base}/session/${sessionId}/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Signature": await signIngest(ingestSecret, sessionId, body) },
      body,
    });
    if (res.status !== 200) throw new Error(`ingest answered ${res.status}`);
    await res.arrayBuffer();
  };

  const latencies: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES + 20; i++) {
    const text = `lat-${i}`;
    const arrived = new Promise<number>((r) => waiting.set(text, r));
    const t0 = performance.now();
    await post([text]);
    const t1 = await arrived;
    waiting.delete(text);
    if (i >= 20) latencies.push(t1 - t0); // the first 20 warm up
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);

  const before = seqs.length;
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < THROUGHPUT_EVENTS) {
      const from = next;
      next += BATCH;
      await post(Array.from({ length: Math.min(BATCH, THROUGHPUT_EVENTS - from) }, (_, k) => `thr-${from + k}`));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  // Batches may land out of order; wait for the count rather than for one text.
  const deadline = Date.now() + 30_000;
  while (seqs.length - before < THROUGHPUT_EVENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - t0) / 1000;
  const received = seqs.length - before;
  const gaps = seqs.slice(1).filter((s, i) => s !== seqs[i]! + 1).length;

  console.log(JSON.stringify({
    bench: "edge-ingest",
    ingest_to_socket_ms: { p50: Number(pct(0.5)), p99: Number(pct(0.99)), samples: latencies.length },
    throughput: { events: THROUGHPUT_EVENTS, received, lost: THROUGHPUT_EVENTS - received, seq_gaps: gaps, seconds: Number(seconds.toFixed(2)), events_per_s: Math.round(received / seconds) },
  }, null, 2));
  ws.close();
} finally {
  child.kill("SIGTERM");
  liveKit.close();
  await new Promise((r) => child.once("exit", r));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
