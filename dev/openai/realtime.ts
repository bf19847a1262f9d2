/**
 * The realtime transcription socket of the local provider (`/v1/realtime?intent=transcription`),
 * the subset the LiveKit OpenAI plugin's realtime STT uses with client-side commits
 * (`turn_detection: null`, the agent's VAD commits at end of speech):
 *
 * client → server: `session.update`, `input_audio_buffer.append` (base64 PCM16 mono 24 kHz),
 * `input_audio_buffer.commit`, `input_audio_buffer.clear`;
 * server → client: `session.created`, `session.updated`, `input_audio_buffer.committed`,
 * `input_audio_buffer.cleared`, `conversation.item.input_audio_transcription.delta` / `.completed`, `error`.
 * Source: OpenAI API reference, "Realtime transcription"; @livekit/agents-plugin-openai 1.9 `stt.ts`.
 *
 * Only the utterance is decoded. The plugin appends all of the visitor's audio, 50 ms at a time (silence and
 * the agent's turns included), and commits only when its VAD hears the end of speech. A commit therefore holds
 * everything since the previous one, and on a host short of CPU that VAD runs tens of seconds behind the audio
 * (the agent logs "VAD inference is slower than realtime"): commits of 30-55 s around 3 s of words were seen
 * on the 2-core VM. {@link UtteranceBuffer} cuts the audio into 20 ms frames as it arrives and keeps only the
 * speech: the frames more than 10 dB above the noise floor, with 0.3 s before and after each stretch of them.
 * Longer pauses shrink to 0.6 s, at most the latest 30 s are kept, and everything else is dropped on arrival.
 *
 * Interim transcripts: once the kept audio has grown by 1 s and holds new voiced frames since the previous
 * interim, its latest 8 s are decoded with pocketsphinx's fast first pass, and words go out as deltas when they
 * extend the words already sent (beyond 8 s of speech they seldom do; the final then brings the rest).
 * Final transcript: on commit, a running interim is stopped and the kept audio is decoded with the full search
 * (see {@link decode}); the remaining words go out as deltas, then `completed` carries the transcript (empty,
 * without a decode, when nothing was voiced).
 * A connection runs one decode at a time: finals queue in commit order, and an interim starts only when no
 * decode is running or queued. The decoding an utterance costs thus grows with its speech, not with the audio
 * before it.
 *
 * Each final is logged as `stand_in_transcription` with `audio_ms` (appended since the previous commit),
 * `utterance_ms` (decoded for the final), `decode_ms`, `words`, `interims` (interim decodes started for the
 * item), `interim_audio_ms` (audio they decoded, in all) and `interim_decode_ms` (their wall time, in all).
 *
 * Language: the session's `audio.input.transcription.language` (or the first of its `languages`) is what the real API
 * transcribes in. pocketsphinx has only its English model, so every language is decoded as English; a language other
 * than English is logged once per socket, as `stand_in_unsupported_language` with `language` and `decoded_as: "en"`.
 *
 * Instant mode (a catalog given, instant.ts): no pocketsphinx at all. There are no interims; on commit the kept
 * audio is matched against the catalog's known recordings, and the matched transcript (or "" for none) goes out
 * at once as one delta and `completed`. The log line then also says `match` (the recording's name, or null)
 * and `score` (the best recording's), and `decode_ms` is the matching's wall time (0.1 ms resolution).
 */
import type { WebSocket } from "ws";
import type { Logger } from "../../contract/log.ts";
import { PCM_RATE, resample, transcribe } from "./engines.ts";
import { type InstantCatalog, samplesOf } from "./instant.ts";

/** Frames kept before the first and after the last voiced frame of a stretch of speech (0.3 s each). */
const ROLL_FRAMES = 15;
/** Consecutive voiced frames that start speech (60 ms): a click does not. */
const ONSET_FRAMES = 3;
/** The noise floor is the quietest frame of the last 3 s … */
const FLOOR_WINDOW_FRAMES = 150;
/** … but never below -70 dBFS, so that faint noise after digital silence is not taken for speech. */
const FLOOR_MIN_DB = -70;
/** A frame is voiced when its level exceeds the noise floor by more than this, dB. */
const VOICED_MARGIN_DB = 10;
/** An utterance keeps its latest 30 s at most. */
const MAX_UTTERANCE_FRAMES = 1500;
/** An interim needs this much more kept audio than the previous one (1 s). */
const INTERIM_EVERY_FRAMES = 50;
/** An interim decodes the latest 8 s of the utterance at most. */
const INTERIM_WINDOW_FRAMES = 400;

/** Milliseconds of PCM16 mono audio at {@link PCM_RATE} in `bytes`. */
const durationMs = (bytes: number) => Math.round((bytes / 2 / PCM_RATE) * 1000);

/** RMS level of a frame in dBFS, or null for digital silence (all samples zero). */
function levelDb(frame: Buffer): number | null {
  let sum = 0;
  for (let i = 0; i < frame.length; i += 2) sum += frame.readInt16LE(i) ** 2;
  return sum ? 10 * Math.log10(sum / (frame.length / 2) / 32768 ** 2) : null;
}

/**
 * The noise floor of a stream: the quietest of its last {@link FLOOR_WINDOW_FRAMES} frames (digital silence
 * left out, as it says nothing about the noise), never below {@link FLOOR_MIN_DB}.
 */
class NoiseFloor {
  #levels = new Float64Array(FLOOR_WINDOW_FRAMES).fill(Infinity);
  #next = 0;

  /**
   * Whether a frame is voiced against the floor of the frames before it; the frame then joins them.
   * @param db the frame's RMS level in dBFS, null for digital silence
   */
  voiced(db: number | null): boolean {
    if (db === null) return false;
    const quietest = Math.min(...this.#levels);
    const floor = quietest === Infinity ? FLOOR_MIN_DB : Math.max(quietest, FLOOR_MIN_DB);
    this.#levels[this.#next] = db;
    this.#next = (this.#next + 1) % FLOOR_WINDOW_FRAMES;
    return db > floor + VOICED_MARGIN_DB;
  }
}

/**
 * Picks the utterance out of a stream of PCM16 mono audio at {@link PCM_RATE} as it is appended: 20 ms frames
 * more than {@link VOICED_MARGIN_DB} above the noise floor are voiced; {@link ONSET_FRAMES} voiced frames in a
 * row start speech, which is kept with the {@link ROLL_FRAMES} frames before it and until {@link ROLL_FRAMES}
 * unvoiced frames have followed the last voiced one. Everything else is dropped when it arrives, and only the
 * latest {@link MAX_UTTERANCE_FRAMES} kept frames are held, so memory and the audio to decode stay bounded.
 *
 * The noise floor and whether speech is going on carry over from one utterance to the next.
 *
 * Also used by the Deepgram stand-in (dev/deepgram/listen.ts), at the 16 kHz its clients send.
 */
export class UtteranceBuffer {
  /** One frame: 20 ms of PCM16 mono, in bytes. */
  readonly #frameBytes: number;
  #floor = new NoiseFloor();
  /** Bytes of an incomplete frame, completed by the next append. */
  #carry = Buffer.alloc(0);
  /** Recent frames not kept (yet): the pre-roll of the next speech, and its first voiced frames. */
  #pending: Buffer[] = [];
  #kept: Buffer[] = [];
  /** Voiced frames in a row, up to the latest. */
  #run = 0;
  /** Frames still to keep after the latest voiced one; 0 when no speech is going on. */
  #hangover = 0;
  #receivedBytes = 0;
  #keptFrames = 0;
  #voicedFrames = 0;

  /** @param rate the sample rate of the audio appended, Hz (default {@link PCM_RATE}) */
  constructor(rate = PCM_RATE) {
    this.#frameBytes = (rate / 50) * 2;
  }

  /** Whether speech is going on: its onset was heard, and fewer than 0.3 s of unvoiced frames have followed it. */
  get speaking(): boolean {
    return this.#hangover > 0;
  }

  /** Bytes appended since the utterance began (the last {@link take} or {@link clear}). */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  /** Frames kept since the utterance began, including any later dropped by the 30 s bound. */
  get keptFrames(): number {
    return this.#keptFrames;
  }

  /** Voiced frames among {@link keptFrames}. */
  get voicedFrames(): number {
    return this.#voicedFrames;
  }

  /** Adds audio: PCM16 mono little-endian at the buffer's rate, any length. */
  append(pcm: Buffer): void {
    this.#receivedBytes += pcm.length;
    const data = this.#carry.length ? Buffer.concat([this.#carry, pcm]) : pcm;
    const frame = this.#frameBytes;
    let at = 0;
    for (; at + frame <= data.length; at += frame) this.#add(data.subarray(at, at + frame));
    this.#carry = Buffer.from(data.subarray(at));
  }

  /** The latest `frames` kept frames (all when fewer), as one PCM16 buffer. */
  latest(frames: number): Buffer {
    return Buffer.concat(this.#kept.slice(-frames));
  }

  /** Ends the utterance: returns its kept audio (PCM16, empty when nothing was voiced) and begins the next. */
  take(): Buffer {
    const audio = Buffer.concat(this.#kept);
    this.clear();
    return audio;
  }

  /** Drops the utterance and begins the next. */
  clear(): void {
    this.#carry = Buffer.alloc(0);
    this.#pending = [];
    this.#kept = [];
    this.#run = this.#receivedBytes = this.#keptFrames = this.#voicedFrames = 0;
  }

  #add(frame: Buffer): void {
    const voiced = this.#floor.voiced(levelDb(frame));
    this.#run = voiced ? this.#run + 1 : 0;
    if (this.#hangover > 0) {
      this.#keep(frame, voiced);
      this.#hangover = voiced ? ROLL_FRAMES : this.#hangover - 1;
      return;
    }
    this.#pending.push(frame);
    if (this.#run >= ONSET_FRAMES) {
      const preRoll = this.#pending.length - this.#run;
      this.#pending.forEach((f, i) => this.#keep(f, i >= preRoll));
      this.#pending = [];
      this.#hangover = ROLL_FRAMES;
    } else if (this.#pending.length > ROLL_FRAMES + ONSET_FRAMES) {
      this.#pending.shift();
    }
  }

  #keep(frame: Buffer, voiced: boolean): void {
    this.#kept.push(frame);
    if (this.#kept.length > MAX_UTTERANCE_FRAMES) this.#kept.shift();
    this.#keptFrames++;
    if (voiced) this.#voicedFrames++;
  }
}

/** The item being filled or decoded, and the work its interims cost. */
interface Item {
  id: string;
  /** Words already sent as deltas. */
  sent: string[];
  interims: number;
  interimAudioMs: number;
  interimDecodeMs: number;
  /** The utterance's kept and voiced frames when the latest interim started. */
  keptAtInterim: number;
  voicedAtInterim: number;
}

let itemCounter = 0;

/**
 * Speech to text for the realtime socket: PCM16 mono at {@link PCM_RATE} in, words out ("" for none).
 * `fast` (interims) runs pocketsphinx's first pass only; a final runs the full search, which costs about 0.7 s
 * more CPU for 3.6 s of speech but keeps the words right when the audio arrives degraded: with 8 % of the
 * 20 ms frames of something.raw zeroed (a loaded host's lost packets), the first pass alone got the sentence
 * right in 7 of 15 trials and the full search in 15 of 15.
 */
async function decode(pcm: Buffer, signal: AbortSignal, fast: boolean): Promise<string> {
  return transcribe(await resample(pcm, PCM_RATE, 16_000, signal), { fast, signal });
}

/**
 * Serves one realtime transcription connection until it closes.
 * @param log the provider's logger
 * @param catalog instant mode: the known recordings that stand in for speech recognition (see the module comment)
 */
export function serveRealtimeTranscription(ws: WebSocket, log: Logger, catalog?: InstantCatalog): void {
  const utterance = new UtteranceBuffer();
  const closed = new AbortController();
  let item: Item | null = null;
  let interim: AbortController | null = null;
  let decodes: Promise<void> = Promise.resolve();
  let waiting = 0; // decodes running or queued; they run one at a time, in order
  let unsupportedLogged = false;

  const send = (event: object) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
  };
  const newItem = (): Item =>
    (item = {
      id: `item_dev_${++itemCounter}`,
      sent: [],
      interims: 0,
      interimAudioMs: 0,
      interimDecodeMs: 0,
      keptAtInterim: 0,
      voicedAtInterim: 0,
    });
  const sendNewWords = (text: string, it: Item) => {
    const words = text.split(" ").filter(Boolean);
    if (words.length <= it.sent.length || !it.sent.every((w, i) => words[i] === w)) return;
    const delta = (it.sent.length ? " " : "") + words.slice(it.sent.length).join(" ");
    send({ type: "conversation.item.input_audio_transcription.delta", item_id: it.id, content_index: 0, delta });
    it.sent = words;
  };
  /** Logs, once per socket, a transcription language other than English: it is decoded as English all the same. */
  const noteLanguage = (asked: { language?: unknown; languages?: unknown } | undefined) => {
    const language = asked?.language ?? (Array.isArray(asked?.languages) ? asked.languages[0] : undefined);
    if (unsupportedLogged || typeof language !== "string" || /^en(-|$)/i.test(language)) return;
    unsupportedLogged = true;
    log.warn("stand_in_unsupported_language", { language, decoded_as: "en", route: "/v1/realtime" });
  };
  /** Runs `job` after the decodes before it; `job` must not reject. */
  const schedule = (job: () => Promise<void>) => {
    waiting++;
    decodes = decodes.then(job).finally(() => {
      waiting--;
      maybeInterim();
    });
  };

  const maybeInterim = () => {
    const it = item;
    if (!it || catalog || waiting > 0 || closed.signal.aborted) return;
    const { keptFrames, voicedFrames } = utterance;
    if (voicedFrames === it.voicedAtInterim || keptFrames - it.keptAtInterim < INTERIM_EVERY_FRAMES) return;
    it.keptAtInterim = keptFrames;
    it.voicedAtInterim = voicedFrames;
    const audio = utterance.latest(INTERIM_WINDOW_FRAMES);
    const ctrl = (interim = new AbortController());
    schedule(async () => {
      const started = Date.now();
      try {
        const text = await decode(audio, ctrl.signal, true);
        if (!ctrl.signal.aborted) sendNewWords(text, it);
      } catch {
        // an aborted or failed interim is superseded by the final decode
      }
      it.interims++;
      it.interimAudioMs += durationMs(audio.length);
      it.interimDecodeMs += Date.now() - started;
      interim = null;
    });
  };

  const finish = async (it: Item, audio: Buffer, audioMs: number) => {
    if (closed.signal.aborted) return;
    if (catalog) return finishInstant(it, audio, audioMs, catalog);
    const started = Date.now();
    let transcript: string;
    try {
      transcript = audio.length ? await decode(audio, closed.signal, false) : "";
    } catch (err) {
      if (closed.signal.aborted) return;
      log.warn("transcription_failed", { error: err });
      send({ type: "error", error: { type: "server_error", message: (err as Error).message } });
      return;
    }
    sendNewWords(transcript, it);
    send({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: it.id,
      content_index: 0,
      transcript,
      usage: { type: "duration", seconds: audioMs / 1000 },
    });
    log.info("stand_in_transcription", {
      audio_ms: audioMs,
      utterance_ms: durationMs(audio.length),
      decode_ms: Date.now() - started,
      words: transcript.split(" ").filter(Boolean).length,
      interims: it.interims,
      interim_audio_ms: it.interimAudioMs,
      interim_decode_ms: it.interimDecodeMs,
    });
  };

  const finishInstant = (it: Item, audio: Buffer, audioMs: number, known: InstantCatalog) => {
    const match = known.match(samplesOf(audio), PCM_RATE);
    sendNewWords(match.transcript, it);
    send({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: it.id,
      content_index: 0,
      transcript: match.transcript,
      usage: { type: "duration", seconds: audioMs / 1000 },
    });
    log.info("stand_in_transcription", {
      audio_ms: audioMs,
      utterance_ms: durationMs(audio.length),
      decode_ms: Math.round(match.ms * 10) / 10,
      words: match.transcript.split(" ").filter(Boolean).length,
      interims: 0,
      interim_audio_ms: 0,
      interim_decode_ms: 0,
      match: match.name,
      score: Math.round(match.score * 1000) / 1000,
    });
  };

  const commit = () => {
    interim?.abort();
    const it = item ?? newItem();
    item = null;
    const audioMs = durationMs(utterance.receivedBytes);
    const audio = utterance.take();
    send({ type: "input_audio_buffer.committed", item_id: it.id, previous_item_id: null });
    schedule(() => finish(it, audio, audioMs));
  };

  send({ type: "session.created", session: { type: "transcription", object: "realtime.transcription_session" } });
  ws.on("message", (data) => {
    let event: {
      type?: string;
      audio?: string;
      session?: {
        audio?: { input?: { turn_detection?: unknown; transcription?: { language?: unknown; languages?: unknown } } };
      };
    };
    try {
      event = JSON.parse(data.toString());
    } catch {
      return send({ type: "error", error: { type: "invalid_request_error", message: "frames must be JSON" } });
    }
    switch (event.type) {
      case "session.update":
        if (event.session?.audio?.input?.turn_detection) {
          log.warn("turn_detection_not_implemented", { hint: "commit from the client (turn_detection: null)" });
        }
        noteLanguage(event.session?.audio?.input?.transcription);
        return send({ type: "session.updated", session: event.session ?? {} });
      case "input_audio_buffer.append":
        if (!item) newItem();
        utterance.append(Buffer.from(event.audio ?? "", "base64"));
        return maybeInterim();
      case "input_audio_buffer.commit":
        return commit();
      case "input_audio_buffer.clear":
        interim?.abort();
        item = null;
        utterance.clear();
        return send({ type: "input_audio_buffer.cleared" });
      default:
        return send({
          type: "error",
          error: { type: "invalid_request_error", message: `unsupported event ${event.type}` },
        });
    }
  });
  ws.on("close", () => {
    closed.abort();
    interim?.abort();
  });
}
