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
