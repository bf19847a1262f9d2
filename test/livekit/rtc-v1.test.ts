/**
 * Signal v1 (`/rtc/v1`, one peer connection: dev/livekit/sfu-single.ts) with the real browser SDK: livekit-client
 * 2.23 in Debian's Chromium joins on `/rtc/v1` with no failed request and no console error (issue #17, "zero
 * console errors"), publishes its fake microphone and hears what it subscribes to, measured as audio (RMS and
 * frequency) in the page:
 * - two pages in one room hear each other: the second page subscribes to the first's track in its very first
 *   offer (the one inside its join request), the first to the second's after a `MediaSectionsRequirement`;
 * - a page subscribed to four audio tracks, one more than the three `recvonly` audio sections of its first offer,
 *   gets the fourth on a section it adds when the server asks for one, and hears every track at its own tone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Room } from "@livekit/rtc-node";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import type { PageApi } from "./fixtures/page.ts";
import { openTestPage, type TestPage } from "./page-host.ts";
import { connect, joinToken, publishTone } from "./support.ts";

const addr = mediaAddress();

type Lk = { lk: PageApi };

/** Joins the page to `room` as `identity` and publishes its microphone; resolves with its participant sid. */
async function join(host: TestPage, url: string, room: string, identity: string): Promise<string> {
  const token = await joinToken(room, identity);
  return host.page.evaluate(([u, t]) => (window as unknown as Lk).lk.join(u, t), [url, token] as const);
}

/** Waits until the page has subscribed to `n` remote audio tracks; resolves with their track sids. */
async function remoteAudio(host: TestPage, n: number): Promise<string[]> {
  await host.page.waitForFunction((count) => (window as unknown as Lk).lk.remoteAudio().length >= count, n, {
    timeout: 20_000,
  });
  return host.page.evaluate(() => (window as unknown as Lk).lk.remoteAudio());
}

/** Measures 1.5 s of a remote audio track in the page (the first subscribed when `trackSid` is not given). */
function measure(host: TestPage, trackSid?: string): Promise<{ rms: number; peakHz: number }> {
  return host.page.evaluate(([sid]) => (window as unknown as Lk).lk.measure(1500, sid), [trackSid] as const);
}

describe.skipIf(!addr)("signal v1 with livekit-client in Chromium", () => {
  let server: DevLiveKit;
  const pages: TestPage[] = [];
  const rooms: Room[] = [];

  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, mediaAddress: addr! });
  });
  afterEach(async () => {
    for (const r of rooms.splice(0)) await r.disconnect().catch(() => {});
    for (const p of pages.splice(0)) await p.close();
  });
  afterAll(() => server?.close());

  it("two pages join on /rtc/v1 with no error and hear each other", async () => {
    const a = await openTestPage(440);
    pages.push(a);
    const b = await openTestPage(660);
    pages.push(b);
    expect(await join(a, server.url, "v1-pair", "page-a")).toMatch(/^PA_/);
    expect(await join(b, server.url, "v1-pair", "page-b")).toMatch(/^PA_/);

    await remoteAudio(a, 1);
    await remoteAudio(b, 1);
    const heardByA = await measure(a);
    const heardByB = await measure(b);
    // A page's microphone goes through Chromium's noise suppression, which attenuates a steady tone within seconds
    // (measured: RMS 0.056 at first, 0.022 a few seconds later, for a 0.3 FS sine); silence measures 0.
    expect(heardByA.rms).toBeGreaterThan(0.01);
    expect(Math.abs(heardByA.peakHz - 660)).toBeLessThan(15);
    expect(heardByB.rms).toBeGreaterThan(0.01);
    expect(Math.abs(heardByB.peakHz - 440)).toBeLessThan(15);

    for (const p of [a, b]) {
      expect(p.sockets).toEqual(["/rtc/v1"]);
      expect(p.errors).toEqual([]);
    }
  });

  it("carries a fourth subscribed audio track on a section added at the server's request", async () => {
    const page = await openTestPage(440);
    pages.push(page);
    await join(page, server.url, "v1-many", "page");
    const tones = [500, 700, 900, 1100];
    const published = new Map<string, number>();
    for (const [i, hz] of tones.entries()) {
      const room = await connect(server.url, "v1-many", `tone-${i}`);
      rooms.push(room);
      published.set((await publishTone(room, hz)).sid, hz);
    }

    const sids = await remoteAudio(page, tones.length);
    expect(new Set(sids)).toEqual(new Set(published.keys()));
    for (const sid of sids) {
      const heard = await measure(page, sid);
      expect(heard.rms, `track of ${published.get(sid)} Hz`).toBeGreaterThan(0.05);
      expect(Math.abs(heard.peakHz - published.get(sid)!), `track of ${published.get(sid)} Hz`).toBeLessThan(15);
    }
    expect(page.sockets).toEqual(["/rtc/v1"]);
    expect(page.errors).toEqual([]);
  });
});
