// The Live mode switch on /chat (web/src/live-mode.ts; docs/web.md, "Live mode"), in Debian's Chromium under the
// Worker's CSP with the REST API intercepted: before Start it chooses the mode POST /session asks for, and a 429
// live_limit_reached turns it off with Start left usable. During a conversation (with the dev LiveKit server, inside
// the test's network namespace; skipped outside) it posts POST /session/{id}/mode, is busy until the answer, goes back
// with the reason in the status line when refused, and follows the ModeMessage frames the test sends on the transcript
// socket as the SessionDO would (also replayed after a reconnection). The route itself is another part's: it is stood
// in for here, as chat-page.test.ts stands in for the others.
import type { Page, Request, Route, WebSocketRoute } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  SOCKET_PING,
  SOCKET_PONG,
  type ModeChangeRequest,
  type ModeChangeResponse,
  type ServerMessage,
} from "../../contract/index.ts";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import { launch, type Browser } from "./support/browser.ts";
import {
  devLiveKitSession,
  interceptApi,
  openChat,
  problems,
  shown,
  waitForPhase,
  type ApiCall,
} from "./support/chat-page.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";

/** Nothing listens here: LiveKit is unreachable (connection refused at once). */
const DEAD_LIVEKIT = "ws://127.0.0.1:9";
const SESSION_ID = "LiVeMoDeSeSsIoN012345_";
const STOPPED = (route: Route) => route.fulfill({ json: { stopped: true } });

let browser: Browser;
let page: Page | undefined;

beforeAll(async () => {
  browser = await launch();
});
afterEach(async () => {
  await page?.close();
  page = undefined;
});
afterAll(() => browser?.close());

/** What the switch shows: checked, disabled, busy (`aria-busy`), and whether it has the keyboard focus. */
function liveSwitch(p: Page): Promise<{ checked: boolean; disabled: boolean; busy: boolean; focused: boolean }> {
  return p.evaluate(() => {
    const s = document.getElementById("live-mode") as HTMLInputElement;
    return {
      checked: s.checked,
      disabled: s.disabled,
      busy: s.getAttribute("aria-busy") === "true",
      focused: document.activeElement === s,
    };
  });
}

/** The `POST /session` bodies sent so far. */
const sessions = (calls: ApiCall[]) =>
  calls.filter((c) => c.method === "POST" && c.path === "/session").map((c) => c.body);

describe("/chat's Live mode switch before Start", () => {
  let server: PageServer;
  beforeAll(async () => {
    server = await startPageServer(DEAD_LIVEKIT, {}, undefined, undefined, { liveMode: true });
  });
  afterAll(() => server?.close());

  it("chooses the mode POST /session asks for, and waits while a conversation starts", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    let release: () => void = () => undefined;
    const calls = await interceptApi(page, {
      "POST /session": (route) =>
        new Promise<void>((r) => (release = r)).then(() =>
          route.fulfill({ status: 403, json: { error: { code: "forbidden", message: "Not yours." } } }),
        ),
      "DELETE /session/:id": STOPPED,
    });
    const toggle = page.getByRole("switch", { name: "Live mode" });
    expect(await liveSwitch(page)).toMatchObject({ checked: false, disabled: false, busy: false });
    await toggle.click();
    expect((await liveSwitch(page)).checked).toBe(true);
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "starting");
    await expect.poll(() => sessions(calls).length).toBe(1);
    expect(sessions(calls)[0]).toMatchObject({ mode: "live" });
    expect(await liveSwitch(page)).toMatchObject({ checked: true, disabled: true });
    release();
    await waitForPhase(page, "error");
    // Ready again for the next Start, still on; turned off, the next POST /session asks for no mode.
    expect(await liveSwitch(page)).toMatchObject({ checked: true, disabled: false });
    await toggle.click();
    await page.getByRole("button", { name: "Start" }).click();
    await expect.poll(() => sessions(calls).length).toBe(2);
    expect(sessions(calls)[1]).not.toHaveProperty("mode");
    release();
    await waitForPhase(page, "error");
    expect(await problems(page)).toEqual([]);
  });

  it("429 live_limit_reached at Start: says so, turns the switch off, and Start starts in standard mode at once", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    const answers = [
      (route: Route) =>
        route.fulfill({
          status: 429,
          headers: { "Retry-After": "3600" },
          json: { error: { code: "live_limit_reached", message: "You have used your live minutes for today." } },
        }),
      (route: Route) => route.fulfill({ status: 403, json: { error: { code: "forbidden", message: "Not yours." } } }),
    ];
    const calls = await interceptApi(page, { "POST /session": (route) => answers.shift()!(route) });
    await page.getByRole("switch", { name: "Live mode" }).click();
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error");
    expect(sessions(calls)[0]).toMatchObject({ mode: "live" });
    expect((await shown(page)).alert).toBe(
      "Today's live minutes are used up Live mode is now off: press Start to talk in standard mode. You have used your live minutes for today.",
    );
    expect(await liveSwitch(page)).toMatchObject({ checked: false, disabled: false });
    // No countdown: standard mode is not limited.
    const start = page.locator("#start");
    expect(await start.isDisabled()).toBe(false);
    expect(await start.textContent()).toBe("Start");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("start");
    await start.click();
    await expect.poll(() => sessions(calls).length).toBe(2);
    expect(sessions(calls)[1]).not.toHaveProperty("mode");
    await expect.poll(async () => (await shown(page!)).alert).toContain("Not yours.");
    expect(await problems(page)).toEqual([]);
  });
});

const address = mediaAddress();

describe.skipIf(!address)("/chat's Live mode switch during a conversation (dev LiveKit)", () => {
  let liveKit: DevLiveKit;
  let live: PageServer;

  beforeAll(async () => {
    liveKit = await startDevLiveKit({ port: 0, mediaAddress: address! });
    live = await startPageServer(liveKit.url, {}, undefined, undefined, { liveMode: true });
  });
  afterAll(async () => {
    await live?.close();
    await liveKit?.close();
  });

  /**
   * Opens /chat (the switch on when `startLive`), presses Start and waits for the live state, with
   * `POST /session/:id/mode` answered by `mode`. `frame` sends a transcript frame on the newest socket as the
   * SessionDO would (its seq next, unless given); `sockets` are the page's transcript sockets, oldest first.
   */
  async function converse(mode: (route: Route, request: Request) => Promise<void> | void, startLive = false) {
    const p = await openChat(browser.context, `${live.origin}/chat`);
    const sockets: WebSocketRoute[] = [];
    await p.routeWebSocket(/\/ws\/transcript\//, (ws) => {
      sockets.push(ws);
      ws.onMessage((m) => m === SOCKET_PING && ws.send(SOCKET_PONG));
    });
    const calls = await interceptApi(p, {
      "POST /session": devLiveKitSession(liveKit.url, SESSION_ID),
      "DELETE /session/:id": STOPPED,
      "POST /session/:id/mode": mode,
    });
    if (startLive) await p.getByRole("switch", { name: "Live mode" }).click();
    await p.getByRole("button", { name: "Start" }).click();
    await waitForPhase(p, "live", 30_000);
    await expect.poll(() => sockets.length).toBe(1);
    let seq = 0;
    const frame = (m: Record<string, unknown>, at = ++seq) =>
      sockets.at(-1)!.send(JSON.stringify({ ...m, seq: at, ts: Date.now() } as ServerMessage));
    const posts = () =>
      calls
        .filter((c) => c.method === "POST" && c.path === `/session/${SESSION_ID}/mode`)
        .map((c) => c.body as ModeChangeRequest);
    const separators = () => p.locator("#captions .caption--mode").allTextContents();
    const status = () => p.locator("#status").textContent();
    return { p, calls, sockets, frame, posts, separators, status, nextSeq: () => ++seq };
  }

  const answer = (mode: ModeChangeResponse["mode"]) => (route: Route) =>
    route.fulfill({ json: { mode, changed: true, live_s_left: 540 } satisfies ModeChangeResponse });

  it("works once the agent is in the room: posts {mode}, busy until the answer, and follows the socket's ModeMessage", async () => {
    let release: () => void = () => undefined;
    const { p, frame, posts, separators } = await converse((route, request) => {
      const { mode } = JSON.parse(request.postData()!) as ModeChangeRequest;
      return new Promise<void>((r) => (release = r)).then(() => answer(mode)(route));
    });
    page = p;
    // Live, but the agent is not in the room yet: the server could not switch it (409 agent_not_ready).
    expect(await liveSwitch(p)).toMatchObject({ checked: false, disabled: true });
    frame({ type: "session", status: "active" });
    await expect.poll(async () => (await liveSwitch(p)).disabled).toBe(false);

    const toggle = p.getByRole("switch", { name: "Live mode" });
    await toggle.click();
    await expect.poll(() => posts()).toEqual([{ mode: "live" }]);
    expect(await liveSwitch(p)).toEqual({ checked: true, disabled: false, busy: true, focused: true });
    expect(await toggle.getAttribute("aria-disabled")).toBe("true");
    // Neither Space nor a click toggles it while the request runs, and nothing more is sent.
    await p.keyboard.press("Space");
    await toggle.click({ force: true });
    expect(await liveSwitch(p)).toEqual({ checked: true, disabled: false, busy: true, focused: true });
    expect(posts()).toHaveLength(1);
    release();
    await expect.poll(() => liveSwitch(p)).toEqual({ checked: true, disabled: false, busy: false, focused: true });
    expect(await toggle.getAttribute("aria-disabled")).toBeNull();
    frame({ type: "mode", mode: "live", reason: "visitor" });
    await expect.poll(separators).toEqual(["Live mode on"]);

    await p.keyboard.press("Space");
    await expect.poll(() => posts()).toEqual([{ mode: "live" }, { mode: "pipeline" }]);
    release();
    await expect.poll(async () => (await liveSwitch(p)).busy).toBe(false);
    expect((await liveSwitch(p)).checked).toBe(false);
    frame({ type: "mode", mode: "pipeline", reason: "visitor" });
    await expect.poll(separators).toEqual(["Live mode on", "Live mode off"]);
    // A change the server made (say, from the visitor's other tab) sets it too.
    frame({ type: "mode", mode: "live", reason: "visitor" });
    await expect.poll(async () => (await liveSwitch(p)).checked).toBe(true);
    expect(posts()).toHaveLength(2);

    frame({ type: "session", status: "ended", reason: "stopped" });
    await waitForPhase(p, "idle");
    expect(await liveSwitch(p)).toMatchObject({ disabled: false, busy: false });
    expect(await problems(p)).toEqual([]);
  });

  it("a refusal or a failure puts it back and says why in the status line; the conversation goes on", async () => {
    const refusal = (status: number, code: string, message: string) => (route: Route) =>
      route.fulfill({ status, json: { error: { code, message } } });
    const answers: ((route: Route) => Promise<void>)[] = [
      refusal(409, "mode_change_in_flight", "A mode change is already under way."),
      refusal(429, "live_limit_reached", "You have used your live minutes for today."),
      refusal(502, "livekit_unavailable", "The agent could not be reached."),
      (route) => route.abort("connectionrefused"),
      answer("live"),
    ];
    const { p, frame, posts, status } = await converse((route) => answers.shift()!(route));
    page = p;
    frame({ type: "session", status: "active" });
    const toggle = p.getByRole("switch", { name: "Live mode" });
    await expect.poll(() => toggle.isEnabled()).toBe(true);

    for (const expected of [
      "Live mode wasn't switched: A mode change is already under way.",
      "Live mode wasn't switched: You have used your live minutes for today.",
      "Live mode wasn't switched: The agent could not be reached.",
      "Live mode couldn't be switched. Check your connection and try again.",
    ]) {
      await toggle.click();
      await expect.poll(status).toBe(expected);
      expect(await liveSwitch(p)).toMatchObject({ checked: false, busy: false, disabled: false });
      expect(await shown(p)).toMatchObject({ phase: "live", alert: null });
    }
    await toggle.click();
    await expect.poll(async () => (await liveSwitch(p)).busy).toBe(false);
    expect((await liveSwitch(p)).checked).toBe(true);
    expect(await status()).toBe("Connected. Speak or type whenever you like.");
    expect(posts()).toEqual(Array<ModeChangeRequest>(5).fill({ mode: "live" }));
    expect(await problems(p)).toEqual([]);
  });

  it("live minutes used up: the ModeMessage replayed after a reconnection turns it off, with the note", async () => {
    const { p, calls, sockets, frame, posts, separators, status, nextSeq } = await converse(answer("live"), true);
    page = p;
    expect(sessions(calls)[0]).toMatchObject({ mode: "live" });
    frame({ type: "session", status: "active" });
    await expect.poll(() => liveSwitch(p)).toMatchObject({ checked: true, disabled: false });
    const said = nextSeq();
    frame({ role: "agent", text: "Hello there.", final: true }, said);
    await expect.poll(() => p.locator("#captions .caption").count()).toBe(1);

    // The socket drops; meanwhile the session fell back to the pipeline, and the reconnection replays that.
    sockets[0]!.close({ code: 1001 });
    await expect.poll(() => sockets.length, { timeout: 20_000 }).toBe(2);
    expect(new URL(sockets[1]!.url()).searchParams.get("after")).toBe(String(said));
    frame({ role: "agent", text: "Hello there.", final: true }, said); // already shown: ignored
    frame({ type: "mode", mode: "pipeline", reason: "live_limit" });
    await expect.poll(async () => (await liveSwitch(p)).checked).toBe(false);
    await expect.poll(status).toBe("Today's live minutes are used up; the conversation continues in standard mode.");
    expect(await separators()).toEqual(["Live mode off (daily live minutes used up)"]);
    expect(await p.locator("#captions .caption").count()).toBe(2);
    expect(await shown(p)).toMatchObject({ phase: "live", alert: null });
    expect(posts()).toEqual([]);
    expect(await problems(p)).toEqual([]);
  });
});
