/**
 * Audio levels on the page: the page's one AudioContext, AnalyserNode taps on MediaStreamTracks sampled by one
 * requestAnimationFrame loop, and the microphone level meter, written to the CSS custom property `--level` (0…1)
 * of the meter element. The agent's voice visualizer (visualizer.ts) taps the agent's track the same way. Setting a
 * custom property through CSSOM is allowed by the page's `style-src 'self'` CSP (unlike style attributes).
 */

/** RMS of a time-domain frame mapped to 0…1 on a dB scale (−60 dBFS → 0, −10 dBFS → 1). */
export function levelFromSamples(samples: Float32Array): number {
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / Math.max(1, samples.length));
  const db = 20 * Math.log10(rms || 1e-9);
  return Math.min(1, Math.max(0, (db + 60) / 50));
}

let context: AudioContext | null = null;

/**
 * The page's one AudioContext, created on the first call and resumed on every call. Creating it can hold the main
 * thread for a few hundred ms (docs/web.md, "How the page script works"), so the start flow calls this (through
 * `LevelMeter.prepare()`) inside the click handler, after the session request and the microphone are on their way.
 */
export function audioContext(): AudioContext {
  context ??= new AudioContext();
  void context.resume().catch(() => undefined);
  return context;
}

/** What each animation frame runs: one callback per tap. */
const taps = new Set<() => void>();
let frame = 0;

function tick(): void {
  for (const run of taps) run();
  frame = taps.size > 0 ? requestAnimationFrame(tick) : 0;
}

/**
 * Taps `track` with an AnalyserNode of the page's AudioContext and calls `sample(analyser)` once per animation
 * frame (all taps share one requestAnimationFrame loop, which runs only while there is a tap).
 * @param fftSize the analyser's `fftSize` (a power of two, 32…32768)
 * @returns a function that stops the tap and disconnects it (idempotent)
 */
export function tap(track: MediaStreamTrack, fftSize: number, sample: (analyser: AnalyserNode) => void): () => void {
  const ctx = audioContext();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = fftSize;
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  source.connect(analyser);
  const run = () => sample(analyser);
  taps.add(run);
  frame ||= requestAnimationFrame(tick);
  return () => {
    taps.delete(run);
    source.disconnect();
  };
}

export class LevelMeter {
  readonly #el: HTMLElement;
  #untap: (() => void) | null = null;
  #muted = false;

  constructor(el: HTMLElement) {
    this.#el = el;
  }

  /** Creates the page's AudioContext ({@link audioContext}); call inside the click handler so it starts running. */
  prepare(): void {
    audioContext();
  }

  /** Starts showing the level of `track` (and stops showing the previous one). */
  attach(track: MediaStreamTrack): void {
    this.detach();
    const samples = new Float32Array(1024);
    let smoothed = 0;
    this.#untap = tap(track, samples.length, (analyser) => {
      analyser.getFloatTimeDomainData(samples);
      const level = this.#muted ? 0 : levelFromSamples(samples);
      // Fast attack, slow release: reads like a VU meter.
      smoothed = level > smoothed ? level : smoothed * 0.85 + level * 0.15;
      this.#el.style.setProperty("--level", smoothed.toFixed(3));
    });
  }

  /** Shows silence while muted. */
  set muted(muted: boolean) {
    this.#muted = muted;
  }

  /** Stops sampling and shows 0. */
  detach(): void {
    this.#untap?.();
    this.#untap = null;
    this.#el.style.setProperty("--level", "0");
  }
}
