/**
 * Deepgram speech for a session (`STT_PROVIDER=deepgram`, `TTS_PROVIDER=deepgram`): the plugin
 * `@livekit/agents-plugin-deepgram` 1.9.0, with two adaptations, each a subclass through the plugin's public API.
 *
 * - STT: {@link FinalizingDeepgramSTT}. The plugin streams audio over `wss://…/v1/listen` and Deepgram sends interim
 *   and final results by its own endpointing (`endpointing=25` ms, `speech_final`). The session's turns are still
 *   the Silero VAD's (pipeline.ts): at each end of speech the session's VAD reports, the STT stream is flushed, which
 *   makes the plugin send `{"type":"Finalize"}` after the audio so far (its `SpeechStream.run`: `FLUSH_SENTINEL` →
 *   `Finalize`), and Deepgram answers at once with the final result of whatever it had not finalized
 *   (`from_finalize: true`; developers.deepgram.com/docs/finalize). That is the OpenAI path's commit at end of speech
 *   (pipeline.ts), so the turn's last words do not wait for Deepgram's own endpointing; the framework takes each final
 *   and runs end-of-turn detection on the latest one (`audio_recognition.ts`, `FINAL_TRANSCRIPT`).
 * - TTS: {@link StreamingDeepgramTTS}. The plugin's `stream()` speaks over the `/v1/speak` WebSocket (`Speak`,
 *   `Flush` → audio and `Flushed`), but its `synthesize()` (one text, used for the greeting synthesized ahead,
 *   greeting.ts) posts with `node:https` to port 443 of the URL's host whatever the URL says, so it cannot reach an
 *   http endpoint such as the local stand-in (dev/deepgram/). `synthesize()` here speaks the text over the same
 *   socket as `stream()`: one path, the one the session uses for every reply.
 */
import {
  type APIConnectOptions,
  APIConnectionError,
  tts as ttsTypes,
  VADEventType,
  type VADStream,
} from "@livekit/agents";
import * as deepgram from "@livekit/agents-plugin-deepgram";
import type { DeepgramConfig } from "./config.ts";
import type { FollowerVad } from "./session-vad.ts";

/** The plugin's STT, whose streams are finalized at each end of speech of the session's VAD. */
export class FinalizingDeepgramSTT extends deepgram.STT {
  readonly #vad: FollowerVad;

  /**
   * @param opts the plugin's options (`apiKey`, `baseUrl` as `ws(s)://`, `model`, `language`)
   * @param vad the session VAD's follower (session-vad.ts): its streams repeat the session's speech events
   */
  constructor(opts: Partial<deepgram.STTOptions>, vad: FollowerVad) {
    super(opts);
    this.#vad = vad;
  }

  override stream(options?: { connOptions?: APIConnectOptions }): deepgram.SpeechStream {
    const stream = super.stream(options);
    const speech = this.#vad.stream();
    void finalizeAtEndOfSpeech(stream, speech);
    const close = stream.close.bind(stream);
    stream.close = () => {
      speech.close();
      close();
    };
    return stream;
  }
}

/** Flushes `stream` (the plugin then sends `Finalize`) at each `END_OF_SPEECH` of `speech`, until either closes. */
async function finalizeAtEndOfSpeech(stream: deepgram.SpeechStream, speech: VADStream): Promise<void> {
  try {
    for await (const event of speech) {
      if (event.type === VADEventType.END_OF_SPEECH) stream.flush();
    }
  } catch {
    // `flush()` throws once the STT stream or its input is closed: nothing is left to finalize
  } finally {
    speech.close();
  }
}

/** The plugin's TTS, whose `synthesize()` speaks over the streaming socket (see the module comment). */
export class StreamingDeepgramTTS extends deepgram.TTS {
  readonly #opts: Partial<deepgram.TTSOptions>;

  /** @param opts the plugin's options (`apiKey`, `baseUrl` as `http(s)://`, `model`: the Aura voice) */
  constructor(opts: Partial<deepgram.TTSOptions>) {
    super(opts);
    this.#opts = opts;
  }

  override synthesize(
    text: string,
    connOptions?: APIConnectOptions,
    abortSignal?: AbortSignal,
  ): ttsTypes.ChunkedStream {
    return new SocketChunkedStream(this, new deepgram.TTS(this.#opts), text, connOptions, abortSignal);
  }
}

/**
 * One text synthesized through a `/v1/speak` socket: a `SynthesizeStream` of a private TTS (so that its metrics and
 * errors are not counted twice: this stream reports them for the session's TTS), given the text, flushed and ended.
 */
class SocketChunkedStream extends ttsTypes.ChunkedStream {
  label = "deepgram.SocketChunkedStream";
  readonly #inner: deepgram.TTS;
  readonly #text: string;
  readonly #connOptions: APIConnectOptions | undefined;

  constructor(
    outer: deepgram.TTS,
    inner: deepgram.TTS,
    text: string,
    connOptions?: APIConnectOptions,
    abortSignal?: AbortSignal,
  ) {
    super(text, outer, connOptions, abortSignal);
    this.#inner = inner;
    this.#text = text;
    this.#connOptions = connOptions;
  }

  protected async run(): Promise<void> {
    let failure: unknown;
    const onError = (ev: { error: unknown }) => void (failure = ev.error);
    this.#inner.on("error", onError);
    const stream = this.#inner.stream(this.#connOptions ? { connOptions: this.#connOptions } : undefined);
    const abort = () => stream.close();
    this.abortController.signal.addEventListener("abort", abort, { once: true });
    try {
      stream.pushText(this.#text);
      stream.flush();
      stream.endInput();
      for await (const audio of stream) {
        if (audio === ttsTypes.SynthesizeStream.END_OF_STREAM) return;
        if (!this.queue.closed) this.queue.put(audio);
      }
      if (this.abortController.signal.aborted) return;
      // The stream ended without its end marker: it failed (after its own retries), so this one does not retry.
      const detail = failure instanceof Error ? failure.message : "the stream ended early";
      throw new APIConnectionError({ message: `Deepgram TTS failed: ${detail}`, options: { retryable: false } });
    } finally {
      this.abortController.signal.removeEventListener("abort", abort);
      this.#inner.off("error", onError);
      stream.close();
    }
  }
}

/**
 * The plugin's base URLs for a `DEEPGRAM_BASE_URL`: the STT socket's with `ws(s)://` (the plugin appends
 * `/v1/listen`), the TTS's with `http(s)://` (it makes `ws(s)://…/v1/speak` of it).
 */
export function deepgramUrls(baseUrl: string): { stt: string; tts: string } {
  return { stt: baseUrl.replace(/^http/, "ws"), tts: baseUrl.replace(/^ws/, "http") };
}

/**
 * A session's Deepgram STT.
 * @param cfg the deployment's Deepgram settings
 * @param language the profile's BCP 47 tag, passed as Deepgram's `language` (e.g. `en`, `en-GB`, `es`)
 * @param vad the session VAD's follower, whose end of speech finalizes the stream
 */
export function deepgramStt(cfg: DeepgramConfig, language: string, vad: FollowerVad): FinalizingDeepgramSTT {
  return new FinalizingDeepgramSTT(
    { apiKey: cfg.apiKey, baseUrl: deepgramUrls(cfg.baseUrl).stt, model: cfg.sttModel, language },
    vad,
  );
}

/**
 * A session's Deepgram TTS: linear16 PCM at 24 kHz (the plugin's default, the same rate as OpenAI's).
 * @param cfg the deployment's Deepgram settings
 * @param voice the Aura model to speak with (the profile's `providers.deepgram_voice`, else `DEEPGRAM_TTS_MODEL`)
 */
export function deepgramTts(cfg: DeepgramConfig, voice: string): StreamingDeepgramTTS {
  return new StreamingDeepgramTTS({ apiKey: cfg.apiKey, baseUrl: deepgramUrls(cfg.baseUrl).tts, model: voice });
}
