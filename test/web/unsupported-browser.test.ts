// /chat in a browser that cannot make voice calls (issue #17; docs/browsers.md, "WebKit"): Debian's WebKitGTK has no
// RTCPeerConnection, and neither has this Chromium once an init script deletes it before the page script runs. The
// page must say so at load (`browser_unsupported`), with Start disabled, and must never open the microphone nor send
// `POST /session`, not even when Start is clicked anyway (the guard in start() itself). Under the Worker's CSP; the
// REST API is intercepted and recorded, no LiveKit is needed.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launch, type Browser } from "./support/browser.ts";
import { interceptApi, openChat, problems, sessionHandler, shown, type ApiCall } from "./support/chat-page.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";

/** Nothing listens here: a session answered with it could not connect (none must be asked for). */
const DEAD_LIVEKIT = "ws://127.0.0.1:9";
const SESSION_ID = "AbCdEfGhIjKlMnOpQrStUv";

let server: PageServer;
let browser: Browser;
let page: Page | undefined;

beforeAll(async () => {
  server = await startPageServer(DEAD_LIVEKIT);
  browser = await launch();
});
afterEach(async () => {
  await page?.close();
  page = undefined;
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** What the page offers for typing, and whether Start can be pressed. */
function controls(p: Page): Promise<{ startDisabled: boolean; message: boolean; send: boolean }> {
  return p.evaluate(() => ({
    startDisabled: (document.getElementById("start") as HTMLButtonElement).disabled,
    message: !(document.getElementById("message") as HTMLInputElement).disabled,
    send: !(document.getElementById("send") as HTMLButtonElement).disabled,
  }));
}

describe("/chat without WebRTC", () => {
  it("says so at load with Start disabled, and never opens the microphone nor creates a session", async () => {
    let calls: ApiCall[] = [];
    const requests: string[] = [];
    const consoleMessages: string[] = [];
    page = await openChat(browser.context, `${server.origin}/chat`, async (p) => {
      // As in Debian's WebKitGTK: no RTCPeerConnection (nor Chromium's prefixed alias, which a shim could pick up).
      // getUserMedia is counted, not replaced.
      await p.addInitScript(() => {
        const w = window as unknown as Record<string, unknown> & { __gum: number };
        delete w.RTCPeerConnection;
        delete w.webkitRTCPeerConnection;
        w.__gum = 0;
        const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = (c) => (w.__gum++, gum(c));
      });
      p.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") consoleMessages.push(`${m.type()}: ${m.text()}`);
      });
      p.on("request", (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
      calls = await interceptApi(p, { "POST /session": sessionHandler(DEAD_LIVEKIT, SESSION_ID) });
    });
    expect(await page.evaluate(() => typeof RTCPeerConnection)).toBe("undefined");

    expect(await shown(page)).toEqual({
      phase: "error",
      alert: "This browser can't make voice calls Open this page in a recent Chrome, Edge, Firefox or Safari.",
      status: "",
      buttons: ["Start"],
    });
    // Announced like every other error: the page's alert region.
    expect(await page.getByRole("alert").textContent()).toContain("This browser can't make voice calls");
    const start = page.getByRole("button", { name: "Start" });
    expect(await start.isDisabled()).toBe(true);
    expect(await controls(page)).toEqual({ startDisabled: true, message: false, send: false });

    // A click on the disabled button does nothing; nor does start() itself when the button is enabled behind the
    // page's back (defence in depth).
    await start.click({ force: true });
    await page.evaluate(() => {
      const b = document.getElementById("start") as HTMLButtonElement;
      b.disabled = false;
      b.click();
    });
    await page.waitForTimeout(1000);
    expect((await shown(page)).phase).toBe("error");
    expect(await page.evaluate(() => (window as unknown as { __gum: number }).__gum)).toBe(0);
    expect(calls.filter((c) => c.path.startsWith("/session"))).toEqual([]);
    expect(requests.filter((r) => r.includes("/session"))).toEqual([]);
    // The page itself was loaded and watched (the request log is not empty for want of listening).
    expect(requests).toContain("GET /static/chat.js");
    expect(await problems(page)).toEqual([]);
    expect(consoleMessages).toEqual([]);
  });

  it("the same page with WebRTC offers Start (the check is the browser's, not the page's)", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    expect(await shown(page)).toMatchObject({ phase: "idle", alert: null, buttons: ["Start"] });
    expect((await controls(page)).startDisabled).toBe(false);
  });
});
