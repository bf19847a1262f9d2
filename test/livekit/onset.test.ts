/**
 * Speech onsets after silence survive the SFU: a rtc-node publisher sends 1 s of digital silence then a
 * 300 ms 440 Hz burst, four times; the subscriber must hear four whole bursts whose onsets are 1.3 s apart
 * within 20 ms. Losing or delaying the first packets after silence (as a forwarder that mishandles the
 * marker bit, a sequence or timestamp jump, or a late transceiver would) shortens or shifts a burst.
 */
import { describe, expect, it } from "vitest";
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  TrackPublishOptions,
  TrackSource,
} from "@livekit/rtc-node";
import { mediaAddress } from "../support/netns.ts";
import { devLiveKitPerSuite, SAMPLE_RATE } from "./support.ts";

const addr = mediaAddress();
const FRAME = SAMPLE_RATE / 100; // 10 ms
const SILENCE_FRAMES = 100;
const BURST_FRAMES = 30;
const BURSTS = 4;

/** RMS (full scale 0..1) of one frame. */
function frameRms(data: Int16Array): number {
  let sum = 0;
  for (const v of data) sum += (v / 32768) ** 2;
  return Math.sqrt(sum / data.length);
}

/** Runs of consecutive loud frames (RMS > 0.05) as [first frame index, length in frames]. */
function loudRuns(levels: number[]): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  levels.forEach((level, i) => {
    if (level > 0.05 && start < 0) start = i;
    if (level <= 0.05 && start >= 0) {
      runs.push([start, i - start]);
      start = -1;
    }
  });
  return runs;
}

describe.skipIf(!addr)("onsets after silence", () => {
  const lk = devLiveKitPerSuite(addr!);

  it("forwards every burst whole and on time", async () => {
    const { alice, fromAlice } = await lk.joinPair("onset-room");
    // The source's 1 s queue lets libwebrtc pace the frames by its own clock, whatever the test's event loop does.
    const source = new AudioSource(SAMPLE_RATE, 1, 1000);
    const track = LocalAudioTrack.createAudioTrack("bursts", source);
    await alice.localParticipant!.publishTrack(
      track,
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
    );

    // The subscriber's stream yields one 10 ms frame per 10 ms of playout, silence included: frame indices are time.
    const reader = new AudioStream(await fromAlice, SAMPLE_RATE, 1).getReader();
    const levels: number[] = [];
    let listening = true;
    const listened = (async () => {
      while (listening) {
        const { value, done } = await reader.read();
        if (done) break;
        levels.push(frameRms(value.data));
      }
    })();

    let phase = 0;
    for (let burst = 0; burst < BURSTS; burst++) {
      for (let i = 0; i < SILENCE_FRAMES + BURST_FRAMES; i++) {
        const samples = new Int16Array(FRAME);
        if (i >= SILENCE_FRAMES) {
          for (let k = 0; k < FRAME; k++)
            samples[k] = Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * 440 * phase++) / SAMPLE_RATE));
        }
        await source.captureFrame(new AudioFrame(samples, SAMPLE_RATE, 1, FRAME));
      }
    }
    for (let i = 0; i < 50; i++)
      await source.captureFrame(new AudioFrame(new Int16Array(FRAME), SAMPLE_RATE, 1, FRAME));
    await new Promise((r) => setTimeout(r, 1500)); // what the source still queues, plus the way through
    listening = false;
    await reader.cancel().catch(() => {});
    await listened;

    const runs = loudRuns(levels);
    const seen = `loud runs [first frame, frames]: ${JSON.stringify(runs)}`;
    expect(runs.length, seen).toBe(BURSTS);
    // Whole bursts: Opus's look-ahead may smear one 10 ms frame at either edge, never 100 ms.
    for (const [, length] of runs) expect(Math.abs(length - BURST_FRAMES), seen).toBeLessThanOrEqual(2);
    // On time: each onset 1.3 s after the previous one, within 20 ms.
    for (let i = 1; i < runs.length; i++) {
      expect(Math.abs(runs[i]![0] - runs[i - 1]![0] - (SILENCE_FRAMES + BURST_FRAMES)), seen).toBeLessThanOrEqual(2);
    }
  });
});
