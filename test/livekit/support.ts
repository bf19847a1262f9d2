/**
 * Helpers for the dev LiveKit server tests: tokens, rtc-node participants, tone generation and analysis.
 */
import { AccessToken, type VideoGrant } from "livekit-server-sdk";
import { RoomConfiguration } from "@livekit/protocol";
import { afterAll, beforeAll } from "vitest";
import { type DevLiveKit, type DevLiveKitOptions, startDevLiveKit } from "../../dev/livekit/server.ts";
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  type RemoteTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
} from "@livekit/rtc-node";

export const API_KEY = "devkey";
export const API_SECRET = "secret";
export const SAMPLE_RATE = 48_000;

/** A join token for `identity` in `room` (10 min), with extra grants. */
export function joinToken(
  room: string,
  identity: string,
  grants: Partial<VideoGrant> = {},
  secret = API_SECRET,
): Promise<string> {
  const at = new AccessToken(API_KEY, secret, { identity, ttl: "10m" });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true, ...grants });
  return at.toJwt();
}

/**
 * A join token for `identity` in `room` (default 10 min): a visitor's, or with `agent` an agent's (kind
 * `agent` and the agent grant, as LiveKit's job tokens), optionally carrying a `roomConfig`.
 * @param opts.ttl seconds
 */
export function configToken(
  room: string,
  identity: string,
  opts: { config?: Partial<RoomConfiguration>; agent?: boolean; ttl?: number } = {},
): Promise<string> {
  const at = new AccessToken(API_KEY, API_SECRET, { identity, ttl: opts.ttl ?? 600 });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true, canPublishData: true });
  if (opts.agent) {
    at.kind = "agent";
    at.addGrant({ agent: true });
  }
  if (opts.config) at.roomConfig = new RoomConfiguration(opts.config);
  return at.toJwt();
}

/** Connects a rtc-node participant with a join token for `identity` in `room`. */
export async function connect(url: string, room: string, identity: string): Promise<Room> {
  return connectWith(url, await joinToken(room, identity));
}

/** Connects a rtc-node participant with a given token. */
export async function connectWith(url: string, token: string): Promise<Room> {
  const r = new Room();
  await r.connect(url, token, { autoSubscribe: true, dynacast: false });
  return r;
}

/**
 * Publishes a sine tone as the microphone until `stop()` (10 ms frames, mono 48 kHz, amplitude 0.3 FS).
 * @param hz tone frequency, Hz
 */
export async function publishTone(room: Room, hz: number): Promise<{ stop(): void; sid: string }> {
  const source = new AudioSource(SAMPLE_RATE, 1);
  const track = LocalAudioTrack.createAudioTrack("tone", source);
  const publication = await room.localParticipant!.publishTrack(
    track,
    new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
  );
  let running = true;
  void (async () => {
    const n = SAMPLE_RATE / 100;
    for (let i = 0; running; i++) {
      const samples = new Int16Array(n);
      for (let k = 0; k < n; k++)
        samples[k] = Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * hz * (i * n + k)) / SAMPLE_RATE));
      await source.captureFrame(new AudioFrame(samples, SAMPLE_RATE, 1, n));
    }
  })();
  return { stop: () => void (running = false), sid: publication.sid! };
}

/** Resolves with the first remote audio track subscribed in `room` (optionally from `identity`). */
export function firstAudioTrack(room: Room, identity?: string, timeoutMs = 20_000): Promise<RemoteTrack> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no remote audio track subscribed")), timeoutMs);
    const check = (track: RemoteTrack, _pub: unknown, p: { identity: string }) => {
      if (track.kind !== TrackKind.KIND_AUDIO || (identity && p.identity !== identity)) return;
      clearTimeout(timer);
      room.off(RoomEvent.TrackSubscribed, check);
      resolve(track);
    };
    room.on(RoomEvent.TrackSubscribed, check);
  });
}

/** Reads `seconds` of mono 48 kHz audio from a remote track, skipping leading silence (max 10 s). */
export async function record(track: RemoteTrack, seconds: number): Promise<Int16Array> {
  const stream = new AudioStream(track, SAMPLE_RATE, 1);
  const chunks: Int16Array[] = [];
  let total = 0;
  const deadline = Date.now() + 10_000 + seconds * 1000;
  const reader = stream.getReader();
  for (;;) {
    const { value: frame, done } = await reader.read();
    if (done) break;
    const heard = total > 0 || frame.data.some((s) => Math.abs(s) > 300);
    if (heard) {
      chunks.push(new Int16Array(frame.data));
      total += frame.data.length;
    }
    if (total >= seconds * SAMPLE_RATE || Date.now() > deadline) break;
  }
  await reader.cancel().catch(() => {});
  const out = new Int16Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Root-mean-square level of samples, in full-scale units (0..1). */
export function rms(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += (s / 32768) ** 2;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/** The strongest frequency (Hz, 10 Hz steps from 100 to 2000 Hz) by Goertzel power. */
export function dominantFrequency(samples: Int16Array, rate = SAMPLE_RATE): number {
  let best = 0;
  let bestPower = -1;
  for (let f = 100; f <= 2000; f += 10) {
    const w = (2 * Math.PI * f) / rate;
    const c = 2 * Math.cos(w);
    let s1 = 0;
    let s2 = 0;
    for (const x of samples) {
      const s0 = x + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - c * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = f;
    }
  }
  return best;
}

/** A dev LiveKit server for one `describe` block (see {@link devLiveKitPerSuite}). */
export interface SuiteLiveKit {
  /** The server's signal URL (valid once the block's tests run). */
  readonly url: string;
  /** Joins `room` as `identity` with an rtc-node participant that is disconnected after the block. */
  join(room: string, identity: string): Promise<Room>;
  /** Registers a room connected some other way, so that it is disconnected after the block. */
  track(room: Room): Room;
  /**
   * Joins `alice`, then `bob`, to `room`. `fromAlice` resolves with the first audio track bob receives from
   * alice: it listens from before either publishes (rejects after 20 s without one).
   */
  joinPair(room: string): Promise<{ alice: Room; bob: Room; fromAlice: Promise<RemoteTrack> }>;
}

/**
 * Starts a dev LiveKit server (media on `mediaAddress`, more `options`) before the calling `describe` block's tests
 * and closes it after them, with every room joined or tracked through it. Call it inside the `describe`.
 */
export function devLiveKitPerSuite(mediaAddress: string, options: Partial<DevLiveKitOptions> = {}): SuiteLiveKit {
  let server: DevLiveKit | undefined;
  const rooms: Room[] = [];
  beforeAll(async () => {
    server = await startDevLiveKit({ host: "127.0.0.1", port: 0, mediaAddress, ...options });
  });
  afterAll(async () => {
    for (const r of rooms) await r.disconnect().catch(() => {});
    await server?.close();
  });
  const track = (room: Room) => (rooms.push(room), room);
  const join = async (room: string, identity: string) => track(await connect(server!.url, room, identity));
  return {
    get url() {
      return server!.url;
    },
    track,
    join,
    async joinPair(room) {
      const alice = await join(room, "alice");
      const bob = await join(room, "bob");
      return { alice, bob, fromAlice: firstAudioTrack(bob, "alice") };
    },
  };
}
