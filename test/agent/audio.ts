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

/** A WAV file (RIFF, PCM16 mono) around raw samples. */
export function wav(samples: Int16Array, rate: number): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
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
