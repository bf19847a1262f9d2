/**
 * Interop with the browser SDK: livekit-client 2.23 in Debian's Chromium (fake microphone playing a 440 Hz
 * WAV) publishes through the dev server and a rtc-node participant receives the tone; the rtc-node
 * participant's 660 Hz tone reaches the page (WebAudio energy and frequency); data messages cross both ways
 * with the sender's identity; mute and unpublish from the page reach rtc-node. The page joins on `/rtc/v1` (one
 * peer connection, sfu-single.ts) and logs no error; rtc-node on `/rtc`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { type Room, RoomEvent } from "@livekit/rtc-node";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import type { PageApi } from "./fixtures/page.ts";
import { openTestPage, type TestPage } from "./page-host.ts";
import { connect, dominantFrequency, firstAudioTrack, joinToken, publishTone, record, rms } from "./support.ts";

const addr = mediaAddress();

describe.skipIf(!addr)("Chromium with livekit-client", () => {
  let server: DevLiveKit;
  let host: TestPage | undefined;
  let page: Page;
  let rtc: Room | undefined;

  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, mediaAddress: addr! });
    host = await openTestPage(440);
    page = host.page;
  });
  afterAll(async () => {
    await rtc?.disconnect().catch(() => {});
    await host?.close();
    await server?.close();
  });

  it("carries audio and data both ways between the page and rtc-node", async () => {
    rtc = await connect(server.url, "browser-room", "node-peer");
    const fromPage = firstAudioTrack(rtc, "page");
    const token = await joinToken("browser-room", "page");
    const sid = await page.evaluate(([u, t]) => (window as unknown as { lk: PageApi }).lk.join(u, t), [
      server.url,
      token,
    ] as const);
    expect(sid).toMatch(/^PA_/);

    const heard = await record(await fromPage, 1);
    expect(dominantFrequency(heard)).toBeCloseTo(440, -1);
    expect(rms(heard)).toBeGreaterThan(0.05);

    const tone = await publishTone(rtc, 660);
    await page.waitForFunction(() => (window as unknown as { lk: PageApi }).lk.hasRemoteAudio(), undefined, {
      timeout: 20_000,
    });
    const measured: { rms: number; peakHz: number } = await page.evaluate(() =>
      (window as unknown as { lk: PageApi }).lk.measure(1500),
    );
    tone.stop();
    expect(measured.rms).toBeGreaterThan(0.05);
    expect(Math.abs(measured.peakHz - 660)).toBeLessThan(15);

    const fromPageData = new Promise<string>((resolve) =>
      rtc!.once(RoomEvent.DataReceived, (payload, participant, _kind, topic) =>
        resolve(`${participant?.identity}/${topic}: ${new TextDecoder().decode(payload)}`),
      ),
    );
    await page.evaluate(() => (window as unknown as { lk: PageApi }).lk.send("hello node"));
    expect(await fromPageData).toBe("page/chat: hello node");
    await rtc.localParticipant!.publishData(new TextEncoder().encode("hello page"), { reliable: true, topic: "chat" });
    await page.waitForFunction(() => (window as unknown as { lk: PageApi }).lk.received().length > 0, undefined, {
      timeout: 10_000,
    });
    expect(await page.evaluate(() => (window as unknown as { lk: PageApi }).lk.received())).toEqual([
      "node-peer/chat: hello page",
    ]);

    const muted = new Promise<boolean>((resolve) =>
      rtc!.once(RoomEvent.TrackMuted, (pub) => resolve(pub.muted ?? false)),
    );
    await page.evaluate(() => (window as unknown as { lk: PageApi }).lk.mute());
    expect(await muted).toBe(true);
    const unpublished = new Promise<string>((resolve) =>
      rtc!.once(RoomEvent.TrackUnpublished, (_pub, p) => resolve(p.identity)),
    );
    await page.evaluate(() => (window as unknown as { lk: PageApi }).lk.unpublish());
    expect(await unpublished).toBe("page");
    expect(host!.sockets).toEqual(["/rtc/v1"]);
    expect(host!.errors).toEqual([]);
  });
});
