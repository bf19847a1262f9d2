/**
 * Audio I/O for running an `AgentSession` without a room, built on the framework's own
 * `voice.AudioInput` / `voice.AudioOutput` classes (LiveKit Agents 1.9, `voice/io.ts`):
 * a microphone that plays silence in real time with speech injected on demand, and a speaker that
 * "plays" the agent's audio in real time and can be cut off (barge-in).
 * Used by the pipeline test and bench/agent-latency.ts.
 */
import { voice } from "@livekit/agents";
import { AudioFrame } from "@livekit/rtc-node";
import { ReadableStream, type ReadableStreamDefaultController } from "node:stream/web";

const FRAME_MS = 20;

/** A real-time microphone: 20 ms frames of silence, or of speech queued with {@link say}. */
export class ClockedAudioInput extends voice.AudioInput {
  readonly #controller: ReadableStreamDefaultController<AudioFrame>;
  readonly #rate: number;
  readonly #frame: number;
  #queue: Int16Array[] = [];
  #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | null = null;
  /** Wall-clock time (ms) when the last queued speech sample was pushed. */
  speechEndedAt = 0;

  constructor(sampleRate = 16_000) {
    super();
    this.#rate = sampleRate;
    this.#frame = (sampleRate * FRAME_MS) / 1000;
    let controller!: ReadableStreamDefaultController<AudioFrame>;
    this.multiStream.addInputStream(new ReadableStream<AudioFrame>({ start: (c) => void (controller = c) }));
    this.#controller = controller;
    const t0 = performance.now();
    let sent = 0;
    // Drift-corrected clock: always catch up to wall time, as a live microphone would.
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - t0) / FRAME_MS);
      for (; sent < due; sent++) this.#push();
    }, FRAME_MS / 2);
  }

  /**
   * Queues speech to be played after whatever is queued.
   * @param samples PCM16 mono at this input's sample rate
   * @returns resolves when the last sample has been pushed (then `speechEndedAt` is set)
   */
  say(samples: Int16Array): Promise<void> {
    for (let i = 0; i < samples.length; i += this.#frame) this.#queue.push(samples.subarray(i, i + this.#frame));
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #push(): void {
    const chunk = this.#queue.shift();
    const data = new Int16Array(this.#frame);
    if (chunk) data.set(chunk);
    try {
      this.#controller.enqueue(new AudioFrame(data, this.#rate, 1, this.#frame));
    } catch {
      this.stop(); // the session closed the stream
      return;
    }
    if (chunk && this.#queue.length === 0) {
      this.speechEndedAt = Date.now();
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  /** Stops the clock. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** A real-time speaker: counts the agent's audio and finishes each segment when it would have played out. */
export class PlayoutAudioOutput extends voice.AudioOutput {
  /** Samples captured per segment, in order. */
  segments: number[] = [];
  /** Wall-clock time (ms) of each segment's first frame. */
  startedAt: number[] = [];
  /** How many segments were cut off by `clearBuffer` (barge-in). */
  interruptions = 0;
  #segmentStart = 0;
  #open = false;
  #timer: NodeJS.Timeout | null = null;

  constructor() {
    super(24_000);
  }

  override async captureFrame(frame: AudioFrame): Promise<void> {
    const before = this.capturedPlayoutSegments;
    await super.captureFrame(frame);
    if (this.capturedPlayoutSegments !== before) {
      this.#open = true;
      this.#segmentStart = Date.now();
      this.segments.push(0);
      this.startedAt.push(this.#segmentStart);
      this.onPlaybackStarted(this.#segmentStart);
    }
    this.segments[this.segments.length - 1]! += frame.samplesPerChannel;
  }

  override flush(): void {
    super.flush();
    if (!this.#open) return;
    const seconds = this.segments.at(-1)! / 24_000;
    const left = Math.max(0, this.#segmentStart + seconds * 1000 - Date.now());
    this.#timer = setTimeout(() => this.#finish({ playbackPosition: seconds, interrupted: false }), left);
  }

  clearBuffer(): void {
    if (!this.#open) return;
    this.interruptions++;
    this.#finish({ playbackPosition: (Date.now() - this.#segmentStart) / 1000, interrupted: true });
  }

  /** Total agent audio captured, in seconds. */
  get seconds(): number {
    return this.segments.reduce((a, b) => a + b, 0) / 24_000;
  }

  #finish(ev: voice.PlaybackFinishedEvent): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (!this.#open) return;
    this.#open = false;
    this.onPlaybackFinished(ev);
  }
}
