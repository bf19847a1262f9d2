/**
 * The VAD handed to the realtime STT, which uses it to commit audio at end of speech.
 *
 * Why it exists: in LiveKit Agents 1.9, `VADStream.endInput()` closes `input.writable` directly while
 * the stream's own `inputWriter` holds the lock, so it always throws
 * `TypeError: Invalid state: WritableStream is locked`. The OpenAI plugin's realtime STT calls
 * `endInput()` when the session's audio input ends (every session close), inside a task nobody
 * awaits: an unhandled rejection per closed session. This wrapper gives the STT streams whose
 * `endInput()` closes the input through the writer, which is what the method means to do.
 * Source: @livekit/agents 1.9.0 `src/vad.ts` (`VADStream.endInput`), @livekit/agents-plugin-openai
 * 1.9.0 `src/stt.ts` (`SpeechStream.#forwardInput`).
 */
import { VAD, type VADStream } from "@livekit/agents";

type StreamInternals = { inputClosed: boolean; closed: boolean; inputWriter: WritableStreamDefaultWriter<unknown> };

/** Delegates to another VAD (the process's Silero) and repairs `endInput()` on every stream. */
export class SttVad extends VAD {
  label: string;
  readonly #inner: VAD;

  constructor(inner: VAD) {
    super(inner.capabilities);
    this.#inner = inner;
    this.label = inner.label;
  }

  override get minSilenceDuration(): number | null {
    return this.#inner.minSilenceDuration;
  }

  stream(): VADStream {
    const stream = this.#inner.stream();
    const internals = stream as unknown as StreamInternals;
    stream.endInput = () => {
      if (internals.inputClosed || internals.closed) return; // ending twice is not an error worth a crash
      internals.inputClosed = true;
      internals.inputWriter.close().catch(() => {}); // rejects only when the stream was torn down meanwhile
    };
    return stream;
  }
}
