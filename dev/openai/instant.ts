/**
 * The local provider's instant mode (`startDevOpenAI({instant})`, `OPENAI_STAND_IN_MODE=instant`): speech in
 * and out at next to no cost, so that benchmarks measure the project's own latency rather than pocketsphinx
 * (1–4 s of CPU per utterance) and espeak-ng competing for the host's cores.
 *
 * - Speech to text: a catalog of known recordings ({@link InstantCatalog}), each with its transcript and a
 *   fingerprint computed when the provider starts (fingerprint.ts). Audio is matched against them in a few
 *   milliseconds; the best recording scoring at least {@link MATCH_THRESHOLD} gives its transcript, anything
 *   else the empty transcript (never a pocketsphinx run: a bench must not pay for a miss unseen; the log line
 *   says `match: null` with the best score).
 * - Text to speech: {@link buzz}, a voiced buzz as long as espeak-ng would speak the text, computed per request
 *   in well under a millisecond.
 * - Chat completions are the same deterministic rules as always (chat.ts, tools.ts): they have no delay and
 *   stream every chunk at once.
 */
import { existsSync, readFileSync } from "node:fs";
import { PCM_RATE } from "./engines.ts";
import { type Fingerprint, fingerprint, similarity } from "./fingerprint.ts";

/** Where Debian's pocketsphinx-testdata puts its recordings. */
export const TESTDATA = "/usr/share/pocketsphinx/test/data";

/** A recording the catalog knows: what is said in it and where its audio is. */
export interface KnownRecording {
  /** Short name, logged on a match (never the transcript), e.g. "goforward". */
  name: string;
  /** Its audio: a WAV file of PCM16, or raw PCM16 mono little-endian at {@link rate}. */
  file: string;
  /** Sample rate of a raw file, Hz (a WAV file's header gives its own). */
  rate: number;
  /** What is said, as the transcript to return. */
  transcript: string;
}

/**
 * The default catalog: the recordings the e2e tests and the voice bench play into Chromium's fake microphone,
 * with their words (test/e2e/audio.ts `RECORDINGS`; test/agent/openai-dev-instant.test.ts checks that the two
 * lists agree). Both are real recorded speech, 16 kHz mono s16le, from Debian's pocketsphinx-testdata.
 */
export const DEFAULT_RECORDINGS: readonly KnownRecording[] = [
  { name: "goforward", file: `${TESTDATA}/goforward.raw`, rate: 16_000, transcript: "go forward ten meters" },
  { name: "something", file: `${TESTDATA}/something.raw`, rate: 16_000, transcript: "go somewhere and do something" },
];

/**
 * The least {@link similarity} that counts as a match: degraded copies of a recording score 0.86–1.00 against
 * its own fingerprint, other speech at most 0.62 (fingerprint.ts).
 */
export const MATCH_THRESHOLD = 0.75;

/** Matches of the recordings themselves when the catalog is made, so that V8 optimises the code (below). */
const WARM_UP_ROUNDS = 10;

/** What the catalog made of some audio. */
export interface CatalogMatch {
  /** The matched recording's name, or null for none. */
  name: string | null;
  /** Its transcript, "" for none. */
  transcript: string;
  /** The best recording's score (-1 to 1; 0 when the audio has no voiced stretch). */
  score: number;
  /** Every recording's score, by name. */
  scores: Record<string, number>;
  /** Wall time of fingerprinting and matching, ms. */
  ms: number;
}

/** PCM16 samples and their rate. */
export interface Pcm {
  samples: Int16Array;
  rate: number;
}

/** PCM16 little-endian bytes as samples, copied when `bytes` is not 2-byte aligned. */
export function samplesOf(bytes: Buffer): Int16Array {
  const even = bytes.length - (bytes.length % 2);
  if (bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, even / 2);
  return new Int16Array(Uint8Array.from(bytes.subarray(0, even)).buffer);
}

/** Linear-interpolation resampling of PCM16 (for warming up: good enough to look like speech at another rate). */
function resampleLinear(src: Int16Array, from: number, to: number): Int16Array {
  const out = new Int16Array(Math.floor((src.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const x = (i * from) / to;
    const j = Math.floor(x);
    const a = src[j] ?? 0;
    out[i] = Math.round(a + ((src[j + 1] ?? a) - a) * (x - j));
  }
  return out;
}

/**
 * Reads a WAV file of PCM16 (RIFF, format 1 or WAVE_FORMAT_EXTENSIBLE, 16 bits); of several channels, the first.
 * @returns its samples and rate, or null when `file` is not such a WAV file
 */
export function readWav(file: Buffer): Pcm | null {
  if (file.length < 12 || file.toString("latin1", 0, 4) !== "RIFF" || file.toString("latin1", 8, 12) !== "WAVE")
    return null;
  let format: { channels: number; rate: number } | null = null;
  for (let at = 12; at + 8 <= file.length;) {
    const id = file.toString("latin1", at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = file.subarray(at + 8, Math.min(file.length, at + 8 + size));
    if (id === "fmt " && body.length >= 16) {
      const tag = body.readUInt16LE(0);
      if ((tag !== 1 && tag !== 0xfffe) || body.readUInt16LE(14) !== 16) return null;
      format = { channels: body.readUInt16LE(2), rate: body.readUInt32LE(4) };
    } else if (id === "data" && format && format.channels > 0) {
      const all = samplesOf(body);
      if (format.channels === 1) return { samples: all, rate: format.rate };
      const samples = new Int16Array(Math.floor(all.length / format.channels));
      for (let i = 0; i < samples.length; i++) samples[i] = all[i * format.channels]!;
      return { samples, rate: format.rate };
    }
    at += 8 + size + (size % 2);
  }
  return null;
}

/**
 * Known recordings and their fingerprints, for the instant mode's speech to text.
 */
export class InstantCatalog {
  readonly #entries: Array<{ name: string; transcript: string; fingerprint: Fingerprint }>;

  /**
   * @param recordings each recording's name, transcript and audio (PCM16 mono at `rate` Hz)
   * @throws Error when a recording has no voiced stretch to fingerprint (silence, or under 200 ms of sound), or
   *   two share a name
   */
  constructor(recordings: Array<{ name: string; transcript: string } & Pcm>) {
    this.#entries = recordings.map(({ name, transcript, samples, rate }) => {
      const print = fingerprint(samples, rate);
      if (!print) throw new Error(`recording ${name} has no voiced stretch to fingerprint`);
      return { name, transcript, fingerprint: print };
    });
    const names = this.names;
    if (new Set(names).size !== names.length) throw new Error(`recording names must differ: ${names.join(", ")}`);
    // Until V8 has optimised them (about 7 rounds), fingerprinting and matching cost 10-30 ms instead of 2 on the
    // 2-core VM: pay for that at start, at the recordings' rates and the realtime socket's, not in the first
    // utterances.
    const warmUp = recordings.flatMap((r) => [
      r,
      { samples: resampleLinear(r.samples, r.rate, PCM_RATE), rate: PCM_RATE },
    ]);
    for (let round = 0; round < WARM_UP_ROUNDS; round++)
      for (const { samples, rate } of warmUp) this.match(samples, rate);
  }

  /**
   * Reads the recordings' files and fingerprints them (about 0.2 s for the default ones, warm-up included).
   * @param recordings default {@link DEFAULT_RECORDINGS}
   * @throws Error naming a missing file (for the default ones: apt-get install pocketsphinx-testdata), a WAV file
   *   that is not PCM16, or the constructor's errors
   */
  static load(recordings: readonly KnownRecording[] = DEFAULT_RECORDINGS): InstantCatalog {
    return new InstantCatalog(
      recordings.map((r) => {
        if (!existsSync(r.file)) {
          const hint = r.file.startsWith(TESTDATA) ? ": apt-get install pocketsphinx-testdata" : "";
          throw new Error(`recording ${r.name}: ${r.file} is missing${hint}`);
        }
        const bytes = readFileSync(r.file);
        const wav = /\.wav$/i.test(r.file) ? readWav(bytes) : null;
        if (/\.wav$/i.test(r.file) && !wav) throw new Error(`recording ${r.name}: ${r.file} is not a PCM16 WAV file`);
        return { name: r.name, transcript: r.transcript, ...(wav ?? { samples: samplesOf(bytes), rate: r.rate }) };
      }),
    );
  }

  /** The recordings' names, in catalog order. */
  get names(): string[] {
    return this.#entries.map((e) => e.name);
  }

  /**
   * Which recording `samples` hold: the best-scoring one when it reaches {@link MATCH_THRESHOLD}.
   * @param samples PCM16 mono; silence or noise around the words does not matter
   * @param rate their sample rate, Hz (at least 8000)
   * @throws RangeError for a rate below 8000 Hz
   */
  match(samples: Int16Array, rate: number): CatalogMatch {
    const started = performance.now();
    const print = fingerprint(samples, rate);
    const scores: Record<string, number> = {};
    let best: { name: string; transcript: string; score: number } | null = null;
    for (const e of this.#entries) {
      const score = print ? similarity(print, e.fingerprint) : 0;
      scores[e.name] = score;
      if (!best || score > best.score) best = { name: e.name, transcript: e.transcript, score };
    }
    const hit = best && best.score >= MATCH_THRESHOLD ? best : null;
    return {
      name: hit?.name ?? null,
      transcript: hit?.transcript ?? "",
      score: best?.score ?? 0,
      scores,
      ms: performance.now() - started,
    };
  }
}

/** The buzz's fundamental, Hz: a low voice; 200 samples per period at {@link PCM_RATE}. */
const BUZZ_F0 = 120;
/** Sound per character of a word, seconds: espeak-ng at 175 words a minute speaks 57–68 ms per character. */
const BUZZ_CHAR_S = 0.06;
/** Silence after a word (a space), after `,;:` and after `.!?`, seconds. */
const BUZZ_GAP_S = { word: 0.06, clause: 0.15, sentence: 0.3 } as const;
/** Syllable rate of the buzz's loudness, Hz, and the share of the loudness that pulses with it. */
const BUZZ_SYLLABLE_HZ = 5;
const BUZZ_PULSE = 0.4;
/** Fade in and out of each word, seconds: 5 ms, so that the sound starts with the first sample. */
const BUZZ_FADE_S = 0.005;
/** One period of the buzz: a sawtooth-like sum of the harmonics below 4 kHz at 1/k, peak about -10 dBFS. */
const BUZZ_PERIOD = (() => {
  const n = PCM_RATE / BUZZ_F0;
  const period = new Float64Array(n);
  for (let k = 1; k * BUZZ_F0 < 4000; k++)
    for (let i = 0; i < n; i++) period[i]! += Math.sin((2 * Math.PI * k * i) / n) / k;
  const peak = Math.max(...period.map(Math.abs));
  return period.map((v) => (v / peak) * 0.32 * 32767);
})();
/**
 * One syllable of the buzz (a whole number of periods): loud at its start, down by {@link BUZZ_PULSE} in its
 * middle. A word's sound repeats it from its first sample, so that a request costs copies, not arithmetic.
 */
const BUZZ_SYLLABLE = Int16Array.from(
  { length: PCM_RATE / BUZZ_SYLLABLE_HZ },
  (_, i) =>
    BUZZ_PERIOD[i % BUZZ_PERIOD.length]! *
    (1 - BUZZ_PULSE * Math.sin((Math.PI * i * BUZZ_SYLLABLE_HZ) / PCM_RATE) ** 2),
);

/**
 * The instant mode's speech: a voiced buzz (a 120 Hz harmonic tone pulsing at a syllable rate), one burst per
 * word, as long as espeak-ng would take to say the text (60 ms per character, pauses after words and
 * punctuation). Why a buzz rather than espeak-ng, even cached: it costs nothing for every text (the stand-in's
 * replies change with each turn, "Before that, you said 2 other things", so a cache by text would still run
 * espeak-ng once per turn), it needs no espeak-ng, and its sound starts at the first sample at speech level
 * (-17 dBFS RMS in the first 20 ms, -19 dBFS over the whole; espeak-ng's speech: -21 dBFS), so the page's
 * "first sound heard" measures the pipeline, not a synthesiser's lead-in.
 * Captions stay paced as before, because the audio is about as long as the spoken text would be.
 * @param text what would be said (only its length and punctuation count)
 * @returns PCM16 mono little-endian at {@link PCM_RATE} Hz; at least one burst, even for text without words
 */
export function buzz(text: string): Buffer {
  const words = text.match(/\S+/g) ?? ["."];
  const spans = words.map((w, i) => {
    const gap =
      i === words.length - 1 ? 0 : /[.!?]["')\]]*$/.test(w) ? "sentence" : /[,;:]$/.test(w) ? "clause" : "word";
    return {
      sound: Math.round(Math.max(2, w.length) * BUZZ_CHAR_S * PCM_RATE),
      gap: gap ? Math.round(BUZZ_GAP_S[gap] * PCM_RATE) : 0,
    };
  });
  const out = new Int16Array(spans.reduce((n, s) => n + s.sound + s.gap, 0));
  const fade = Math.round(BUZZ_FADE_S * PCM_RATE);
  let at = 0;
  for (const { sound, gap } of spans) {
    for (let i = 0; i < sound; i += BUZZ_SYLLABLE.length)
      out.set(BUZZ_SYLLABLE.subarray(0, Math.min(BUZZ_SYLLABLE.length, sound - i)), at + i);
    for (let i = 0; i < fade; i++) {
      out[at + i] = (out[at + i]! * (i + 1)) / fade;
      out[at + sound - 1 - i] = (out[at + sound - 1 - i]! * (i + 1)) / fade;
    }
    at += sound + gap;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** The provider's modes: `engines` (default: pocketsphinx, espeak-ng) or `instant` (this module). */
export type StandInMode = "engines" | "instant";

/**
 * Reads the `OPENAI_STAND_IN_MODE` variable of `npm run openai:dev`.
 * @param value the variable; unset or empty: "engines"
 * @throws Error naming the accepted values, for any other value
 */
export function parseStandInMode(value: string | undefined): StandInMode {
  if (value === undefined || value === "" || value === "engines") return "engines";
  if (value === "instant") return "instant";
  throw new Error(`OPENAI_STAND_IN_MODE must be "engines" (the default) or "instant", got ${JSON.stringify(value)}`);
}
