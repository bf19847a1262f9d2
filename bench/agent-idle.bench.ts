/**
 * CPU and memory of idle agent sessions (listening to silence): the capacity figure of a worker.
 *
 * Each session runs the real pipeline (two Silero VAD streams: the session's and the realtime STT's
 * commit VAD, the realtime transcription socket streaming audio, LLM and TTS idle) fed 20 ms frames of
 * silence in real time. The provider runs in its own process so that its work is not counted.
 * Measured in this process: CPU time / wall time and RSS, for 1 session and then for N sessions.
 * In production each job is its own process (LiveKit Agents ProcPool), so "1 session" RSS is close to
 * one job process's footprint, minus the room connection (rtc-node).
 * Usage: `node bench/agent-idle.bench.ts [sessions=4] [seconds=15]`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { initializeLogger, type voice } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { WebsiteAgent } from "../agent/agent.ts";
import { createAgentSession } from "../agent/pipeline.ts";
import { sleep } from "../test/support/wait.ts";
import { ClockedAudioInput, PlayoutAudioOutput } from "../test/agent/pipeline-io.ts";

const N = Math.min(16, Math.max(1, Number(process.argv[2] ?? 4)));
const SECONDS = Math.min(60, Math.max(5, Number(process.argv[3] ?? 15)));
initializeLogger({ pretty: false, level: "error" });

function startProvider(): Promise<{ child: ChildProcess; baseURL: string }> {
  const child = spawn(process.execPath, ["dev/openai/cli.ts", "--port", "0", "--host", "127.0.0.1"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = /"base_url":"([^"]+)"/.exec(buf);
      if (m) resolve({ child, baseURL: m[1]! });
    });
    child.once("exit", () => reject(new Error("provider exited")));
  });
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
async function measure(seconds: number): Promise<{ cpuPercent: number; rssMB: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  return {
    cpuPercent: Math.round(((c.user + c.system) / 1000 / (performance.now() - t0)) * 1000) / 10,
    rssMB: mb(process.memoryUsage().rss),
  };
}

const { child, baseURL } = await startProvider();
const vad = await silero.VAD.load();
global.gc?.();
const baseline = await measure(3);
const cfg = {
  openaiApiKey: "sk-local-stand-in",
  openaiBaseUrl: baseURL,
  sttModel: "gpt-4o-mini-transcribe",
  llmModel: "gpt-4o-mini",
  ttsModel: "gpt-4o-mini-tts",
  ttsVoice: "alloy",
};
const running: Array<{ session: voice.AgentSession; input: ClockedAudioInput }> = [];
async function add(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const session = createAgentSession(cfg, vad);
    const input = new ClockedAudioInput();
    session.input.audio = input;
    session.output.audio = new PlayoutAudioOutput();
    await session.start({ agent: new WebsiteAgent("Idle benchmark.", { mode: "none" }) });
    running.push({ session, input });
  }
  await sleep(2000); // let start-up work settle
}

await add(1);
const one = await measure(SECONDS);
await add(N - 1);
const many = await measure(SECONDS);
for (const r of running) {
  r.input.stop();
  await r.session.close();
}
child.kill("SIGTERM");

const perSession = N > 1 ? (many.cpuPercent - one.cpuPercent) / (N - 1) : one.cpuPercent - baseline.cpuPercent;
console.log(
  JSON.stringify({
    seconds_measured: SECONDS,
    before_sessions: { cpu_percent_of_one_core: baseline.cpuPercent, process_rss_mb: baseline.rssMB },
    one_session: { cpu_percent_of_one_core: one.cpuPercent, process_rss_mb: one.rssMB },
    [`${N}_sessions`]: { cpu_percent_of_one_core: many.cpuPercent, process_rss_mb: many.rssMB },
    marginal_per_session: {
      cpu_percent_of_one_core: Math.round(perSession * 10) / 10,
      rss_mb: N > 1 ? Math.round((many.rssMB - one.rssMB) / (N - 1)) : one.rssMB - baseline.rssMB,
    },
    idle_sessions_per_core_estimate: perSession > 0 ? Math.floor(100 / perSession) : null,
  }),
);
process.exit(0);
