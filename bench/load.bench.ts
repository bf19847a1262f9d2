/**
 * The load curve of one agent worker (docs/agent.md, "Sizing"): N visitors talking at once, N = 1, 2, 4, 8, 16.
 *
 * Each visitor is a real @livekit/rtc-node participant in its own room on the development LiveKit server, whose
 * microphone says goforward.raw ("go forward ten meters") {@link TURNS} times, each after the previous reply;
 * the real worker (`node agent/main.ts start`, real Silero VAD, the real OpenAI plugins) serves them all, with the
 * local provider in its instant mode, so that what the curve shows is the agent's own cost, not pocketsphinx's and
 * espeak-ng's (which would compete for the same 2 cores as the agent being measured).
 *
 * Per N it prints:
 * - turn latency p50 / p95 at the visitor: the end of its voice → the first audio of the reply it receives (the VAD's
 *   0.55 s silence window included), ms;
 * - the worker's CPU (all its processes: the main one and every job process; mean cores used while the visitors
 *   talk) and RSS (peak of their sum), from /proc;
 * - "VAD slower than realtime" warnings the framework logged (Silero falling behind the audio);
 * - sessions lost: no greeting within 3 minutes of the dispatch, or the agent left before the end;
 * - turns unanswered: no reply heard within 20 s of the end of the visitor's voice (the visitor then gives up its
 *   remaining turns, as does one whose reply never ends).
 * Then a table, a JSON line, and the chart docs/load-curve.svg. Asserts nothing. Every step stops by itself
 * (bounded waits), and at most 16 visitors run at once.
 *
 * Usage: `npm run bench -- load [steps=1,2,4,8,16]` (inside the network namespace: bench/run.ts sees to it).
 */
import "./quiet-rtc.ts"; // before rtc-node
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { GOFORWARD_RATE, goForward, goForwardVoiceEndMs, resampleLinear } from "../test/agent/audio.ts";
import { startWorkerHarness } from "../test/agent/worker-harness.ts";
import { sleep, waitFor } from "../test/support/wait.ts";
import { lineChartSvg } from "./svg-chart.ts";
import { loudFrames } from "./visitor-audio.ts";

const addr = process.env.NETNS_ADDR;
if (!addr) throw new Error("run through `npm run bench` (WebRTC media needs the test network namespace)");

const STEPS = (process.argv[2] ?? "1,2,4,8,16")
  .split(",")
  .map(Number)
  .filter((n) => Number.isInteger(n) && n >= 1 && n <= 16);
/** Turns per visitor. */
const TURNS = 3;
/** Most time a reply may take to be heard before the turn counts as lost, ms. */
const REPLY_TIMEOUT_MS = 20_000;
/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK` on Linux). */
const CLK_TCK = 100;
const CHART = fileURLToPath(new URL("../docs/load-curve.svg", import.meta.url));

const voice = resampleLinear(goForward(), GOFORWARD_RATE, 48_000);
const voiceEndMs = goForwardVoiceEndMs();

/** The pids of `root` and all its descendants, from /proc. */
function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of parent) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

/** CPU ticks (user + system) and RSS (bytes) of one process; zeros when it is gone. */
function usageOf(pid: number): { ticks: number; rss: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8").slice(0);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of proc(5))
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
    return { ticks, rss };
  } catch {
    return { ticks: 0, rss: 0 };
  }
}

/** Samples the worker's process tree every 500 ms: mean cores used and peak RSS until `stop`. */
function sampleTree(root: number): { stop(): { cores: number; peakRssBytes: number } } {
  const last = new Map<number, number>();
  let ticks = 0;
  let peak = 0;
  const started = Date.now();
  const sample = () => {
    let rss = 0;
    for (const pid of processTree(root)) {
      const u = usageOf(pid);
      ticks += u.ticks - (last.get(pid) ?? u.ticks);
      last.set(pid, u.ticks);
      rss += u.rss;
    }
    peak = Math.max(peak, rss);
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { cores: ticks / CLK_TCK / ((Date.now() - started) / 1000), peakRssBytes: peak };
    },
  };
}

const quantile = (xs: number[], q: number) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

interface Step {
  n: number;
  turns: number;
  p50: number | null;
  p95: number | null;
  cores: number;
  peakRssMiB: number;
  vadWarnings: number;
  lost: number;
  unanswered: number;
}

const h = await startWorkerHarness(addr, { LOG_LEVEL: "info" }, { instant: true });
const results: Step[] = [];
try {
  for (const n of STEPS) {
    const from = h.output().length;
    const sessions = Array.from({ length: n }, (_, i) => ({
      room: `load-${n}-${i}`,
      sid: `load${String(n).padStart(2, "0")}x${String(i).padStart(2, "0")}${"0".repeat(13)}`,
      identity: `visitor-${n}-${i}`,
    }));
    // One after another: rtc-node 0.13 fails some of 16 simultaneous Room.connect calls in one process ("handle not
    // found", ReadyForRoomEvent). A visitor that cannot join (twice) counts as a lost session.
    const visitors: Array<Awaited<ReturnType<typeof h.visitor>> | undefined> = [];
    for (const s of sessions) {
      visitors.push(
        await h
          .visitor(s.room, s.identity)
          .catch(() => h.visitor(s.room, s.identity))
          .catch(() => undefined),
      );
    }
    await Promise.all(sessions.map((s, i) => (visitors[i] ? h.dispatch(s.room, s.sid) : undefined)));
    const sampler = sampleTree(h.worker.pid!);
    const latencies: number[] = [];
    const lost = new Set<string>();
    let unanswered = 0;
    await Promise.all(
      sessions.map(async (s, i) => {
        const visitor = visitors[i];
        if (!visitor) return void lost.add(s.sid);
        const greeted = () => h.types(s.sid).includes("agent speech_ended");
        try {
          await waitFor(`${s.sid} greeting`, greeted, { timeoutMs: 180_000, intervalMs: 50 });
        } catch {
          lost.add(s.sid);
          return;
        }
        const heard = loudFrames(await visitor.agentTrack);
        try {
          await sleep(Math.random() * 2000); // visitors do not speak in step
          for (let t = 0; t < TURNS; t++) {
            const ended = h.types(s.sid).filter((x) => x === "agent speech_ended").length;
            const ahead = visitor.mic.say(voice);
            const voiceEnd = Date.now() + ahead + voiceEndMs;
            const onset = await waitFor(`${s.sid} reply ${t}`, () => heard.after(voiceEnd), {
              timeoutMs: REPLY_TIMEOUT_MS + voiceEndMs,
              intervalMs: 5,
            }).catch(() => undefined);
            if (onset === undefined) {
              unanswered += TURNS - t; // this visitor gives up
              return;
            }
            latencies.push(Math.round(onset - voiceEnd));
            const replied = () => h.types(s.sid).filter((x) => x === "agent speech_ended").length > ended;
            const over = await waitFor(`${s.sid} reply ${t} to end`, replied, { timeoutMs: 60_000, intervalMs: 50 })
              .then(() => true)
              .catch(() => false);
            if (!over) {
              unanswered += TURNS - t - 1; // the reply never ends: this visitor gives up
              return;
            }
            await sleep(500);
          }
        } finally {
          await heard.stop();
        }
      }),
    );
    const { cores, peakRssBytes } = sampler.stop();
    for (const s of sessions) {
      if (!h.types(s.sid).includes("agent_joined") || h.types(s.sid).includes("agent_left")) lost.add(s.sid);
    }
    const vadWarnings =
      h
        .output()
        .slice(from)
        .match(/slower than realtime/g)?.length ?? 0;
    for (const s of sessions) await h.deleteRoom(s.room);
    await Promise.all(visitors.map((v) => v?.room.disconnect().catch(() => {})));
    for (const v of visitors) v?.mic.stop();
    await waitFor("every job to end", () => sessions.every((s) => h.types(s.sid).includes("agent_left")), {
      timeoutMs: 60_000,
    }).catch(() => {});
    const step: Step = {
      n,
      turns: latencies.length,
      p50: quantile(latencies, 0.5),
      p95: quantile(latencies, 0.95),
      cores: Math.round(cores * 100) / 100,
      peakRssMiB: Math.round(peakRssBytes / 2 ** 20),
      vadWarnings,
      lost: lost.size,
      unanswered,
    };
    results.push(step);
    console.log(
      `N=${String(n).padStart(2)}  turns ${String(step.turns).padStart(2)}  latency p50 ${step.p50 ?? "-"} ms  ` +
        `p95 ${step.p95 ?? "-"} ms  CPU ${step.cores} cores  RSS ${step.peakRssMiB} MiB  ` +
        `VAD warnings ${vadWarnings}  sessions lost ${step.lost}  turns unanswered ${unanswered}`,
    );
    await sleep(3000); // job processes exit, the pool warms again
  }
} finally {
  await h.close();
}

console.log(
  "\n| N | turns answered | latency p50 (ms) | p95 (ms) | CPU (cores) | RSS (MiB) | VAD warnings | sessions lost | turns unanswered |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of results) {
  console.log(
    `| ${r.n} | ${r.turns} | ${r.p50 ?? "-"} | ${r.p95 ?? "-"} | ${r.cores} | ${r.peakRssMiB} | ${r.vadWarnings} | ${r.lost} | ${r.unanswered} |`,
  );
}
console.log(JSON.stringify({ load_curve: results, host_cores: cpus().length }));

if (results.length > 1) {
  const x = results.map((r) => r.n);
  const caption = `npm run bench -- load · ${new Date().toISOString().slice(0, 10)} · ${cpus().length}-core host, instant provider, ${TURNS} turns per visitor`;
  const svg = lineChartSvg(
    [
      {
        title: "Turn latency at the visitor",
        xLabel: "visitors at once (N)",
        yLabel: "end of voice → reply heard (ms)",
        x,
        series: [
          { name: "p50", values: results.map((r) => r.p50) },
          { name: "p95", values: results.map((r) => r.p95), dashed: true },
        ],
      },
      {
        title: "Agent worker resources",
        xLabel: "visitors at once (N)",
        yLabel: "CPU (cores) · RSS (GiB)",
        x,
        series: [
          { name: "CPU, cores (mean)", values: results.map((r) => r.cores) },
          { name: "RSS, GiB (peak)", values: results.map((r) => Math.round((r.peakRssMiB / 1024) * 100) / 100) },
        ],
        reference: { value: cpus().length, label: `${cpus().length} cores` },
      },
    ],
    caption,
  );
  writeFileSync(CHART, svg);
  console.log(`chart: ${CHART}`);
}

// rtc-node's native handles keep the event loop alive after the last room is gone.
process.exit(0);
