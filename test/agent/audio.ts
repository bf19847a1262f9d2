/**
 * Real recorded speech for the agent tests: Debian's pocketsphinx-testdata `goforward.raw`
 * ("go forward ten meters", 16 kHz mono s16le, about 2.5 s).
 */
import { readFileSync } from "node:fs";

export const GOFORWARD = "/usr/share/pocketsphinx/test/data/goforward.raw";
export const GOFORWARD_RATE = 16_000;

/** The recording as samples. */
export function goForward(): Int16Array {
  const buf = readFileSync(GOFORWARD);
  return new Int16Array(buf.buffer, buf.byteOffset, buf.length / 2);
}

/**
 * Milliseconds of trailing silence at the end of a recording: whole 20 ms frames, from the end, whose RMS
 * stays at or below 1 % of full scale (-40 dBFS). The end of the voice is the file's length minus this.
 */
export function trailingSilenceMs(samples: Int16Array, rate: number): number {
  const frame = (rate * 20) / 1000;
  let end = samples.length;
  while (end - frame > 0) {
    let sum = 0;
    for (let i = end - frame; i < end; i++) sum += samples[i]! * samples[i]!;
    if (Math.sqrt(sum / frame) > 32768 * 0.01) break;
    end -= frame;
  }
  return ((samples.length - end) / rate) * 1000;
}

/** Milliseconds from the start of goforward.raw to the end of its voice (its trailing silence left out). */
export function goForwardVoiceEndMs(): number {
  const speech = goForward();
  return (speech.length / GOFORWARD_RATE) * 1000 - trailingSilenceMs(speech, GOFORWARD_RATE);
}

/** Linear-interpolation resampling, good enough to feed test speech to a 24 kHz socket. */
export function resampleLinear(src: Int16Array, from: number, to: number): Int16Array {
  const out = new Int16Array(Math.floor((src.length * to) / from));
  for (let i = 0; i < out.length; i++) {
    const x = (i * from) / to;
    const j = Math.floor(x);
    const a = src[j] ?? 0;
    const b = src[j + 1] ?? a;
    out[i] = Math.round(a + (b - a) * (x - j));
  }
  return out;
}
