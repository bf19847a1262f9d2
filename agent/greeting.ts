/**
 * The fixed greeting's audio, synthesized while the job is still connecting to the room.
 *
 * Joining a room takes a few hundred ms (signal, ICE, DTLS) and a TTS request about as long before its
 * first byte, so doing them one after the other puts both before the visitor hears anything. A job
 * starts this at once; when the agent enters the session it plays what is ready and streams the rest.
 */
import type { tts as ttsTypes } from "@livekit/agents";
import type { AudioFrame } from "@livekit/rtc-node";
import { ReadableStream } from "node:stream/web";

/** Synthesizes one text in the background and replays its frames, as often as asked. */
export class SpeechPrefetch {
  readonly text: string;
  readonly #frames: AudioFrame[] = [];
  #state: "running" | "done" | "failed" = "running";
  #wake: Array<() => void> = [];
  readonly #stream: ttsTypes.ChunkedStream;
  readonly #tts: ttsTypes.TTS;
  /** The provider's error when synthesis failed (as the TTS reported it). */
  error: unknown;

  /**
   * Starts synthesizing `text` with `tts` (its usual retries apply).
   * @param tts the session's TTS (for OpenAI: PCM 24 kHz mono frames)
   */
  constructor(tts: ttsTypes.TTS, text: string) {
    this.text = text;
    this.#tts = tts;
    // The TTS reports a failed request as an `error` event; until the session listens too (it starts later),
    // an event nobody listens to would crash the job process.
    tts.on("error", this.#onError);
    this.#stream = tts.synthesize(text);
    void this.#pump();
  }

  readonly #onError = (ev: { error: unknown }): void => {
    this.error = ev.error;
  };

  async #pump(): Promise<void> {
    try {
      for await (const audio of this.#stream) {
        this.#frames.push(audio.frame);
        this.#notify();
      }
      // The framework reports a failed request through the TTS's `error` event and ends the stream empty.
      this.#state = this.#frames.length > 0 ? "done" : "failed";
    } catch (err) {
      this.error ??= err;
      this.#state = "failed";
    }
    this.#tts.off("error", this.#onError);
    this.#notify();
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  /** Seconds of audio synthesized so far. */
  get seconds(): number {
    return this.#frames.reduce((s, f) => s + f.samplesPerChannel / f.sampleRate, 0);
  }

  /** Resolves once synthesis has finished; true when it produced audio. */
  async settled(): Promise<boolean> {
    while (this.#state === "running") await new Promise<void>((r) => this.#wake.push(r));
    return this.#state === "done";
  }

  /**
   * The synthesized frames: those ready now, then the rest as they arrive.
   * @returns null when synthesis failed without producing audio (speak the text live instead); the stream
   *   errors when synthesis fails part-way
   */
  audio(): ReadableStream<AudioFrame> | null {
    if (this.#state === "failed" && this.#frames.length === 0) return null;
    let next = 0;
    return new ReadableStream<AudioFrame>({
      pull: async (controller) => {
        while (next >= this.#frames.length && this.#state === "running")
          await new Promise<void>((r) => this.#wake.push(r));
        if (next < this.#frames.length) controller.enqueue(this.#frames[next++]!);
        else if (this.#state === "done") controller.close();
        else controller.error(new Error("greeting synthesis failed part-way"));
      },
    });
  }

  /** Stops synthesis (the job ended before the greeting was needed). */
  close(): void {
    this.#stream.close();
  }
}
