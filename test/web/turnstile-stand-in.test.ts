// The local Turnstile stand-in (dev/turnstile/server.ts) that `npm run dev -- --turnstile` and the e2e stack
// run: its siteverify keeps Cloudflare's rules (a token validates once, for 300 s, for the secret's widget,
// with the page's hostname and the widget's action), and in Chromium the real /chat page, under the Worker's
// CSP with TURNSTILE_ORIGIN pointing at it, gets a token from its widget for every Start.
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TURNSTILE_ACTION } from "../../contract/index.ts";
import {
  STAND_IN_TURNSTILE_KEYS,
  startTurnstileStandIn,
  TOKEN_LIFETIME_MS,
  type TurnstileStandIn,
} from "../../dev/turnstile/server.ts";
import { launch, type Browser } from "./support/browser.ts";
import { interceptApi, openChat, problems, waitForPhase } from "./support/chat-page.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";

/** Nothing listens here: LiveKit is unreachable. */
const DEAD_LIVEKIT = "ws://127.0.0.1:9";

let clock = Date.now();
let standIn: TurnstileStandIn;
const logs: string[] = [];

beforeAll(async () => {
  standIn = await startTurnstileStandIn({ now: () => clock, log: (line) => void logs.push(line) });
});
afterAll(() => standIn?.close());

/** A token as the widget frame issues it to a page of `parent` for `action` (read from the frame's script). */
async function frameToken(
  parent = "http://localhost:8787",
  action: string = TURNSTILE_ACTION,
  sitekey: string = STAND_IN_TURNSTILE_KEYS.siteKey,
) {
  const q = new URLSearchParams({ sitekey, action, widget: "w1", parent });
  const res = await fetch(`${standIn.origin}/turnstile/v0/widget?${q}`);
  expect(res.status).toBe(200);
  const html = await res.text();
  const message = JSON.parse(/parent\.postMessage\((\{.*?\}), /.exec(html)![1]!) as Record<string, string>;
  return message;
}

async function siteverify(fields: Record<string, string>, form = false) {
  const res = await fetch(`${standIn.origin}/turnstile/v0/siteverify`, {
    method: "POST",
    headers: { "Content-Type": form ? "application/x-www-form-urlencoded" : "application/json" },
    body: form ? new URLSearchParams(fields).toString() : JSON.stringify(fields),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const secret = STAND_IN_TURNSTILE_KEYS.secretKey;

describe("the stand-in's siteverify", () => {
  it("accepts a token once, with the page's hostname and the widget's action; a retry with the same key gets the same answer", async () => {
    const { token } = await frameToken("http://localhost:8787", TURNSTILE_ACTION);
    expect(token).toMatch(/^stand-in\.[A-Za-z0-9_-]{32}$/);
    const first = await siteverify({ secret, response: token!, idempotency_key: "k1" });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      success: true,
      "error-codes": [],
      hostname: "localhost",
      action: TURNSTILE_ACTION,
    });
    expect(Date.parse(first.body.challenge_ts as string)).toBeGreaterThan(0);
    expect((await siteverify({ secret, response: token!, idempotency_key: "k1" })).body).toEqual(first.body);
    expect((await siteverify({ secret, response: token!, idempotency_key: "k2" })).body).toEqual({
      success: false,
      "error-codes": ["timeout-or-duplicate"],
    });
    expect((await siteverify({ secret, response: token! })).body["error-codes"]).toEqual(["timeout-or-duplicate"]);
  });

  it("takes a form body too, and reports another page's hostname and action as they were", async () => {
    const { token } = await frameToken("https://shop.example:8443", "login");
    const { body } = await siteverify({ secret, response: token! }, true);
    expect(body).toMatchObject({ success: true, hostname: "shop.example", action: "login" });
  });

  it("refuses a wrong or missing secret, and an unknown or missing token, with Cloudflare's error codes", async () => {
    const { token } = await frameToken();
    const codes = async (fields: Record<string, string>) => (await siteverify(fields)).body["error-codes"];
    expect(await codes({ secret: "another-secret", response: token! })).toEqual(["invalid-input-secret"]);
    expect(await codes({ response: token! })).toEqual(["missing-input-secret"]);
    expect(await codes({ secret })).toEqual(["missing-input-response"]);
    expect(await codes({ secret, response: "stand-in.forged" })).toEqual(["invalid-input-response"]);
    // None of those spent the token.
    expect((await siteverify({ secret, response: token! })).body.success).toBe(true);
  });

  it("a token older than 300 s has expired", async () => {
    const { token } = await frameToken();
    clock += TOKEN_LIFETIME_MS + 1;
    try {
      expect((await siteverify({ secret, response: token! })).body["error-codes"]).toEqual(["timeout-or-duplicate"]);
    } finally {
      clock = Date.now();
    }
  });

  it("answers a bad body with 400 bad-request, a GET with 405, and an unknown sitekey's widget with error 110100", async () => {
    const bad = await fetch(`${standIn.origin}/turnstile/v0/siteverify`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ success: false, "error-codes": ["bad-request"] });
    expect((await fetch(`${standIn.origin}/turnstile/v0/siteverify`)).status).toBe(405);
    expect(await frameToken(undefined, undefined, "0x4AAAAAAAsomeone-else")).toEqual({
      source: "turnstile-stand-in",
      widget: "w1",
      error: "110100",
    });
  });

  it("never logs a token or the secret", async () => {
    const { token } = await frameToken();
    await siteverify({ secret, response: token! });
    const text = logs.join("\n");
    expect(text).toContain("stand_in_siteverify");
    expect(text).not.toContain(token!);
    expect(text).not.toContain(secret);
  });
});

describe("/chat in Chromium with Turnstile on against the stand-in", () => {
  let server: PageServer;
  let browser: Browser;
  let page: Page | undefined;

  beforeAll(async () => {
    server = await startPageServer(
      DEAD_LIVEKIT,
      {},
      { siteKey: STAND_IN_TURNSTILE_KEYS.siteKey, origin: standIn.origin },
    );
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

  it("each Start sends a fresh token that siteverify accepts for this page and the session-start action", async () => {
    page = await openChat(browser.context, `${server.origin}/chat`);
    const calls = await interceptApi(page, {
      "POST /session": (route) =>
        route.fulfill({ status: 503, json: { error: { code: "agent_unavailable", message: "No agent (test)." } } }),
    });
    for (let start = 1; start <= 2; start++) {
      await page.getByRole("button", { name: "Start" }).click();
      await waitForPhase(page, "error");
    }
    const tokens = calls
      .filter((c) => c.method === "POST" && c.path === "/session")
      .map((c) => (c.body as { turnstile_token?: string }).turnstile_token!);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).not.toBe(tokens[1]);
    for (const token of tokens) {
      expect((await siteverify({ secret, response: token })).body).toMatchObject({
        success: true,
        hostname: "127.0.0.1",
        action: TURNSTILE_ACTION,
      });
    }
    // interaction-only: the widget's frame is there, out of sight.
    const frame = page.locator(`#turnstile iframe[src^="${standIn.origin}/"]`);
    expect(await frame.count()).toBe(1);
    expect(await frame.boundingBox()).toMatchObject({ width: 0, height: 0 });
    expect(await problems(page)).toEqual([]);
  });
});
