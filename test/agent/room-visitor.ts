/**
 * A visitor in an agent's room, played by a real @livekit/rtc-node participant: its token (the grants the Worker
 * gives a visitor, edge/livekit.ts `mintToken`), a microphone fed with recorded speech, and how loud the agent
 * sounds to it.
 */
import { AccessToken, TrackSource as GrantSource } from "livekit-server-sdk";
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

/**
 * A visitor's join token for `room`, with exactly the grants the Worker gives visitors (edge/livekit.ts): join that
 * room, publish the microphone only, subscribe, publish data. Ten minutes.
 * @param identity must not start with "agent" (reserved for agents)
 */
export function visitorToken(apiKey: string, apiSecret: string, room: string, identity: string): Promise<string> {
  const at = new AccessToken(apiKey, apiSecret, { identity, ttl: "10m" });
  at.addGrant({
    roomJoin: true,
    room,
    canPublish: true,
    canPublishSources: [GrantSource.MICROPHONE],
    canSubscribe: true,
    canPublishData: true,
  });
  return at.toJwt();
}

/** A visitor's microphone: `say` queues speech, silence otherwise. */
export interface Microphone {
  /**
   * Queues 48 kHz mono samples, replacing whatever was still queued.
   * @returns ms of audio (silence) still ahead of them in the audio source's own queue: the speech starts that much
   *   after the call
   */
  say(samples: Int16Array): number;
  stop(): void;
}

/** A visitor's microphone: 10 ms frames at 48 kHz, silence unless speech is queued (paced by the source's queue). */
export async function publishMicrophone(room: Room): Promise<Microphone> {
  const source = new AudioSource(48_000, 1);
  const track = LocalAudioTrack.createAudioTrack("microphone", source);
  await room.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
  let queue: Int16Array = new Int16Array(0);
  let running = true;
  void (async () => {
    while (running) {
      const frame = new Int16Array(480);
      frame.set(queue.subarray(0, 480));
      queue = queue.subarray(480);
      await source.captureFrame(new AudioFrame(frame, 48_000, 1, 480)).catch(() => (running = false));
    }
  })();
  return {
    say: (samples) => {
      queue = samples;
      return source.queuedDuration;
    },
    stop: () => void (running = false),
  };
}

/** Loudest RMS (full scale 0..1) over 100 ms windows of a remote track, listened to for `ms`. */
export async function loudness(track: RemoteTrack, ms: number): Promise<number> {
  const reader = new AudioStream(track, 48_000, 1).getReader();
  let best = 0;
  for (const until = Date.now() + ms; Date.now() < until;) {
    const { value, done } = await reader.read();
    if (done) break;
    let sum = 0;
    for (const v of value.data) sum += (v / 32768) ** 2;
    best = Math.max(best, Math.sqrt(sum / value.data.length));
  }
  await reader.cancel().catch(() => {});
  return best;
}

/** A visitor connected to a room with its microphone published. */
export interface Visitor {
  room: Room;
  /** The agent's audio track, once subscribed. */
  agentTrack: Promise<RemoteTrack>;
  mic: Microphone;
}

/**
 * Joins `room` as a visitor with a microphone.
 * @param token a join token, e.g. from {@link visitorToken}
 */
export async function joinAsVisitor(url: string, token: string): Promise<Visitor> {
  const room = new Room();
  const agentTrack = new Promise<RemoteTrack>((resolve) =>
    room.on(
      RoomEvent.TrackSubscribed,
      (track, _pub, p) => track.kind === TrackKind.KIND_AUDIO && p.identity.startsWith("agent") && resolve(track),
    ),
  );
  await room.connect(url, token, { autoSubscribe: true, dynacast: false });
  return { room, agentTrack, mic: await publishMicrophone(room) };
}

/** A running level meter on a remote audio track. */
export interface AudioMeter {
  /** The loudest 10 ms RMS (full scale 0..1) since the meter started or was last reset. */
  peak(): number;
  reset(): void;
  stop(): Promise<void>;
}

/** Starts metering `track` (mono 48 kHz) until `stop()`. */
export function audioMeter(track: RemoteTrack): AudioMeter {
  const reader = new AudioStream(track, 48_000, 1).getReader();
  let peak = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done || !value) break;
      let sum = 0;
      for (const v of value.data) sum += (v / 32768) ** 2;
      peak = Math.max(peak, Math.sqrt(sum / value.data.length));
    }
  })();
  return {
    peak: () => peak,
    reset: () => void (peak = 0),
    stop: async () => {
      running = false;
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}
