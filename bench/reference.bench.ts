/**
 * This project's agent against a minimal LiveKit Agents reference agent (bench/reference-agent.ts), in the same
 * run, on the same development LiveKit server, with the same local provider in its instant mode (no pocketsphinx,
 * no espeak-ng: the providers answer at once, so only the two agents' own time is compared) and the same recording.
 *
 * Each round runs one conversation with each agent (the order alternates by round), one after another, each in
 * its own room with a fresh rtc-node visitor:
 * - dispatch → greeting heard: the dispatch request is sent while the visitor joins (what the Worker does at
 *   Start: it dispatches the agent and the page joins), until the first loud frame of the agent's greeting
 *   arrives at the visitor. Both say the same fixed greeting (the default profile's);
 * - end of voice → reply heard, for each of {@link TURNS} turns: the visitor's microphone says goforward.raw; from
 *   the end of its voice (the audio source's queue accounted for) to the first loud frame of the reply.
 *
 * Prints medians per agent and the ratio ours / reference for both (goal ≤ 1.05: this project's plumbing adds
 * nothing on the audio path). The Worker's own part of Start (POST /session → dispatch) is not in this figure: the
 * voice benchmark (bench/voice.bench.ts) measures the whole click → greeting in Chromium. Asserts nothing.
 *
 * Usage: `npm run bench -- reference [rounds=5]` (inside the network namespace: bench/run.ts sees to it).
 */
import "./quiet-rtc.ts"; // before rtc-node
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { RemoteTrack } from "@livekit/rtc-node";
import { AgentDispatchClient } from "livekit-server-sdk";
import { DEFAULT_PROFILE_ID } from "../contract/defaults.ts";
import { loadProfiles } from "../profiles/load.ts";
import { GOFORWARD_RATE, goForward, goForwardVoiceEndMs, resampleLinear } from "../test/agent/audio.ts";
import { startWorkerHarness } from "../test/agent/worker-harness.ts";
import { freePort } from "../test/support/ports.ts";
import { sleep, waitFor } from "../test/support/wait.ts";
import { loudFrames } from "./visitor-audio.ts";

const addr = process.env.NETNS_ADDR;
if (!addr) throw new Error("run through `npm run bench` (WebRTC media needs the test network namespace)");

const ROUNDS = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5)));
const TURNS = 3;
/** The agent is done speaking once nothing loud arrived for this long, ms. */
const QUIET_MS = 1200;
const REFERENCE_NAME = "reference-agent";

const voice = resampleLinear(goForward(), GOFORWARD_RATE, 48_000);
const voiceEndMs = goForwardVoiceEndMs();
const greeting = loadProfiles().get(DEFAULT_PROFILE_ID)!.greeting;

const h = await startWorkerHarness(addr, {}, { instant: true });
let reference: ChildProcess | undefined;
let referenceOutput = "";
try {
  reference = spawn(process.execPath, [fileURLToPath(new URL("./reference-agent.ts", import.meta.url))], {
    env: {
      ...process.env,
      LIVEKIT_URL: h.livekit.url,
      LIVEKIT_API_KEY: h.secrets.livekitApiKey,
      LIVEKIT_API_SECRET: h.secrets.livekitApiSecret,
      OPENAI_BASE_URL: h.provider.baseURL,
      OPENAI_API_KEY: h.secrets.openaiApiKey,
      REFERENCE_AGENT_NAME: REFERENCE_NAME,
      REFERENCE_HEALTH_PORT: String(await freePort()),
      REFERENCE_GREETING: greeting,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const s of [reference.stdout!, reference.stderr!]) s.on("data", (d: Buffer) => (referenceOutput += d));
  await waitFor("the reference worker to register", () => /registered worker/.test(referenceOutput), {
    timeoutMs: 60_000,
  });
  const dispatcher = new AgentDispatchClient(
    h.livekit.url.replace(/^ws/, "http"),
    h.secrets.livekitApiKey,
    h.secrets.livekitApiSecret,
  );

  const figures = {
    ours: { greeting: [] as number[], turn: [] as number[] },
    reference: { greeting: [] as number[], turn: [] as number[] },
  };
  /** One conversation with `agent`: its greeting and TURNS turns, measured at the visitor. */
  const converse = async (agent: "ours" | "reference", round: number) => {
    const room = `ref-${agent}-${round}`;
    const sid = `ref${agent === "ours" ? "O" : "R"}${String(round).padStart(3, "0")}${"0".repeat(15)}`;
    const t0 = Date.now();
    const dispatched =
      agent === "ours"
        ? h.dispatch(room, sid)
        : dispatcher.createDispatch(room, REFERENCE_NAME, { metadata: "{}" }).then(() => {});
    const [visitor] = await Promise.all([h.visitor(room, `visitor-${agent}-${round}`), dispatched]);
    let track: RemoteTrack | undefined;
    void visitor.agentTrack.then((t) => (track = t));
    await waitFor("the agent's track", () => track, { timeoutMs: 60_000, intervalMs: 5 });
    const heard = loudFrames(track!);
    const quiet = () => Date.now() - heard.last() > QUIET_MS;
    try {
      const greeted = await waitFor(`${agent} greeting`, () => heard.after(t0), { timeoutMs: 60_000, intervalMs: 5 });
      figures[agent].greeting.push(greeted - t0);
      await waitFor(`${agent} greeting to end`, quiet, { timeoutMs: 60_000, intervalMs: 50 });
      for (let t = 0; t < TURNS; t++) {
        const ahead = visitor.mic.say(voice);
        const voiceEnd = Date.now() + ahead + voiceEndMs;
        const onset = await waitFor(`${agent} reply ${t}`, () => heard.after(voiceEnd), {
          timeoutMs: 30_000,
          intervalMs: 5,
        });
        figures[agent].turn.push(Math.round(onset - voiceEnd));
        await sleep(QUIET_MS);
        await waitFor(`${agent} reply ${t} to end`, quiet, { timeoutMs: 60_000, intervalMs: 50 });
      }
    } finally {
      await heard.stop();
      visitor.mic.stop();
      await visitor.room.disconnect().catch(() => {});
      await h.deleteRoom(room);
    }
    if (agent === "ours") {
      await waitFor("agent_left", () => h.types(sid).includes("agent_left"), { timeoutMs: 30_000 }).catch(() => {});
    }
    await sleep(2000); // the job process exits and the pool warms another one
    const g = figures[agent].greeting.at(-1)!;
    const turns = figures[agent].turn.slice(-TURNS);
    console.log(`round ${round} ${agent.padEnd(9)} greeting ${g} ms  turns ${turns.join(" / ")} ms`);
  };

  for (let round = 1; round <= ROUNDS; round++) {
    const order: Array<"ours" | "reference"> = round % 2 ? ["ours", "reference"] : ["reference", "ours"];
    for (const agent of order) await converse(agent, round);
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const summary = {
    rounds: ROUNDS,
    turns_per_conversation: TURNS,
    greeting_ms: { ours: median(figures.ours.greeting), reference: median(figures.reference.greeting) },
    turn_ms: { ours: median(figures.ours.turn), reference: median(figures.reference.turn) },
    greeting_ratio: 0,
    turn_ratio: 0,
  };
  summary.greeting_ratio = Math.round((summary.greeting_ms.ours / summary.greeting_ms.reference) * 100) / 100;
  summary.turn_ratio = Math.round((summary.turn_ms.ours / summary.turn_ms.reference) * 100) / 100;
  console.log(
    `\ndispatch → greeting heard: ours p50 ${summary.greeting_ms.ours} ms, reference p50 ${summary.greeting_ms.reference} ms, ratio ${summary.greeting_ratio}`,
  );
  console.log(
    `end of voice → reply heard: ours p50 ${summary.turn_ms.ours} ms, reference p50 ${summary.turn_ms.reference} ms, ratio ${summary.turn_ratio}`,
  );
  console.log(JSON.stringify({ reference_comparison: summary }));
} finally {
  if (reference && reference.exitCode === null) reference.kill("SIGKILL");
  await h.close();
}

// rtc-node's native handles keep the event loop alive after the last room is gone.
process.exit(0);
