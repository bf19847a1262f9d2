/**
 * The Deepgram stand-in's streaming text-to-speech socket (`GET /v1/speak`, WebSocket), the part of Deepgram's TTS
 * protocol that `@livekit/agents-plugin-deepgram` 1.9.0 uses (its `tts.ts` `SynthesizeStream`).
 *
 * client → server: the query (`model`: the Aura voice, `encoding=linear16`, `sample_rate`; `mip_opt_out`, `speed`
 * and `bit_rate` accepted and ignored), and the text messages `Speak` (`text`), `Flush`, `Clear` and `Close`;
 * server → client: `Metadata` when the socket opens, binary frames of linear16 mono audio at `sample_rate`,
 * `Flushed` and `Cleared` (each with its `sequence_id`), and `Warning` for a message it does not know; after `Close`
 * the socket closes with 1000 once the audio asked for so far is sent.
 * Sources: developers.deepgram.com/docs/streaming-text-to-speech, docs/tts-ws-flush, docs/tts-ws-clear (read 2026-12);
 * the plugin's `SynthesizeStream.run` and `closeWebSocket`.
 *
 * How it speaks: each `Speak` is synthesized with espeak-ng (dev/openai/engines.ts `synthesize`, 24 kHz, resampled
 * with sox to `sample_rate` when that differs), in order, and its audio sent in 100 ms frames as soon as it is ready;
 * `Flush` answers `Flushed` after the audio of every `Speak` before it. The voice's language is the model's last part
 * (`aura-2-celeste-es` → espeak-ng's Spanish voice; anything else English), as Deepgram's Aura voices each speak one
 * language. There is no non-streaming route (`POST /v1/speak`): the plugin's `synthesize()` posts to port 443 over
 * `node:https`, which no local http server can answer (agent/deepgram.ts speaks it over this socket instead).
 */
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import type { Logger } from "../../contract/log.ts";
import { ESPEAK_VOICES, PCM_RATE, resample, type SpeechLanguage, synthesize } from "../openai/engines.ts";

/** The query parameters the stand-in reads. */
export interface SpeakParams {
  /** The Aura voice, e.g. `aura-2-thalia-en`. */
  model: string;
  sampleRate: number;
}

/** Deepgram's default `sample_rate` for linear16 (developers.deepgram.com/docs/tts-media-output-settings). */
const DEFAULT_SPEAK_RATE = 24_000;

/**
 * Reads the query of a `/v1/speak` upgrade.
 * @returns the parameters, or the 400 message Deepgram's shape carries (`err_msg`)
 */
export function parseSpeakParams(
  query: URLSearchParams,
): { ok: true; params: SpeakParams } | { ok: false; message: string } {
  const encoding = query.get("encoding") ?? "linear16";
  if (encoding !== "linear16")
    return { ok: false, message: `encoding ${encoding} is not supported by the stand-in: use linear16` };
  const sampleRate = Number(query.get("sample_rate") ?? DEFAULT_SPEAK_RATE);
  if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 48_000)
    return { ok: false, message: "sample_rate must be a whole rate in Hz (8000-48000)" };
  return { ok: true, params: { model: query.get("model") ?? "aura-asteria-en", sampleRate } };
}

/** The language an Aura voice speaks: the last part of its name (`aura-2-celeste-es` → `es`), English otherwise. */
export function voiceLanguage(model: string): SpeechLanguage {
  return model.endsWith("-es") ? "es" : "en";
}

/**
 * Serves one speech socket until it closes.
 * @param log the stand-in's logger (it never logs the text)
 */
export function serveSpeak(ws: WebSocket, params: SpeakParams, log: Logger): void {
  const requestId = randomUUID();
  const language = voiceLanguage(params.model);
  const bytesPer100Ms = (params.sampleRate / 10) * 2;
  let work: Promise<void> = Promise.resolve();
  /** Aborts the synthesis of the current generation (`Clear`, close). */
  let generation = new AbortController();
  let sequence = 0;

  const send = (message: object) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  /** Runs `job` after the work before it; `job` must not reject. */
  const then = (job: () => Promise<void> | void) => {
    work = work.then(job);
    return work;
  };

  const speak = (text: string) => {
    const { signal } = generation;
    void then(async () => {
      if (signal.aborted || !text.trim()) return;
      const started = Date.now();
      let pcm: Buffer;
      try {
        pcm = await resample(await synthesize(text, signal, language), PCM_RATE, params.sampleRate, signal);
      } catch (err) {
        if (signal.aborted) return;
        log.warn("speech_failed", { route: "/v1/speak", error: err });
        send({
          type: "Warning",
          description: `the stand-in could not speak: ${(err as Error).message}`,
          code: "STAND_IN",
        });
        return;
      }
      for (let at = 0; at < pcm.length && !signal.aborted && ws.readyState === ws.OPEN; at += bytesPer100Ms) {
        ws.send(pcm.subarray(at, at + bytesPer100Ms));
      }
      log.info("stand_in_speech", {
        route: "/v1/speak",
        model: params.model,
        language,
        espeak_voice: ESPEAK_VOICES[language],
        chars: text.length,
        audio_ms: Math.round((pcm.length / 2 / params.sampleRate) * 1000),
        ms: Date.now() - started,
      });
    });
  };

  send({
    type: "Metadata",
    request_id: requestId,
    model_name: params.model,
    model_version: "stand-in",
    model_uuid: randomUUID(),
  });
  ws.on("message", (data, isBinary) => {
    let message: { type?: unknown; text?: unknown } = {};
    if (!isBinary) {
      try {
        message = JSON.parse(data.toString()) as typeof message;
      } catch {
        // not JSON: answered as an unknown message below
      }
    }
    switch (message.type) {
      case "Speak":
        if (typeof message.text !== "string") {
          send({ type: "Warning", description: "Speak needs a `text` string", code: "INVALID_MESSAGE" });
          return;
        }
        speak(message.text);
        return;
      case "Flush":
        void then(() => send({ type: "Flushed", sequence_id: sequence++ }));
        return;
      case "Clear":
        generation.abort();
        generation = new AbortController();
        void then(() => send({ type: "Cleared", sequence_id: sequence++ }));
        return;
      case "Close":
        void then(() => ws.close(1000));
        return;
      default:
        send({ type: "Warning", description: `unknown message type ${String(message.type)}`, code: "UNKNOWN_MESSAGE" });
    }
  });
  ws.on("close", () => generation.abort());
}
