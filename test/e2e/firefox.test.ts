/**
 * The chat page and a whole conversation in Firefox (issue #17, "Browsers"): Debian's firefox-esr driven by
 * puppeteer-core over WebDriver BiDi, against the e2e stack (`npm run dev` with stand-ins). Its microphone is real
 * capture from a private PulseAudio daemon (test/support/pulse.ts) into which the test plays recorded speech once the
 * greeting is over; the agent's voice plays into a virtual loudspeaker and is measured in the page.
 * The page's console, as BiDi reports it (`log.entryAdded`), must hold no error: livekit-client joins the dev
 * LiveKit server on `/rtc/v1` (its single peer connection, dev/livekit/sfu-single.ts) at the first try. docs/browsers.md.
 */
import { TrackSource, TrackType } from "@livekit/protocol";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterEach, describe, expect, inject, it } from "vitest";
import { SessionCreateResponse } from "../../contract/index.ts";
import {
  energyOnset,
  firefoxExecutable,
  instrumentAudio,
  launchFirefox,
  receivedAudio,
  type Firefox,
} from "../support/firefox.ts";
import { promoteAudioThreads } from "../support/audio-priority.ts";
import { pulseInstalled, startPulse, type PulseDaemon } from "../support/pulse.ts";
import { waitFor } from "../support/wait.ts";
import { heardRecording, microphoneWav } from "./audio.ts";
import { openRooms, poll } from "./support.ts";
import { DEV_PORTS } from "../../contract/defaults.ts";

/** `npm run dev`'s sample host page for the widget (dev/host/server.ts), on another origin than the Worker's. */
const HOST = `http://127.0.0.1:${DEV_PORTS.host}`;

/** Received audio energy (`totalAudioEnergy`) that counts as "heard" (silence stays well below). */
const HEARD = 0.0005;

const firefox = firefoxExecutable();
if (firefox && !pulseInstalled() && process.env.CI === "true") {
  throw new Error("pulseaudio is missing: apt-get install pulseaudio");
}

/** Final captions on the page, in order: who and what. */
function finalCaptions(ff: Firefox): Promise<{ role: "user" | "agent"; text: string }[]> {
  return ff.page.$$eval("#captions .caption:not(.caption--interim)", (items) =>
    items.map((item) => ({
      role: item.classList.contains("caption--agent") ? ("agent" as const) : ("user" as const),
      text: item.querySelector(".caption__text")?.textContent ?? "",
    })),
  );
}

describe.skipIf(!process.env.NETNS_ADDR || !firefox || !pulseInstalled())("a conversation in Firefox", () => {
  let ff: Firefox | undefined;
  let pulse: PulseDaemon | undefined;
  afterEach(async () => {
    await ff?.close();
    await pulse?.stop();
  });

  it("joins, publishes the microphone, greets, hears the visitor, answers by voice, and stops", async () => {
    const workerUrl = inject("workerUrl");
    const speech = microphoneWav(inject("stackDir"), "goforward", 0.3, 3.5);
    const marks: [string, number][] = [["begin", Date.now()]];
    const mark = (name: string) => marks.push([name, Date.now()]);
    pulse = await startPulse();
    ff = await launchFirefox({ microphone: "pulse", env: pulse.env });
    const { page } = ff;
    mark("launched");
    await page.evaluateOnNewDocument(instrumentAudio);
    await page.goto(`${workerUrl}/chat`);
    await page.waitForSelector("#chat[data-ready] #start:not([hidden])");

    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    mark("ready");
    const clickAt = Date.now();
    await page.click("#start");
    const res = await created;
    expect(res.status()).toBe(201);
    const { livekit } = SessionCreateResponse.parse(await res.json());
    await page.waitForSelector('#chat[data-phase="live"]', { timeout: 30_000 });
    mark("live");
    // The audio threads a desktop would make real-time (RealtimeKit): the microphone's now, the loudspeaker's below.
    const priority = [promoteAudioThreads(ff.pid, pulse.pid)];

    // The page joined and published its microphone (as the dev LiveKit server sees it).
    const rooms = new RoomServiceClient(inject("liveKitUrl").replace(/^ws/, "http"), "devkey", "secret");
    await waitFor(
      "the visitor's microphone track in the room",
      async () =>
        (await rooms.listParticipants(livekit.room).catch(() => []))
          .find((p) => p.identity === livekit.identity)
          ?.tracks.some((t) => t.type === TrackType.AUDIO && t.source === TrackSource.MICROPHONE),
      poll(30_000),
    );

    // The greeting: its final caption, and its audio heard in the page; then the agent listens.
    await waitFor(
      "the agent's greeting caption",
      async () => (await finalCaptions(ff!)).find((c) => c.role === "agent" && c.text.length > 0),
      poll(),
    );
    const greetingAudioAt = await waitFor(
      "the greeting's audio",
      async () => energyOnset((await receivedAudio(page)).stats, clickAt, HEARD),
      poll(),
    );
    await page.waitForSelector('#party-agent[data-state="listening"]', { timeout: 60_000 });
    mark("listening");
    priority.push(promoteAudioThreads(ff.pid, pulse.pid));
    const greeted = await receivedAudio(page);
    expect(greeted.stats.at(-1)?.e, "inbound-rtp totalAudioEnergy").toBeGreaterThan(HEARD);
    expect(greeted.stats.at(-1)?.sent, "microphone packets sent").toBeGreaterThan(0);
    expect(greeted.bars.length, "the voice visualizer moved with the greeting").toBeGreaterThan(0);
    expect(greeted.meter, "the level meter before the visitor speaks").toEqual([]);

    // The visitor speaks: recorded speech through the PulseAudio microphone.
    const speakAt = Date.now();
    const played = pulse.play(speech);
    played.catch(() => undefined); // awaited below; a failure before then must not be reported as unhandled
    const userFinal = await waitFor(
      "the visitor's final caption",
      async () => (await finalCaptions(ff!)).find((c) => c.role === "user"),
      poll(),
    );
    mark("visitor's final");
    expect(heardRecording(userFinal.text), `the visitor's words (heard "${userFinal.text}")`).toBe("goforward");
    const reply = await waitFor(
      "the agent's reply caption",
      async () => {
        const finals = await finalCaptions(ff!);
        const user = finals.findIndex((c) => c.role === "user");
        return finals.slice(user + 1).find((c) => c.role === "agent" && c.text.length > 0);
      },
      poll(),
    );
    mark("reply caption");
    expect(reply.text).toMatch(/heard/i);
    await played;
    const replyAudioAt = await waitFor(
      "the reply's audio",
      async () => energyOnset((await receivedAudio(page)).stats, speakAt + 3000, HEARD),
      poll(),
    );
    mark("reply audio");
    const { meter, stats } = await receivedAudio(page);
    expect(
      meter.some((m) => m.t > speakAt),
      "the level meter showed the visitor's speech",
    ).toBe(true);

    // Stop: back to idle, the room deleted.
    await page.click("#stop");
    await page.waitForSelector('#chat[data-phase="idle"] #start:not([hidden])', { timeout: 15_000 });
    mark("idle");
    await waitFor(
      "the LiveKit room to be deleted",
      async () => !(await openRooms(inject("liveKitUrl"))).includes(livekit.room),
      poll(15_000),
    );
    mark("room deleted");

    const errors = ff.console.filter((e) => e.type === "error" || e.type === "pageerror");
    console.log(
      `[firefox] click → greeting audio: ${greetingAudioAt - clickAt} ms; speech played → reply audio: ` +
        `${replyAudioAt - speakAt} ms; audio packets received ${stats.at(-1)?.p}, sent ${stats.at(-1)?.sent}; ` +
        `real-time audio threads: ${[...new Set(priority.flatMap((p) => p.promoted.map((t) => t.name)))].join(", ")}` +
        `${priority.find((p) => p.refused)?.refused ? ` (refused: ${priority.find((p) => p.refused)!.refused})` : ""}; ` +
        `console warnings: ` +
        JSON.stringify(ff.console.filter((e) => e.type === "warn").map((e) => e.text)) +
        `; steps (s): ${marks.map(([name, t], i) => (i ? `${name} +${((t - marks[i - 1]![1]) / 1000).toFixed(1)}` : "")).join(" ")}`,
    );
    expect(errors, "console errors on the page").toEqual([]);
  });

  it("embeds the widget on another origin: the panel's partitioned cookie holds a session, and the host page hears it", async () => {
    const workerUrl = inject("workerUrl");
    pulse = await startPulse();
    ff = await launchFirefox({ microphone: "fake", env: pulse.env });
    const { page } = ff;
    await page.goto(`${HOST}/?agent=assistant`);
    // The button lives in the widget's shadow root (puppeteer's `>>>` pierces it).
    await page.waitForSelector("voice-agent-widget >>> .launcher");
    await page.click("voice-agent-widget >>> .launcher");
    await page.waitForSelector("voice-agent-widget >>> dialog[open]");
    const panel = await waitFor(
      "the panel's frame",
      () => page.frames().find((f) => f.url().startsWith(`${workerUrl}/embed/chat`)),
      poll(30_000),
    );
    await panel.waitForSelector("#chat[data-ready] #start:not([hidden])", { timeout: 30_000 });
    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    await panel.click("#start");
    expect((await created).status()).toBe(201);
    // Live, and the agent's greeting arrives over the transcript socket: the socket and every request of the panel
    // carried its cookie, the partitioned one (a third-party frame gets no SameSite=Lax cookie).
    await panel.waitForSelector('#chat[data-phase="live"]', { timeout: 30_000 });
    await panel.waitForSelector("#captions .caption--agent:not(.caption--interim)", { timeout: 60_000 });
    const cookies = await ff.browser.cookies();
    const evid = cookies.find((c) => c.name === "evid");
    expect(evid, JSON.stringify(cookies.map((c) => c.name))).toBeDefined();
    expect(evid!.sameSite).toBe("None");
    expect(cookies.find((c) => c.name === "vid")).toBeUndefined();
    await panel.click("#stop");
    await panel.waitForSelector('#chat[data-phase="idle"]', { timeout: 15_000 });
    await waitFor(
      "the host page's events",
      async () => {
        const types = await page.$$eval("#events li", (items) => items.map((li) => (li as HTMLElement).dataset.type));
        return types.includes("ended") ? types : undefined;
      },
      poll(15_000),
    ).then((types) => expect(types).toEqual(["opened", "started", "ended"]));
    // Escape in the panel closes the dialog.
    await panel.focus("#start");
    await page.keyboard.press("Escape");
    await page.waitForSelector("voice-agent-widget >>> dialog:not([open])", { timeout: 10_000 });
    const errors = ff.console.filter((e) => e.type === "error" || e.type === "pageerror");
    expect(errors, "console errors").toEqual([]);
  });
});
