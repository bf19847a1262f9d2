/**
 * The microphone level meter: an AnalyserNode on the microphone's MediaStreamTrack, sampled once per
 * animation frame, written to the CSS custom property `--level` (0…1) of the meter element. Setting a
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

export class LevelMeter {
  readonly #el: HTMLElement;
  #context: AudioContext | null = null;
  #source: MediaStreamAudioSourceNode | null = null;
  #frame = 0;
  #muted = false;

  constructor(el: HTMLElement) {
    this.#el = el;
  }

  /** Creates the AudioContext; call inside the click handler so it starts running. */
  prepare(): void {
    this.#context ??= new AudioContext();
    void this.#context.resume().catch(() => undefined);
  }

  /** Starts showing the level of `track`. */
  attach(track: MediaStreamTrack): void {
    this.prepare();
    const context = this.#context!;
    this.detach();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    this.#source = context.createMediaStreamSource(new MediaStream([track]));
    this.#source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let smoothed = 0;
    const tick = () => {
      analyser.getFloatTimeDomainData(samples);
      const level = this.#muted ? 0 : levelFromSamples(samples);
      // Fast attack, slow release: reads like a VU meter.
      smoothed = level > smoothed ? level : smoothed * 0.85 + level * 0.15;
      this.#el.style.setProperty("--level", smoothed.toFixed(3));
      this.#frame = requestAnimationFrame(tick);
    };
    this.#frame = requestAnimationFrame(tick);
  }

  /** Shows silence while muted. */
  set muted(muted: boolean) {
    this.#muted = muted;
  }

  /** Stops sampling and shows 0. */
  detach(): void {
    cancelAnimationFrame(this.#frame);
    this.#source?.disconnect();
    this.#source = null;
    this.#el.style.setProperty("--level", "0");
  }

  /** Releases the AudioContext. */
  close(): void {
    this.detach();
    void this.#context?.close().catch(() => undefined);
    this.#context = null;
  }
}
