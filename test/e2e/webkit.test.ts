/**
 * The chat page in WebKit (issue #17, "Browsers"): Debian's WebKitGTK MiniBrowser against the e2e stack (`npm run dev`
 * with stand-ins), through test/support/webkit.ts. What this WebKit can do decides what is tested (docs/browsers.md):
 * the page loads under the Worker's CSP with no console message, and capture works with WebKit's mock microphones; but
 * Debian builds WebKitGTK without WebRTC (`RTCPeerConnection` is undefined), so no conversation can happen: the page
 * must say so at load (`browser_unsupported`: "This browser can't make voice calls") with Start disabled, and must
 * never create a session: the Worker sees no `POST /session`, even when Start is clicked anyway.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  inspectWebKit,
  launchWebKit,
  WebDriverError,
  webkitInstalled,
  type InspectedWebKit,
  type WebKit,
} from "../support/webkit.ts";
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

/** The alert of a browser that cannot make voice calls (web/i18n/en.ts `browser_unsupported`). */
const UNSUPPORTED = "This browser can't make voice calls Open this page in a recent Chrome, Edge, Firefox or Safari.";

/** An expression: the paths of the page's resource timing entries (fetches included), as JSON. */
const RESOURCES = `JSON.stringify(performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname))`;

/** The stack log's size now: {@link requestsSince} reads what was logged after it. */
const stackLogSize = () => readFileSync(inject("stackLog")).length;

/** The Worker's request lines (`[wrangler:info] GET /chat 200 OK (5ms)` → `GET /chat`) logged after `offset`. */
function requestsSince(offset: number): string[] {
  const log = readFileSync(inject("stackLog")).subarray(offset).toString();
  return [...log.matchAll(/\[wrangler:info\] ([A-Z]+ \S+) \d{3}/g)].map((m) => m[1]!);
}

describe.skipIf(!process.env.NETNS_ADDR || !webkitInstalled())("the chat page in WebKit", () => {
  let wk: WebKit | undefined;
  let inspected: InspectedWebKit | undefined;
  afterEach(async () => {
    await wk?.close();
    wk = undefined;
    await inspected?.close();
    inspected = undefined;
  });

  it("loads /chat with the browser_unsupported alert, Start disabled, and no console message", async () => {
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
    expect(state).toEqual({
      ready: true,
      phase: "error",
      start: { shown: true, enabled: false, text: "Start" },
      alert: UNSUPPORTED,
      status: "",
    });
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
    // The page's requests: its script, and no session.
    const resources = JSON.parse(await page.evaluate<string>(RESOURCES)) as string[];
    expect(resources).toContain("/static/chat.js");
    expect(resources.filter((r) => r.startsWith("/session"))).toEqual([]);
  });

  it("opens a mock microphone, but Start stays disabled and no session is ever created, even if clicked", async () => {
    const logFrom = stackLogSize();
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

    const loaded = JSON.parse(await b.execute<string>(`return ${PAGE_STATE}`)) as PageState;
    expect(loaded).toMatchObject({ phase: "error", start: { shown: true, enabled: false }, alert: UNSUPPORTED });

    // Every fetch the page starts from now on is recorded (api.ts calls the global fetch).
    await b.execute(`
      window.__fetches = [];
      const original = window.fetch;
      window.fetch = (input, init) => (window.__fetches.push(String(input)), original(input, init));
    `);
    // A click on the disabled Start does nothing (WebKitWebDriver may also refuse it); and neither does start()
    // itself when the button is enabled behind the page's back (the guard in web/src/chat.ts).
    await b.click("#start").catch((e: unknown) => {
      if (!(e instanceof WebDriverError)) throw e;
    });
    await b.execute(`const start = document.querySelector("#start"); start.disabled = false; start.click();`);
    // A POST /session would be on its way at once; its answer (an agent dispatched) takes a few seconds here.
    await new Promise((r) => setTimeout(r, 5000));
    const after = JSON.parse(await b.execute<string>(`return ${PAGE_STATE}`)) as PageState;
    expect(after).toMatchObject({ phase: "error", alert: UNSUPPORTED });
    expect(await b.execute<string[]>(`return window.__fetches`)).toEqual([]);
    const resources = JSON.parse(await b.execute<string>(`return ${RESOURCES}`)) as string[];
    expect(resources).toContain("/static/chat.js");
    expect(resources.filter((r) => r.startsWith("/session"))).toEqual([]);
    // What the Worker saw of this browser: the page, and no session (its request log is in the stack log).
    await waitFor("the Worker's log of GET /chat", () => requestsSince(logFrom).includes("GET /chat"), poll(10_000));
    expect(requestsSince(logFrom).filter((r) => r.startsWith("POST /session"))).toEqual([]);
    console.log(
      `[webkit] ${JSON.stringify(b.capabilities.browserVersion)}: ${JSON.stringify(mic)}; at load: "${loaded.alert}"`,
    );
  });
});
