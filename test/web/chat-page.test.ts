// The /chat page in Debian's Chromium under the Worker's CSP, with the REST API intercepted: the
// start flow's error states (none needs LiveKit), Stop, keyboard use, narrow screens, dark mode; the profile
// chosen with ?agent= (sent with POST /session, with the time zone), the plan panel, and action cards on /history.
// Typed input on a live page: with the dev LiveKit server (inside the test's network namespace; skipped outside)
// the page reaches its live state, and the test plays the SessionDO on the transcript socket.
// The Worker and LiveKit are stood in for here; worker-dev.test.ts runs the page against `wrangler dev`.
import type { Page, Request, Route, WebSocketRoute } from "playwright-core";
import { AccessToken } from "livekit-server-sdk";
import {
  SOCKET_PING,
  SOCKET_PONG,
  type ConversationEntry,
  type PlannerResponse,
  type ServerMessage,
  type TranscriptResponse,
  type TypedMessageRequest,
} from "../../contract/index.ts";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mediaAddress } from "../support/netns.ts";
import { launch, screenshot, type Browser } from "./support/browser.ts";
import {
  interceptApi,
  openChat,
  problems,
  shown,
  sessionHandler,
  waitForPhase,
  type ApiCall,
} from "./support/chat-page.ts";
import { startPageServer, TEST_PROFILES, workerCsp, type PageServer } from "./support/page-server.ts";
import { renderChat, renderConversations } from "../../web/pages/index.ts";

/** Nothing listens here: LiveKit is unreachable (connection refused at once). */
const DEAD_LIVEKIT = "ws://127.0.0.1:9";
const SESSION_ID = "AbCdEfGhIjKlMnOpQrStUv";
const HISTORY_ID = "HhIiSsTtOoRrYy0123456_";
const t0 = Date.UTC(2026, 10, 21, 9, 30, 0);
const HISTORY: TranscriptResponse = {
  session_id: HISTORY_ID,
  room: "room-1",
  status: "ended",
  reason: "stopped",
  started_at: t0,
  ended_at: t0 + 60_000,
  events: [
    { role: "user", text: "remind me to call the dentist on Tuesday at nine", final: true, seq: 1, ts: t0 + 3000 },
    {
      type: "action",
      call_id: "c1",
      intent: "NEW_TASK",
      arguments: { title: "Call the dentist", due: "2026-11-24T09:00:00+01:00" },
      status: "ok",
      message: "Task added: Call the dentist",
      result: { task: { id: "task_1", title: "Call the dentist", due: "2026-11-24T09:00:00+01:00" } },
      seq: 2,
      ts: t0 + 5000,
    },
    { role: "agent", text: "Done: Tuesday at nine.", final: true, seq: 3, ts: t0 + 6000 },
    {
      type: "action",
      call_id: "c2",
      intent: "RESCHEDULE_TASK",
      arguments: { task: "gym", due: "2026-11-25T09:00:00+01:00" },
      status: "refused",
      message: 'No task matches "gym".',
      seq: 4,
      ts: t0 + 9000,
    },
  ],
};
const PLAN: PlannerResponse = {
  goals: [
    {
      id: "goal_1",
      title: "Run a marathon in under four hours without stopping once",
      description: null,
      target_date: "2027-06-01",
      created_at: "2026-11-01T10:00:00.000Z",
    },
  ],
  tasks: [
    {
      id: "task_1",
      title: "Buy running shoes with good cushioning from the shop on the corner",
      due: "2027-01-12T17:30:00+09:00",
      goal_id: "goal_1",
      done: false,
      created_at: "2026-11-01T10:00:00.000Z",
    },
  ],
};

let server: PageServer;
let browser: Browser;
let page: Page | undefined;

beforeAll(async () => {
  server = await startPageServer(DEAD_LIVEKIT, { [HISTORY_ID]: HISTORY }, undefined, TEST_PROFILES);
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
    for (let i = 0; i < 4; i++) await page.keyboard.press("Tab"); // skip link, brand, nav (Talk, History)
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("start");
    expect(await problems(page)).toEqual([]);
  });

  it("microphone permission denied: says so, creates no session, Start works again", async () => {
    const denied = await launch({ grantMicrophone: false });
    try {
      const p = await openChat(denied.context, `${server.origin}/chat`);
      const calls = await interceptApi(p, { "POST /session": sessionHandler(DEAD_LIVEKIT, SESSION_ID) });
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
      await interceptApi(p, { "POST /session": sessionHandler(DEAD_LIVEKIT, SESSION_ID) });
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
        "POST /session": sessionHandler(DEAD_LIVEKIT, SESSION_ID),
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
    expect(session?.body).not.toHaveProperty("room"); // the Worker picks the room (one request for Start)
    const identity = (session?.body as { identity: string }).identity;
    expect(identity).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    expect(identity.toLowerCase().startsWith("agent")).toBe(false);
    // The refusal explains more than LiveKit being unreachable, which happened at the same time.
    expect(s.alert).not.toContain("voice service");
  });

  it("session refused with 403: names it and shows the server's reason", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    await interceptApi(page, {
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
      "POST /session": sessionHandler(DEAD_LIVEKIT, SESSION_ID),
      "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
    });
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error", 30_000);
    expect((await shown(page)).alert).toContain("Can't reach the voice service");
    await expect.poll(() => calls.some((c) => c.method === "DELETE" && c.path === `/session/${SESSION_ID}`)).toBe(true);
  });

  it("Start takes one request: POST /session without a room, then joins the room its answer names", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    const calls = await interceptApi(page, {
      "POST /session": sessionHandler(DEAD_LIVEKIT, SESSION_ID),
      "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
    });
    await page.getByRole("button", { name: "Start" }).click();
    // The answer's LiveKit URL is the one the page tried: nothing listens there.
    await waitForPhase(page, "error", 30_000);
    expect((await shown(page)).alert).toContain("Can't reach the voice service");
    expect(calls.filter((c) => c.path === "/token")).toEqual([]);
    const sessions = calls.filter((c) => c.method === "POST" && c.path === "/session");
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.body).toMatchObject({ identity: expect.stringMatching(/^v_/) });
    expect(sessions[0]!.body).not.toHaveProperty("room");
  });

  it("server unreachable: says so", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    await interceptApi(page, { "POST /session": (route) => route.abort("connectionrefused") });
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error");
    expect((await shown(page)).alert).toContain("Can't reach the server");
  });

  it("Stop while connecting puts the page back to its start state, with the keyboard", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    let release: () => void = () => undefined;
    const calls = await interceptApi(page, {
      "POST /session": (route, request) =>
        new Promise<void>((r) => (release = r)).then(() => sessionHandler(DEAD_LIVEKIT, SESSION_ID)(route, request)),
      "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
    });
    await page.locator("#start").focus();
    await page.keyboard.press("Enter");
    await waitForPhase(page, "starting");
    expect((await shown(page)).buttons).toEqual(["Stop"]);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("stop");
    await page.keyboard.press("Enter");
    await waitForPhase(page, "idle");
    release();
    // The session the held request created is deleted once it exists, and the page stays at its start.
    await expect.poll(() => calls.some((c) => c.method === "DELETE" && c.path === `/session/${SESSION_ID}`)).toBe(true);
    expect(await shown(page)).toMatchObject({ phase: "idle", alert: null, buttons: ["Start"] });
    expect(await problems(page)).toEqual([]);
  });

  it("Stop while the session is being created deletes that session once it exists", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    let release: () => void = () => undefined;
    const calls = await interceptApi(page, {
      "POST /session": (route, request) =>
        new Promise<void>((r) => (release = r)).then(() => sessionHandler(DEAD_LIVEKIT, SESSION_ID)(route, request)),
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
        send: document.getElementById("send")!.getBoundingClientRect().right,
        message: document.getElementById("message")!.getBoundingClientRect().width,
      }));
      expect(widths.doc).toBeLessThanOrEqual(360);
      expect(widths.start).toBeLessThanOrEqual(360);
      expect(widths.captions).toBeLessThanOrEqual(360);
      expect(widths.send).toBeLessThanOrEqual(360);
      expect(widths.message).toBeGreaterThan(180);
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

/** What the typed-input form shows. */
async function typedBox(p: Page): Promise<{ text: boolean; send: boolean; value: string; placeholder: string }> {
  return p.evaluate(() => {
    const input = document.getElementById("message") as HTMLInputElement;
    const send = document.getElementById("send") as HTMLButtonElement;
    return { text: !input.disabled, send: !send.disabled, value: input.value, placeholder: input.placeholder };
  });
}

const address = mediaAddress();

describe.skipIf(!address)("/chat typed input (dev LiveKit)", () => {
  let liveKit: DevLiveKit;
  let live: PageServer;
  let rooms = 0;

  beforeAll(async () => {
    liveKit = await startDevLiveKit({ port: 0, mediaAddress: address! });
    live = await startPageServer(liveKit.url);
  });
  afterAll(async () => {
    await live?.close();
    await liveKit?.close();
  });

  /** A `POST /session` answer whose token the dev LiveKit takes: a fresh room for each conversation. */
  async function liveKitSession(route: Route, request: Request): Promise<void> {
    const { identity } = JSON.parse(request.postData()!) as { identity: string };
    const room = `room-typed-${++rooms}`;
    const at = new AccessToken("devkey", "secret", { identity, ttl: "10m" });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    const livekit = { token: await at.toJwt(), room, identity, url: liveKit.url };
    await route.fulfill({ status: 201, json: { session_id: SESSION_ID, livekit } });
  }

  /**
   * Opens /chat, presses Start and waits for the live state, with `POST /session/:id/messages` answered by
   * `messages`. `frame` sends a transcript-socket frame as the SessionDO would (seq and ts added).
   */
  async function converse(messages: (route: Route, request: Request) => Promise<void> | void) {
    const p = await openChat(browser.context, `${live.origin}/chat`);
    let socket: WebSocketRoute | undefined;
    await p.routeWebSocket(/\/ws\/transcript\//, (ws) => {
      socket = ws;
      ws.onMessage((m) => m === SOCKET_PING && ws.send(SOCKET_PONG));
    });
    const calls = await interceptApi(p, {
      "POST /session": liveKitSession,
      "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
      "POST /session/:id/messages": messages,
    });
    const before = await typedBox(p);
    await p.getByRole("button", { name: "Start" }).click();
    await waitForPhase(p, "live", 30_000);
    await expect.poll(() => socket !== undefined).toBe(true);
    let seq = 0;
    const frame = (m: Record<string, unknown>) =>
      socket!.send(JSON.stringify({ ...m, seq: ++seq, ts: Date.now() } as ServerMessage));
    const posts = () =>
      calls
        .filter((c) => c.method === "POST" && c.path === `/session/${SESSION_ID}/messages`)
        .map((c) => c.body as TypedMessageRequest);
    return { p, frame, posts, before };
  }

  it("is enabled only while the session is active; Enter sends the trimmed text, and the turn comes from the socket", async () => {
    const { p, frame, posts, before } = await converse((route) =>
      route.fulfill({ json: { seq: 2, duplicate: false } }),
    );
    page = p;
    expect(before).toEqual({ text: false, send: false, value: "", placeholder: "Press Start to type" });
    // Live, but the agent is not in the room yet: the server would refuse (409 agent_not_ready).
    expect(await typedBox(p)).toMatchObject({ text: false, send: false, placeholder: "Waiting for the agent…" });
    frame({ type: "session", status: "active" });
    await expect.poll(() => typedBox(p)).toMatchObject({ text: true, send: true, placeholder: "Type a message" });

    const box = p.getByRole("textbox", { name: "Type a message" });
    await box.fill("   Book a table for two, please  ");
    await box.press("Enter");
    await expect.poll(() => posts().length).toBe(1);
    expect(posts()[0]).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
      text: "Book a table for two, please",
    });
    await expect.poll(() => typedBox(p)).toMatchObject({ value: "", text: true, send: true });
    // Nothing is added locally: the stored turn arrives on the socket (no duplicate when it does).
    expect(await p.locator("#captions .caption").count()).toBe(0);
    frame({ role: "user", text: "Book a table for two, please", final: true, typed: true });
    const typed = p.locator("#captions .caption--typed");
    await typed.waitFor();
    expect(await typed.locator(".caption__text").textContent()).toBe("Book a table for two, please");
    expect(await typed.evaluate((c) => getComputedStyle(c.querySelector(".caption__who")!, "::after").content)).toBe(
      '" · typed"',
    );
    expect(await p.locator("#captions .caption").count()).toBe(1);

    await box.fill("at eight");
    await p.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => posts().length).toBe(2);
    expect(posts()[1]!.text).toBe("at eight");
    expect(posts()[1]!.id).not.toBe(posts()[0]!.id);

    frame({ type: "session", status: "reconnecting" });
    await expect.poll(() => typedBox(p)).toMatchObject({ text: false, send: false });
    frame({ type: "session", status: "active" });
    await expect.poll(() => typedBox(p)).toMatchObject({ text: true, send: true });
    frame({ type: "session", status: "ended", reason: "stopped" });
    await waitForPhase(p, "idle");
    expect(await typedBox(p)).toMatchObject({ text: false, send: false, placeholder: "Press Start to type" });
    expect(await problems(p)).toEqual([]);
  });

  it("a refusal keeps the text and says why; after a 502 the same text keeps its id; Send waits for the answer", async () => {
    let release: () => void = () => undefined;
    const answers: ((route: Route) => Promise<void>)[] = [
      (route) =>
        route.fulfill({
          status: 429,
          headers: { "Retry-After": "12" },
          json: { error: { code: "too_many_messages", message: "Too many messages." } },
        }),
      (route) =>
        route.fulfill({
          status: 409,
          json: { error: { code: "agent_not_ready", message: "The agent is not ready yet." } },
        }),
      (route) =>
        route.fulfill({
          status: 502,
          json: { error: { code: "livekit_unavailable", message: "The message could not be delivered." } },
        }),
      (route) =>
        new Promise<void>((r) => (release = r)).then(() => route.fulfill({ json: { seq: 3, duplicate: false } })),
      (route) =>
        route.fulfill({
          status: 502,
          json: { error: { code: "livekit_unavailable", message: "The message could not be delivered." } },
        }),
    ];
    const { p, frame, posts } = await converse((route) => answers.shift()!(route));
    page = p;
    frame({ type: "session", status: "active" });
    await expect.poll(() => typedBox(p)).toMatchObject({ text: true });
    const box = p.getByRole("textbox", { name: "Type a message" });
    const status = () => p.locator("#status").textContent();

    await box.fill("hello there");
    await box.press("Enter");
    await expect.poll(status).toBe("You're sending messages too fast. Please slow down and try again in 12 s.");
    expect(await typedBox(p)).toMatchObject({ value: "hello there", text: true, send: true });

    await box.press("Enter");
    await expect.poll(status).toBe("Your message wasn't sent: The agent is not ready yet.");
    expect((await typedBox(p)).value).toBe("hello there");

    await box.press("Enter");
    await expect.poll(status).toBe("Your message couldn't be sent. Press Send to try again.");
    expect((await typedBox(p)).value).toBe("hello there");

    await p.getByRole("button", { name: "Send" }).click();
    await expect.poll(() => posts().length).toBe(4);
    // On its way: Send waits, the text box stays usable and keeps the focus.
    expect(await typedBox(p)).toMatchObject({ text: true, send: false, value: "hello there" });
    expect(await p.evaluate(() => document.activeElement?.id)).toBe("message");
    release();
    await expect.poll(() => typedBox(p)).toMatchObject({ value: "", send: true });
    expect(await status()).toBe("Connected. Speak or type whenever you like.");

    await box.fill("something else");
    await box.press("Enter");
    await expect.poll(() => posts().length).toBe(5);
    const ids = posts().map((b) => b.id);
    expect(posts().map((b) => b.text)).toEqual([...Array<string>(4).fill("hello there"), "something else"]);
    // Refused outright (429, 409): nothing was taken, a new id next time. Failed with 502: retried under its id.
    expect(new Set([ids[0], ids[1], ids[2], ids[4]]).size).toBe(4);
    expect(ids[3]).toBe(ids[2]);
    expect(await problems(p)).toEqual([]);
  });
});

describe("/chat?agent=<profile>", () => {
  it("?agent=planner: names the profile, and loads the plan panel from GET /planner", async () => {
    let calls: ApiCall[] = [];
    page = await openChat(browser.context, `${server.origin}/chat?agent=planner`, async (p) => {
      calls = await interceptApi(p, { "GET /planner": (route) => route.fulfill({ json: PLAN }) });
    });
    expect(await page.title()).toBe("Talk with Planner · Voice agent");
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Talk with Planner");
    expect(await page.locator("#chat").evaluate((e) => ({ ...e.dataset }))).toMatchObject({
      profile: "planner",
      profileName: "Planner",
      planner: "true",
    });
    const panel = page.getByRole("region", { name: "Your plan" });
    await expect.poll(() => panel.locator("#plan-tasks li").count()).toBe(1);
    expect(await panel.locator("#plan-goals li .plan__title").textContent()).toBe(PLAN.goals[0]!.title);
    // The due keeps its instant and reads in the browser's zone (actions.test.ts checks the words).
    const due = await page.evaluate(() => document.querySelector("#plan-tasks time")!.getAttribute("datetime"));
    expect(due).toBe(PLAN.tasks[0]!.due);
    expect(await panel.locator("#plan-tasks .plan__meta").textContent()).toContain(PLAN.goals[0]!.title);
    expect(await page.locator("#plan-note").isHidden()).toBe(true);
    expect(calls.filter((c) => c.path === "/planner")).toHaveLength(1);
    expect(await problems(page)).toEqual([]);
  });

  it("the default profile (no ?agent): no plan panel and no GET /planner", async () => {
    let calls: ApiCall[] = [];
    page = await openChat(browser.context, `${server.origin}/chat`, async (p) => {
      calls = await interceptApi(p, {});
    });
    expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Talk with Assistant");
    expect(await page.getAttribute("#chat", "data-profile")).toBe("assistant");
    expect(await page.getAttribute("#chat", "data-planner")).toBeNull();
    expect(await page.locator("#plan").count()).toBe(0);
    await page.waitForTimeout(300);
    expect(calls).toEqual([]);
    expect(await problems(page)).toEqual([]);
  });

  it("an unknown profile is a 404 page that names no internals", async () => {
    const p = await browser.context.newPage();
    try {
      const res = await p.goto(`${server.origin}/chat?agent=nope`);
      expect(res?.status()).toBe(404);
      expect(await p.getByRole("heading", { level: 1 }).textContent()).toBe("Page not found");
      expect(await p.locator("main").innerText()).toContain("There is no agent by that name to talk with here.");
    } finally {
      await p.close();
    }
  });

  it("Start sends the profile and the browser's time zone with POST /session", async () => {
    const tokyo = await launch({ timezoneId: "Asia/Tokyo" });
    try {
      let calls: ApiCall[] = [];
      const p = await openChat(tokyo.context, `${server.origin}/chat?agent=planner`, async (p) => {
        calls = await interceptApi(p, {
          "GET /planner": (route) => route.fulfill({ json: { goals: [], tasks: [] } }),
          "POST /session": (route) =>
            route.fulfill({ status: 400, json: { error: { code: "unknown_profile", message: "No such agent." } } }),
        });
      });
      await expect.poll(() => p.locator("#plan-note").textContent()).toContain("Nothing planned yet");
      await p.getByRole("button", { name: "Start" }).click();
      await waitForPhase(p, "error");
      const session = calls.find((c) => c.method === "POST" && c.path === "/session");
      expect(session?.body).toMatchObject({ profile: "planner", timezone: "Asia/Tokyo" });
      expect(session?.body).not.toHaveProperty("resume_from");
      expect((await shown(p)).alert).toContain("No such agent.");
      expect(await problems(p)).toEqual([]);
    } finally {
      await tokyo.close();
    }
  });

  it("the plan panel fits 360 px, also in dark mode", async () => {
    const narrow = await launch({ viewport: { width: 360, height: 740 }, colorScheme: "dark" });
    try {
      const p = await openChat(narrow.context, `${server.origin}/chat?agent=planner`, (p) =>
        interceptApi(p, { "GET /planner": (route) => route.fulfill({ json: PLAN }) }),
      );
      await expect.poll(() => p.locator("#plan-tasks li").count()).toBe(1);
      const box = await p.evaluate(() => ({
        doc: document.documentElement.scrollWidth,
        plan: document.getElementById("plan")!.getBoundingClientRect().right,
        background: getComputedStyle(document.getElementById("plan")!).backgroundColor,
      }));
      expect(box.doc).toBeLessThanOrEqual(360);
      expect(box.plan).toBeLessThanOrEqual(360);
      const [r, g, b] = box.background.match(/\d+/g)!.map(Number);
      expect(r! + g! + b!).toBeLessThan(150);
      expect(await problems(p)).toEqual([]);
    } finally {
      await narrow.close();
    }
  });
});

describe("/history/<id>", () => {
  it("shows the actions as cards among the captions, without the page script", async () => {
    const p = await browser.context.newPage();
    try {
      await p.addInitScript(() => {
        const problems: string[] = [];
        (window as unknown as { __problems: string[] }).__problems = problems;
        addEventListener("securitypolicyviolation", (e) => problems.push(`CSP ${e.violatedDirective}`));
      });
      await p.goto(`${server.origin}/history/${HISTORY_ID}`);
      const items = await p
        .locator(".history__list > li")
        .evaluateAll((lis) =>
          lis.map((li) => [
            li.className,
            li.querySelector(".caption__who")!.textContent,
            li.querySelector(".caption__text")!.textContent,
          ]),
        );
      expect(items).toEqual([
        ["caption caption--user", "You", "remind me to call the dentist on Tuesday at nine"],
        ["caption action action--ok", "Done", "Task added: Call the dentist · Tue 08:00 UTC"],
        ["caption caption--agent", "Agent", "Done: Tuesday at nine."],
        ["caption action action--refused", "Not done", 'No task matches "gym".'],
      ]);
      expect(await p.locator("script").count()).toBe(0);
      expect(await problems(p)).toEqual([]);
    } finally {
      await p.close();
    }
  });
});

/**
 * Serves `html` at `url` (path and query) with the Worker's CSP: pages of Worker routes that the page server does not
 * have (`/chat?resume=`, `/history`), rendered by the same functions the Worker calls.
 */
async function serveHtml(p: Page, url: string, html: string): Promise<void> {
  await p.route(`${server.origin}${url}`, (route) =>
    route.fulfill({
      status: 200,
      headers: { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": workerCsp(DEAD_LIVEKIT) },
      body: html,
    }),
  );
}

/** Conversations as `/history` lists them (the Worker's `listConversations`), newest first. */
const CONVERSATIONS: ConversationEntry[] = [
  {
    session_id: SESSION_ID,
    profile: "planner",
    status: "ended",
    reason: "stopped",
    started_at: t0 + 86_400_000,
    ended_at: t0 + 86_400_000 + 185_000,
    summary:
      "You asked the planner to move the dentist appointment to Wednesday morning and to add a reminder to buy running shoes before the weekend.",
    preview: null,
    resumed_from: HISTORY_ID,
  },
  {
    session_id: HISTORY_ID,
    profile: "planner",
    status: "ended",
    reason: "stopped",
    started_at: t0,
    ended_at: t0 + 60_000,
    summary: null,
    preview: "You: remind me to call the dentist on Tuesday at nine\nAgent: Done: Tuesday at nine.",
    resumed_from: null,
  },
  {
    session_id: "NoThInGsAiD0123456789_",
    profile: "assistant",
    status: "ended",
    reason: "agent_unavailable",
    started_at: t0 - 3_600_000,
    ended_at: t0 - 3_600_000 + 20_000,
    summary: null,
    preview: null,
    resumed_from: null,
  },
];

describe("/chat?resume=<id>", () => {
  const resumePage = renderChat({ profile: TEST_PROFILES.planner, resume: HISTORY, last: CONVERSATIONS[1] });

  it("shows the earlier captions above the live ones, scrolled to their end, and Start sends resume_from", async () => {
    const short = await launch({ viewport: { width: 960, height: 600 } });
    try {
      let calls: ApiCall[] = [];
      const p = await openChat(short.context, `${server.origin}/chat?resume=${HISTORY_ID}`, async (p) => {
        await serveHtml(p, `/chat?resume=${HISTORY_ID}`, resumePage);
        calls = await interceptApi(p, {
          "GET /planner": (route) => route.fulfill({ json: PLAN }),
          "POST /session": (route) =>
            route.fulfill({ status: 403, json: { error: { code: "forbidden", message: "Not yours." } } }),
        });
      });
      const earlier = p.getByRole("region", { name: "Earlier in this conversation, scrollable" });
      expect(await earlier.locator("li.caption .caption__text").allTextContents()).toEqual([
        "remind me to call the dentist on Tuesday at nine",
        "Task added: Call the dentist · Tue 08:00 UTC",
        "Done: Tuesday at nine.",
        'No task matches "gym".',
      ]);
      // The live log starts empty, below the earlier list.
      expect(await p.locator("#captions > *").count()).toBe(0);
      const box = await p.evaluate(() => ({
        earlier: document.getElementById("earlier")!.getBoundingClientRect().bottom,
        captions: document.getElementById("captions-box")!.getBoundingClientRect().top,
      }));
      expect(box.earlier).toBeLessThanOrEqual(box.captions);
      await p.getByRole("button", { name: "Start" }).click();
      await waitForPhase(p, "error");
      const session = calls.find((c) => c.method === "POST" && c.path === "/session");
      expect(session?.body).toMatchObject({ profile: "planner", resume_from: HISTORY_ID });
      expect((await shown(p)).alert).toContain("Not yours.");
      expect(await problems(p)).toEqual([]);
    } finally {
      await short.close();
    }
  });

  it("a long earlier conversation scrolls in its own box, which starts at its end, also 360 px wide", async () => {
    const narrow = await launch({ viewport: { width: 360, height: 740 } });
    try {
      const events = Array.from({ length: 40 }, (_, i) => ({
        role: i % 2 === 0 ? ("user" as const) : ("agent" as const),
        text: `turn ${i + 1}: ${"words ".repeat(8)}`,
        final: true as const,
        seq: i + 1,
        ts: t0 + i * 3000,
      }));
      const long = renderChat({ profile: TEST_PROFILES.assistant, resume: { ...HISTORY, events } });
      const p = await openChat(narrow.context, `${server.origin}/chat?resume=${HISTORY_ID}`, (p) =>
        serveHtml(p, `/chat?resume=${HISTORY_ID}`, long),
      );
      const box = await p.evaluate(() => {
        const el = document.querySelector<HTMLElement>(".earlier__box")!;
        const last = el.querySelector("li:last-child")!.getBoundingClientRect();
        const { top, bottom } = el.getBoundingClientRect();
        return {
          doc: document.documentElement.scrollWidth,
          scrolls: el.scrollHeight > el.clientHeight,
          top,
          bottom,
          last,
        };
      });
      expect(box.doc).toBeLessThanOrEqual(360);
      expect(box.scrolls).toBe(true);
      // The newest earlier turn is in view, at the bottom of the box.
      expect(box.last.bottom).toBeLessThanOrEqual(box.bottom + 1);
      expect(box.last.top).toBeGreaterThanOrEqual(box.top);
      expect(await problems(p)).toEqual([]);
    } finally {
      await narrow.close();
    }
  });
});

describe("/history", () => {
  it("lists the conversations with Read, Continue and Delete; Delete posts the form with the page's Origin", async () => {
    const html = renderConversations({
      conversations: CONVERSATIONS,
      nextCursor: "b2xkZXI",
      retentionDays: 30,
      profileNames: { assistant: "Assistant", planner: "Planner" },
    });
    const p = await browser.context.newPage();
    try {
      await p.addInitScript(() => {
        const problems: string[] = [];
        (window as unknown as { __problems: string[] }).__problems = problems;
        addEventListener("securitypolicyviolation", (e) => problems.push(`CSP ${e.violatedDirective}`));
      });
      await serveHtml(p, "/history", html);
      const posted: { url: string; method: string; origin: string | undefined }[] = [];
      await p.route(`${server.origin}/history/*/delete`, async (route, request) => {
        posted.push({ url: request.url(), method: request.method(), origin: (await request.allHeaders()).origin });
        await route.fulfill({ status: 303, headers: { Location: "/history" } });
      });
      await p.goto(`${server.origin}/history`);
      const entries = p.locator(".conversation");
      expect(await entries.count()).toBe(3);
      expect(await p.getByRole("link", { name: /^Continue/ }).count()).toBe(3);
      expect(await p.getByRole("link", { name: "Older conversations" }).getAttribute("href")).toBe(
        "/history?cursor=b2xkZXI",
      );
      await screenshot(p, "history");
      // "Delete all" waits behind its disclosure.
      const deleteAll = p.getByRole("button", { name: "Yes, delete all my conversations" });
      expect(await deleteAll.isVisible()).toBe(false);
      await p.getByText("Delete all conversations").click();
      expect(await deleteAll.isVisible()).toBe(true);

      await entries
        .nth(1)
        .getByRole("button", { name: /^Delete/ })
        .click();
      await expect.poll(() => posted.length).toBe(1);
      expect(posted[0]).toEqual({
        url: `${server.origin}/history/${HISTORY_ID}/delete`,
        method: "POST",
        origin: server.origin,
      });
      await p.waitForURL(`${server.origin}/history`);
      expect(await p.locator("script").count()).toBe(0);
      expect(await problems(p)).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it("fits 360 px in dark mode", async () => {
    const narrow = await launch({ viewport: { width: 360, height: 740 }, colorScheme: "dark" });
    try {
      const p = await narrow.context.newPage();
      await serveHtml(
        p,
        "/history",
        renderConversations({ conversations: CONVERSATIONS, nextCursor: null, retentionDays: 0 }),
      );
      await p.goto(`${server.origin}/history`);
      const widths = await p.evaluate(() => ({
        doc: document.documentElement.scrollWidth,
        entries: [...document.querySelectorAll(".conversation")].map((e) => e.getBoundingClientRect().right),
        background: getComputedStyle(document.querySelector(".conversation")!).backgroundColor,
      }));
      expect(widths.doc).toBeLessThanOrEqual(360);
      for (const right of widths.entries) expect(right).toBeLessThanOrEqual(360);
      const [r, g, b] = widths.background.match(/\d+/g)!.map(Number);
      expect(r! + g! + b!).toBeLessThan(150);
    } finally {
      await narrow.close();
    }
  });
});
