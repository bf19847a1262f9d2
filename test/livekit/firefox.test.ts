/**
 * Signal v1 with livekit-client in Debian's Firefox ESR (puppeteer-core over WebDriver BiDi, test/support/firefox.ts):
 * Firefox does not put its first offer in the join request (livekit-client's `isPublisherOfferWithJoinSupported`),
 * so it offers right after the join response. The page joins on `/rtc/v1` with no console error, its fake microphone
 * (Firefox's 1 kHz tone) reaches rtc-node, and rtc-node's 660 Hz tone reaches the page (WebAudio RMS and frequency).
 * Firefox's audio output is a private PulseAudio daemon (test/support/pulse.ts): with no output device its
 * AudioContext never starts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@livekit/rtc-node";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import { firefoxExecutable, launchFirefox, type Firefox } from "../support/firefox.ts";
import { pulseInstalled, startPulse, type PulseDaemon } from "../support/pulse.ts";
import type { PageApi } from "./fixtures/page.ts";
import { servePage } from "./page-host.ts";
import { connect, dominantFrequency, firstAudioTrack, joinToken, publishTone, record, rms } from "./support.ts";

const addr = mediaAddress();

type Lk = { lk: PageApi };

const firefox = firefoxExecutable();
if (firefox && !pulseInstalled() && process.env.CI === "true") {
  throw new Error("pulseaudio is missing: apt-get install pulseaudio");
}

describe.skipIf(!addr || !firefox || !pulseInstalled())("Firefox with livekit-client on /rtc/v1", () => {
  let server: DevLiveKit;
  let served: { url: string; close(): void } | undefined;
  let ff: Firefox | undefined;
  let pulse: PulseDaemon | undefined;
  let rtc: Room | undefined;

  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, mediaAddress: addr! });
    served = await servePage();
    pulse = await startPulse();
    ff = await launchFirefox({ microphone: "fake", env: pulse.env });
  });
  afterAll(async () => {
    await rtc?.disconnect().catch(() => {});
    await ff?.close();
    await pulse?.stop();
    served?.close();
    await server?.close();
  });

  it("joins with no console error, publishes, and hears a subscribed track", async () => {
    await ff!.page.goto(served!.url);
    await ff!.page.waitForFunction(() => "lk" in window);
    rtc = await connect(server.url, "firefox-room", "node-peer");
    const fromPage = firstAudioTrack(rtc, "page");
    const token = await joinToken("firefox-room", "page");
    const sid = await ff!.page.evaluate((u, t) => (window as unknown as Lk).lk.join(u, t), server.url, token);
    expect(sid).toMatch(/^PA_/);

    const heard = await record(await fromPage, 1);
    expect(dominantFrequency(heard)).toBeCloseTo(1000, -1);
    expect(rms(heard)).toBeGreaterThan(0.01);

    const tone = await publishTone(rtc, 660);
    await ff!.page.waitForFunction(() => (window as unknown as Lk).lk.hasRemoteAudio(), { timeout: 20_000 });
    const measured = await ff!.page.evaluate(() => (window as unknown as Lk).lk.measure(1500));
    tone.stop();
    expect(measured.rms).toBeGreaterThan(0.05);
    expect(Math.abs(measured.peakHz - 660)).toBeLessThan(15);

    const errors = ff!.console.filter((e) => e.type === "error" || e.type === "pageerror");
    expect(errors).toEqual([]);
    // livekit-client logs each signal connection it opens ("signal connecting to ws://…/rtc/v1?…").
    const signalPaths = ff!.console.flatMap(
      (e) => /signal connecting to ws:\/\/[^/]+(\/[^?\s]*)/.exec(e.text)?.[1] ?? [],
    );
    expect(signalPaths).toEqual(["/rtc/v1"]);
  });
});
