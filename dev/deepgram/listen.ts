/**
 * The Deepgram stand-in's live transcription socket (`GET /v1/listen`, WebSocket), the part of Deepgram's streaming
 * STT protocol that `@livekit/agents-plugin-deepgram` 1.9.0 uses (its `stt.ts` `SpeechStream`).
 *
 * client → server: the query (`encoding=linear16`, `sample_rate`, `channels=1`, `model`, `language`,
 * `interim_results`, `vad_events`, `endpointing`; the plugin's other parameters are accepted and ignored), binary
 * frames of linear16 mono audio, and the text messages `KeepAlive`, `Finalize` and `CloseStream`;
 * server → client: `Results` (`is_final`, `speech_final`, `from_finalize`, `start`, `duration`,
 * `channel.alternatives[0]` with `transcript`, `confidence` and `words`), `SpeechStarted` (with `vad_events=true`) and
 * `Metadata` (after `CloseStream`, then the socket closes with 1000). Without audio or a message for 10 s the socket
 * closes with 1011 `NET-0001`, as Deepgram's does.
 * Sources: developers.deepgram.com/reference/speech-to-text-api/listen-streaming, docs/finalize, docs/close-stream,
 * docs/audio-keep-alive, docs/understand-endpointing-interim-results, docs/stt-troubleshooting-websocket-data-and-net-
 * errors (read 2026-12); the plugin's `SpeechStream.run` and `liveTranscriptionToSpeechData`.
 *
 * How it hears: the audio goes through the OpenAI stand-in's {@link UtteranceBuffer} (dev/openai/realtime.ts, at the
 * socket's sample rate), which keeps the speech and drops the rest as it arrives, and is decoded with the same
 * pocketsphinx (dev/openai/engines.ts `transcribe`, English only). Speech is "going on" from the buffer's onset (60 ms
 * of voiced frames) until 0.3 s of unvoiced ones follow the last voiced frame: the onset is `SpeechStarted`, and the
 * end of speech is Deepgram's endpoint (a final result with `speech_final: true`), unless `endpointing=false`.
 * `Finalize` decodes what was kept at once into a final with `from_finalize: true` (and `speech_final: false`);
 * `CloseStream` does the same, then sends `Metadata` and closes. With `interim_results=true`, each further second of
 * kept speech (with new voiced frames) is decoded with pocketsphinx's fast first pass (its latest 8 s) into an interim
 * result (`is_final: false`) holding every word of the segment so far, as Deepgram's interims do; a segment that ends
 * before any of its interims is decoded (a busy host) gets the final's words as its one interim, just before the final.
 *
 * Results tile the audio as Deepgram's do: each final covers from the end of the previous final (`start`) to the
 * audio received so far (`duration`, seconds of the stream as sent, not of wall time). pocketsphinx gives no word
 * times, so the words are spread evenly over the result's span; the transcript is lower case and unpunctuated
 * whatever `punctuate` and `smart_format` ask. One decode runs at a time per socket, results go out in order.
 */
import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import type { Logger } from "../../contract/log.ts";
import { resample, transcribe } from "../openai/engines.ts";
import { UtteranceBuffer } from "../openai/realtime.ts";

/** The query parameters the stand-in reads. */
export interface ListenParams {
  model: string;
  /** BCP 47; pocketsphinx decodes English whatever it says. */
  language: string;
  sampleRate: number;
  interimResults: boolean;
  vadEvents: boolean;
  /** Deepgram's `endpointing`: false turns the end-of-speech finals off. */
  endpointing: boolean;
}

/** Deepgram's default idle window before it closes a socket (docs/audio-keep-alive: 10 s). */
export const IDLE_TIMEOUT_MS = 10_000;
/** An interim needs this much more kept audio than the previous one (1 s of 20 ms frames). */
const INTERIM_EVERY_FRAMES = 50;
/** An interim decodes the latest 8 s of the segment at most. */
const INTERIM_WINDOW_FRAMES = 400;

/**
 * Reads the query of a `/v1/listen` upgrade.
 * @returns the parameters, or the 400 message Deepgram's shape carries (`err_msg`)
 */
export function parseListenParams(
  query: URLSearchParams,
): { ok: true; params: ListenParams } | { ok: false; message: string } {
  const encoding = query.get("encoding");
  if (encoding !== "linear16")
    return { ok: false, message: `encoding ${encoding ?? "(none)"} is not supported by the stand-in: use linear16` };
  const sampleRate = Number(query.get("sample_rate"));
  if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 48_000 || sampleRate % 50 !== 0)
    return { ok: false, message: "sample_rate must be a whole rate in Hz (8000-48000) with linear16" };
  const channels = query.get("channels") ?? "1";
  if (channels !== "1") return { ok: false, message: `channels=${channels}: the stand-in takes mono audio only` };
  const bool = (name: string, fallback: boolean) => {
    const v = query.get(name);
    return v === null ? fallback : v === "true";
  };
  return {
    ok: true,
    params: {
      model: query.get("model") ?? "base",
      language: query.get("language") ?? "en",
      sampleRate,
      interimResults: bool("interim_results", false),
      vadEvents: bool("vad_events", false),
      endpointing: query.get("endpointing") !== "false",
    },
  };
}

/**
 * Serves one live transcription socket until it closes.
 * @param log the stand-in's logger (it never logs transcripts)
 * @param idleTimeoutMs closes the socket (1011 `NET-0001`) after this long without audio or a message
 */
export function serveListen(ws: WebSocket, params: ListenParams, log: Logger, idleTimeoutMs = IDLE_TIMEOUT_MS): void {
  const requestId = randomUUID();
  const modelUuid = randomUUID();
  const rate = params.sampleRate;
  const utterance = new UtteranceBuffer(rate);
  const closed = new AbortController();
  let receivedBytes = 0;
  /** Stream time (s) where the audio not yet covered by a final begins. */
  let cursor = 0;
  let speaking = false;
  /** Bumped by every final: an interim of an earlier segment is not sent. */
  let segment = 0;
  let interim: AbortController | null = null;
  let keptAtInterim = 0;
  /** Whether an interim result of the current segment went out. */
  let interimSent = false;
  let voicedAtInterim = 0;
  let decodes: Promise<void> = Promise.resolve();
  let waiting = 0;
  let lastActivity = Date.now();

  const streamS = () => receivedBytes / 2 / rate;
  /** pocketsphinx's words for kept audio at the socket's rate (its model takes 16 kHz). */
  const decode = async (pcm: Buffer, signal: AbortSignal, fast: boolean) =>
    transcribe(await resample(pcm, rate, 16_000, signal), { fast, signal });
  const send = (message: object) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const results = (start: number, end: number, text: string, flags: object) => {
    const words = text.split(" ").filter(Boolean);
    const step = words.length ? (end - start) / words.length : 0;
    send({
      type: "Results",
      channel_index: [0, 1],
      start: round(start),
      duration: round(end - start),
      ...flags,
      channel: {
        alternatives: [
          {
            transcript: text,
            confidence: words.length ? 0.9 : 0,
            words: words.map((word, i) => ({
              word,
              start: round(start + i * step),
              end: round(start + (i + 1) * step),
              confidence: 0.9,
              punctuated_word: word,
            })),
          },
        ],
      },
      metadata: {
        request_id: requestId,
        model_info: { name: params.model, version: "stand-in", arch: "pocketsphinx" },
        model_uuid: modelUuid,
      },
    });
  };
  /** Runs `job` after the decodes before it; `job` must not reject. */
  const schedule = (job: () => Promise<void>) => {
    waiting++;
    const run = decodes.then(job).finally(() => {
      waiting--;
      lastActivity = Math.max(lastActivity, Date.now());
      maybeInterim();
    });
    decodes = run;
    return run;
  };

  const maybeInterim = () => {
    if (!params.interimResults || waiting > 0 || closed.signal.aborted) return;
    const { keptFrames, voicedFrames } = utterance;
    if (voicedFrames === voicedAtInterim || keptFrames - keptAtInterim < INTERIM_EVERY_FRAMES) return;
    keptAtInterim = keptFrames;
    voicedAtInterim = voicedFrames;
    const audio = utterance.latest(INTERIM_WINDOW_FRAMES);
    const ctrl = (interim = new AbortController());
    const of = segment;
    void schedule(async () => {
      try {
        const text = await decode(audio, ctrl.signal, true);
        if (!ctrl.signal.aborted && of === segment && text) {
          results(cursor, streamS(), text, { is_final: false, speech_final: false, from_finalize: false });
          interimSent = true;
        }
      } catch {
        // an aborted or failed interim is superseded by the final
      }
      interim = null;
    });
  };

  /** Ends the segment: decodes what was kept into a final result covering the audio since the previous one. */
  const finalize = (kind: "endpoint" | "finalize" | "close") => {
    interim?.abort();
    segment++;
    keptAtInterim = voicedAtInterim = 0;
    const hadInterim = interimSent;
    interimSent = false;
    const audio = utterance.take();
    const start = cursor;
    const end = (cursor = streamS());
    return schedule(async () => {
      const started = Date.now();
      let text = "";
      try {
        text = audio.length ? await decode(audio, closed.signal, false) : "";
      } catch (err) {
        if (closed.signal.aborted) return;
        log.warn("transcription_failed", { route: "/v1/listen", error: err });
      }
      // Deepgram sends interim results while the speech goes on. The stand-in decodes them in the background, and on a
      // busy host none may be done when the segment ends; then the final's words go out as the segment's interim
      // first, so that a client always gets the interim-then-final sequence Deepgram gives it.
      if (params.interimResults && !hadInterim && text) {
        results(start, end, text, { is_final: false, speech_final: false, from_finalize: false });
      }
      results(start, end, text, {
        is_final: true,
        speech_final: kind === "endpoint",
        from_finalize: kind === "finalize",
      });
      log.info("stand_in_transcription", {
        route: "/v1/listen",
        final: kind,
        audio_ms: Math.round((end - start) * 1000),
        utterance_ms: Math.round((audio.length / 2 / rate) * 1000),
        decode_ms: Date.now() - started,
        words: text.split(" ").filter(Boolean).length,
      });
    });
  };

  if (!/^en(-|$)/i.test(params.language)) {
    log.warn("stand_in_unsupported_language", { language: params.language, decoded_as: "en", route: "/v1/listen" });
  }
  // The idle window counts from the latest audio or message, or from the latest result while decodes run (the
  // stand-in's pocketsphinx takes seconds where Deepgram takes milliseconds).
  const idle = setInterval(
    () => {
      if (waiting > 0 || Date.now() - lastActivity < idleTimeoutMs) return;
      log.info("stand_in_closed", { route: "/v1/listen", reason: "NET-0001" });
      ws.close(1011, "NET-0001");
    },
    Math.min(1000, idleTimeoutMs / 4),
  );

  ws.on("message", (data, isBinary) => {
    lastActivity = Date.now();
    if (isBinary) {
      const pcm = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      utterance.append(pcm);
      receivedBytes += pcm.length;
      if (!speaking && utterance.speaking) {
        speaking = true;
        if (params.vadEvents) send({ type: "SpeechStarted", channel: [0], timestamp: round(streamS()) });
      } else if (speaking && !utterance.speaking) {
        speaking = false;
        if (params.endpointing) void finalize("endpoint");
      }
      maybeInterim();
      return;
    }
    let message: { type?: unknown };
    try {
      message = JSON.parse(data.toString()) as { type?: unknown };
    } catch {
      message = {};
    }
    switch (message.type) {
      case "KeepAlive":
        return;
      case "Finalize":
        void finalize("finalize");
        return;
      case "CloseStream":
        clearInterval(idle); // the client has said it is done: the socket closes when the results are out
        void finalize("close").then(() => {
          send({
            type: "Metadata",
            transaction_key: "deprecated",
            request_id: requestId,
            created: new Date().toISOString(),
            duration: round(streamS()),
            channels: 1,
            models: [modelUuid],
            model_info: { [modelUuid]: { name: params.model, version: "stand-in", arch: "pocketsphinx" } },
          });
          ws.close(1000);
        });
        return;
      default:
        log.warn("stand_in_unknown_message", { route: "/v1/listen", type: String(message.type) });
    }
  });
  ws.on("close", () => {
    clearInterval(idle);
    closed.abort();
    interim?.abort();
  });
}

/** Seconds to the millisecond, as Deepgram's results give them. */
const round = (s: number) => Math.round(s * 1000) / 1000;
