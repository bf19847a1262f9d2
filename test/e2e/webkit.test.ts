/**
 * The chat page in WebKit (issue #17, "Browsers"): Debian's WebKitGTK MiniBrowser against the e2e stack (`npm run dev`
 * with stand-ins), through test/support/webkit.ts. What this WebKit can do decides what is tested (docs/browsers.md):
 * the page loads under the Worker's CSP with no console message, Start is there, and capture works with WebKit's mock
 * microphones; but Debian builds WebKitGTK without WebRTC (`RTCPeerConnection` is undefined), so no conversation can
 * start: Start must end in an error the visitor can read, with Start offered again.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { inspectWebKit, launchWebKit, webkitInstalled, type InspectedWebKit, type WebKit } from "../support/webkit.ts";
import { waitFor } from "../support/wait.ts";
import { poll } from "./support.ts";

/** What the page shows of itself: phase, Start, the alert and the status line. */
interface PageState {
  ready: boolean;
  phase: string;
  start: { shown: boolean; enabled: boolean; text: string } | null;
  alert: string;
  status: string;
}

/** An expression (also a function body after `return`) that reads {@link PageState} as JSON. */
const PAGE_STATE = `JSON.stringify((() => {
  const chat = document.querySelector("#chat");
  const start = document.querySelector("#start");
  const text = (sel) => (document.querySelector(sel)?.textContent ?? "").replace(/\\s+/g, " ").trim();
  return {
    ready: chat?.dataset.ready === "true",
    phase: chat?.dataset.phase ?? "",
    start: start && { shown: !start.hidden && start.offsetParent !== null, enabled: !start.disabled, text: text("#start") },
    alert: text("#alert"),
    status: text("#status"),
  };
})())`;

describe.skipIf(!process.env.NETNS_ADDR || !webkitInstalled())("the chat page in WebKit", () => {
  let wk: WebKit | undefined;
  let inspected: InspectedWebKit | undefined;
  afterEach(async () => {
    await wk?.close();
    wk = undefined;
    await inspected?.close();
    inspected = undefined;
  });

  it("loads /chat with Start and no console message", async () => {
    inspected = await inspectWebKit(`${inject("workerUrl")}/chat`);
    const page = inspected;
    const state = await waitFor(
      "the page to be ready",
      async () => {
        const s = JSON.parse(await page.evaluate<string>(PAGE_STATE)) as PageState;
        return s.ready && s;
      },
      poll(30_000),
    );
    expect(state).toMatchObject({ phase: "idle", start: { shown: true, enabled: true, text: "Start" }, alert: "" });
    // What this WebKit offers the page (docs/browsers.md).
    const features = JSON.parse(
      await page.evaluate<string>(`JSON.stringify({
        webrtc: typeof RTCPeerConnection,
        getUserMedia: typeof navigator.mediaDevices?.getUserMedia,
        audioContext: typeof AudioContext,
        secure: isSecureContext,
      })`),
    ) as Record<string, unknown>;
    expect(features).toEqual({ webrtc: "undefined", getUserMedia: "function", audioContext: "function", secure: true });
    // The console is read: a message logged now arrives (and the page's own, if any, came before it).
    await page.evaluate(`console.info("e2e-console-probe")`);
    await waitFor(
      "the probe on the console",
      () => page.console.some((m) => m.text === "e2e-console-probe"),
      poll(10_000),
    );
    // Every message, not only errors: the page logs nothing at load (warnings included).
    expect(
      page.console.filter((m) => m.text !== "e2e-console-probe"),
      "console messages of /chat",
    ).toEqual([]);
  });

  it("opens a mock microphone, and Start without WebRTC ends in an error with Start offered again", async () => {
    wk = await launchWebKit();
    const b = wk;
    await b.navigate(`${inject("workerUrl")}/chat`);
    await waitFor(
      "the page to be ready",
      async () => (JSON.parse(await b.execute<string>(`return ${PAGE_STATE}`)) as PageState).ready,
      poll(30_000),
    );
    // Capture works: WebKit's mock microphones, granted without a prompt under automation.
    const mic = await b.executeAsync<{ label: string; state: string; inputs: number } | { error: string }>(`
      const done = arguments[arguments.length - 1];
      navigator.mediaDevices.getUserMedia({ audio: true }).then(async (stream) => {
        const [track] = stream.getAudioTracks();
        const inputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "audioinput").length;
        const result = { label: track.label, state: track.readyState, inputs };
        stream.getTracks().forEach((t) => t.stop());
        done(result);
      }, (e) => done({ error: e.name + ": " + e.message }));
    `);
    expect(mic).toMatchObject({ label: expect.stringMatching(/^Mock audio device/), state: "live" });

    await b.click("#start");
    const failed = await waitFor(
      "Start to end in an error",
      async () => {
        const s = JSON.parse(await b.execute<string>(`return ${PAGE_STATE}`)) as PageState;
        return s.phase === "error" && s;
      },
      poll(30_000),
    );
    expect(failed.alert, "the alert says what went wrong").not.toBe("");
    expect(failed.start).toMatchObject({ shown: true, enabled: true });
    console.log(
      `[webkit] ${JSON.stringify(b.capabilities.browserVersion)}: ${JSON.stringify(mic)}; Start → "${failed.alert}"`,
    );
  });
});
