/**
 * The local provider's instant mode (dev/openai/instant.ts, fingerprint.ts): known recordings recognised by
 * fingerprint after the degradations of the WebRTC path, unknown audio not, and transcripts, chat and speech
 * answered at once over a real socket and real HTTP. Real recordings (pocketsphinx-testdata), real sox for the
 * resampling, a real Opus round trip (libopus in the ffmpeg that @livekit/agents ships, @livekit/av), real
 * espeak-ng for unknown speech. Prints the match scores and the fingerprint cost for the record.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { getFfmpegPath } from "@livekit/av";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { resample, synthesize } from "../../dev/openai/engines.ts";
import {
  buzz,
  DEFAULT_RECORDINGS,
  InstantCatalog,
  MATCH_THRESHOLD,
  parseStandInMode,
  readWav,
  samplesOf,
  TESTDATA,
} from "../../dev/openai/instant.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { RECORDINGS, type RecordingName } from "../e2e/audio.ts";
import { wav } from "../support/wav.ts";

const RATE = 24_000;
const CHUNK = RATE / 20; // 50 ms, what the LiveKit plugin appends at a time
const NAMES = Object.keys(RECORDINGS) as RecordingName[];
/** libopus comes with the ffmpeg that @livekit/av bundles (a dependency of @livekit/agents): always installed. */
const FFMPEG: string =
  getFfmpegPath() ??
  (() => {
    throw new Error("@livekit/av's bundled ffmpeg is missing: reinstall the dependencies (npm ci)");
  })();

const toBuffer = (a: Int16Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A repeatable pseudo-random source in [0, 1). */
function random(seed: number): () => number {
  return () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

/** -1, 0 or +1 at random: the silence Chromium's capture path delivers. */
function lsb(samples: number, seed = 3): Int16Array {
  const next = random(seed);
  return Int16Array.from({ length: samples }, () => Math.floor(next() * 3) - 1);
}

/** Uniform white noise at `db` dBFS RMS. */
function noise(samples: number, db: number, seed = 1): Int16Array {
  const next = random(seed);
  const peak = 32768 * 10 ** (db / 20) * Math.sqrt(3);
  return Int16Array.from({ length: samples }, () => Math.trunc((next() - 0.5) * 2 * peak));
}

function recording(file: string): Int16Array {
  return samplesOf(readFileSync(file));
}

/** An Opus round trip at 48 kHz mono: libopus in VoIP mode with 20 ms frames, as WebRTC sends speech. */
function opus(pcm48k: Buffer, kbps: number): Buffer {
  const encoded = execFileSync(
    FFMPEG,
    [
      ...["-v", "error", "-f", "s16le", "-ar", "48000", "-ac", "1", "-i", "pipe:0"],
      ...[
        "-c:a",
        "libopus",
        "-b:a",
        `${kbps}k`,
        "-application",
        "voip",
        "-frame_duration",
        "20",
        "-f",
        "ogg",
        "pipe:1",
      ],
    ],
    { input: pcm48k },
  );
  return execFileSync(FFMPEG, ["-v", "error", "-i", "pipe:0", "-f", "s16le", "-ar", "48000", "-ac", "1", "pipe:1"], {
    input: encoded,
  });
}

interface Degradation {
  /** Gain applied at 48 kHz (clipped to 16 bits). */
  gain: number;
  /** Seconds of ±1 LSB (Chromium's silence) before and after the words. */
  leadS: number;
  tailS: number;
  /** Opus bitrate in kbit/s, or null for no Opus round trip. */
  opusKbps: number | null;
  /** Share of the 24 kHz 20 ms frames zeroed after the trip (lost packets). */
  lost?: number;
  /** White noise added at 24 kHz throughout, dBFS. */
  noiseDb?: number;
}

/**
 * A 16 kHz recording as the agent's STT would get it: resampled to 48 kHz (sox), gain, silence around it, an
 * Opus round trip, resampled to 24 kHz (sox), then lost frames and noise.
 * @returns PCM16 mono at 24 kHz
 */
async function degrade(speech16k: Int16Array, d: Degradation): Promise<Int16Array> {
  const at48 = samplesOf(await resample(toBuffer(speech16k), 16_000, 48_000));
  const silence = lsb((d.leadS + d.tailS) * 48_000 + at48.length);
  const padded = new Int16Array(silence.length);
  const lead = d.leadS * 48_000;
  for (let i = 0; i < padded.length; i++) {
    const v = (i >= lead && i < lead + at48.length ? at48[i - lead]! * d.gain : 0) + silence[i]!;
    padded[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  const trip = d.opusKbps === null ? toBuffer(padded) : opus(toBuffer(padded), d.opusKbps);
  const out = samplesOf(await resample(trip, 48_000, RATE)).slice();
  if (d.lost) {
    const next = random(10);
    for (let at = 0; at < out.length; at += RATE / 50) if (next() < d.lost) out.fill(0, at, at + RATE / 50);
  }
  if (d.noiseDb !== undefined) {
    const n = noise(out.length, d.noiseDb, 5);
    for (let i = 0; i < out.length; i++) out[i] = Math.max(-32768, Math.min(32767, out[i]! + n[i]!));
  }
  return out;
}

const WEBRTC: Degradation = { gain: 0.5, leadS: 1.5, tailS: 1, opusKbps: 24 };
const DEGRADATIONS: Record<string, Degradation> = {
  "resampled only": { gain: 1, leadS: 0.5, tailS: 0.5, opusKbps: null },
  "half level, Opus 24 kbit/s": WEBRTC,
  "4x level (clipping), Opus 12 kbit/s, 3 s after": { gain: 4, leadS: 0.2, tailS: 3, opusKbps: 12 },
  "Opus, 8 % of frames lost": { ...WEBRTC, lost: 0.08 },
  "Opus, noise at -55 dBFS": { ...WEBRTC, noiseDb: -55 },
};

describe("instant mode: the catalog of known recordings", () => {
  const catalog = InstantCatalog.load();
  const degraded: Array<{ name: RecordingName; how: string; pcm: Int16Array }> = [];
  beforeAll(async () => {
    for (const name of NAMES)
      for (const [how, d] of Object.entries(DEGRADATIONS))
        degraded.push({ name, how, pcm: await degrade(recording(RECORDINGS[name].raw), d) });
  });

  it("holds the e2e tests' recordings and their words", () => {
    expect(DEFAULT_RECORDINGS.map((r) => ({ name: r.name, file: r.file, transcript: r.transcript }))).toEqual(
      NAMES.map((name) => ({ name, file: RECORDINGS[name].raw, transcript: RECORDINGS[name].words })),
    );
    expect(catalog.names).toEqual(NAMES);
  });

  it("recognises each recording after resampling, gain, silence, an Opus round trip, lost frames and noise", () => {
    for (const { name, how, pcm } of degraded) {
      const m = catalog.match(pcm, RATE);
      const other = NAMES.find((n) => n !== name)!;
      expect({ how, name: m.name, transcript: m.transcript }).toEqual({
        how,
        name,
        transcript: RECORDINGS[name].words,
      });
      expect(m.scores[other]).toBeLessThan(MATCH_THRESHOLD);
    }
  });

  it("matches no unknown audio: noise, silence, other speech, espeak-ng, even saying the same words", async () => {
    const espeak = async (text: string) => samplesOf(await synthesize(text));
    const unknown: Record<string, { pcm: Int16Array; rate: number }> = {
      "white noise at -30 dBFS": { pcm: noise(3 * RATE, -30), rate: RATE },
      "digital silence": { pcm: new Int16Array(3 * RATE), rate: RATE },
      "±1 LSB": { pcm: lsb(3 * RATE), rate: RATE },
      "numbers.raw (another recording), Opus": {
        pcm: await degrade(recording(`${TESTDATA}/numbers.raw`), WEBRTC),
        rate: RATE,
      },
      "espeak-ng: the weather is nice today": { pcm: await espeak("The weather is nice today."), rate: RATE },
      "espeak-ng: go forward ten meters": { pcm: await espeak("Go forward ten meters."), rate: RATE },
      "espeak-ng: go somewhere and do something": { pcm: await espeak("Go somewhere and do something."), rate: RATE },
    };
    for (const [what, { pcm, rate }] of Object.entries(unknown)) {
      const m = catalog.match(pcm, rate);
      expect({ what, name: m.name, transcript: m.transcript }).toEqual({ what, name: null, transcript: "" });
    }
  });

  it("reads PCM16 WAV files, and refuses recordings without a voiced stretch or a missing file", () => {
    const speech = recording(RECORDINGS.goforward.raw);
    expect(readWav(wav(speech, 16_000))).toEqual({ samples: speech, rate: 16_000 });
    expect(readWav(Buffer.from("not a wav file"))).toBeNull();
    expect(
      () => new InstantCatalog([{ name: "quiet", transcript: "", samples: new Int16Array(RATE), rate: RATE }]),
    ).toThrow(/no voiced stretch/);
    expect(() =>
      InstantCatalog.load([{ name: "x", file: `${TESTDATA}/absent.raw`, rate: 16_000, transcript: "" }]),
    ).toThrow(/absent\.raw is missing: apt-get install pocketsphinx-testdata/);
  });
});

describe("instant mode: the provider", () => {
  let provider: DevOpenAI;
  const lines: Array<Record<string, unknown>> = [];
  const webrtc: Partial<Record<RecordingName, Int16Array>> = {};
  beforeAll(async () => {
    provider = await startDevOpenAI({ instant: true, log: (line) => lines.push(JSON.parse(line)) });
    for (const name of NAMES) webrtc[name] = await degrade(recording(RECORDINGS[name].raw), WEBRTC);
  });
  afterAll(async () => {
    await provider.close();
  });

  it("answers the realtime socket's commit with the known transcript at once, without interims", async () => {
    const ws = new WebSocket(`${provider.baseURL.replace("http", "ws")}/realtime?intent=transcription`);
    const events: Array<{ type: string; delta?: string; transcript?: string }> = [];
    ws.on("message", (d) => events.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once("open", r));
    ws.send(JSON.stringify({ type: "session.update", session: { audio: { input: { turn_detection: null } } } }));

    /** Appends `pcm` 50 ms at a time, lets the provider take it in, commits; returns the events and the wait. */
    const utterance = async (pcm: Int16Array) => {
      const from = events.length;
      for (let i = 0; i < pcm.length; i += CHUNK) {
        const audio = toBuffer(pcm.subarray(i, i + CHUNK)).toString("base64");
        ws.send(JSON.stringify({ type: "input_audio_buffer.append", audio }));
      }
      await sleep(300);
      ws.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
      const deadline = Date.now() + 5000;
      while (!events.slice(from).some((e) => e.type.endsWith(".completed")) && Date.now() < deadline) await sleep(1);
      const mine = events.slice(from);
      const completed = mine.find((e) => e.type.endsWith(".completed"))!;
      return { mine, completed };
    };

    for (const name of NAMES) {
      const { mine, completed } = await utterance(webrtc[name]!);
      expect(completed.transcript).toBe(RECORDINGS[name].words);
      const deltas = mine.filter((e) => e.type.endsWith(".delta"));
      expect(deltas.map((e) => e.delta)).toEqual([RECORDINGS[name].words]); // no interims: one delta, at the commit
    }
    const { completed } = await utterance(noise(2 * RATE, -40));
    expect(completed.transcript).toBe("");
    ws.close();

    const logged = lines.filter((l) => l.msg === "stand_in_transcription");
    expect(logged.map((l) => [l.mode, l.match, l.words, l.interims])).toEqual([
      ["instant", "goforward", 4, 0],
      ["instant", "something", 5, 0],
      ["instant", null, 0, 0],
    ]);
  });

  it("transcribes posted audio by fingerprint", async () => {
    const post = async () => {
      const form = new FormData();
      form.set("file", new File([new Uint8Array(wav(webrtc.something!, RATE))], "audio.wav", { type: "audio/wav" }));
      form.set("model", "gpt-4o-mini-transcribe");
      const res = await fetch(`${provider.baseURL}/audio/transcriptions`, { method: "POST", body: form });
      const body = await res.json();
      const line = lines.findLast((l) => l.route === "/v1/audio/transcriptions")!;
      return { body, line };
    };
    const first = await post();
    const second = await post();
    for (const { body, line } of [first, second]) {
      expect(body).toEqual({ text: "go somewhere and do something" });
      expect(line).toMatchObject({ msg: "stand_in_reply", mode: "instant", match: "something" });
    }
  });

  it("speaks without espeak-ng: a buzz as long as the text would take, loud from its first 20 ms", async () => {
    const input = "I heard you say: go forward ten meters.";
    const res = await fetch(`${provider.baseURL}/audio/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini-tts", voice: "alloy", input, response_format: "pcm" }),
    });
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get("content-type")).toBe("audio/pcm");
    expect(body.equals(buzz(input))).toBe(true);
    const pcm = samplesOf(body);
    // espeak-ng at 175 words a minute says this in 2.6 s, silences included.
    expect(pcm.length / RATE).toBeGreaterThan(2);
    expect(pcm.length / RATE).toBeLessThan(3);
    const first = pcm.subarray(0, RATE / 50);
    const db = 10 * Math.log10(first.reduce((s, v) => s + v * v, 0) / first.length / 32768 ** 2);
    expect(db).toBeGreaterThan(-20);
    // A longer text sounds longer; an empty one is refused as before.
    expect(buzz(input + " " + input).length).toBeGreaterThan(1.9 * body.length);
    const empty = await fetch(`${provider.baseURL}/audio/speech`, {
      method: "POST",
      body: JSON.stringify({ input: " ", response_format: "pcm" }),
    });
    expect(empty.status).toBe(400);
  });

  it("streams a chat completion and still calls tools by its rules", async () => {
    const res = await fetch(`${provider.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "add a task to call the dentist" }],
        tools: [
          {
            type: "function",
            function: {
              name: "add_task",
              description: "Adds a task.\nExamples: add a task to buy milk | put call mum on my list",
              parameters: { type: "object", properties: { title: { type: "string" } }, required: ["title"] },
            },
          },
        ],
      }),
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    let text = new TextDecoder().decode(first.value);
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    expect(text).toContain('"name":"add_task"');
    expect(text).toContain('"finish_reason":"tool_calls"');
    const line = lines.findLast((l) => l.route === "/v1/chat/completions")!;
    expect(line).toMatchObject({ mode: "instant", reply: "tool_call", tool: "add_task" });
  });

  it("says instant in every line it logs", () => {
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.filter((l) => l.mode !== "instant")).toEqual([]);
    expect(lines.find((l) => l.msg === "stand_in_listening")!.note).toMatch(/instant mode/);
  });
});

describe("OPENAI_STAND_IN_MODE", () => {
  it("accepts engines (the default) and instant, and nothing else", () => {
    expect([undefined, "", "engines", "instant"].map(parseStandInMode)).toEqual([
      "engines",
      "engines",
      "engines",
      "instant",
    ]);
    expect(() => parseStandInMode("fast")).toThrow(
      /OPENAI_STAND_IN_MODE must be "engines" \(the default\) or "instant", got "fast"/,
    );
  });

  /** Runs `npm run openai:dev` (dev/openai/cli.ts) on an ephemeral port until its first log line or its exit. */
  function cli(mode: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ["dev/openai/cli.ts", "--port", "0", "--host", "127.0.0.1"], {
      cwd: new URL("../..", import.meta.url).pathname,
      env: { ...process.env, OPENAI_STAND_IN_MODE: mode },
    });
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    return new Promise((resolve) => {
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
        if (stdout.includes("\n")) child.kill("SIGTERM");
      });
      child.on("exit", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("refuses an unknown value with exit code 2 and a clear message", async () => {
    const { code, stdout, stderr } = await cli("quick");
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain('OPENAI_STAND_IN_MODE must be "engines" (the default) or "instant", got "quick"');
  });

  it("starts the provider in instant mode, and in the usual mode without the variable's value", async () => {
    const instant = JSON.parse((await cli("instant")).stdout.split("\n")[0]!);
    expect(instant).toMatchObject({ msg: "stand_in_listening", mode: "instant" });
    const usual = JSON.parse((await cli("")).stdout.split("\n")[0]!);
    expect(usual.msg).toBe("stand_in_listening");
    expect(usual).not.toHaveProperty("mode");
    expect(usual.note).toMatch(/pocketsphinx, espeak-ng/);
  });
});
