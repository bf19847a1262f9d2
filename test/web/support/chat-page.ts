/**
 * Helpers for tests of the /chat page: CSP-violation capture, intercepted REST calls, and reading
 * what the page shows.
 */
import { AccessToken } from "livekit-server-sdk";
import type { BrowserContext, Page, Request, Route } from "playwright-core";
import { expect } from "vitest";

/**
 * Opens `url` with CSP violations and page errors recorded (read them with `problems(page)`).
 * @param before runs on the new page before it loads (e.g. `interceptApi` for the calls made at page load)
 */
export async function openChat(
  context: BrowserContext,
  url: string,
  before?: (page: Page) => Promise<unknown>,
): Promise<Page> {
  const page = await context.newPage();
  await before?.(page);
  await page.addInitScript(() => {
    const problems: string[] = [];
    (window as unknown as { __problems: string[] }).__problems = problems;
    addEventListener("securitypolicyviolation", (e) => problems.push(`CSP ${e.violatedDirective}: ${e.blockedURI}`));
    addEventListener("error", (e) => problems.push(`error: ${e.message}`));
  });
  await page.goto(url);
  await page.locator("#chat[data-ready=true]").waitFor();
  return page;
}

/** CSP violations and uncaught errors seen by the page so far. */
export function problems(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __problems: string[] }).__problems);
}

export interface ApiCall {
  method: string;
  path: string;
  body: unknown;
}

type Handler = (route: Route, request: Request) => Promise<void> | void;

/**
 * Intercepts the page's REST calls (`/token`, `/session…`, `/planner`) with `handlers` keyed by `METHOD /path`
 * (path without query, the session id as `:id`: `DELETE /session/:id`, `POST /session/:id/messages`); records
 * every call. Unhandled API calls answer 500.
 */
export async function interceptApi(page: Page, handlers: Record<string, Handler>): Promise<ApiCall[]> {
  const calls: ApiCall[] = [];
  await page.route(/\/(token|session|planner)(\/|\?|$)/, async (route, request) => {
    const url = new URL(request.url());
    const body = request.postData() ? (JSON.parse(request.postData()!) as unknown) : null;
    calls.push({ method: request.method(), path: url.pathname, body });
    const key = `${request.method()} ${url.pathname.replace(/^\/session\/[^/]+/, "/session/:id")}`;
    const handler = handlers[key];
    if (handler) return handler(route, request);
    return route.fulfill({ status: 500, json: { error: { code: "unexpected", message: `no handler for ${key}` } } });
  });
  return calls;
}

/**
 * A `POST /session` 201 answer: session `sessionId` and the join token of room `room-abc` for the request's identity
 * (contract `SessionCreateResponse`), at `liveKitUrl`.
 */
export function sessionHandler(liveKitUrl: string, sessionId: string): Handler {
  return (route, request) => {
    const { identity } = JSON.parse(request.postData()!) as { identity: string };
    const livekit = { token: "header.payload.signature", room: "room-abc", identity, url: liveKitUrl };
    return route.fulfill({ status: 201, json: { session_id: sessionId, livekit } });
  };
}

let devRooms = 0;

/**
 * A `POST /session` 201 answer whose token the dev LiveKit server (dev/livekit, keys `devkey` / `secret`) at
 * `liveKitUrl` takes: session `sessionId`, a fresh room for each conversation, joined as the request's identity.
 */
export function devLiveKitSession(liveKitUrl: string, sessionId: string): Handler {
  return async (route, request) => {
    const { identity } = JSON.parse(request.postData()!) as { identity: string };
    const room = `room-test-${++devRooms}-${Date.now()}`;
    const at = new AccessToken("devkey", "secret", { identity, ttl: "10m" });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    const livekit = { token: await at.toJwt(), room, identity, url: liveKitUrl };
    await route.fulfill({ status: 201, json: { session_id: sessionId, livekit } });
  };
}

/** What the chat page shows: the alert, the status line, and which controls are visible. */
export async function shown(
  page: Page,
): Promise<{ phase: string; alert: string | null; status: string; buttons: string[] }> {
  return page.evaluate(() => {
    const alert = document.getElementById("alert")!;
    return {
      phase: document.getElementById("chat")!.dataset.phase!,
      alert: alert.hidden ? null : alert.innerText.replace(/\s+/g, " ").trim(),
      status: document.getElementById("status")!.textContent!,
      buttons: [...document.querySelectorAll<HTMLButtonElement>(".controls button")]
        .filter((b) => !b.hidden)
        .map((b) => b.textContent!),
    };
  });
}

/** Waits until the chat page's phase is `phase`. */
export async function waitForPhase(page: Page, phase: string, timeout = 15_000): Promise<void> {
  await page.locator(`#chat[data-phase="${phase}"]`).waitFor({ timeout });
  expect(await page.getAttribute("#chat", "data-phase")).toBe(phase);
}
