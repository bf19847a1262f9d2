/**
 * The two user-facing latency figures (docs/agent.md, "Tests and figures"), through the whole local stack
 * (what `npm run dev` runs: wrangler dev, the dev LiveKit server, the agent worker, the local
 * OpenAI-compatible provider) and real Chromium whose microphone plays real recorded speech (goforward.raw):
 *
 * - Start click (when the page got it, after Playwright's own actionability wait) → the greeting's first audio
 *   played out in the page;
 * - end of the visitor's voice → the reply's first audio played out in the page, and the share of it this
 *   project adds: that minus the VAD's silence window and the provider's own time (speech decode, chat
 *   completion, first TTS request, read from the provider's log).
 *
 * "Played out" is the first 50 ms sample in which the page's received audio energy grew (webrtc-stats
 * `totalAudioEnergy`), so every audio figure is late by up to 50 ms. Sessions run one after another, each in
 * a fresh browser. Prints one line per session and a JSON summary; asserts nothing.
 * The local provider runs in its instant mode by default (dev/openai/instant.ts: the recording's words by
 * fingerprint at the commit, replies at once, a buzz for speech), so that "this project's share" is measured without
 * pocketsphinx and espeak-ng taking the same two cores; `engines` as the second argument runs them instead.
 * Usage: `npm run bench -- voice [sessions=5] [instant|engines]` (inside the network namespace: bench/run.ts sees
 * to it).
 */
import { readFileSync } from "node:fs";
import { goForwardVoiceEndMs } from "../test/agent/audio.ts";
import { microphoneWav, RECORDINGS } from "../test/e2e/audio.ts";
import { audioOnset, launchWithMicrophone, observed, type Observed } from "../test/e2e/browser.ts";
import { startStack } from "../test/e2e/stack.ts";
import { poll, readTranscript, words } from "../test/e2e/support.ts";
import { sleep, waitFor } from "../test/support/wait.ts";

const SESSIONS = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5)));
/** Received energy that counts as heard (the page's silence stays well below). */
const HEARD = 0.0005;
/** Seconds of silence before the words in the microphone file: the greeting plays out first. */
const LEAD_S = 7;
/**
 * Silero's end-of-speech silence window, ms: the agent uses the plugin's defaults
 * (@livekit/agents-plugin-silero 1.9.0 `vad.ts`, `minSilenceDuration: 550`).
 */
const VAD_SILENCE_MS = 550;

if (!process.env.NETNS_ADDR)
  throw new Error("run through `npm run bench` (WebRTC media needs the test network namespace)");

const voiceMs = goForwardVoiceEndMs();
const MODE = process.argv[3] === "engines" ? "engines" : "instant";
console.log(`provider mode: ${MODE}`);
const stack = await startStack({ providerMode: MODE });
const wav = microphoneWav(stack.dir, "goforward", LEAD_S, 40);

type LogLine = {
  msg?: string;
  time?: string;
  route?: string;
  ms?: number;
  decode_ms?: number;
  session_id?: string;
  connect_ms?: number;
  job_id?: string;
  identity?: string;
};
/**
 * The stack log's JSON lines of one component (the shape of contract/log.ts), with their time in ms since epoch.
 */
function logLines(component: string): Array<LogLine & { at: number }> {
  return readFileSync(stack.logPath, "utf8")
    .split("\n")
    .filter((l) => l.startsWith(`[${component}] {`))
    .flatMap((l) => {
      try {
        const j = JSON.parse(l.slice(l.indexOf("{"))) as LogLine;
        const at = Date.parse(j.time ?? "");
        return Number.isNaN(at) ? [] : [{ ...j, at }];
      } catch {
        return [];
      }
    });
}

interface Row {
  /**
   * The greeting path, ms after the click: microphone open, POST /session sent and answered (one request: the session
   * and the room's token), agent job started, agent session started (room joined), agent track published.
   */
  path: {
    microphone: number;
    sessionSent: number;
    session: number;
    job: number;
    joined: number;
    published: number;
  };
  greeting: number;
  greetingFirstPacket: number;
  connect: number;
  reply: number;
  decode: number;
  chat: number;
  tts: number;
  added: number;
  /** Mean time a received sample waited in Chromium's jitter buffer before playout, over the reply, ms. */
  jitterBuffer: number;
  /**
   * The reply as the agent saw it, ms after the end of voice: its final transcript of the visitor, and the
   * start of its playout (the first reply frame handed to the room: `agent_state_changed` → speaking).
   */
  agent: { final: number; playout: number };
}
const rows: Row[] = [];
/** Per session, ms between asking Playwright to click and the page getting the click (not counted in any figure). */
const playwrightWaits: number[] = [];
const firstPacket = (energy: Observed["energy"], from: number) => energy.find((s) => s.t > from && s.p > 0)?.t ?? NaN;

try {
  for (let i = 0; i < SESSIONS; i++) {
    const b = await launchWithMicrophone(wav);
    try {
      const { page } = b;
      // A visitor reads the page before Start: its Turnstile widget (on in this stack) has issued its token by then,
      // and POST /session does not wait for it.
      await page.goto(`${stack.workerUrl}/chat`, { waitUntil: "networkidle" });
      // When the page got the click (epoch ms): Playwright's click first waits for the button to be visible,
      // stable and hit (200-320 ms here), and that wait is no part of the product's latency.
      await page.evaluate(() =>
        document.addEventListener(
          "click",
          (e) => ((window as unknown as { clickedAt: number }).clickedAt = performance.timeOrigin + e.timeStamp),
          { capture: true, once: true },
        ),
      );
      const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
      const askedAt = Date.now();
      await page.getByRole("button", { name: "Start" }).click();
      // The visitor's click is when the page got it: the wait before it is Playwright's, no part of the product.
      const clicked = await page.evaluate(() => (window as unknown as { clickedAt?: number }).clickedAt);
      const clickAt = clicked === undefined ? askedAt : Math.round(clicked);
      playwrightWaits.push(clickAt - askedAt);
      const sessionId = ((await (await created).json()) as { session_id: string }).session_id;
      const greeting = async () => audioOnset((await observed(page)).energy, clickAt, HEARD);
      const greetingAt = await waitFor("the greeting's audio", greeting, poll(30_000));
      // The page's own view of its requests (W3C Resource Timing), epoch ms: when each left and was answered.
      const requests = await page.evaluate(() =>
        performance.getEntriesByType("resource").map((e) => {
          const r = e as PerformanceResourceTiming;
          return {
            path: new URL(r.name).pathname,
            sent: performance.timeOrigin + r.requestStart,
            end: performance.timeOrigin + r.responseEnd,
          };
        }),
      );
      const request = (path: string) => requests.find((r) => r.path === path && r.sent >= clickAt);

      const finalCaption = async () => (await observed(page)).captions.find((c) => c.role === "user" && c.final);
      const final = await waitFor("the visitor's final caption", finalCaption, poll(60_000));
      if (words(final.text) !== RECORDINGS.goforward.words) console.log(`  (heard "${final.text}")`);
      const seen = await observed(page);
      // The fake microphone starts its file when capture starts; the voice ends voiceMs after the lead.
      const voiceEnd = seen.microphoneAt! + LEAD_S * 1000 + voiceMs;
      const reply = async () => audioOnset((await observed(page)).energy, voiceEnd, HEARD);
      const onset = await waitFor("the reply's audio", reply, poll(30_000));
      // Audio heard up to the end of the voice (the greeting of a slow first conversation still playing) would be
      // taken for the reply's onset: that conversation's reply is not measured.
      const overlapped =
        (audioOnset((await observed(page)).energy, voiceEnd - 200, HEARD) ?? Infinity) <= voiceEnd + 50;
      if (overlapped) console.log("  (audio still playing at the end of the voice: the reply is not measured)");
      const replyAt = overlapped ? NaN : onset;

      const provider = logLines("openai").filter((l) => l.at > voiceEnd && l.at <= replyAt + 100);
      const decode = provider.find((l) => l.msg === "stand_in_transcription")?.decode_ms ?? NaN;
      const chat = provider.find((l) => l.route === "/v1/chat/completions")?.ms ?? NaN;
      const tts = provider.find((l) => l.route === "/v1/audio/speech")?.ms ?? NaN;
      const agentLog = logLines("agent");
      const jobStarted = agentLog.find((l) => l.msg === "job_started" && l.session_id === sessionId);
      const joined = agentLog.find((l) => l.msg === "agent_joined" && l.session_id === sessionId);
      const agentIdentity = `agent-${jobStarted?.job_id}`;
      const published = logLines("livekit").find((l) => l.msg === "track_published" && l.identity === agentIdentity);
      const since = (at: number | undefined) => (at === undefined ? NaN : at - clickAt);
      // Mean jitter-buffer wait over the reply's first second: the browser's share of "heard".
      await sleep(1000 - (Date.now() - onset));
      const { energy } = await observed(page);
      const from = energy.filter((x) => x.t <= replyAt - 50).at(-1);
      const to = energy.filter((x) => x.t <= replyAt + 1000).at(-1);
      const jitterBuffer =
        from && to && to.jn > from.jn ? Math.round(((to.jb - from.jb) / (to.jn - from.jn)) * 1000) : NaN;
      const cookie = (await b.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
      const stored = (await readTranscript(stack.workerUrl, sessionId, cookie)).events;
      const userFinal = stored.find((e) => "text" in e && e.role === "user" && e.ts > voiceEnd)?.ts;
      const playout = stored.find(
        (e) => "event" in e && e.role === "agent" && e.event === "speech_started" && e.ts > voiceEnd,
      )?.ts;
      const row: Row = {
        path: {
          microphone: since(seen.microphoneAt ?? undefined),
          sessionSent: since(request("/session")?.sent),
          session: since(request("/session")?.end),
          job: since(jobStarted?.at),
          joined: since(joined?.at),
          published: since(published?.at),
        },
        greeting: greetingAt - clickAt,
        greetingFirstPacket: firstPacket(seen.energy, clickAt) - clickAt,
        connect: joined?.connect_ms ?? NaN,
        reply: Math.round(replyAt - voiceEnd),
        decode,
        chat,
        tts,
        added: Math.round(replyAt - voiceEnd - VAD_SILENCE_MS - decode - chat - tts),
        jitterBuffer,
        agent: {
          final: userFinal === undefined ? NaN : Math.round(userFinal - voiceEnd),
          playout: playout === undefined ? NaN : Math.round(playout - voiceEnd),
        },
      };
      rows.push(row);
      console.log(
        `session ${i + 1}: click → greeting heard ${row.greeting} ms (microphone ${row.path.microphone}, POST /session sent ${r(row.path.sessionSent)} answered ${r(row.path.session)}, ` +
          `job ${row.path.job}, agent session started ${row.path.joined} (room join took ${row.connect}), track ${row.path.published}, first packet ${row.greetingFirstPacket}); ` +
          `end of voice → reply heard ${row.reply} ms = ${VAD_SILENCE_MS} VAD window + ${decode} decode + ${chat} chat + ${tts} TTS + ${row.added} this project (of which ${row.jitterBuffer} in the browser's jitter buffer); ` +
          `the agent had the final transcript at ${row.agent.final} and started playing the reply at ${row.agent.playout}`,
      );
      await page.getByRole("button", { name: "Stop" }).click();
      await page.getByRole("button", { name: "Start" }).waitFor({ state: "visible", timeout: 15_000 });
    } finally {
      await b.close();
    }
    await sleep(2000); // the job ends and a fresh idle process is ready
  }
} finally {
  await stack.stop();
}

/** Rounded for the log line. */
function r(ms: number): number {
  return Math.round(ms);
}

const pct = (xs: number[], q: number) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};
const col = (k: Exclude<keyof Row, "path" | "agent">) => rows.map((r) => r[k]);
const path = (k: keyof Row["path"]) =>
  pct(
    rows.map((r) => r.path[k]),
    0.5,
  );
console.log(
  JSON.stringify({
    sessions: rows.length,
    click_to_greeting_heard_ms_p50: pct(col("greeting"), 0.5),
    click_to_greeting_heard_ms_p95: pct(col("greeting"), 0.95),
    click_to_greeting_heard_ms_max: pct(col("greeting"), 1),
    click_to_microphone_ms_p50: path("microphone"),
    click_to_session_sent_ms_p50: Math.round(path("sessionSent")),
    click_to_session_created_ms_p50: path("session"),
    click_to_job_started_ms_p50: path("job"),
    click_to_agent_session_started_ms_p50: path("joined"),
    click_to_agent_track_published_ms_p50: path("published"),
    click_to_first_agent_packet_ms_p50: pct(col("greetingFirstPacket"), 0.5),
    agent_room_join_ms_p50: pct(col("connect"), 0.5),
    end_of_voice_to_reply_heard_ms_p50: pct(col("reply"), 0.5),
    vad_silence_window_ms: VAD_SILENCE_MS,
    provider_decode_ms_p50: pct(col("decode"), 0.5),
    provider_chat_ms_p50: pct(col("chat"), 0.5),
    provider_first_tts_ms_p50: pct(col("tts"), 0.5),
    provider_mode: MODE,
    added_by_this_project_ms_p50: pct(col("added"), 0.5),
    added_by_this_project_ms_p95: pct(col("added"), 0.95),
    added_by_this_project_ms_max: pct(col("added"), 1),
    browser_jitter_buffer_ms_p50: pct(col("jitterBuffer"), 0.5),
    end_of_voice_to_agent_final_transcript_ms_p50: pct(
      rows.map((r) => r.agent.final),
      0.5,
    ),
    end_of_voice_to_agent_playout_ms_p50: pct(
      rows.map((r) => r.agent.playout),
      0.5,
    ),
    agent_playout_to_heard_ms_p50: pct(
      rows.map((r) => r.reply - r.agent.playout),
      0.5,
    ),
    added_by_this_project_to_arrival_ms_p50: pct(
      rows.map((r) => r.added - r.jitterBuffer),
      0.5,
    ),
    audio_sampling_ms: 50,
    playwright_click_wait_ms_p50: Math.round(pct(playwrightWaits, 0.5)),
  }),
);
process.exit(0);
