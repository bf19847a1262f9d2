// The agent's voice visualizer and the microphone choice on /chat, in Debian's Chromium.
//
// The visualizer module is fed WebAudio oscillators (no LiveKit); the page's microphone choice runs under the
// Worker's CSP with the REST API intercepted, and with `POST /session` held, so that the page stays "Connecting…"
// with its microphone open (no LiveKit either). Inside the test's network namespace, with the dev LiveKit server, a
// rtc-node participant stands in for the agent: its voice moves the page's visualizer, and it hears the visitor's
// microphone change during the conversation.
//
// Chromium's `--use-fake-device-for-media-stream` (Debian's Chromium 156) lists three audio inputs once the microphone is
// allowed: "Fake Default Audio Input" (deviceId `default`), "Fake Audio Input 1" and "Fake Audio Input 2" (before
// that, one input with no id and no label). They all play the same beeps, so one test picks among them and checks
// the opened track's deviceId; the others list only the first of them and add a second input backed by a WebAudio
// oscillator (support/devices.ts `fakeMicrophones`, an init script wrapping enumerateDevices and getUserMedia), which
// can be told apart by its steady 660 Hz tone (the level meter, the agent's ears) and plugged in and out.
import type { Page, Route } from "playwright-core";
import { AccessToken } from "livekit-server-sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SOCKET_PING, SOCKET_PONG } from "../../contract/index.ts";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { renderChat } from "../../web/pages/index.ts";
import { MICROPHONE_KEY } from "../../web/src/microphones.ts";
import { mediaAddress } from "../support/netns.ts";
import { domPage, launch, type Browser } from "./support/browser.ts";
import { interceptApi, openChat, problems, shown, waitForPhase } from "./support/chat-page.ts";
import { dominantFrequency } from "../livekit/support.ts";
import {
  fakeMicrophones,
  joinAsAgent,
  mics,
  OSCILLATOR_HZ,
  OSCILLATOR_ID,
  OSCILLATOR_LABEL,
  type FakeMicrophoneOptions,
  type StandInAgent,
} from "./support/devices.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";
import "./support/types.ts";

/** Nothing listens here: LiveKit is unreachable. */
const DEAD_LIVEKIT = "ws://127.0.0.1:9";

let browser: Browser;
let page: Page | undefined;

beforeAll(async () => {
  browser = await launch();
});
afterEach(async () => {
  // The choice is remembered per browser profile: each test starts with none.
  await page?.evaluate(() => localStorage.clear()).catch(() => undefined);
  await page?.close();
  page = undefined;
});
afterAll(async () => {
  await browser?.close();
});

/** The visualizer's bars as the page script wrote them (`--bar-0` … `--bar-4`; unset reads 0). */
function bars(p: Page): Promise<number[]> {
  return p.evaluate(() => {
    const el = document.getElementById("visualizer")!;
    return [0, 1, 2, 3, 4].map((i) => Number(el.style.getPropertyValue(`--bar-${i}`) || 0));
  });
}

/**
 * Polls the bars until they have shown `distinct` different sets of heights, at least one bar above 0.2: they move.
 */
async function expectMoving(p: Page, distinct = 4): Promise<void> {
  const seen = new Set<string>();
  await expect
    .poll(
      async () => {
        const b = await bars(p);
        if (Math.max(...b) > 0.2) seen.add(b.join());
        return seen.size;
      },
      { timeout: 20_000 },
    )
    .toBeGreaterThanOrEqual(distinct);
}

/** Which bar is the tallest (its index), from one reading. */
async function loudest(p: Page): Promise<number> {
  const b = await bars(p);
  return b.indexOf(Math.max(...b));
}

/** The browser's own first input (the one the tests keep), as the page sees it. */
function firstInput(p: Page): Promise<{ id: string; label: string }> {
  return p.evaluate(async () => {
    const d = (await navigator.mediaDevices.enumerateDevices()).find((i) => i.kind === "audioinput")!;
    return { id: d.deviceId, label: d.label };
  });
}

describe("the voice visualizer (web/src/visualizer.ts)", () => {
  /** A page with the chat markup and stylesheet, and a tone (440 Hz, swelling three times a second) to show. */
  async function withTone(): Promise<Page> {
    const body = /<body>([\s\S]*)<\/body>/.exec(renderChat())![1]!;
    const p = await domPage(browser.context, body, true);
    await p.evaluate(() => {
      const ctx = web.audioContext();
      const tone = new OscillatorNode(ctx, { frequency: 440 });
      const level = new GainNode(ctx, { gain: 0.2 });
      const swell = new OscillatorNode(ctx, { frequency: 3 });
      const depth = new GainNode(ctx, { gain: 0.15 });
      swell.connect(depth).connect(level.gain);
      const out = ctx.createMediaStreamDestination();
      tone.connect(level).connect(out);
      tone.start();
      swell.start();
      const el = document.getElementById("visualizer")!;
      el.closest(".party")!.setAttribute("data-state", "speaking");
      const visualizer = new web.Visualizer(el);
      visualizer.attach(out.stream.getAudioTracks()[0]!);
      Object.assign(window, { __tone: { tone, level, depth, visualizer } });
    });
    return p;
  }
  /** What `withTone` leaves in the page (`window.__tone`). */
  interface Tone {
    tone: OscillatorNode;
    level: GainNode;
    depth: GainNode;
    visualizer: { detach(): void };
  }

  it("moves with the audio, one bar per band, and is flat in silence and once detached", async () => {
    page = await withTone();
    const p = page;
    expect(await p.getAttribute("#visualizer", "aria-hidden")).toBe("true");
    await expectMoving(p);
    // 440 Hz is in the second band (300–600 Hz); 3 kHz in the fifth (2.4–5 kHz).
    await expect.poll(() => loudest(p)).toBe(1);
    await p.evaluate(() => {
      (window as unknown as { __tone: Tone }).__tone.tone.frequency.value = 3000;
    });
    await expect.poll(() => loudest(p)).toBe(4);

    // Silence: every bar falls flat.
    await p.evaluate(() => {
      const { level, depth } = (window as unknown as { __tone: Tone }).__tone;
      depth.gain.value = 0;
      level.gain.value = 0;
    });
    await expect.poll(() => bars(p), { timeout: 10_000 }).toEqual([0, 0, 0, 0, 0]);

    // Sound again, then detached (the agent left): flat at once, whatever is still playing.
    await p.evaluate(() => {
      (window as unknown as { __tone: Tone }).__tone.level.gain.value = 0.3;
    });
    await expect.poll(async () => Math.max(...(await bars(p))), { timeout: 10_000 }).toBeGreaterThan(0.2);
    await p.evaluate(() => (window as unknown as { __tone: Tone }).__tone.visualizer.detach());
    expect(await bars(p)).toEqual([0, 0, 0, 0, 0]);
  });

  it("the bars' heights follow the levels, and stay still under prefers-reduced-motion", async () => {
    page = await withTone();
    const p = page;
    await expect.poll(async () => Math.max(...(await bars(p))), { timeout: 10_000 }).toBeGreaterThan(0.2);
    const heights = () =>
      p.evaluate(() =>
        [...document.querySelectorAll<HTMLElement>("#visualizer span")].map((s) => s.getBoundingClientRect().height),
      );
    // The loudest band's bar (the second) is the tallest; the others are lower.
    const tallest = async () => {
      const h = await heights();
      return h.indexOf(Math.max(...h));
    };
    await expect.poll(tallest).toBe(1);
    await p.emulateMedia({ reducedMotion: "reduce" });
    const still = await heights();
    expect(new Set(still).size).toBe(1);
    expect(Math.max(...(await bars(p)))).toBeGreaterThan(0.2); // the audio still plays: only the bars stand still
    await p.emulateMedia({ reducedMotion: "no-preference" });
  });
});

describe("/chat microphone choice", () => {
  let server: PageServer;
  /** Releases the `POST /session` requests held by {@link holdSession}. */
  const held: (() => void)[] = [];

  beforeAll(async () => {
    server = await startPageServer(DEAD_LIVEKIT);
  });
  afterEach(() => {
    for (const release of held.splice(0)) release();
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Answers `POST /session` only when the test ends (503): the page stays "Connecting…" with its microphone open. */
  function holdSession(route: Route): Promise<void> {
    return new Promise<void>((r) => held.push(r)).then(() =>
      route
        .fulfill({ status: 503, json: { error: { code: "unavailable", message: "held by the test" } } })
        .catch(() => undefined),
    );
  }

  /** Opens /chat with the inputs of `options`, the session held. */
  async function open(options: FakeMicrophoneOptions): Promise<Page> {
    return openChat(browser.context, `${server.origin}/chat`, async (p) => {
      await fakeMicrophones(p, options);
      await interceptApi(p, { "POST /session": holdSession });
    });
  }

  /** What the microphone row shows: whether it is visible, its options' labels and the selected one. */
  function picker(p: Page): Promise<{ shown: boolean; options: string[]; selected: string }> {
    return p.evaluate(() => {
      const select = document.getElementById("microphone") as HTMLSelectElement;
      return {
        shown: !document.getElementById("microphones")!.hidden && select.offsetParent !== null,
        options: [...select.options].map((o) => o.text),
        selected: select.value,
      };
    });
  }

  const meterLevel = (p: Page) =>
    p.evaluate(() => Number(document.getElementById("meter")!.style.getPropertyValue("--level") || 0));

  it("with two inputs: a labelled select, used from the keyboard; the choice is remembered and opened on Start", async () => {
    page = await open({ single: true, oscillator: true });
    const p = page;
    const first = await firstInput(p);
    // The permission is granted: the browser names the inputs before Start.
    await expect
      .poll(() => picker(p))
      .toEqual({ shown: true, options: [first.label, OSCILLATOR_LABEL], selected: first.id });
    const select = p.getByRole("combobox", { name: "Microphone" });
    expect(await select.count()).toBe(1);

    // Start, then Tab (Mute and Stop are hidden before a conversation): the select is next.
    await p.locator("#start").focus();
    await p.keyboard.press("Tab");
    expect(await p.evaluate(() => document.activeElement?.id)).toBe("microphone");
    await p.keyboard.press("ArrowDown");
    await expect.poll(() => p.evaluate((key) => localStorage.getItem(key), MICROPHONE_KEY)).toBe(OSCILLATOR_ID);
    expect((await picker(p)).selected).toBe(OSCILLATOR_ID);

    await p.getByRole("button", { name: "Start" }).click();
    await waitForPhase(p, "starting");
    await expect.poll(async () => (await mics(p)).opened).toEqual([OSCILLATOR_ID]);
    expect((await mics(p)).requests).toEqual([OSCILLATOR_ID]);
    // The level meter shows the chosen input (the oscillator's steady tone).
    await expect.poll(() => meterLevel(p), { timeout: 10_000 }).toBeGreaterThan(0.3);
    await p.getByRole("button", { name: "Stop" }).click();
    await waitForPhase(p, "idle");

    // Another visit: the choice is still there, shown before Start and opened on Start.
    await p.close();
    page = await open({ single: true, oscillator: true });
    const again = page;
    await expect.poll(async () => (await picker(again)).selected).toBe(OSCILLATOR_ID);
    await again.getByRole("button", { name: "Start" }).click();
    await expect.poll(async () => (await mics(again)).opened).toEqual([OSCILLATOR_ID]);
    expect(await problems(again)).toEqual([]);
  });

  it("Chromium's own fake inputs: all three listed by name; the one chosen is the one opened", async () => {
    page = await open({});
    const p = page;
    await expect
      .poll(async () => (await picker(p)).options)
      .toEqual(["Fake Default Audio Input", "Fake Audio Input 1", "Fake Audio Input 2"]);
    expect(await picker(p)).toMatchObject({ shown: true, selected: "default" });
    const select = p.getByRole("combobox", { name: "Microphone" });
    await select.focus();
    await p.keyboard.press("End");
    const chosen = (await picker(p)).selected;
    expect(chosen).not.toBe("default");
    expect(await p.evaluate((key) => localStorage.getItem(key), MICROPHONE_KEY)).toBe(chosen);
    await p.getByRole("button", { name: "Start" }).click();
    await expect.poll(async () => (await mics(p)).opened).toEqual([chosen]);
    expect(await problems(p)).toEqual([]);
  });

  it("with one input: no select, and Start opens it", async () => {
    page = await open({ single: true });
    const p = page;
    const first = await firstInput(p);
    await expect.poll(() => picker(p)).toEqual({ shown: false, options: [first.label], selected: first.id });
    expect(await p.getByRole("combobox", { name: "Microphone" }).count()).toBe(0);
    await p.locator("#start").focus();
    await p.keyboard.press("Tab");
    expect(await p.evaluate(() => document.activeElement?.id)).not.toBe("microphone");
    await p.getByRole("button", { name: "Start" }).click();
    await expect.poll(async () => (await mics(p)).opened).toEqual([first.id]);
    expect((await picker(p)).shown).toBe(false);
    expect(await problems(p)).toEqual([]);
  });

  it("plugging a second input in shows the select, unplugging it hides it again (devicechange)", async () => {
    page = await open({ single: true });
    const p = page;
    const first = await firstInput(p);
    await expect.poll(() => picker(p)).toMatchObject({ shown: false, options: [first.label] });
    await p.evaluate(() => (window as unknown as { __mics: { plug(on?: boolean): void } }).__mics.plug());
    await expect
      .poll(() => picker(p))
      .toEqual({ shown: true, options: [first.label, OSCILLATOR_LABEL], selected: first.id });
    await p.evaluate(() => (window as unknown as { __mics: { plug(on?: boolean): void } }).__mics.plug(false));
    await expect.poll(() => picker(p)).toMatchObject({ shown: false, options: [first.label] });
  });

  it("a remembered input that is gone: the default opens, without a word", async () => {
    page = await open({ single: true, oscillator: true });
    await page.evaluate((key) => localStorage.setItem(key, "a-headset-that-was-unplugged"), MICROPHONE_KEY);
    await page.close();
    page = await open({ single: true, oscillator: true });
    const p = page;
    const first = await firstInput(p);
    await expect.poll(async () => (await picker(p)).selected).toBe(first.id);
    await p.getByRole("button", { name: "Start" }).click();
    await expect.poll(async () => (await mics(p)).opened).toEqual([first.id]);
    expect((await mics(p)).requests).not.toContain("a-headset-that-was-unplugged");
    expect(await shown(p)).toMatchObject({ phase: "starting", alert: null, status: "Connecting…" });
    expect((await picker(p)).selected).toBe(first.id);
    expect(await problems(p)).toEqual([]);
  });

  it("a remembered input that is gone, before the browser names the inputs: asked for, then the default opens", async () => {
    // The microphone is allowed only after the page has loaded: at load the inputs have no ids yet.
    const later = await launch({ grantMicrophone: false });
    try {
      const p = await openChat(later.context, `${server.origin}/chat`, async (p) => {
        await fakeMicrophones(p, { single: true, oscillator: true });
        await interceptApi(p, { "POST /session": holdSession });
        await p.addInitScript((key) => localStorage.setItem(key, "a-headset-that-was-unplugged"), MICROPHONE_KEY);
      });
      expect((await picker(p)).shown).toBe(false);
      await later.context.grantPermissions(["microphone"], { origin: server.origin });
      await p.getByRole("button", { name: "Start" }).click();
      const first = await firstInput(p);
      await expect.poll(async () => (await mics(p)).opened).toEqual([first.id]);
      // Asked for exactly (refused: not there), then the default without an id (livekit-client asks for "default").
      const { requests } = await mics(p);
      expect(requests).toHaveLength(2);
      expect(requests[0]).toBe("a-headset-that-was-unplugged");
      expect(requests[1]).not.toBe("a-headset-that-was-unplugged");
      expect(await shown(p)).toMatchObject({ phase: "starting", alert: null, status: "Connecting…" });
      // Now the inputs are named: the choice appears, showing the input in use.
      await expect
        .poll(() => picker(p))
        .toEqual({ shown: true, options: [first.label, OSCILLATOR_LABEL], selected: first.id });
      expect(await problems(p)).toEqual([]);
    } finally {
      await later.close();
    }
  });

  it("a new choice while the microphone is open moves it at once (the meter follows)", async () => {
    page = await open({ single: true, oscillator: true });
    const p = page;
    const first = await firstInput(p);
    await p.getByRole("button", { name: "Start" }).click();
    await expect.poll(async () => (await mics(p)).opened).toEqual([first.id]);
    await p.getByRole("combobox", { name: "Microphone" }).selectOption(OSCILLATOR_ID);
    await expect.poll(async () => (await mics(p)).opened).toEqual([first.id, OSCILLATOR_ID]);
    // The input opened first is released; the meter reads the new one.
    expect(
      await p.evaluate(() =>
        (window as unknown as { __mics: { tracks: MediaStreamTrack[] } }).__mics.tracks.map((t) => t.readyState),
      ),
    ).toEqual(["ended", "live"]);
    await expect.poll(() => meterLevel(p), { timeout: 10_000 }).toBeGreaterThan(0.3);
    expect(await p.evaluate((key) => localStorage.getItem(key), MICROPHONE_KEY)).toBe(OSCILLATOR_ID);
    expect(await problems(p)).toEqual([]);
  });
});

const address = mediaAddress();

describe.skipIf(!address)("/chat in a conversation (dev LiveKit)", () => {
  let liveKit: DevLiveKit;
  let live: PageServer;
  let agent: StandInAgent | undefined;
  let rooms = 0;

  beforeAll(async () => {
    liveKit = await startDevLiveKit({ port: 0, mediaAddress: address! });
    live = await startPageServer(liveKit.url);
  });
  afterEach(async () => {
    await agent?.leave();
    agent = undefined;
  });
  afterAll(async () => {
    await live?.close();
    await liveKit?.close();
  });

  it("the agent's voice moves the visualizer and silence flattens it; a new microphone reaches the agent at once", async () => {
    let room = "";
    const p = await openChat(browser.context, `${live.origin}/chat`, async (p) => {
      await fakeMicrophones(p, { single: true, oscillator: true });
      await p.routeWebSocket(/\/ws\/transcript\//, (ws) =>
        ws.onMessage((m) => m === SOCKET_PING && ws.send(SOCKET_PONG)),
      );
      await interceptApi(p, {
        "POST /session": async (route, request) => {
          const { identity } = JSON.parse(request.postData()!) as { identity: string };
          room = `room-devices-${++rooms}`;
          const at = new AccessToken("devkey", "secret", { identity, ttl: "10m" });
          at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
          const livekit = { token: await at.toJwt(), room, identity, url: liveKit.url };
          await route.fulfill({ status: 201, json: { session_id: "DeViCeStEsT0123456789_", livekit } });
        },
        "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
      });
    });
    page = p;
    const { id: first } = await firstInput(p);
    await p.getByRole("button", { name: "Start" }).click();
    await waitForPhase(p, "live", 30_000);
    expect(await bars(p)).toEqual([0, 0, 0, 0, 0]);

    agent = await joinAsAgent(liveKit.url, room);
    agent.say(0.5);
    await expectMoving(p);
    agent.say(0);
    await expect.poll(() => bars(p), { timeout: 20_000 }).toEqual([0, 0, 0, 0, 0]);

    // The agent hears the default input, then the oscillator once the visitor picks it.
    expect(dominantFrequency(await agent.hear(0.5))).not.toBe(OSCILLATOR_HZ);
    expect((await mics(p)).opened).toEqual([first]);
    await p.getByRole("combobox", { name: "Microphone" }).selectOption(OSCILLATOR_ID);
    const heard = agent;
    await expect.poll(async () => dominantFrequency(await heard.hear(0.5)), { timeout: 20_000 }).toBe(OSCILLATOR_HZ);
    expect((await mics(p)).opened).toEqual([first, OSCILLATOR_ID]);
    expect(await shown(p)).toMatchObject({ phase: "live", alert: null });

    await p.getByRole("button", { name: "Stop" }).click();
    await waitForPhase(p, "idle");
    expect(await bars(p)).toEqual([0, 0, 0, 0, 0]);
    expect(await problems(p)).toEqual([]);
  });
});
