// The /chat page in Debian's Chromium under the Worker's CSP, with the REST API intercepted: the
// start flow's error states (none needs LiveKit), Stop, keyboard use, narrow screens, dark mode.
// The Worker and LiveKit are stood in for here; worker-dev.test.ts runs the page against `wrangler dev`.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { launch, screenshot, type Browser } from "./support/browser.ts";
import { interceptApi, openChat, problems, shown, tokenHandler, waitForPhase } from "./support/chat-page.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";

/** Nothing listens here: LiveKit is unreachable (connection refused at once). */
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

describe("/chat", () => {
  it("loads under the CSP with no violation, Start first in the tab order after the header", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    expect(await shown(page)).toEqual({
      phase: "idle",
      alert: null,
      status: "Ready when you are.",
      buttons: ["Start"],
    });
    const log = page.getByRole("log");
    expect(await log.getAttribute("aria-live")).toBe("polite");
    for (let i = 0; i < 3; i++) await page.keyboard.press("Tab"); // skip link, brand, nav
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("start");
    expect(await problems(page)).toEqual([]);
  });

  it("microphone permission denied: says so, creates no session, Start works again", async () => {
    const denied = await launch({ grantMicrophone: false });
    try {
      const p = await openChat(denied.context, `${server.origin}/chat`);
      const calls = await interceptApi(p, { "GET /token": tokenHandler(DEAD_LIVEKIT) });
      await p.getByRole("button", { name: "Start" }).click();
      await waitForPhase(p, "error");
      const s = await shown(p);
      expect(s.alert).toContain("Microphone access is blocked");
      expect(s.buttons).toEqual(["Start"]);
      expect(calls.filter((c) => c.path === "/session")).toEqual([]);
      expect(await p.evaluate(() => document.activeElement?.id)).toBe("start");
      expect(await problems(p)).toEqual([]);
      await screenshot(p, "chat-error");
    } finally {
      await denied.close();
    }
  });

  it("no microphone: says so", async () => {
    const none = await launch({ microphone: false });
    try {
      const p = await openChat(none.context, `${server.origin}/chat`);
      await interceptApi(p, { "GET /token": tokenHandler(DEAD_LIVEKIT) });
      await p.getByRole("button", { name: "Start" }).click();
      await waitForPhase(p, "error");
      expect((await shown(p)).alert).toContain("No microphone found");
    } finally {
      await none.close();
    }
  });

  it("microphone already allowed: creates the session while the device opens, and deletes it when the device fails", async () => {
    const held = await launch();
    try {
      // getUserMedia is held until the test settles it: the session must not wait for it.
      await held.context.addInitScript(() => {
        const w = window as unknown as { __failMicrophone?: () => void };
        navigator.mediaDevices.getUserMedia = () =>
          new Promise(
            (_, reject) =>
              (w.__failMicrophone = () => reject(new DOMException("Requested device not found", "NotFoundError"))),
          );
      });
      const p = await openChat(held.context, `${server.origin}/chat`);
      const calls = await interceptApi(p, {
        "GET /token": tokenHandler(DEAD_LIVEKIT),
        "POST /session": (route) => route.fulfill({ status: 201, json: { session_id: SESSION_ID } }),
        "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
      });
      await p.getByRole("button", { name: "Start" }).click();
      await expect.poll(() => calls.some((c) => c.method === "POST" && c.path === "/session")).toBe(true);
      expect((await shown(p)).phase).toBe("starting");
      await p.evaluate(() => (window as unknown as { __failMicrophone: () => void }).__failMicrophone());
      await waitForPhase(p, "error");
      expect((await shown(p)).alert).toContain("No microphone found");
      await expect
        .poll(() => calls.some((c) => c.method === "DELETE" && c.path === `/session/${SESSION_ID}`))
        .toBe(true);
      expect(await problems(p)).toEqual([]);
    } finally {
      await held.close();
    }
  });

  it("session refused with 429: shows the wait and holds Start until it has passed", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    const calls = await interceptApi(page, {
      "GET /token": tokenHandler(DEAD_LIVEKIT),
      "POST /session": (route) =>
        route.fulfill({
          status: 429,
          headers: { "Retry-After": "30" },
          json: { error: { code: "rate_limited", message: "Too many sessions; try again in 30 s." } },
        }),
    });
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error");
    const s = await shown(page);
    expect(s.alert).toContain("Too many conversations started");
    expect(s.alert).toMatch(/wait (29|30) s/);
    const start = page.locator("#start");
    expect(await start.isDisabled()).toBe(true);
    expect(await start.textContent()).toMatch(/^Start \((29|30) s\)$/);
    const session = calls.find((c) => c.method === "POST" && c.path === "/session");
    expect(session?.body).toMatchObject({ room: "room-abc" });
    const identity = (session?.body as { identity: string }).identity;
    expect(identity).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(identity.toLowerCase().startsWith("agent")).toBe(false);
    // The refusal explains more than LiveKit being unreachable, which happened at the same time.
    expect(s.alert).not.toContain("voice service");
  });

  it("session refused with 403: names it and shows the server's reason", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    await interceptApi(page, {
      "GET /token": tokenHandler(DEAD_LIVEKIT),
      "POST /session": (route) =>
        route.fulfill({
          status: 403,
          json: { error: { code: "forbidden", message: "This room belongs to another visitor." } },
        }),
    });
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error");
    const s = await shown(page);
    expect(s.alert).toContain("isn't available to you");
    expect(s.alert).toContain("This room belongs to another visitor.");
  });

  it("LiveKit unreachable: says so and deletes the session that was created", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    const calls = await interceptApi(page, {
      "GET /token": tokenHandler(DEAD_LIVEKIT),
      "POST /session": (route) => route.fulfill({ status: 201, json: { session_id: SESSION_ID } }),
      "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
    });
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error", 30_000);
    expect((await shown(page)).alert).toContain("Can't reach the voice service");
    await expect.poll(() => calls.some((c) => c.method === "DELETE" && c.path === `/session/${SESSION_ID}`)).toBe(true);
  });

  it("server unreachable: says so", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    await interceptApi(page, { "GET /token": (route) => route.abort("connectionrefused") });
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error");
    expect((await shown(page)).alert).toContain("Can't reach the server");
  });

  it("Stop while connecting puts the page back to its start state, with the keyboard", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    let release: () => void = () => undefined;
    const calls = await interceptApi(page, {
      "GET /token": (route, request) =>
        new Promise<void>((r) => (release = r)).then(() => tokenHandler(DEAD_LIVEKIT)(route, request)),
    });
    await page.locator("#start").focus();
    await page.keyboard.press("Enter");
    await waitForPhase(page, "starting");
    expect((await shown(page)).buttons).toEqual(["Stop"]);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("stop");
    await page.keyboard.press("Enter");
    await waitForPhase(page, "idle");
    release();
    await page.waitForTimeout(300);
    expect(await shown(page)).toMatchObject({ phase: "idle", alert: null, buttons: ["Start"] });
    expect(calls.filter((c) => c.path === "/session")).toEqual([]);
    expect(await problems(page)).toEqual([]);
  });

  it("Stop while the session is being created deletes that session once it exists", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    let release: () => void = () => undefined;
    const calls = await interceptApi(page, {
      "GET /token": tokenHandler(DEAD_LIVEKIT),
      "POST /session": (route) =>
        new Promise<void>((r) => (release = r)).then(() =>
          route.fulfill({ status: 201, json: { session_id: SESSION_ID } }),
        ),
      "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
    });
    await page.getByRole("button", { name: "Start" }).click();
    await expect.poll(() => calls.some((c) => c.method === "POST" && c.path === "/session")).toBe(true);
    await page.getByRole("button", { name: "Stop" }).click();
    await waitForPhase(page, "idle");
    release();
    await expect.poll(() => calls.some((c) => c.method === "DELETE" && c.path === `/session/${SESSION_ID}`)).toBe(true);
    expect(await shown(page)).toMatchObject({ phase: "idle", alert: null, buttons: ["Start"] });
  });

  it("works 360 px wide: nothing overflows sideways", async () => {
    const narrow = await launch({ viewport: { width: 360, height: 740 } });
    try {
      const p = await openChat(narrow.context, `${server.origin}/chat`);
      const widths = await p.evaluate(() => ({
        doc: document.documentElement.scrollWidth,
        start: document.getElementById("start")!.getBoundingClientRect().right,
        captions: document.getElementById("captions-box")!.getBoundingClientRect().right,
      }));
      expect(widths.doc).toBeLessThanOrEqual(360);
      expect(widths.start).toBeLessThanOrEqual(360);
      expect(widths.captions).toBeLessThanOrEqual(360);
    } finally {
      await narrow.close();
    }
  });

  it("follows the dark color scheme", async () => {
    const dark = await launch({ colorScheme: "dark" });
    try {
      const p = await openChat(dark.context, `${server.origin}/chat`);
      const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = bg.match(/\d+/g)!.map(Number);
      expect(r! + g! + b!).toBeLessThan(120);
    } finally {
      await dark.close();
    }
  });
});
