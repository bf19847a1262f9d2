/**
 * The local provider's realtime transcription socket (dev/openai/realtime.ts) when the words come after
 * a long wait, as they do when the agent's VAD commits late: what it decodes stays the utterance, whatever
 * the audio before it. Real recordings (pocketsphinx-testdata), real pocketsphinx; the work is read from the
 * `stand_in_transcription` log line, never from wall-clock time.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { UtteranceBuffer } from "../../dev/openai/realtime.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";

const RATE = 24_000;
const CHUNK = RATE / 20; // 50 ms, what the LiveKit plugin appends at a time

/** "go somewhere and do something", 16 kHz mono s16le (pocketsphinx-testdata). */
function something(): Int16Array {
  const buf = readFileSync("/usr/share/pocketsphinx/test/data/something.raw");
  return new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
}

/** Uniform white noise, the same every run, at `db` dBFS RMS; null: ±1 LSB, the silence Chromium's path delivers. */
function noiseSource(db: number | null): () => number {
  let seed = 1;
  const peak = db === null ? 1.5 : 32768 * 10 ** (db / 20) * Math.sqrt(3);
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return Math.trunc((seed / 2 ** 31 - 0.5) * 2 * peak);
  };
}

/** 24 kHz audio: `leadS` s of noise, then `speech` (16 kHz) over the same noise, then 1 s more of it. */
function afterWait(speech: Int16Array, leadS: number, noiseDb: number | null): { pcm: Int16Array; speechAt: number } {
  const voice = resampleLinear(speech, GOFORWARD_RATE, RATE);
  const speechAt = leadS * RATE;
  const pcm = new Int16Array(speechAt + voice.length + RATE);
  const noise = noiseSource(noiseDb);
  for (let i = 0; i < pcm.length; i++) {
    const v = noise() + (i >= speechAt && i < speechAt + voice.length ? voice[i - speechAt]! : 0);
    pcm[i] = Math.max(-32768, Math.min(32767, v));
  }
  return { pcm, speechAt };
}

const toBuffer = (a: Int16Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TranscriptionLine {
  audio_ms: number;
  utterance_ms: number;
  words: number;
  interims: number;
  interim_audio_ms: number;
}

describe("realtime transcription after a long wait", () => {
  let provider: DevOpenAI;
  const logLines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    provider = await startDevOpenAI({ port: 0, log: (line) => logLines.push(JSON.parse(line)) });
  });
  afterAll(async () => {
    await provider.close();
  });

  /**
   * Appends `pcm` in 50 ms chunks, the wait before `speechAt` at 10x real time and the rest in real time,
   * commits, and returns the final transcript and the provider's log line for it.
   */
  async function stream(pcm: Int16Array, speechAt: number): Promise<{ transcript: string; line: TranscriptionLine }> {
    const ws = new WebSocket(`${provider.baseURL.replace("http", "ws")}/realtime?intent=transcription`);
    const completed = new Promise<string>((resolve) =>
      ws.on("message", (d) => {
        const e = JSON.parse(d.toString()) as { type: string; transcript?: string };
        if (e.type === "conversation.item.input_audio_transcription.completed") resolve(e.transcript!);
      }),
    );
    await new Promise((r) => ws.once("open", r));
    const before = logLines.length;
    for (let i = 0; i < pcm.length; i += CHUNK) {
      const audio = toBuffer(pcm.subarray(i, i + CHUNK)).toString("base64");
      ws.send(JSON.stringify({ type: "input_audio_buffer.append", audio }));
      await sleep(i < speechAt ? 5 : 50);
    }
    ws.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
    const transcript = await completed;
    ws.close();
    const line = logLines.slice(before).find((l) => l.msg === "stand_in_transcription");
    return { transcript, line: line as unknown as TranscriptionLine };
  }

  /** The bounds of the work for one utterance of a recording `speechMs` long, whatever came before it. */
  function expectBoundedWork(line: TranscriptionLine, speechMs: number, waitMs: number) {
    expect(line.audio_ms).toBeGreaterThan(waitMs + speechMs);
    // The final decodes the recording with 0.3 s on each side at most, not the wait.
    expect(line.utterance_ms).toBeGreaterThan(1000);
    expect(line.utterance_ms).toBeLessThanOrEqual(speechMs + 640);
    // Interims: one per second of utterance at most, each over no more than the utterance.
    expect(line.interims).toBeGreaterThanOrEqual(1);
    expect(line.interims).toBeLessThanOrEqual(Math.ceil(line.utterance_ms / 1000));
    expect(line.interim_audio_ms).toBeLessThanOrEqual(line.interims * line.utterance_ms);
  }

  it("decodes only the words behind 30 s of low-level noise (-50 dBFS), with bounded interims", async () => {
    const speech = goForward();
    const { pcm, speechAt } = afterWait(speech, 30, -50);
    const { transcript, line } = await stream(pcm, speechAt);
    expect(transcript).toBe("go forward ten meters");
    expect(line.words).toBe(4);
    expectBoundedWork(line, (speech.length / GOFORWARD_RATE) * 1000, 30_000);
  });

  it("decodes only the words behind 32 s of near-silence (±1 LSB), with bounded interims", async () => {
    const speech = something();
    const { pcm, speechAt } = afterWait(speech, 32, null);
    const { transcript, line } = await stream(pcm, speechAt);
    expect(transcript).toBe("go somewhere and do something");
    expect(line.words).toBe(5);
    expectBoundedWork(line, (speech.length / GOFORWARD_RATE) * 1000, 32_000);
  });

  it("gets the final right when 8 % of the 20 ms frames were lost on the way (a loaded host's dropped packets)", async () => {
    const { pcm, speechAt } = afterWait(something(), 2, null);
    // A fixed loss pattern, the same every run; with it the first pass alone hears "go somewhere and do some
    // fun", and the full search the sentence.
    let seed = 10;
    for (let at = speechAt; at < pcm.length; at += RATE / 50) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      if (seed / 2 ** 31 < 0.08) pcm.fill(0, at, at + RATE / 50);
    }
    const { transcript } = await stream(pcm, speechAt);
    expect(transcript).toBe("go somewhere and do something");
  });

  it("completes a commit of silence with an empty transcript and no decode", async () => {
    const { pcm } = afterWait(new Int16Array(0), 5, -50);
    const { transcript, line } = await stream(pcm, pcm.length);
    expect(transcript).toBe("");
    expect(line).toMatchObject({ utterance_ms: 0, words: 0, interims: 0, interim_audio_ms: 0 });
  });
});

describe("UtteranceBuffer", () => {
  const FRAME = RATE / 50; // 20 ms
  const framesOf = (samples: number) => Math.floor(samples / FRAME);
  const keptOf = (pcm: Int16Array) => {
    const buffer = new UtteranceBuffer();
    buffer.append(toBuffer(pcm));
    return buffer.keptFrames;
  };

  it("keeps the speech and 0.3 s around it, not the 30 s of noise before it, appended in pieces of any size", () => {
    const speech = goForward();
    const bytes = toBuffer(afterWait(speech, 30, -50).pcm);
    const buffer = new UtteranceBuffer();
    for (let i = 0; i < bytes.length; i += 777) buffer.append(bytes.subarray(i, i + 777));
    expect(buffer.receivedBytes).toBe(bytes.length);
    const recording = framesOf((speech.length * RATE) / GOFORWARD_RATE);
    expect(buffer.voicedFrames).toBeGreaterThan(recording / 2);
    const kept = buffer.keptFrames;
    expect(kept).toBeLessThanOrEqual(recording + 30);
    expect(buffer.take().length).toBe(kept * FRAME * 2);
    expect([buffer.receivedBytes, buffer.keptFrames, buffer.voicedFrames]).toEqual([0, 0, 0]);
  });

  it("keeps nothing of steady noise or silence alone", () => {
    for (const db of [-50, -30, null]) expect(keptOf(afterWait(new Int16Array(0), 10, db).pcm)).toBe(0);
    expect(keptOf(new Int16Array(10 * RATE))).toBe(0);
  });

  it("shrinks a long pause between utterances to 0.6 s", () => {
    const words = afterWait(goForward(), 0.5, null).pcm;
    const pcm = new Int16Array(words.length * 2 + 20 * RATE);
    pcm.set(words);
    pcm.set(words, words.length + 20 * RATE);
    const once = keptOf(words);
    expect(once).toBeLessThan(framesOf(words.length));
    expect(Math.abs(keptOf(pcm) - 2 * once)).toBeLessThanOrEqual(2);
  });

  it("holds the latest 30 s of an endless utterance", () => {
    // Syllable-like bursts for 40 s, 0.1 s at -20 dBFS and 0.1 s at -60 dBFS: voiced throughout.
    const [loud, quiet] = [noiseSource(-20), noiseSource(-60)];
    const pcm = new Int16Array(40 * RATE);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.floor(i / (RATE / 10)) % 2 ? quiet() : loud();
    const buffer = new UtteranceBuffer();
    buffer.append(toBuffer(pcm));
    expect(buffer.keptFrames).toBeGreaterThan(framesOf(39 * RATE));
    expect(buffer.take().length).toBe(30 * RATE * 2);
  });
});
