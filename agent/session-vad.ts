/**
 * One Silero inference per session, not two.
 *
 * A session hears the visitor through two VAD streams on the same audio: the agent session's own (turn taking,
 * barge-in: @livekit/agents 1.9.0 `voice/audio_recognition.ts` `createVadTask`) and the realtime STT's, which commits
 * the provider's audio buffer at each end of speech (@livekit/agents-plugin-openai 1.9.0 `stt.ts`,
 * `#forwardVadEvents`: it reads only `START_OF_SPEECH` and `END_OF_SPEECH`). Given the same Silero, both run the
 * same model on the same frames: half of the session's VAD work, which is what falls behind first when a host is
 * short of CPU (the framework's "VAD inference is slower than realtime", docs/agent.md "Sizing").
 *
 * {@link SessionVad} wraps the process's Silero for the agent session and passes on the speech events of its streams
 * as the session reads them; {@link SessionVad.follower} is the VAD to give the STT: its streams run no inference,
 * they drop the frames pushed into them (counting their duration: the audio the STT sent, {@link FollowerVad.audioMs})
 * and repeat the session's speech events. The STT thus commits at the very moment the session sees the visitor stop.
 *
 * The follower's streams subclass the framework's `VADStream` through its protected extension points, as a VAD plugin
 * does. Their `endInput()` closes the input through the stream's writer: the framework's own always throws
 * (`this.input.writable.close()` on a stream its `inputWriter` has locked: "WritableStream is locked"), and the
 * plugin calls it, unawaited, at every session close.
 */
import { VAD, type VADEvent, VADEventType, VADStream } from "@livekit/agents";
import type { AudioFrame } from "@livekit/rtc-node";

/** The agent session's VAD: the process's Silero, whose streams' speech events also reach its followers. */
export class SessionVad extends VAD {
  label: string;
  readonly #inner: VAD;
  readonly #followers = new Set<FollowerStream>();

  /** @param inner the VAD that does the work (the process's Silero, loaded once in `prewarm`) */
  constructor(inner: VAD) {
    super(inner.capabilities);
    this.#inner = inner;
    this.label = inner.label;
  }

  override get minSilenceDuration(): number | null {
    return this.#inner.minSilenceDuration;
  }

  /** A stream of the inner VAD whose `START_OF_SPEECH` and `END_OF_SPEECH`, as they are read, reach the followers. */
  stream(): VADStream {
    const stream = this.#inner.stream();
    const next = stream.next.bind(stream);
    stream.next = async () => {
      const result = await next();
      const type = result.done ? undefined : result.value.type;
      if (type === VADEventType.START_OF_SPEECH || type === VADEventType.END_OF_SPEECH) {
        for (const follower of this.#followers) follower.repeat(result.value as VADEvent);
      }
      return result;
    };
    return stream;
  }

  /** A VAD whose streams repeat this one's speech events and run no inference: the realtime STT's. */
  follower(): FollowerVad {
    return new FollowerVad(this);
  }

  /** @internal A follower stream starts or stops hearing this VAD's events. */
  follow(stream: FollowerStream, on: boolean): void {
    if (on) this.#followers.add(stream);
    else this.#followers.delete(stream);
  }
}

/** The realtime STT's VAD ({@link SessionVad.follower}). */
export class FollowerVad extends VAD {
  label = "session-vad-follower";
  readonly #leader: SessionVad;
  #audioMs = 0;

  constructor(leader: SessionVad) {
    super(leader.capabilities);
    this.#leader = leader;
  }

  override get minSilenceDuration(): number | null {
    return this.#leader.minSilenceDuration;
  }

  /** Audio pushed into this VAD's streams so far, ms: the visitor audio the realtime STT sent to the provider. */
  get audioMs(): number {
    return this.#audioMs;
  }

  /** @internal */
  heard(frame: AudioFrame): void {
    this.#audioMs += (frame.samplesPerChannel / frame.sampleRate) * 1000;
  }

  stream(): VADStream {
    return new FollowerStream(this, this.#leader);
  }
}

/** A stream of a {@link FollowerVad}. */
class FollowerStream extends VADStream {
  readonly #leader: SessionVad;

  constructor(vad: FollowerVad, leader: SessionVad) {
    super(vad);
    this.#leader = leader;
    leader.follow(this, true);
    void this.#drain(vad);
  }

  /** Takes the frames pushed in (nothing else reads this input), counting their duration. */
  async #drain(vad: FollowerVad): Promise<void> {
    for (;;) {
      const { done, value } = await this.inputReader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      if (value !== FLUSH) vad.heard(value as AudioFrame);
    }
  }

  /** Passes on one of the leader's speech events. */
  repeat(event: VADEvent): void {
    if (!this.closed) this.sendVADEvent(event);
  }

  override endInput(): void {
    if (this.inputClosed || this.closed) return; // ending twice is not worth an exception
    this.inputClosed = true;
    this.inputWriter.close().catch(() => {});
  }

  override close(): void {
    if (this.closed) return;
    this.#leader.follow(this, false);
    this.inputReader.cancel().catch(() => {});
    super.close();
  }
}

/** The framework's flush marker in a `VADStream`'s input (`VADStream.FLUSH_SENTINEL`, protected static). */
const FLUSH = (VADStream as unknown as { FLUSH_SENTINEL: symbol }).FLUSH_SENTINEL;
