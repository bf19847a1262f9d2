/**
 * A publisher learns that its track has been subscribed: the server sends `SignalResponse.trackSubscribed`
 * once per subscriber after that subscriber's renegotiation, which rtc-node surfaces as
 * `RoomEvent.LocalTrackSubscribed` and `LocalTrackPublication.waitForSubscription()` (what LiveKit Agents
 * awaits before it plays any audio).
 */
import { describe, expect, it } from "vitest";
import { type LocalTrack, Room, RoomEvent, TrackKind } from "@livekit/rtc-node";
import { mediaAddress } from "../support/netns.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { devLiveKitPerSuite, joinToken, publishTone } from "./support.ts";

const addr = mediaAddress();

/** How `waitFor` polls here: often, since the order of these events is what the test is about. */
const POLL = { timeoutMs: 10_000, intervalMs: 20 };

describe.skipIf(!addr)("trackSubscribed to the publisher", () => {
  const lk = devLiveKitPerSuite(addr!);

  /** Joins as `identity`; `onHeard` runs when alice's audio track is subscribed (listener set before joining). */
  async function subscriber(identity: string, onHeard: () => void): Promise<void> {
    const room = new Room();
    lk.track(room);
    room.on(RoomEvent.TrackSubscribed, (track, _pub, p) => {
      if (track.kind === TrackKind.KIND_AUDIO && p.identity === "alice") onHeard();
    });
    await room.connect(lk.url, await joinToken("subscribed-room", identity), { autoSubscribe: true, dynacast: false });
  }

  it("tells the publisher once per subscriber, and not before anyone subscribes", async () => {
    const alice = await lk.join("subscribed-room", "alice");
    const subscribedSids: string[] = [];
    alice.on(RoomEvent.LocalTrackSubscribed, (track: LocalTrack) => {
      subscribedSids.push(track.sid ?? "");
    });
    const tone = await publishTone(alice, 440);
    const publication = alice.localParticipant!.trackPublications.get(tone.sid)!;
    let firstSubscription = false;
    void publication.waitForSubscription().then(() => (firstSubscription = true));

    // Nobody else is in the room: nobody has subscribed.
    await sleep(1500);
    expect(subscribedSids).toEqual([]);
    expect(firstSubscription).toBe(false);

    let bobHasIt = false;
    await subscriber("bob", () => (bobHasIt = true));
    await Promise.race([
      publication.waitForSubscription(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("waitForSubscription never resolved")), 15_000)),
    ]);
    // The subscriber's own TrackSubscribed event comes from its SDK a few ms either side of this.
    await waitFor("bob's TrackSubscribed", () => bobHasIt, POLL);
    expect(bobHasIt).toBe(true);
    expect(subscribedSids).toEqual([tone.sid]);

    await subscriber("carol", () => {});
    await waitFor("the second LocalTrackSubscribed", () => subscribedSids.length >= 2, POLL);
    await sleep(1000); // no duplicates arrive later
    expect(subscribedSids).toEqual([tone.sid, tone.sid]);
    tone.stop();
  });
});
