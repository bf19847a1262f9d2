/**
 * What a benchmark's rtc-node visitor hears: when the agent's audio was loud, as the frames arrive.
 */
import { AudioStream, type RemoteTrack } from "@livekit/rtc-node";

/** A 10 ms frame louder than this (RMS, full scale 1) is the agent speaking; the silence between words is far below. */
export const HEARD = 0.01;

/** The loud frames of a remote audio track, from {@link loudFrames}. */
export interface LoudFrames {
  /** The arrival time (epoch ms) of the first loud frame at or after `t`, if one has arrived. */
  after(t: number): number | undefined;
  /** The arrival time of the latest loud frame, or 0. */
  last(): number;
  stop(): Promise<void>;
}

/** Starts listening to `track` (mono 48 kHz, 10 ms frames) and keeps the arrival time of every loud frame. */
export function loudFrames(track: RemoteTrack): LoudFrames {
  const reader = new AudioStream(track, 48_000, 1).getReader();
  const times: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done || !value) break;
      let sum = 0;
      for (const v of value.data) sum += (v / 32768) ** 2;
      if (Math.sqrt(sum / value.data.length) > HEARD) times.push(Date.now());
    }
  })();
  return {
    after: (t) => times.find((x) => x >= t),
    last: () => times.at(-1) ?? 0,
    stop: async () => {
      running = false;
      await reader.cancel().catch(() => {});
      await done;
    },
  };
}
