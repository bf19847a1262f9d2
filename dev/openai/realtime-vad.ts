/**
 * The input audio buffer of the realtime conversation stand-in (realtime-conversation.ts), with its server VAD.
 *
 * The VAD is an energy detector, not OpenAI's model: 20 ms frames of PCM16 mono at {@link PCM_RATE} are voiced when
 * their RMS level exceeds the noise floor (the quietest frame of the last 3 s, never below -70 dBFS; digital silence
 * is never voiced) by `20 × threshold` dB (the default threshold 0.5 gives 10 dB, the transcription socket's margin,
 * realtime.ts). Three voiced frames in a row (60 ms) start speech; `silence_duration_ms` of unvoiced frames after the
 * last voiced one stop it. The committed audio is the speech with `prefix_padding_ms` before its first voiced frame
 * and the silence after its last.
 *
 * Times follow the Realtime API's `input_audio_buffer.speech_started` / `speech_stopped` events (OpenAI API
 * reference, "Realtime server events"): `audio_start_ms` and `audio_end_ms` count milliseconds of audio appended
 * since the session began; `audio_end_ms` includes the silence duration.
 *
 * Memory stays bounded: with turn detection on, audio that is not speech is dropped once it is older than the prefix
 * padding (so a manual commit between turns holds little); either way the buffer keeps its latest 30 s.
 */
import { PCM_RATE } from "./engines.ts";

/** Server VAD settings, from the session's `turn_detection` (realtime-session.ts). */
export interface VadSettings {
  /** 0–1: the margin over the noise floor is `20 × threshold` dB. */
  threshold: number;
  /** Audio kept before the first voiced frame, ms. */
  prefixPaddingMs: number;
  /** Unvoiced audio that ends speech, ms. */
  silenceDurationMs: number;
}

const FRAME_MS = 20;
const FRAME_BYTES = ((PCM_RATE * FRAME_MS) / 1000) * 2;
/** Consecutive voiced frames that start speech (60 ms): a click does not. */
const ONSET_FRAMES = 3;
/** The noise floor is the quietest frame of the last 3 s … */
const FLOOR_WINDOW_FRAMES = 150;
/** … but never below -70 dBFS. */
const FLOOR_MIN_DB = -70;
/** The buffer keeps its latest 30 s at most. */
const MAX_FRAMES = 1500;

/** What {@link InputAudioBuffer.append} detected. */
export type VadEvent =
  { type: "speech_started"; audioStartMs: number } | { type: "speech_stopped"; audioEndMs: number; audio: Buffer };

/** RMS level of a frame in dBFS, or null for digital silence (all samples zero). */
function levelDb(frame: Buffer): number | null {
  let sum = 0;
  for (let i = 0; i < frame.length; i += 2) sum += frame.readInt16LE(i) ** 2;
  return sum ? 10 * Math.log10(sum / (frame.length / 2) / 32768 ** 2) : null;
}

/** The client's appended audio since the last commit or clear, and the server VAD over it. */
export class InputAudioBuffer {
  /** The VAD's settings; null: no turn detection (the client commits). */
  settings: VadSettings | null = null;
  #frames: Buffer[] = [];
  #carry = Buffer.alloc(0);
  /** Frames appended since the session began. */
  #total = 0;
  #levels = new Float64Array(FLOOR_WINDOW_FRAMES).fill(Infinity);
  #next = 0;
  /** Voiced frames in a row, up to the latest. */
  #run = 0;
  /** Unvoiced frames since the last voiced one, while speaking. */
  #silent = 0;
  /** Whether the VAD hears speech. */
  speaking = false;

  /** Milliseconds of audio in the buffer. */
  get bufferedMs(): number {
    return this.#frames.length * FRAME_MS;
  }

  /** Milliseconds of audio appended since the session began. */
  get totalMs(): number {
    return this.#total * FRAME_MS;
  }

  /**
   * Adds audio and runs the VAD over it.
   * @param pcm PCM16 mono little-endian at {@link PCM_RATE}, any length
   * @returns what the VAD detected, in order; a `speech_stopped` carries the audio to commit (the buffer is then
   *   empty)
   */
  append(pcm: Buffer): VadEvent[] {
    const data = this.#carry.length ? Buffer.concat([this.#carry, pcm]) : pcm;
    const events: VadEvent[] = [];
    let at = 0;
    for (; at + FRAME_BYTES <= data.length; at += FRAME_BYTES) {
      const event = this.#add(Buffer.from(data.subarray(at, at + FRAME_BYTES)));
      if (event) events.push(event);
    }
    this.#carry = Buffer.from(data.subarray(at));
    return events;
  }

  /** Empties the buffer: its audio (PCM16) and how long it is, ms. Speech detection starts over. */
  take(): { audio: Buffer; ms: number } {
    const audio = Buffer.concat(this.#frames);
    const ms = this.bufferedMs;
    this.clear();
    return { audio, ms };
  }

  /** Drops the buffered audio; speech detection starts over (the noise floor stays). */
  clear(): void {
    this.#frames = [];
    this.#carry = Buffer.alloc(0);
    this.#run = this.#silent = 0;
    this.speaking = false;
  }

  #voiced(frame: Buffer, settings: VadSettings): boolean {
    const db = levelDb(frame);
    if (db === null) return false;
    const quietest = Math.min(...this.#levels);
    const floor = quietest === Infinity ? FLOOR_MIN_DB : Math.max(quietest, FLOOR_MIN_DB);
    this.#levels[this.#next] = db;
    this.#next = (this.#next + 1) % FLOOR_WINDOW_FRAMES;
    return db > floor + 20 * settings.threshold;
  }

  #add(frame: Buffer): VadEvent | null {
    this.#frames.push(frame);
    this.#total++;
    if (this.#frames.length > MAX_FRAMES) this.#frames.shift();
    const settings = this.settings;
    if (!settings) return null;
    const voiced = this.#voiced(frame, settings);
    const prefixFrames = Math.round(settings.prefixPaddingMs / FRAME_MS);
    if (!this.speaking) {
      this.#run = voiced ? this.#run + 1 : 0;
      if (this.#run < ONSET_FRAMES) {
        // Not speech (yet): keep the prefix padding and the frames that may start speech, drop the rest.
        const keep = prefixFrames + ONSET_FRAMES;
        if (this.#frames.length > keep) this.#frames.splice(0, this.#frames.length - keep);
        return null;
      }
      this.speaking = true;
      this.#silent = 0;
      const keep = prefixFrames + this.#run;
      if (this.#frames.length > keep) this.#frames.splice(0, this.#frames.length - keep);
      return { type: "speech_started", audioStartMs: (this.#total - this.#run) * FRAME_MS };
    }
    this.#silent = voiced ? 0 : this.#silent + 1;
    if (this.#silent * FRAME_MS < settings.silenceDurationMs) return null;
    const audioEndMs = this.totalMs;
    return { type: "speech_stopped", audioEndMs, audio: this.take().audio };
  }
}
