/**
 * OpenAI speech whose audio plays as it arrives.
 *
 * The Speech API streams its audio with chunked transfer encoding, so that it can be played before the whole file is
 * generated, and recommends `pcm` for the fastest response (OpenAI's text-to-speech guide, "Streaming real-time audio";
 * LiveKit's Python plugin reads it chunk by chunk). `@livekit/agents-plugin-openai` 1.9.0's `TTS` reads the whole
 * response first (`ChunkedStream.run`: `await response.arrayBuffer()`), so every sentence (each reply is spoken
 * sentence by sentence) and the greeting started only once the provider had finished generating all of it, and the
 * last few milliseconds that did not fill a 100 ms frame were dropped. {@link StreamingOpenAITTS} is the plugin's
 * TTS with a `synthesize()` that hands the session each frame as soon as its bytes have arrived, and the tail too.
 */
import { type APIConnectOptions, AudioByteStream, shortuuid } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import type { AudioFrame } from "@livekit/rtc-node";
import { OpenAI } from "openai";

/** The Speech API's `pcm`: 16-bit little-endian mono at 24 kHz (the plugin's `OPENAI_TTS_SAMPLE_RATE`, its format). */
const SAMPLE_RATE = 24_000;
const CHANNELS = 1;
/** Samples per frame handed to the session: 50 ms (the plugin's frames are 100 ms, so the first came later). */
const FRAME_SAMPLES = SAMPLE_RATE / 20;

/** What a request needs besides the text: the plugin's options of the same names. */
interface SpeechOptions {
  model: string;
  voice: string;
  speed?: number;
  instructions?: string;
}

/** The plugin's OpenAI TTS, whose `synthesize()` streams the response (see the module comment). */
export class StreamingOpenAITTS extends openai.TTS {
  readonly #client: OpenAI;
  #opts: SpeechOptions;
  readonly #closed = new AbortController();

  /**
   * @param opts the plugin's options: `apiKey` and `baseURL` (or a `client`), `model`, `voice`, optionally `speed`
   *   and `instructions`
   */
  constructor(opts: Partial<openai.TTSOptions>) {
    // One client for both: the plugin's (its `provider`, the metrics' label) and the requests made here.
    const client = opts.client ?? new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0 });
    super({ ...opts, client });
    this.#client = client;
    this.#opts = { model: "tts-1", voice: "alloy", ...speechOptions(opts) };
  }

  override updateOptions(opts: Partial<openai.TTSOptions>): void {
    super.updateOptions(opts);
    this.#opts = { ...this.#opts, ...speechOptions(opts) };
  }

  /**
   * Starts the request at once, as the plugin does; its audio is read as it arrives ({@link StreamedSpeech}). The
   * request is cancelled when the stream is closed (an interrupted reply), `abortSignal` aborts or the TTS is closed.
   */
  override synthesize(text: string, connOptions?: APIConnectOptions, abortSignal?: AbortSignal): openai.ChunkedStream {
    const cancel = new AbortController();
    const signal = AbortSignal.any([cancel.signal, this.#closed.signal, ...(abortSignal ? [abortSignal] : [])]);
    const response = this.#client.audio.speech.create(
      { input: text, ...this.#opts, response_format: "pcm" },
      { signal },
    ) as Promise<Response>;
    return new StreamedSpeech(this, text, response, cancel, connOptions, abortSignal);
  }

  override async close(): Promise<void> {
    this.#closed.abort();
    await super.close();
  }
}

/** The options of {@link SpeechOptions} that `opts` sets. */
function speechOptions(opts: Partial<openai.TTSOptions>): Partial<SpeechOptions> {
  const picked: Partial<SpeechOptions> = {};
  if (opts.model !== undefined) picked.model = opts.model;
  if (opts.voice !== undefined) picked.voice = opts.voice;
  if (opts.speed !== undefined) picked.speed = opts.speed;
  if (opts.instructions !== undefined) picked.instructions = opts.instructions;
  return picked;
}

/**
 * One text's speech: the response's body read as it arrives, cut into 50 ms frames; the last frame (the tail shorter
 * than a frame included) is marked `final`. A failed request fails the stream as the plugin's does (the TTS's `error`
 * event, no retry); a closed (interrupted) stream ends quietly.
 */
class StreamedSpeech extends openai.ChunkedStream {
  readonly #response: Promise<Response>;

  /** @param cancel aborts the request: when this stream is closed */
  constructor(
    tts: StreamingOpenAITTS,
    text: string,
    response: Promise<Response>,
    cancel: AbortController,
    connOptions?: APIConnectOptions,
    abortSignal?: AbortSignal,
  ) {
    super(tts, text, response, connOptions, abortSignal);
    this.#response = response;
    this.abortController.signal.addEventListener("abort", () => cancel.abort(), { once: true });
  }

  protected override async run(): Promise<void> {
    const requestId = shortuuid();
    const bytes = new AudioByteStream(SAMPLE_RATE, CHANNELS, FRAME_SAMPLES);
    // Each frame is sent once the next exists, so that the last one can be marked final.
    let held: AudioFrame | undefined;
    const put = (frame: AudioFrame, final: boolean) => {
      if (!this.queue.closed) this.queue.put({ requestId, segmentId: requestId, frame, final });
    };
    try {
      const response = await this.#response;
      if (!response.body) throw new Error("OpenAI speech: the response has no body");
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        for (const frame of bytes.write(chunk)) {
          if (held) put(held, false);
          held = frame;
        }
      }
      for (const frame of bytes.flush()) {
        if (held) put(held, false);
        held = frame;
      }
      if (held) put(held, true);
    } catch (error) {
      if (this.abortController.signal.aborted) return; // closed: nothing more is wanted
      throw error;
    } finally {
      this.queue.close();
    }
  }
}
