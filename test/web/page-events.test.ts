// The /chat page's events for the embed widget (web/src/events.ts: `voice-agent:event` on `document`): collected in
// the page by an init script, over whole conversations. The page joins a real room on the dev LiveKit server (inside
// the test's network namespace; skipped outside) and the test plays the SessionDO on the transcript socket through
// Playwright's WebSocket routing, with the REST API intercepted. Checked: started once the page is live, one action
// event per action frame (a replayed frame adds none) carrying the frame's public fields, and exactly one ended per
// session whatever ended it: Stop, the server's end frame (an error end names its error), a failed start after the
// session was created, and leaving the page (which also deletes the session).
import type { Page, Request, Route, WebSocketRoute } from "playwright-core";
import { AccessToken } from "livekit-server-sdk";
import { SOCKET_PING, SOCKET_PONG, type ServerMessage } from "../../contract/index.ts";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import type { PageEventDetail } from "../../web/src/events.ts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { mediaAddress } from "../support/netns.ts";
import { launch, type Browser } from "./support/browser.ts";
import { interceptApi, openChat, problems, waitForPhase } from "./support/chat-page.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";

const address = mediaAddress();

/**
 * Collects the page's events, in order, from every document the page loads: each `detail` is handed to the test (a
 * binding) and also appended to the tab's `sessionStorage` (`events`, a JSON array): a binding call made as the page
 * is left (pagehide) does not reach the test, the storage does, and the next page of the origin reads it. An event
 * that is not a CustomEvent on `document` is recorded as `{wrong: …}`.
 */
async function collectEvents(p: Page): Promise<PageEventDetail[]> {
  const seen: PageEventDetail[] = [];
  await p.exposeFunction("__pageEvent", (detail: PageEventDetail) => void seen.push(detail));
  await p.addInitScript(() => {
    const send = (window as unknown as { __pageEvent: (d: unknown) => void }).__pageEvent;
    document.addEventListener("voice-agent:event", (e) => {
      const detail: unknown = e instanceof CustomEvent && e.target === document ? e.detail : { wrong: String(e) };
      send(detail);
      const stored = JSON.parse(sessionStorage.getItem("events") ?? "[]") as unknown[];
      sessionStorage.setItem("events", JSON.stringify([...stored, detail]));
    });
  });
  return seen;
}

describe.skipIf(!address)("/chat page events (dev LiveKit)", () => {
  let liveKit: DevLiveKit;
  let server: PageServer;
  let browser: Browser;
  let page: Page | undefined;
  let rooms = 0;

  beforeAll(async () => {
    liveKit = await startDevLiveKit({ port: 0, mediaAddress: address! });
    server = await startPageServer(liveKit.url);
    browser = await launch();
  });
  afterEach(async () => {
    await page?.close();
    page = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await liveKit?.close();
  });

  /** The session ids the `POST /session` answers give out, in order (22 base64url characters, contract SessionId). */
  const sessionId = (n: number) => `EvEnTsSeSsIoN${String(n).padStart(9, "0")}`;

  /**
   * A `POST /session` answer whose token the dev LiveKit takes (a fresh room each time), with session id
   * `sessionId(n)` for the n-th; while `refused()`, the token is signed with the wrong secret, so the room refuses it.
   */
  function sessions(refused = () => false) {
    let n = 0;
    return async (route: Route, request: Request): Promise<void> => {
      const { identity } = JSON.parse(request.postData()!) as { identity: string };
      const room = `room-events-${++rooms}`;
      const at = new AccessToken("devkey", refused() ? "not-the-secret" : "secret", { identity, ttl: "10m" });
      at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
      await route.fulfill({
        status: 201,
        json: { session_id: sessionId(++n), livekit: { token: await at.toJwt(), room, identity, url: liveKit.url } },
      });
    };
  }

  /** Opens /chat collecting its events, with the transcript socket played by the test (`frame` sends one). */
  async function openPage(refused?: () => boolean) {
    let seen: PageEventDetail[] = [];
    const p = await openChat(browser.context, `${server.origin}/chat`, async (pg) => {
      seen = await collectEvents(pg);
    });
    /** The events so far (a copy). */
    const events = () => [...seen];
    let socket: WebSocketRoute | undefined;
    await p.routeWebSocket(/\/ws\/transcript\//, (ws) => {
      socket = ws;
      ws.onMessage((m) => m === SOCKET_PING && ws.send(SOCKET_PONG));
    });
    const calls = await interceptApi(p, {
      "POST /session": sessions(refused),
      "DELETE /session/:id": (route) => route.fulfill({ json: { stopped: true } }),
    });
    /** Presses Start, waits for the live state and its socket; returns a sender of frames (seq from 1). */
    const converse = async () => {
      socket = undefined;
      await p.getByRole("button", { name: "Start" }).click();
      await waitForPhase(p, "live", 30_000);
      await expect.poll(() => socket !== undefined, { timeout: 15_000 }).toBe(true);
      const ws = socket!;
      return (m: Record<string, unknown>, seq: number) =>
        ws.send(JSON.stringify({ ...m, seq, ts: Date.now() } as ServerMessage));
    };
    return { p, calls, converse, events };
  }

  const TASK_ADDED = {
    type: "action",
    call_id: "call_1",
    intent: "NEW_TASK",
    arguments: { title: "Call the dentist", due: "2026-11-24T09:00:00+01:00" },
    status: "ok",
    message: "Task added: Call the dentist",
    result: { task: { id: "task_1", title: "Call the dentist", due: "2026-11-24T09:00:00+01:00" } },
  };
  const INVALID = {
    type: "action",
    call_id: "call_2",
    intent: "RESCHEDULE_TASK",
    arguments: { task: "dentist" },
    status: "invalid",
    message: "The new time is missing.",
    errors: [{ path: "/due", message: "required" }],
  };

  it("a conversation: started, its actions in order (a replay adds none), and one ended on Stop", async () => {
    const { p, converse, events } = await openPage();
    page = p;
    expect(events()).toEqual([]);
    const frame = await converse();
    await expect.poll(events, { timeout: 15_000 }).toEqual([{ type: "started", sessionId: sessionId(1) }]);
    frame({ type: "session", status: "active" }, 1);
    frame({ role: "user", text: "add a task to call the dentist", final: true }, 2);
    frame(TASK_ADDED, 3);
    frame({ role: "agent", text: "Done.", final: true }, 4);
    frame(INVALID, 5);
    frame(TASK_ADDED, 3); // a replay (the socket's ?after= overlap): the card and the event are not repeated
    await p.locator("#captions .action").nth(1).waitFor();
    await p.getByRole("button", { name: "Stop" }).click();
    await waitForPhase(p, "idle");
    // Nothing more comes afterwards: Stop's ended is the only one.
    await p.waitForTimeout(500);
    expect(events()).toEqual([
      { type: "started", sessionId: sessionId(1) },
      {
        type: "action",
        sessionId: sessionId(1),
        // The frame's public fields: not its arguments, seq or ts.
        action: {
          call_id: "call_1",
          intent: "NEW_TASK",
          status: "ok",
          message: "Task added: Call the dentist",
          result: TASK_ADDED.result,
        },
      },
      {
        type: "action",
        sessionId: sessionId(1),
        action: {
          call_id: "call_2",
          intent: "RESCHEDULE_TASK",
          status: "invalid",
          message: "The new time is missing.",
          errors: [{ path: "/due", message: "required" }],
        },
      },
      { type: "ended", sessionId: sessionId(1), reason: "stopped" },
    ]);
    expect(await problems(p)).toEqual([]);
  });

  it("the server's end frame: its reason (and the error the page shows for it), once per session", async () => {
    const { p, converse, events } = await openPage();
    page = p;
    let frame = await converse();
    frame({ type: "session", status: "active" }, 1);
    frame({ type: "session", status: "ended", reason: "stopped" }, 2);
    await waitForPhase(p, "idle");
    frame = await converse();
    frame({ type: "session", status: "active" }, 1);
    frame({ type: "session", status: "ended", reason: "agent_lost" }, 2);
    await waitForPhase(p, "error");
    // The same end again (a replay) and the room's disconnection that follows add nothing.
    frame({ type: "session", status: "ended", reason: "agent_lost" }, 2);
    await p.waitForTimeout(500);
    expect(events()).toEqual([
      { type: "started", sessionId: sessionId(1) },
      { type: "ended", sessionId: sessionId(1), reason: "stopped" },
      { type: "started", sessionId: sessionId(2) },
      { type: "ended", sessionId: sessionId(2), reason: "agent_lost", error: "agent_lost" },
    ]);
    expect(await problems(p)).toEqual([]);
  });

  it("a start that fails after the session was created ends it with the error, never started", async () => {
    let refused = true;
    const { p, calls, converse, events } = await openPage(() => refused);
    page = p;
    await p.getByRole("button", { name: "Start" }).click();
    await waitForPhase(p, "error");
    await expect
      .poll(() => calls.some((c) => c.method === "DELETE" && c.path === `/session/${sessionId(1)}`), {
        timeout: 15_000,
      })
      .toBe(true);
    await expect
      .poll(events, { timeout: 15_000 })
      .toEqual([{ type: "ended", sessionId: sessionId(1), reason: "error", error: "livekit_unreachable" }]);
    // The next Start, live, then the page is left: that session ends too (pagehide), once.
    refused = false;
    const frame = await converse();
    frame({ type: "session", status: "active" }, 1);
    expect(await problems(p)).toEqual([]);
    // Navigating away, livekit-client leaves the room before the page's pagehide: that is the visitor leaving (ended
    // "stopped", the session deleted with a keepalive request), not a lost connection. The tab goes on to another page
    // of the origin, which reads what the chat page stored. The keepalive request is sent by the browser process once
    // the document is gone, where Playwright's request interception would hold it (or miss it): the API route is
    // removed first, and the request reaches the page server, which records it.
    await p.unrouteAll({ behavior: "wait" });
    await p.goto(`${server.origin}/`);
    const stored = await p.evaluate(() => JSON.parse(sessionStorage.getItem("events") ?? "null") as unknown);
    expect(stored).toEqual([
      { type: "ended", sessionId: sessionId(1), reason: "error", error: "livekit_unreachable" },
      { type: "started", sessionId: sessionId(2) },
      { type: "ended", sessionId: sessionId(2), reason: "stopped" },
    ]);
    // The keepalive request outlives the page; on a busy host it reaches the server a while after the navigation.
    await expect.poll(() => server.unrouted, { timeout: 15_000 }).toContain(`DELETE /session/${sessionId(2)}`);
    expect(calls.filter((c) => c.method === "DELETE")).toEqual([
      { method: "DELETE", path: `/session/${sessionId(1)}`, body: null },
    ]);
  });
});
