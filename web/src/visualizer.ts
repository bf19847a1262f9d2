/**
 * The agent's voice visualizer next to its speaking indicator (`#visualizer` in `#party-agent`): one bar per
 * frequency band of the agent's audio, from an AnalyserNode on its remote track (meter.ts `tap`, the page's one
 * AudioContext and animation-frame loop), written as the CSS custom properties `--bar-0` … `--bar-4` (0…1, two
 * decimals) of the element; chat.css turns them into bar heights (and keeps the bars still under
 * `prefers-reduced-motion`). Silence, and no track (offline), read 0: flat bars. The element is `aria-hidden`: the
 * agent's state is already given as text.
 */
import { tap } from "./meter.ts";

/**
 * The bands' edges, Hz: bar i shows [BAND_EDGES_HZ[i], BAND_EDGES_HZ[i + 1]), from a voice's fundamental to its
 * sibilants, each band twice the width of the one before.
 */
export const BAND_EDGES_HZ: readonly number[] = [100, 300, 600, 1200, 2400, 5000];

/**
 * Each band's level: the loudest bin in it, 0…1.
 * @param bins an AnalyserNode's `getByteFrequencyData` (0…255 per bin, bin k centred on k × `binHz`)
 * @param binHz the width of a bin, Hz (sample rate / fftSize)
 * @returns one level per band of {@link BAND_EDGES_HZ} (a band narrower than a bin still reads its bin)
 */
export function bandLevels(bins: Uint8Array, binHz: number): number[] {
  const levels: number[] = [];
  for (let i = 0; i + 1 < BAND_EDGES_HZ.length; i++) {
    const from = Math.floor(BAND_EDGES_HZ[i]! / binHz);
    const to = Math.min(bins.length, Math.max(from + 1, Math.floor(BAND_EDGES_HZ[i + 1]! / binHz)));
    let peak = 0;
    for (let k = from; k < to; k++) peak = Math.max(peak, bins[k]!);
    levels.push(peak / 255);
  }
  return levels;
}

export class Visualizer {
  readonly #el: HTMLElement;
  #track: MediaStreamTrack | null = null;
  #untap: (() => void) | null = null;
  /** What each `--bar-i` holds now, so that an unchanged frame writes nothing. */
  readonly #shown: string[] = [];

  /** @param el the element whose `--bar-i` custom properties the bars read */
  constructor(el: HTMLElement) {
    this.#el = el;
  }

  /**
   * Starts showing `track` (the agent's remote audio track; it must also play in a media element, as
   * livekit-client's `track.attach()` does, for Chromium to feed a remote track to WebAudio). Replaces the track
   * shown before.
   */
  attach(track: MediaStreamTrack): void {
    this.detach();
    this.#track = track;
    let bins: Uint8Array<ArrayBuffer> | null = null;
    this.#untap = tap(track, 512, (analyser) => {
      if (!bins) {
        // −80 dBFS and below reads 0, −20 dBFS and above 1; a little smoothing so that the bars do not flicker.
        analyser.minDecibels = -80;
        analyser.maxDecibels = -20;
        analyser.smoothingTimeConstant = 0.6;
        bins = new Uint8Array(analyser.frequencyBinCount);
      }
      analyser.getByteFrequencyData(bins);
      this.#show(bandLevels(bins, analyser.context.sampleRate / analyser.fftSize));
    });
  }

  /** Stops showing `track` (default: whichever is shown) and flattens the bars; another track is left shown. */
  detach(track?: MediaStreamTrack): void {
    if (track && track !== this.#track) return;
    this.#untap?.();
    this.#untap = null;
    this.#track = null;
    this.#show(BAND_EDGES_HZ.slice(1).map(() => 0));
  }

  #show(levels: number[]): void {
    levels.forEach((level, i) => {
      const value = level.toFixed(2);
      if (this.#shown[i] === value) return;
      this.#shown[i] = value;
      this.#el.style.setProperty(`--bar-${i}`, value);
    });
  }
}
