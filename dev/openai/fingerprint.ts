/**
 * An audio fingerprint of a spoken utterance for the provider's instant mode (instant.ts): which known recording
 * a stretch of audio is, without decoding speech, in about 2 ms for 5 s of 24 kHz audio, after the audio went
 * through the WebRTC path (Chromium's fake capture or rtc-node, Opus, resampling to 24 kHz, automatic gain).
 *
 * The fingerprint covers the voiced stretch: from the first to the last 20 ms frame within
 * {@link VOICED_BELOW_PEAK_DB} of the loudest frame and {@link VOICED_ABOVE_NOISE_DB} above the noise floor (the
 * {@link NOISE_PERCENTILE} frame level), so leading and trailing silence or steady noise are left out. Each of its
 * frames gives the level (dBFS, floored at {@link LEVEL_RANGE_DB} below the peak or just above the noise floor)
 * and the spectral shape in the {@link BAND_EDGES_HZ} bands (each band's log energy minus the frame's mean over
 * the bands; 0 in frames at the floor, whose spectrum is the noise's), each dimension minus its mean over the
 * stretch. That survives the path: levels are relative (a gain change is a constant offset, taken out), the
 * bands lie between 150 Hz and 4 kHz (inside Opus' band at any bitrate WebRTC uses for speech), the floors hide
 * the path's noise (digital silence, dither, comfort noise), and no sample value or phase is compared.
 *
 * Two fingerprints are compared by dynamic time warping ({@link similarity}): the alignment of their frames
 * with the least summed distance, within {@link WARP_BAND} of the diagonal and skipping up to
 * {@link EDGE_SLACK_FRAMES} at either end, then the Pearson correlation of the aligned feature values. The
 * score is 1 for the same audio and near 0 for unrelated sounds. Measured with goforward.raw and something.raw
 * of pocketsphinx-testdata, each against the other's fingerprint: an Opus round trip (12–24 kbit/s), gain
 * changes, ±5–8 % tempo, band limits, 8 % of frames lost or noise at -50 dBFS kept the own score at 0.86–0.99
 * and the other's at 0.47–0.62; another speaker's or espeak-ng's sentences scored 0.29–0.57 against both, and
 * white noise has no fingerprint (test/agent/openai-dev-instant.test.ts checks and prints the margins).
 */

/** Frame hop: 20 ms. */
const HOP_S = 0.02;
/** Analysis window: 40 ms (two hops, Hann), so that the envelope does not jitter with the frame grid. */
const WINDOW_HOPS = 2;
/** Band edges, Hz: 8 bands, roughly even on the mel scale. */
export const BAND_EDGES_HZ = [150, 300, 500, 750, 1050, 1450, 2000, 2800, 4000] as const;
const BANDS = BAND_EDGES_HZ.length - 1;
/** Dimensions per frame: the level and the {@link BANDS} band shapes. */
const DIMS = BANDS + 1;
/** The noise floor is this percentile of the frame levels. */
const NOISE_PERCENTILE = 0.1;
/** Audio whose loudest frame is less than this above its noise floor is steady noise, dB. */
const MIN_DYNAMICS_DB = 12;
/** The voiced stretch runs from the first to the last frame at most this far below the loudest frame, dB … */
const VOICED_BELOW_PEAK_DB = 25;
/** … and at least this far above the noise floor, dB. */
const VOICED_ABOVE_NOISE_DB = 10;
/** Levels are floored this far below the loudest frame … */
const LEVEL_RANGE_DB = 25;
/** … or this far above the noise floor, whichever is higher, dB. */
const QUIET_ABOVE_NOISE_DB = 3;
/** Band shapes are floored this far below their maximum over the stretch, dB. */
const SHAPE_RANGE_DB = 20;
/** Audio whose loudest frame is quieter than this is silence, dBFS. */
const SILENCE_DB = -55;
/** A voiced stretch shorter than this (200 ms) is a click or a breath, not an utterance. */
const MIN_FRAMES = 10;
/** Warping may stray this share of the reference's length from the diagonal (plus the edge slack). */
const WARP_BAND = 0.2;
/** Frames the alignment may skip at the start and at the end of either side (200 ms). */
const EDGE_SLACK_FRAMES = 10;
/** Voiced stretches whose lengths differ by more than this factor are not compared (score 0). */
const MAX_LENGTH_RATIO = 1.6;

/** The fingerprint of an utterance's voiced stretch. */
export interface Fingerprint {
  /** Frames (20 ms each). */
  frames: number;
  /** `frames` × {@link DIMS} values, frame-major, dB, each dimension mean-free over the stretch. */
  features: Float32Array;
}

interface Fft {
  size: number;
  cos: Float64Array;
  sin: Float64Array;
  reversed: Uint32Array;
}
const ffts = new Map<number, Fft>();

/** Twiddles and the bit-reversal permutation of a radix-2 FFT of `size` points (a power of 2), cached. */
function fftOf(size: number): Fft {
  let f = ffts.get(size);
  if (f) return f;
  const bits = Math.log2(size);
  const cos = new Float64Array(size / 2);
  const sin = new Float64Array(size / 2);
  for (let i = 0; i < size / 2; i++) {
    cos[i] = Math.cos((2 * Math.PI * i) / size);
    sin[i] = -Math.sin((2 * Math.PI * i) / size);
  }
  const reversed = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    reversed[i] = r;
  }
  f = { size, cos, sin, reversed };
  ffts.set(size, f);
  return f;
}

/** In-place iterative radix-2 FFT of `re` + i·`im` (length `f.size`). */
function fft(f: Fft, re: Float64Array, im: Float64Array): void {
  const n = f.size;
  for (let i = 0; i < n; i++) {
    const j = f.reversed[i]!;
    if (j > i) {
      const t = re[i]!;
      re[i] = re[j]!;
      re[j] = t;
      const u = im[i]!;
      im[i] = im[j]!;
      im[j] = u;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let start = 0; start < n; start += len) {
      for (let k = 0; k < half; k++) {
        const wr = f.cos[k * step]!;
        const wi = f.sin[k * step]!;
        const a = start + k;
        const b = a + half;
        const br = re[b]!;
        const bi = im[b]!;
        const ar = re[a]!;
        const ai = im[a]!;
        const xr = br * wr - bi * wi;
        const xi = br * wi + bi * wr;
        re[b] = ar - xr;
        im[b] = ai - xi;
        re[a] = ar + xr;
        im[a] = ai + xi;
      }
    }
  }
}

/**
 * The fingerprint of the utterance in `pcm`.
 * @param pcm PCM16 mono samples; leading and trailing silence or steady noise are left out
 * @param rate their sample rate, Hz (at least 8000: the bands reach 4 kHz)
 * @returns the fingerprint of the voiced stretch, or null when there is none (silence, or under 200 ms of sound)
 * @throws RangeError for a rate below 8000 Hz
 */
export function fingerprint(pcm: Int16Array, rate: number): Fingerprint | null {
  if (!(rate >= 8000)) throw new RangeError(`sample rate must be at least 8000 Hz, got ${rate}`);
  const hop = Math.round(rate * HOP_S);
  const win = hop * WINDOW_HOPS;
  const count = pcm.length < win ? 0 : Math.floor((pcm.length - win) / hop) + 1;
  if (count < MIN_FRAMES) return null;

  // Frame levels first (cheap): only the voiced stretch gets a spectrum.
  const levels = new Float64Array(count);
  let peak = -Infinity;
  for (let f = 0; f < count; f++) {
    let sum = 0;
    for (let i = f * hop, end = i + win; i < end; i++) sum += pcm[i]! * pcm[i]!;
    levels[f] = 10 * Math.log10(sum / win / 32768 ** 2 + 1e-12);
    peak = Math.max(peak, levels[f]!);
  }
  const noise = Float64Array.from(levels).sort()[Math.floor((count - 1) * NOISE_PERCENTILE)]!;
  if (peak < SILENCE_DB || peak - noise < MIN_DYNAMICS_DB) return null;
  const voiced = Math.max(peak - VOICED_BELOW_PEAK_DB, noise + VOICED_ABOVE_NOISE_DB);
  const quiet = Math.max(peak - LEVEL_RANGE_DB, noise + QUIET_ABOVE_NOISE_DB);
  let first = 0;
  let last = count - 1;
  while (levels[first]! < voiced) first++;
  while (levels[last]! < voiced) last--;
  const frames = last - first + 1;
  if (frames < MIN_FRAMES) return null;

  let size = 1;
  while (size < win) size <<= 1;
  // A real FFT of `size` points as a complex FFT of size/2 (even samples real, odd imaginary), then split.
  const half = size / 2;
  const plan = fftOf(half);
  const twiddle = fftOf(size);
  const hann = new Float64Array(win).map((_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / win));
  const binOf = (hz: number) => Math.min(half - 1, Math.round((hz * size) / rate));
  const edges = BAND_EDGES_HZ.map(binOf);
  const re = new Float64Array(half);
  const im = new Float64Array(half);
  const features = new Float32Array(frames * DIMS);
  for (let f = 0; f < frames; f++) {
    const at = (first + f) * hop;
    re.fill(0);
    im.fill(0);
    for (let i = 0; i < win; i++) {
      const v = pcm[at + i]! * hann[i]!;
      if (i & 1) im[i >> 1] = v;
      else re[i >> 1] = v;
    }
    fft(plan, re, im);
    const row = f * DIMS;
    let mean = 0;
    for (let b = 0; b < BANDS; b++) {
      let e = 0;
      for (let k = edges[b]!; k < edges[b + 1]!; k++) {
        // X[k] = E[k] + W^k·O[k], E = (Z[k] + conj Z[half-k]) / 2, O = (Z[k] - conj Z[half-k]) / 2i
        const c = (half - k) % half;
        const er = (re[k]! + re[c]!) / 2;
        const ei = (im[k]! - im[c]!) / 2;
        const or = (im[k]! + im[c]!) / 2;
        const oi = (re[c]! - re[k]!) / 2;
        const wr = twiddle.cos[k]!;
        const wi = twiddle.sin[k]!;
        const xr = er + wr * or - wi * oi;
        const xi = ei + wr * oi + wi * or;
        e += xr * xr + xi * xi;
      }
      // Mean power per bin, so that bands of different widths and rates compare; +1 keeps log10 finite.
      const db = 10 * Math.log10(e / Math.max(1, edges[b + 1]! - edges[b]!) + 1);
      features[row + 1 + b] = db;
      mean += db / BANDS;
    }
    for (let b = 0; b < BANDS; b++) features[row + 1 + b]! -= mean;
    features[row] = levels[first + f]!;
  }
  // The level: floored at `quiet` (below it is the path's noise, not the utterance), mean-free.
  let mean = 0;
  for (let f = 0; f < frames; f++) mean += (features[f * DIMS] = Math.max(features[f * DIMS]!, quiet)) / frames;
  for (let f = 0; f < frames; f++) features[f * DIMS]! -= mean;
  // The shape: floored at SHAPE_RANGE_DB below its maximum, mean-free over the frames above `quiet`, and 0 (the
  // mean) in the frames below it, whose spectrum is the noise's.
  for (let d = 1; d < DIMS; d++) {
    let max = -Infinity;
    for (let f = 0; f < frames; f++) max = Math.max(max, features[f * DIMS + d]!);
    let sum = 0;
    let loud = 0;
    for (let f = 0; f < frames; f++) {
      const i = f * DIMS + d;
      features[i] = Math.max(features[i]!, max - SHAPE_RANGE_DB);
      if (levels[first + f]! >= quiet) {
        sum += features[i]!;
        loud++;
      }
    }
    for (let f = 0; f < frames; f++) {
      const i = f * DIMS + d;
      features[i] = levels[first + f]! >= quiet ? features[i]! - sum / loud : 0;
    }
  }
  return { frames, features };
}

/**
 * How alike two utterances are: the correlation of their fingerprints along the best time alignment (see the
 * module comment).
 * @returns the Pearson correlation of the aligned feature values, -1 to 1 (1: the same audio); 0 when their
 *   voiced stretches differ in length by more than {@link MAX_LENGTH_RATIO}
 */
export function similarity(a: Fingerprint, b: Fingerprint): number {
  const n = a.frames;
  const m = b.frames;
  if (Math.max(n, m) > MAX_LENGTH_RATIO * Math.min(n, m)) return 0;
  const fa = a.features;
  const fb = b.features;
  const band = WARP_BAND * m + EDGE_SLACK_FRAMES;
  const cost = new Float64Array(n * m).fill(Infinity);
  // 0: diagonal step, 1: from (i-1, j), 2: from (i, j-1), 3: a start
  const from = new Uint8Array(n * m);
  for (let i = 0; i < n; i++) {
    const centre = (i * (m - 1)) / Math.max(1, n - 1);
    const lo = Math.max(0, Math.ceil(centre - band));
    const hi = Math.min(m - 1, Math.floor(centre + band));
    for (let j = lo; j <= hi; j++) {
      let d = 0;
      for (let k = 0; k < DIMS; k++) {
        const x = fa[i * DIMS + k]! - fb[j * DIMS + k]!;
        d += x * x;
      }
      d = Math.sqrt(d);
      const here = i * m + j;
      let best = Infinity;
      let step = 3;
      if ((i === 0 && j < EDGE_SLACK_FRAMES) || (j === 0 && i < EDGE_SLACK_FRAMES)) best = 0;
      if (i > 0 && j > 0 && cost[here - m - 1]! < best) [best, step] = [cost[here - m - 1]!, 0];
      if (i > 0 && cost[here - m]! < best) [best, step] = [cost[here - m]!, 1];
      if (j > 0 && cost[here - 1]! < best) [best, step] = [cost[here - 1]!, 2];
      if (best === Infinity) continue;
      cost[here] = best + d;
      from[here] = step;
    }
  }
  let end = -1;
  for (let j = Math.max(0, m - EDGE_SLACK_FRAMES); j < m; j++)
    if (end < 0 || cost[(n - 1) * m + j]! < cost[end]!) end = (n - 1) * m + j;
  for (let i = Math.max(0, n - EDGE_SLACK_FRAMES); i < n; i++)
    if (cost[i * m + m - 1]! < cost[end]!) end = i * m + m - 1;
  if (!Number.isFinite(cost[end]!)) return 0;

  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let count = 0;
  for (let at = end; ;) {
    const i = Math.floor(at / m);
    const j = at % m;
    for (let k = 0; k < DIMS; k++) {
      const x = fa[i * DIMS + k]!;
      const y = fb[j * DIMS + k]!;
      sx += x;
      sy += y;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
    }
    count += DIMS;
    const step = from[at];
    if (step === 3) break;
    at = step === 0 ? at - m - 1 : step === 1 ? at - m : at - 1;
  }
  const cov = sxy - (sx * sy) / count;
  const va = sxx - (sx * sx) / count;
  const vb = syy - (sy * sy) / count;
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0;
}
