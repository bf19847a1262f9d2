/**
 * The pipeline (Silero VAD → STT → LLM → TTS) against live mode (one speech-to-speech model, the Realtime API) in the
 * same run (issue #16): the same real worker (test/agent/worker-harness.ts), the same development LiveKit server, the
 * same local provider, the same recording (goforward.raw), each conversation heard by a fresh rtc-node visitor.
 *
 * Each round runs one conversation in each mode (the order alternates by round), one after another, each in its own
 * room with a fresh session id:
 * - dispatch → greeting heard: the dispatch (`mode: "pipeline"` or `"live"`) is sent while the visitor joins (what the
 *   Worker does at Start), until the first loud frame of the greeting arrives at the visitor. The pipeline's greeting
 *   is the default profile's fixed words synthesized by the TTS; live mode's is the same words spoken by the model;
 * - end of voice → reply heard, for each of {@link TURNS} turns: the visitor's microphone says goforward.raw; from the
 *   end of its voice (the audio source's queue accounted for) to the first loud frame of the reply. A turn with no
 *   reply within {@link REPLY_TIMEOUT_MS} is counted as lost and ends that conversation (a late reply would be taken
 *   for the next turn's). Of it, end of voice → end of turn: the job's user `speech_ended` event (posted to ingest,
 *   stamped on the same host's clock), when the pipeline's Silero or live mode's server VAD ended the turn.
 *
 * The provider runs as the stand-ins normally do (`engines`, the default): pocketsphinx decodes every turn and
 * espeak-ng speaks, in both modes, on the same cores, so both figures include them; `instant` as the second argument
 * runs the stand-ins' instant mode instead (dev/openai/instant.ts: no pocketsphinx, a buzz for speech). Live mode's
 * end-of-turn silence (`REALTIME_SILENCE_MS`) is set to Silero's, so that both turns end after the same silence.
 * Prints one line per conversation, a table (p50, p95 from 20 samples, max, n, the ratio live / pipeline of the
 * p50s), what was lost, and a JSON summary. Asserts nothing.
 *
 * Usage: `npm run bench -- modes [rounds=3, at most 10] [engines|instant]` (inside the network namespace:
 * bench/run.ts sees to it); `MODES_BENCH_LOG=<file>` keeps the worker's, its jobs' and the provider's output there.
 */
import "./quiet-rtc.ts"; // before rtc-node
import "./quiet-dev-livekit.ts"; // before dev/livekit
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { GOFORWARD_RATE, goForward, goForwardVoiceEndMs, resampleLinear } from "../test/agent/audio.ts";
import { startWorkerHarness } from "../test/agent/worker-harness.ts";
import { sleep, waitFor } from "../test/support/wait.ts";
import { cell, ratio, type Summary, summarize, table } from "./stats.ts";
import { complaints, decodes } from "./worker-output.ts";
import { type LoudFrames, loudFrames } from "./visitor-audio.ts";

const addr = process.env.NETNS_ADDR;
if (!addr) throw new Error("run through `npm run bench` (WebRTC media needs the test network namespace)");

const MAX_ROUNDS = 10;
const ROUNDS = Math.min(MAX_ROUNDS, Math.max(1, Math.floor(Number(process.argv[2] ?? 3))));
if (!Number.isFinite(ROUNDS))
  throw new Error(`usage: npm run bench -- modes [rounds 1–${MAX_ROUNDS}] [engines|instant]`);
const PROVIDER = process.argv[3] === "instant" ? "instant" : "engines";
/** `MODES_BENCH_LOG=<file>`: where to write everything the worker, its jobs and the provider wrote, at the end. */
const LOG_FILE = process.env.MODES_BENCH_LOG;
const TURNS = 3;
/**
 * Silero's end-of-speech silence window, ms: the agent loads Silero with the plugin's defaults (agent/main.ts
 * `silero.VAD.load()`; @livekit/agents-plugin-silero 1.9.0 `vad.ts`: `minSilenceDuration: 550`, activation
 * threshold 0.5).
 */
const SILERO_SILENCE_MS = 550;
/** Live mode's server VAD (agent/config.ts `REALTIME_*`): the silence as Silero's, the rest the defaults. */
const REALTIME = {
  REALTIME_SILENCE_MS: SILERO_SILENCE_MS,
  REALTIME_VAD_THRESHOLD: 0.5,
  REALTIME_PREFIX_PADDING_MS: 300,
};
/** The agent is done speaking once it posted `speech_ended` and nothing loud arrived for this long, ms. */
const QUIET_MS = 1200;
/** How long a turn may wait for the reply's first loud frame before it counts as lost, ms. */
const REPLY_TIMEOUT_MS = 30_000;
/** Every other wait (joins, the greeting, the end of a reply, the job leaving), ms. */
const STEP_TIMEOUT_MS = 60_000;

type Mode = "pipeline" | "live";
const MODES: readonly Mode[] = ["pipeline", "live"];

const voice = resampleLinear(goForward(), GOFORWARD_RATE, 48_000);
const voiceEndMs = goForwardVoiceEndMs();

/** Rejects after `ms` unless `p` settled first. */
const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
  ]);

console.log(
  `modes: ${ROUNDS} round(s) × (greeting + ${TURNS} turns) per mode, the order alternating by round, after an ` +
    "unmeasured warm-up conversation per mode\n" +
    (PROVIDER === "engines"
      ? "provider: the local stand-ins in their normal mode, in both modes: pocketsphinx decodes every turn and " +
        "espeak-ng speaks (the figures include them, on the same cores; not the APIs' latency)\n"
      : "provider: the local stand-ins' instant mode, in both modes: the recording's words by fingerprint, " +
        "a buzz for speech\n") +
    `end of turn, pipeline: Silero VAD, silence window ${SILERO_SILENCE_MS} ms (min_silence_duration, the plugin's ` +
    "default; activation 0.5), then the realtime STT's final (committed at Silero's end of speech)\n" +
    `end of turn, live: the server VAD (the stand-in's energy detector on 20 ms frames), silence_duration_ms ` +
    `${REALTIME.REALTIME_SILENCE_MS} (REALTIME_SILENCE_MS), threshold ${REALTIME.REALTIME_VAD_THRESHOLD}, ` +
    `prefix_padding_ms ${REALTIME.REALTIME_PREFIX_PADDING_MS}\n` +
    `"end of turn" = the job's user speech_ended event (its VAD's end of the turn); ` +
    `"heard" = the first 10 ms frame louder than RMS 0.01 at the visitor; a reply not heard within ` +
    `${REPLY_TIMEOUT_MS / 1000} s is lost\n`,
);

const h = await startWorkerHarness(
  addr,
  Object.fromEntries(Object.entries(REALTIME).map(([k, v]) => [k, String(v)])),
  PROVIDER === "instant" ? { instant: true } : {},
);
/** The longest one conversation can take with every wait at its bound, ms. */
const CONVERSATION_BOUND_MS = 4 * STEP_TIMEOUT_MS + TURNS * (REPLY_TIMEOUT_MS + STEP_TIMEOUT_MS) + 45_000;
let closing: Promise<void> | undefined;
const stop = (code: number, why: string) => {
  console.error(why);
  closing ??= h.close();
  void closing.finally(() => process.exit(code));
};
const watchdog = setTimeout(
  () => stop(1, "✖ the benchmark overran its bound; stopped"),
  (ROUNDS + 1) * MODES.length * CONVERSATION_BOUND_MS,
);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop(130, `stopped by ${signal}`));

interface Figures {
  greeting: number[];
  turn: number[];
  /** End of voice → the job's user `speech_ended` (the end of the turn as its VAD saw it), ms. */
  turnEnd: number[];
  /** The provider's decode of each turn (pocketsphinx, or the fingerprint in instant mode), from its log, ms. */
  decode: number[];
  conversations: number;
  greetingsLost: number;
  turnsLost: number;
  /** Turns not said because an earlier one in the same conversation was lost. */
  turnsNotRun: number;
  /** What went wrong, one line each. */
  problems: string[];
}
const emptyFigures = (): Figures => ({
  greeting: [],
  turn: [],
  turnEnd: [],
  decode: [],
  conversations: 0,
  greetingsLost: 0,
  turnsLost: 0,
  turnsNotRun: 0,
  problems: [],
});
const figures: Record<Mode, Figures> = { pipeline: emptyFigures(), live: emptyFigures() };

/**
 * One conversation in `mode`: its greeting and up to `turnCount` turns, measured at the visitor.
 * @param round 1…{@link ROUNDS}; 0 is the warm-up, whose figures are printed and counted nowhere
 */
async function converse(mode: Mode, round: number, turnCount = TURNS): Promise<void> {
  const f = round > 0 ? figures[mode] : emptyFigures();
  f.conversations++;
  const room = `modes-${mode}-${round}-${randomBytes(3).toString("hex")}`;
  const sid = randomBytes(16).toString("base64url"); // 22 base64url characters
  const outputFrom = h.output().length;
  const problem = (what: string) => f.problems.push(`round ${round} (${sid}): ${what}`);
  const spoken = () => h.types(sid).filter((t) => t === "agent speech_ended").length;
  const turns: number[] = [];
  const turnEnds: number[] = [];
  let greeted: number | undefined;
  let heard: LoudFrames | undefined;
  const t0 = Date.now();
  const joining = h.visitor(room, `visitor-${mode}-${round}`);
  try {
    const [visitor] = await Promise.all([
      bounded(joining, STEP_TIMEOUT_MS, "the visitor's join"),
      h.dispatchWith(room, { session_id: sid, mode }),
    ]);
    heard = loudFrames(await bounded(visitor.agentTrack, STEP_TIMEOUT_MS, "the agent's audio track"));
    /** Waits until the agent's `n`th speech has ended and nothing loud arrived for {@link QUIET_MS}. */
    const quietAfter = (n: number, what: string) =>
      waitFor(what, () => spoken() >= n && Date.now() - heard!.last() > QUIET_MS, {
        timeoutMs: STEP_TIMEOUT_MS,
        intervalMs: 50,
      });
    const first = await waitFor("the greeting", () => heard!.after(t0), {
      timeoutMs: STEP_TIMEOUT_MS,
      intervalMs: 5,
    }).catch(() => undefined);
    if (first === undefined) {
      f.greetingsLost++;
      f.turnsNotRun += turnCount;
      problem(`no greeting heard within ${STEP_TIMEOUT_MS / 1000} s`);
      return;
    }
    greeted = first - t0;
    f.greeting.push(greeted);
    await quietAfter(1, "the greeting to end");
    for (let t = 0; t < turnCount; t++) {
      const ahead = visitor.mic.say(voice);
      const voiceStart = Date.now() + ahead;
      const voiceEnd = voiceStart + voiceEndMs;
      const onset = await waitFor(`reply ${t + 1}`, () => heard!.after(voiceEnd), {
        timeoutMs: REPLY_TIMEOUT_MS,
        intervalMs: 5,
      }).catch(() => undefined);
      if (onset === undefined) {
        f.turnsLost++;
        f.turnsNotRun += turnCount - t - 1;
        problem(`turn ${t + 1}: no reply heard within ${REPLY_TIMEOUT_MS / 1000} s`);
        return;
      }
      turns.push(Math.round(onset - voiceEnd));
      f.turn.push(turns.at(-1)!);
      await quietAfter(t + 2, `reply ${t + 1} to end`);
      // The job's own end of the visitor's turn: its last user `speech_ended` (Silero's, or the server VAD's)
      // between the start of the voice and the reply heard. Same host, same clock.
      const ended = h
        .eventsOf(sid)
        .filter((e) => "event" in e && e.role === "user" && e.event === "speech_ended")
        .map((e) => e.ts)
        .filter((ts) => ts >= voiceStart && ts <= onset)
        .at(-1);
      if (ended !== undefined) {
        turnEnds.push(Math.round(ended - voiceEnd));
        f.turnEnd.push(turnEnds.at(-1)!);
      }
    }
  } catch (err) {
    if (greeted === undefined) {
      f.greetingsLost++;
      f.turnsNotRun += turnCount;
    } else f.turnsNotRun += turnCount - turns.length;
    problem((err as Error).message);
  } finally {
    await bounded(heard?.stop() ?? Promise.resolve(), 10_000, "the listener's end").catch(() => {});
    // A join that finishes after its bound is left as soon as it finishes.
    const leaving = joining.then(async (v) => {
      v.mic.stop();
      await v.room.disconnect();
    });
    await bounded(leaving, 10_000, "the visitor's leaving").catch(() => {});
    await h.deleteRoom(room);
    await waitFor("agent_left", () => h.types(sid).includes("agent_left"), { timeoutMs: 30_000 }).catch(() =>
      problem("the job did not post agent_left within 30 s of the room's deletion"),
    );
    await sleep(2000); // the job process exits and the pool warms another one
    const output = h.output().slice(outputFrom);
    const decoded = decodes(output);
    f.decode.push(...decoded);
    const logged = complaints(output);
    const label = round > 0 ? `round ${round}` : "warm-up";
    console.log(
      `${label} ${mode.padEnd(8)} greeting ${greeted ?? "lost"} ms  turns ${turns.join(" / ") || "–"} ms` +
        `  (end of turn ${turnEnds.join(" / ") || "–"} ms, provider decode ${decoded.join(" / ") || "–"} ms)` +
        (logged.length ? `  logged: ${logged.join(", ")}` : ""),
    );
  }
}

try {
  // The first job after the worker registers is slower (its process and the server's first room are cold): one
  // conversation per mode with one turn first, counted nowhere.
  for (const mode of MODES) await converse(mode, 0, 1);
  for (let round = 1; round <= ROUNDS; round++) {
    const order: Mode[] = round % 2 ? ["pipeline", "live"] : ["live", "pipeline"];
    for (const mode of order) await converse(mode, round);
  }
} finally {
  clearTimeout(watchdog);
  if (LOG_FILE) writeFileSync(LOG_FILE, h.output());
  closing ??= h.close();
  await closing;
}

const rows = [
  ["dispatch → greeting heard (ms)", "greeting"],
  ["end of voice → reply heard (ms)", "turn"],
  ["  of which: end of voice → end of turn (ms)", "turnEnd"],
  ["  provider's decode of the turn (ms)", "decode"],
] as const;
type Row = { pipeline: Summary; live: Summary; ratio_p50: number | null };
const summary = {} as Record<(typeof rows)[number][1], Row>;
for (const [, key] of rows) {
  const p = summarize(figures.pipeline[key]);
  const l = summarize(figures.live[key]);
  summary[key] = { pipeline: p, live: l, ratio_p50: ratio(l.p50, p.p50) };
}
console.log(
  `\nprovider: ${PROVIDER}; ${ROUNDS} round(s) × ${TURNS} turns; ` +
    `silence window ${SILERO_SILENCE_MS} ms in both modes\n`,
);
console.log(
  table(
    ["figure", "pipeline p50", "p95", "max", "n", "live p50", "p95", "max", "n", "live / pipeline (p50)"],
    rows.map(([label, key]) => {
      const { pipeline: p, live: l, ratio_p50 } = summary[key];
      return [
        label,
        cell(p.p50),
        cell(p.p95),
        cell(p.max),
        cell(p.n),
        cell(l.p50),
        cell(l.p95),
        cell(l.max),
        cell(l.n),
        ratio_p50 === null ? "–" : ratio_p50.toFixed(2),
      ];
    }),
  ),
);
console.log("");
for (const mode of MODES) {
  const f = figures[mode];
  console.log(
    `${mode}: ${f.conversations} conversations; greetings lost ${f.greetingsLost}, turns lost ${f.turnsLost}` +
      (f.turnsNotRun ? `, turns not run after a loss ${f.turnsNotRun}` : "") +
      f.problems.map((l) => `\n  ${l}`).join(""),
  );
}
console.log(
  JSON.stringify({
    modes_comparison: {
      provider: PROVIDER,
      rounds: ROUNDS,
      turns_per_conversation: TURNS,
      silence_window_ms: { pipeline_silero: SILERO_SILENCE_MS, live_server_vad: REALTIME.REALTIME_SILENCE_MS },
      ...summary,
      lost: Object.fromEntries(
        MODES.map((m) => [
          m,
          { greetings: figures[m].greetingsLost, turns: figures[m].turnsLost, not_run: figures[m].turnsNotRun },
        ]),
      ),
    },
  }),
);

// rtc-node's native handles keep the event loop alive after the last room is gone.
process.exit(0);
