/**
 * Interop with the browser SDK: livekit-client 2.23 in Debian's Chromium (fake microphone playing a 440 Hz
 * WAV) publishes through the dev server and a rtc-node participant receives the tone; the rtc-node
 * participant's 660 Hz tone reaches the page (WebAudio energy and frequency); data messages cross both ways
 * with the sender's identity; mute and unpublish from the page reach rtc-node.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import type { BrowserContext, Page } from "playwright-core";
import { type Chromium, launchChromium } from "../support/chromium.ts";
import { wav } from "../support/wav.ts";
import { type Room, RoomEvent } from "@livekit/rtc-node";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import type { PageApi } from "./fixtures/page.ts";
import { connect, dominantFrequency, firstAudioTrack, joinToken, publishTone, record, rms } from "./support.ts";

const addr = mediaAddress();

/** A 16-bit mono 48 kHz WAV of a sine tone (amplitude 0.3 FS). */
function toneWav(hz: number, seconds: number): Buffer {
  const rate = 48_000;
  const samples = Int16Array.from({ length: rate * seconds }, (_, i) =>
    Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)),
  );
  return wav(samples, rate);
}

describe.skipIf(!addr)("Chromium with livekit-client", () => {
  let server: DevLiveKit;
  let http: Server;
  let browser: BrowserContext;
  let page: Page;
  let profile: string; // holds the tone WAV
  let chrome: Chromium | undefined;
  let rtc: Room | undefined;

  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, mediaAddress: addr! });
    const bundle = await build({
      entryPoints: [fileURLToPath(new URL("fixtures/page.ts", import.meta.url))],
      bundle: true,
      format: "esm",
      write: false,
      logLevel: "silent",
    });
    const js = bundle.outputFiles[0]!.text;
    http = createServer((req, res) => {
      if (req.url === "/page.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(js);
      else
        res
          .writeHead(200, { "Content-Type": "text/html" })
          .end('<!doctype html><script type="module" src="/page.js"></script>');
    });
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    profile = mkdtempSync(join(tmpdir(), "lk-chromium-"));
    const wav = join(profile, "tone.wav");
    writeFileSync(wav, toneWav(440, 5));
    chrome = await launchChromium("lk", {
      permissions: ["microphone"],
      flags: [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        `--use-file-for-fake-audio-capture=${wav}`,
        "--autoplay-policy=no-user-gesture-required",
      ],
    });
    browser = chrome.context;
    page = browser.pages()[0] ?? (await browser.newPage());
    // The expected /rtc/v1 404s are logged by Chromium (with the token in the URL): leave them out.
    page.on("console", (m) => {
      const text = m.text();
      if (m.type() !== "error" || /\/rtc\/v1|status of 404/.test(text)) return;
      console.error(`[page] ${text.replace(/access_token=[^&\s']+/g, "access_token=…")}`);
    });
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => "lk" in window);
  });
  afterAll(async () => {
    await rtc?.disconnect().catch(() => {});
    await chrome?.close();
    http?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
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
  });
});
