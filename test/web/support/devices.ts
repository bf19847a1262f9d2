/**
 * Audio inputs for tests of the /chat microphone choice, and a stand-in agent that talks in a dev LiveKit room.
 *
 * `fakeMicrophones` wraps the page's `navigator.mediaDevices` (an init script, before the page's own script runs):
 * `enumerateDevices()` lists Chromium's fake inputs (`--use-fake-device-for-media-stream`), or only the first of
 * them (`single`), plus, when plugged in, one more input backed by a WebAudio oscillator (660 Hz), whose
 * `getUserMedia` answer is that oscillator's track (its `getSettings()` naming the input, as a device's track does).
 * Every `getUserMedia` call's requested audio deviceId and the input each opened track is from are recorded in
 * `window.__mics`; `__mics.plug(on)` adds or removes the oscillator input and fires `devicechange`, as plugging a
 * headset in or out does.
 */
import type { Page } from "playwright-core";
import { AccessToken } from "livekit-server-sdk";
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteTrack,
} from "@livekit/rtc-node";

/** The oscillator input's deviceId and label. */
export const OSCILLATOR_ID = "test-oscillator-660";
export const OSCILLATOR_LABEL = "Test oscillator (660 Hz)";
/** The oscillator input's tone, Hz. */
export const OSCILLATOR_HZ = 660;

/** What the init script records in the page (`window.__mics`). */
export interface MicsRecord {
  /** Each `getUserMedia` call's audio deviceId (unwrapped from `exact`/`ideal`), null when none was asked for. */
  requests: (string | null)[];
  /** The input each opened audio track is from (`getSettings().deviceId`), in opening order. */
  opened: string[];
  /** The opened tracks, in the same order. */
  tracks: MediaStreamTrack[];
  /** Plugs the oscillator input in (or out, with false) and fires `devicechange`. */
  plug(on?: boolean): void;
}

export interface FakeMicrophoneOptions {
  /** List only the first of Chromium's fake inputs. Default false: all of them. */
  single?: boolean;
  /** The oscillator input is plugged in from the start. Default false (see `__mics.plug()`). */
  oscillator?: boolean;
}

/**
 * Installs the input wrapper on `page` (call before `page.goto`). The oscillator input is listed only once the
 * browser names the other inputs (the microphone permission is granted), as a real device would be.
 */
export async function fakeMicrophones(page: Page, options: FakeMicrophoneOptions = {}): Promise<void> {
  await page.addInitScript(
    ({ single, oscillator, id, label, hz }) => {
      const md = navigator.mediaDevices;
      const enumerate = md.enumerateDevices.bind(md);
      const getUserMedia = md.getUserMedia.bind(md);
      let plugged = oscillator;
      let context: AudioContext | null = null;
      const record: MicsRecord = {
        requests: [],
        opened: [],
        tracks: [],
        plug(on = true) {
          plugged = on;
          md.dispatchEvent(new Event("devicechange"));
        },
      };
      (window as unknown as { __mics: MicsRecord }).__mics = record;
      md.enumerateDevices = async () => {
        const all = await enumerate();
        const inputs = all.filter((d) => d.kind === "audioinput");
        const named = inputs.some((d) => d.deviceId !== "");
        const extra = {
          deviceId: id,
          groupId: id,
          kind: "audioinput" as const,
          label,
          toJSON: () => ({ deviceId: id }),
        };
        return [
          ...(single ? inputs.slice(0, 1) : inputs),
          ...(plugged && named ? [extra as MediaDeviceInfo] : []),
          ...all.filter((d) => d.kind !== "audioinput"),
        ];
      };
      const unwrap = (c: ConstrainDOMString | undefined): string | null => {
        const v = typeof c === "object" && !Array.isArray(c) ? (c.exact ?? c.ideal) : c;
        return (Array.isArray(v) ? v[0] : v) ?? null;
      };
      md.getUserMedia = async (constraints?: MediaStreamConstraints) => {
        const audio = constraints?.audio;
        const asked = typeof audio === "object" ? unwrap(audio.deviceId) : null;
        record.requests.push(asked);
        let stream: MediaStream;
        if (plugged && asked === id) {
          context ??= new AudioContext();
          const tone = new OscillatorNode(context, { frequency: hz });
          const out = context.createMediaStreamDestination();
          tone.connect(new GainNode(context, { gain: 0.3 })).connect(out);
          tone.start();
          const track = out.stream.getAudioTracks()[0]!;
          const settings = track.getSettings.bind(track);
          track.getSettings = () => ({ ...settings(), deviceId: id, groupId: id });
          track.addEventListener("ended", () => tone.stop());
          stream = new MediaStream([track]);
        } else {
          stream = await getUserMedia(constraints);
        }
        for (const track of stream.getAudioTracks()) {
          record.opened.push(track.getSettings().deviceId ?? "");
          record.tracks.push(track);
        }
        return stream;
      };
    },
    {
      single: options.single ?? false,
      oscillator: options.oscillator ?? false,
      id: OSCILLATOR_ID,
      label: OSCILLATOR_LABEL,
      hz: OSCILLATOR_HZ,
    },
  );
}

/** What `window.__mics` recorded so far (without the tracks). */
export function mics(page: Page): Promise<{ requests: (string | null)[]; opened: string[] }> {
  return page.evaluate(() => {
    const { requests, opened } = (window as unknown as { __mics: MicsRecord }).__mics;
    return { requests, opened };
  });
}

const RATE = 48_000;

/** A participant standing in for the agent (rtc-node): it talks (a tone) and hears the visitor. */
export interface StandInAgent {
  /**
   * Sets the loudness of what it says: a 440 Hz tone whose amplitude swells and fades three times a second, peaking
   * at `peak` (0…1 full scale); 0 sends digital silence.
   */
  say(peak: number): void;
  /**
   * Reads `seconds` of the visitor's microphone (mono 48 kHz, 16-bit), once it has subscribed to it.
   * @throws Error when no visitor track is subscribed within 20 s
   */
  hear(seconds: number): Promise<Int16Array>;
  /** Stops talking and leaves the room. */
  leave(): Promise<void>;
}

/**
 * Joins `room` on the LiveKit at `url` (dev keys) as `identity` and publishes its voice (silent until `say()`).
 */
export async function joinAsAgent(url: string, room: string, identity = "agent-stand-in"): Promise<StandInAgent> {
  const at = new AccessToken("devkey", "secret", { identity, ttl: "10m" });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
  const r = new Room();
  let visitor: RemoteTrack | null = null;
  r.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
    if (track.kind === TrackKind.KIND_AUDIO) visitor = track;
  });
  await r.connect(url, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  const source = new AudioSource(RATE, 1);
  const track = LocalAudioTrack.createAudioTrack("voice", source);
  await r.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
  let peak = 0;
  let talking = true;
  void (async () => {
    const n = RATE / 100; // 10 ms frames, paced by the source's queue
    for (let i = 0; talking; i++) {
      const samples = new Int16Array(n);
      for (let k = 0; k < n; k++) {
        const t = (i * n + k) / RATE;
        const swell = 0.55 + 0.45 * Math.sin(2 * Math.PI * 3 * t);
        samples[k] = Math.round(peak * swell * 32767 * Math.sin(2 * Math.PI * 440 * t));
      }
      await source.captureFrame(new AudioFrame(samples, RATE, 1, n));
    }
  })();
  return {
    say: (p) => void (peak = p),
    async hear(seconds) {
      const deadline = Date.now() + 20_000;
      while (!visitor && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (!visitor) throw new Error("the visitor's microphone was not subscribed");
      const reader = new AudioStream(visitor, RATE, 1).getReader();
      const chunks: Int16Array[] = [];
      let total = 0;
      while (total < seconds * RATE) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(new Int16Array(value.data));
        total += value.data.length;
      }
      await reader.cancel().catch(() => undefined);
      const out = new Int16Array(total);
      let offset = 0;
      for (const c of chunks) {
        out.set(c, offset);
        offset += c.length;
      }
      return out;
    },
    async leave() {
      talking = false;
      await r.disconnect().catch(() => undefined);
    },
  };
}
