/**
 * Audio SFU: two real @livekit/rtc-node participants publish tones through the dev server and each
 * receives the other's tone at the right frequency and level, on signal v1 (one peer connection each, the default)
 * and on v0 (two each: the server serves v1 to livekit-client only, and rtc-node falls back to `/rtc`).
 */
import { describe, expect, it } from "vitest";
import { RoomEvent } from "@livekit/rtc-node";
import { mediaAddress } from "../support/netns.ts";
import { devLiveKitPerSuite, dominantFrequency, firstAudioTrack, publishTone, record, rms } from "./support.ts";

const addr = mediaAddress();

describe.skipIf(!addr).each([
  { signal: "v1", signalV1: "all" as const },
  { signal: "v0", signalV1: "livekit-client" as const },
])("audio between two rtc-node participants (signal $signal)", ({ signalV1 }) => {
  const lk = devLiveKitPerSuite(addr!, { signalV1 });

  it("forwards each participant's Opus audio to the other", async () => {
    const { alice, bob, fromAlice } = await lk.joinPair("audio-room");
    const fromBob = firstAudioTrack(alice, "bob");
    const toneA = await publishTone(alice, 440);
    const toneB = await publishTone(bob, 660);
    const [heardByBob, heardByAlice] = await Promise.all([record(await fromAlice, 1), record(await fromBob, 1)]);
    toneA.stop();
    toneB.stop();
    expect(heardByBob.length).toBeGreaterThanOrEqual(48_000);
    expect(heardByAlice.length).toBeGreaterThanOrEqual(48_000);
    expect(dominantFrequency(heardByBob)).toBeCloseTo(440, -1);
    expect(dominantFrequency(heardByAlice)).toBeCloseTo(660, -1);
    // Sent at 0.3 FS peak (0.21 RMS); Opus keeps a pure tone's level within a few dB.
    expect(rms(heardByBob)).toBeGreaterThan(0.1);
    expect(rms(heardByAlice)).toBeGreaterThan(0.1);

    const unpublished = new Promise<string>((resolve) =>
      alice.once(RoomEvent.TrackUnpublished, (publication, participant) =>
        resolve(`${participant.identity} ${publication.sid}`),
      ),
    );
    await bob.localParticipant!.unpublishTrack(toneB.sid);
    expect(await unpublished).toBe(`bob ${toneB.sid}`);
  });
});
