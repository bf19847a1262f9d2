/**
 * The VAD handed to the realtime STT, which uses it to commit audio at the end of speech, with a repaired
 * `VADStream.endInput()`.
 *
 * Upstream behaviour (@livekit/agents 1.9.0, `src/vad.ts`, `VADStream.endInput`): the method closes
 * `this.input.writable` directly while the stream's own `inputWriter` holds that stream's lock, so it always throws
 * `TypeError: Invalid state: WritableStream is locked`. @livekit/agents-plugin-openai 1.9.0 (`src/stt.ts`,
 * `SpeechStream.#forwardInput`) calls it when the session's audio input ends, i.e. at every session close, inside
 * a task nobody awaits: one unhandled rejection per closed session. No upstream issue about it was found.
 *
 * The adaptation `vad_stream_end_input` gives each stream of the STT's VAD an `endInput()` that closes the input
 * through the writer, which is what the method means to do; it is scoped to these streams rather than silencing
 * unhandled rejections for the whole process.
 */
import { VAD, type VADStream } from "@livekit/agents";
import type { Logger } from "../../contract/log.ts";
import { type Adaptation, adapt, expectType } from "./adaptation.ts";

/** The protected fields of @livekit/agents 1.9.0's `VADStream` this relies on. */
interface StreamInternals {
  endInput(): void;
  inputClosed: boolean;
  closed: boolean;
  inputWriter: WritableStreamDefaultWriter<unknown>;
}

/** Marks a repaired stream, so that applying twice replaces once. */
const REPAIRED = Symbol("repairedEndInput");

/** The adaptation `vad_stream_end_input`, applied to one `VADStream`. */
export function repairEndInput(): Adaptation<VADStream> {
  return {
    name: "vad_stream_end_input",
    missing(stream) {
      const s = stream as unknown as Partial<StreamInternals>;
      return [
        ...expectType(s.endInput, "function", "VADStream#endInput"),
        ...expectType(s.inputClosed, "boolean", "VADStream#inputClosed"),
        ...expectType(s.closed, "boolean", "VADStream#closed"),
        ...expectType(s.inputWriter?.close, "function", "VADStream#inputWriter.close"),
      ];
    },
    apply(stream) {
      const s = stream as unknown as StreamInternals & { [REPAIRED]?: true };
      if (s[REPAIRED]) return;
      s.endInput = () => {
        if (s.inputClosed || s.closed) return; // ending twice is not an error worth a crash
        s.inputClosed = true;
        s.inputWriter.close().catch(() => {}); // rejects only when the stream was torn down meanwhile
      };
      s[REPAIRED] = true;
    },
  };
}

/** One adaptation per process: its warning, if the shape differs, is logged once. */
const endInputRepair = repairEndInput();

/**
 * Delegates to another VAD (the process's Silero) and repairs `endInput()` on every stream it makes. It also counts
 * the audio its streams are given ({@link audioMs}): the realtime STT feeds its VAD every frame it sends to the
 * provider, and with client-side commits (`turnDetection: null`) the plugin reports no STT audio duration of its own
 * (@livekit/agents-plugin-openai 1.9.0 `stt.ts` takes it from the server VAD's `speech_started`/`speech_stopped`).
 */
export class SttVad extends VAD {
  label: string;
  readonly #inner: VAD;
  readonly #log: Logger;
  #audioMs = 0;

  /**
   * @param inner the VAD that does the work (the process's Silero, loaded once in `prewarm`)
   * @param log receives `framework_adaptation_skipped` once if a stream lacks the fields the repair relies on
   */
  constructor(inner: VAD, log: Logger) {
    super(inner.capabilities);
    this.#inner = inner;
    this.#log = log;
    this.label = inner.label;
  }

  override get minSilenceDuration(): number | null {
    return this.#inner.minSilenceDuration;
  }

  /** Audio pushed into this VAD's streams so far, ms: the visitor audio the realtime STT sent to the provider. */
  get audioMs(): number {
    return this.#audioMs;
  }

  stream(): VADStream {
    const stream = this.#inner.stream();
    adapt(endInputRepair, stream, this.#log);
    const pushFrame = stream.pushFrame.bind(stream);
    stream.pushFrame = (frame) => {
      this.#audioMs += (frame.samplesPerChannel / frame.sampleRate) * 1000;
      pushFrame(frame);
    };
    return stream;
  }
}
