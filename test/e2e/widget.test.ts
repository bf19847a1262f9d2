/**
 * E2E: the embeddable widget (issue #17, docs/widget.md) through the whole stack (`npm run dev` with stand-ins): a
 * page on another origin (`npm run dev`'s sample host page, http://127.0.0.1:8790, in ALLOWED_ORIGINS) adds the
 * widget with one script tag, and a conversation runs inside its panel, a third-party iframe from the Worker's origin
 * (http://localhost:8787: another site, so only the panel's partitioned cookie is sent there). Real Chromium with
 * recorded speech as its microphone, the dev LiveKit server, the real agent with the planner profile. The OpenAI APIs
 * are the local stand-in, the one fake (paid, unreachable from CI).
 *
 * Also: a page on an origin that is not allowed cannot frame the panel.
 */
import { join } from "node:path";
import type { ConsoleMessage, Frame, Page } from "playwright-core";
import { afterEach, describe, expect, inject, it } from "vitest";
import { DEV_PORTS } from "../../contract/defaults.ts";
import { startHostServer, type HostServer } from "../../dev/host/server.ts";
import { heardRecording, microphoneWav } from "./audio.ts";
import { launchWithMicrophone, type MicBrowser, type Observed } from "./browser.ts";
import { waitFor } from "../support/wait.ts";
import { poll, readTranscript } from "./support.ts";

/** The project's root (docs/widget.png goes under it). */
const ROOT = join(import.meta.dirname, "..", "..");

const HOST = `http://127.0.0.1:${DEV_PORTS.host}`;
const LABEL = "Talk with our planner";
const ADD = "add a task to call the dentist tomorrow at 9";

/** What the init script (browser.ts) recorded in `frame`. */
function observedIn(frame: Frame): Promise<Observed> {
  return frame.evaluate(() => (window as unknown as { __e2e: Observed }).__e2e);
}

/** The types of the widget events the sample host page logged (`#events li[data-type]`), in order. */
function hostEvents(page: Page): Promise<string[]> {
  return page.$$eval("#events li", (items) => items.map((li) => (li as HTMLElement).dataset.type ?? ""));
}

/** The class of the focused element inside the widget's shadow root (`launcher`, `close`), or its tag. */
function widgetFocus(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const active = document.querySelector("voice-agent-widget")?.shadowRoot?.activeElement;
    return active ? active.className || active.tagName.toLowerCase() : null;
  });
}

/**
 * Waits until the focus inside the widget is `want` (see widgetFocus). Polled: focus that moves into or out of the
 * panel, an out-of-process iframe (another site), crosses renderer processes through the browser, so the host page's
 * `activeElement` changes a moment after the key press returns (null in between); the dialog's `close` event that
 * gives focus back to the button is a queued task, too.
 */
async function expectFocus(page: Page, want: string): Promise<void> {
  await expect.poll(() => widgetFocus(page), { timeout: 5_000, interval: 50 }).toBe(want);
}

/** The panel's frame, once the dialog created it. */
function panelFrame(page: Page): Promise<Frame> {
  return waitFor(
    "the panel's frame",
    () => page.frames().find((f) => f.url().startsWith("http://localhost:") && f.url().includes("/embed/chat")),
    poll(30_000),
  );
}

describe.skipIf(!process.env.NETNS_ADDR)("the embeddable widget", () => {
  let b: MicBrowser | undefined;
  let other: HostServer | undefined;
  afterEach(async () => {
    await b?.close();
    await other?.close();
    b = undefined;
    other = undefined;
  });

  it("on another origin: loads the panel on first click, runs a conversation in it, tells the host page, and follows the dialog pattern", async () => {
    const workerUrl = inject("workerUrl");
    b = await launchWithMicrophone(microphoneWav(inject("stackDir"), "goforward", 8));
    const { page, context } = b;
    const errors: string[] = [];
    page.on("console", (m: ConsoleMessage) => {
      if (m.type() === "error") errors.push(`${m.location().url}: ${m.text()}`);
    });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(r.url()));

    await page.goto(`${HOST}/?agent=planner`);
    const launcher = page.getByRole("button", { name: LABEL });
    await launcher.waitFor();
    // The loader alone: no panel, no page script yet.
    expect(requested.some((u) => u.startsWith(`${workerUrl}/embed.js`))).toBe(true);
    expect(requested.filter((u) => /\/embed\/chat|\/static\/chat\.js/.test(u))).toEqual([]);
    expect(await launcher.getAttribute("aria-expanded")).toBe("false");
    expect(await launcher.getAttribute("aria-haspopup")).toBe("dialog");

    await launcher.click();
    const dialog = page.getByRole("dialog", { name: LABEL });
    await dialog.waitFor();
    expect(await launcher.getAttribute("aria-expanded")).toBe("true");
    // Focus moved into the dialog (its first focusable: Close).
    await expectFocus(page, "close");

    const frame = await panelFrame(page);
    expect(new URL(frame.url()).searchParams.get("host")).toBe(HOST);
    await frame.locator("#chat[data-ready]").waitFor({ timeout: 30_000 });
    // Once the panel is there, Tab goes on into it and Shift+Tab comes back (a frame still loading has nothing to
    // focus yet, so the keys wait for it).
    await expectFocus(page, "close");
    await page.keyboard.press("Tab");
    await expectFocus(page, "iframe");
    await page.keyboard.press("Shift+Tab");
    await expectFocus(page, "close");
    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    await frame.getByRole("button", { name: "Start" }).click();
    const res = await created;
    expect(res.status()).toBe(201);
    expect((res.request().postDataJSON() as { profile?: string }).profile).toBe("planner");
    const { session_id: sessionId } = (await res.json()) as { session_id: string };

    // The panel's visitor cookie is the partitioned one, under the host page's site.
    const cookies = await context.cookies(workerUrl);
    const evid = cookies.find((c) => c.name === "evid");
    expect(evid, JSON.stringify(cookies.map((c) => c.name))).toBeDefined();
    expect(evid!.sameSite).toBe("None");
    expect(evid!.partitionKey).toBe("http://127.0.0.1");
    expect(cookies.find((c) => c.name === "vid")).toBeUndefined();

    // The conversation, inside the panel: the greeting, the visitor's words, the agent's reply.
    await waitFor(
      "the greeting caption",
      async () => (await observedIn(frame)).captions.find((c) => c.role === "agent" && c.final && c.text.length > 0),
      poll(),
    );
    const userFinal = await waitFor(
      "the visitor's final caption",
      async () => (await observedIn(frame)).captions.find((c) => c.role === "user" && c.final),
      poll(90_000),
    );
    expect(heardRecording(userFinal.text), `heard "${userFinal.text}"`).toBe("goforward");
    await waitFor(
      "the agent's reply caption",
      async () => (await observedIn(frame)).captions.find((c) => c.role === "agent" && c.final && c.t > userFinal.t),
      poll(),
    );
    const heard = (await observedIn(frame)).energy.at(-1)?.e ?? 0;
    expect(heard, "the agent's audio reached the panel").toBeGreaterThan(0.0005);
    await expect.poll(() => launcher.getAttribute("data-live"), { timeout: 10_000 }).toBe("");
    if (process.env.WEB_SCREENSHOTS) await page.screenshot({ path: join(ROOT, "docs", "widget.png") });

    // An action: typed in the panel, done by the planner, told to the host page.
    const box = frame.getByLabel("Type a message");
    await box.fill(ADD);
    await box.press("Enter");
    await frame.locator(".action--ok", { hasText: "Task added" }).waitFor({ timeout: 60_000 });
    await expect.poll(() => hostEvents(page), { timeout: 10_000 }).toContain("action");
    const action = await page.$eval('#events li[data-type="action"]', (li) => JSON.parse(li.textContent ?? "{}"));
    expect(action).toMatchObject({ type: "voice-agent:action", sessionId, action: { status: "ok" } });

    // Escape inside the panel closes the dialog, focus returns to the button, and the conversation goes on.
    await box.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await launcher.getAttribute("aria-expanded")).toBe("false");
    await expectFocus(page, "launcher");
    expect(await launcher.getAttribute("data-live")).toBe("");
    expect(await launcher.getAttribute("aria-describedby")).toBe("live-note");
    // The host page opens it again through the API (its button posts voice-agent:open).
    await page.getByRole("button", { name: "Open the voice chat" }).click();
    await dialog.waitFor();
    await frame.getByRole("button", { name: "Stop" }).click();
    await expect.poll(() => hostEvents(page), { timeout: 30_000 }).toContain("ended");
    expect(await launcher.getAttribute("data-live")).toBeNull();
    expect(await launcher.getAttribute("aria-describedby")).toBeNull();
    expect(await hostEvents(page)).toEqual(["opened", "started", "action", "closed", "opened", "ended"]);
    const ended = await page.$eval('#events li[data-type="ended"]', (li) => JSON.parse(li.textContent ?? "{}"));
    expect(ended).toMatchObject({ sessionId, reason: "stopped" });

    // Stored like any conversation, under the panel's visitor.
    const transcript = await frame.evaluate(async (id) => (await fetch(`/transcripts/${id}`)).status, sessionId);
    expect(transcript).toBe(200);
    const stored = await readTranscript(workerUrl, sessionId, await cookieHeader(b, workerUrl));
    expect(stored.events.some((e) => "type" in e && e.type === "action")).toBe(true);
    // The console is really read, the panel's (another site's frame) included.
    await frame.evaluate(() => console.error("console probe"));
    await expect.poll(() => errors.some((e) => e.endsWith("console probe"))).toBe(true);
    expect(errors.filter((e) => !e.endsWith("console probe"))).toEqual([]);
  });

  it("a page on an origin not in ALLOWED_ORIGINS cannot frame the panel", async () => {
    const workerUrl = inject("workerUrl");
    other = await startHostServer({ workerUrl });
    expect(other.origin).not.toBe(HOST);
    b = await launchWithMicrophone(microphoneWav(inject("stackDir"), "goforward", 8));
    const { page } = b;
    const errors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    await page.goto(`${other.origin}/?agent=planner`);
    // The loader asks for the panel with its own origin: the Worker refuses it (403, framable by no one).
    const refused = page.waitForResponse((r) => r.url().includes("/embed/chat"));
    await page.getByRole("button", { name: LABEL }).click();
    expect((await refused).status()).toBe(403);
    // A page that claims an allowed host gets the panel, but the browser will not show it under this origin.
    const claimed = `${workerUrl}/embed/chat?agent=planner&host=${encodeURIComponent(HOST)}`;
    const served = page.waitForResponse((r) => r.url() === claimed);
    await page.evaluate((src) => {
      const frame = document.createElement("iframe");
      frame.id = "claimed";
      frame.src = src;
      document.body.append(frame);
    }, claimed);
    expect((await served).status()).toBe(200);
    await waitFor(
      "the browser's refusal",
      () => errors.find((e) => e.includes("frame-ancestors") && e.includes(HOST)),
      poll(15_000),
    );
    for (const frame of page.frames().filter((f) => f !== page.mainFrame())) {
      const chat = await frame.evaluate(() => document.getElementById("chat") !== null).catch(() => false);
      expect(chat, `frame ${frame.url()} shows the chat page`).toBe(false);
    }
  });
});

/** The `Cookie` header a request from the panel carries (its partitioned cookie), for reading the transcript. */
async function cookieHeader(b: MicBrowser, workerUrl: string): Promise<string> {
  const cookies = await b.context.cookies(workerUrl);
  return cookies.map((c) => `${c.name}=${c.value}`).join("; ");
}
