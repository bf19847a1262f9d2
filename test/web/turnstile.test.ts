// Cloudflare Turnstile on the /chat page (web/pages/chat.ts, web/src/turnstile.ts): the HTML carries the
// widget only when the deployment sets a sitekey, and in Chromium, under the Worker's CSP with Turnstile on,
// the page renders the widget on load and sends its token with POST /session, a fresh one per Start.
//
// Turnstile's script is a third-party script: Chromium never fetches it here. Playwright answers its URL
// with a tiny stand-in widget (the documented `turnstile.render`/`reset` API, tokens `stand-in-token-<n>`,
// and an iframe from the Turnstile origin so that the CSP's frame-src is exercised), and the REST API is
// intercepted as in chat-page.test.ts.
import type { Page, Route } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TURNSTILE_ACTION, TURNSTILE_ORIGIN, TURNSTILE_SCRIPT_URL } from "../../contract/index.ts";
import { renderChat } from "../../web/pages/index.ts";
import { launch, type Browser } from "./support/browser.ts";
import { interceptApi, openChat, problems, shown, waitForPhase } from "./support/chat-page.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";

const SITE_KEY = "0x4AAAAAAAstand-in";
/** Nothing listens here: LiveKit is unreachable (connection refused at once). */
const DEAD_LIVEKIT = "ws://127.0.0.1:9";

/**
 * The page without its `#texts` block: the script's texts, which name Turnstile in the words of its error (shown only
 * when a check fails), are on every page.
 */
function withoutTexts(html: string): string {
  const texts = html.replace(/<script type="application\/json" id="texts">[^<]*<\/script>/, "");
  expect(texts.length).toBeLessThan(html.length);
  return texts;
}

describe("/chat markup", () => {
  it("with a sitekey: preloads the widget script, carries the key and the widget's container, no inline script", () => {
    const html = renderChat({ turnstileSiteKey: SITE_KEY });
    expect(html).toContain(`<link rel="preload" href="${TURNSTILE_SCRIPT_URL}" as="script">`);
    expect(html).toContain(
      `<div class="chat" id="chat" data-phase="idle" data-turnstile-sitekey="${SITE_KEY}" data-turnstile-script="${TURNSTILE_SCRIPT_URL}">`,
    );
    expect(html).toContain('<div class="turnstile" id="turnstile"></div>');
    // The page script and its texts (a data block, never run).
    expect(html.match(/<script\b[^>]*>/g)).toEqual([
      '<script type="module" src="/static/chat.js">',
      '<script type="application/json" id="texts">',
    ]);
  });

  it("with another Turnstile origin (the local stand-in): the script comes from there", () => {
    const html = renderChat({ turnstileSiteKey: SITE_KEY, turnstileOrigin: "http://127.0.0.1:8789" });
    expect(html).toContain(
      '<link rel="preload" href="http://127.0.0.1:8789/turnstile/v0/api.js?render=explicit" as="script">',
    );
    expect(html).toContain('data-turnstile-script="http://127.0.0.1:8789/turnstile/v0/api.js?render=explicit"');
    expect(withoutTexts(html)).not.toContain("challenges.cloudflare.com");
  });

  it("without one (Turnstile off, the default): no trace of it", () => {
    for (const html of [renderChat(), renderChat({ turnstileSiteKey: undefined })]) {
      expect(withoutTexts(html)).not.toMatch(/turnstile|challenges\.cloudflare\.com/);
    }
  });

  it("escapes the sitekey into its attribute", () => {
    expect(renderChat({ turnstileSiteKey: '"><script>x</script>' })).toContain(
      'data-turnstile-sitekey="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"',
    );
  });
});

/**
 * The stand-in for Turnstile's api.js (see the file comment). `window.__turnstile` records the render
 * parameters and the resets for the test.
 */
const STAND_IN_WIDGET = `(() => {
  let issued = 0;
  const state = (window.__turnstile = { params: null, resets: 0 });
  let params = null;
  const issue = () => setTimeout(() => params.callback("stand-in-token-" + ++issued), 0);
  window.turnstile = {
    render(container, p) {
      params = p;
      state.params = { sitekey: p.sitekey, action: p.action, appearance: p.appearance, refreshExpired: p["refresh-expired"] };
      const frame = document.createElement("iframe");
      frame.src = "${TURNSTILE_ORIGIN}/cdn-cgi/challenge-platform/stand-in";
      frame.title = "Widget containing a Cloudflare security challenge";
      container.append(frame);
      issue();
      return "stand-in-widget";
    },
    reset(id) {
      if (id !== "stand-in-widget") throw new Error("reset of an unknown widget " + id);
      state.resets++;
      issue();
    },
  };
})();`;

/** What the Turnstile origin answers: the stand-in script, a blank frame, or (`blocked`) nothing at all. */
let turnstileOrigin: "stand-in" | "blocked" = "stand-in";

async function answerTurnstile(route: Route): Promise<void> {
  if (turnstileOrigin === "blocked") return route.abort("blockedbyclient");
  if (route.request().url() === TURNSTILE_SCRIPT_URL) {
    return route.fulfill({ contentType: "text/javascript", body: STAND_IN_WIDGET });
  }
  return route.fulfill({ contentType: "text/html", body: "<!doctype html><title>stand-in challenge</title>" });
}

describe("/chat in Chromium with Turnstile on", () => {
  let origin: string;
  let server: PageServer;
  let browser: Browser;
  let page: Page | undefined;

  beforeAll(async () => {
    server = await startPageServer(DEAD_LIVEKIT, {}, { siteKey: SITE_KEY, origin: TURNSTILE_ORIGIN });
    origin = server.origin;
    browser = await launch();
    await browser.context.route(`${TURNSTILE_ORIGIN}/**`, answerTurnstile);
  });
  afterEach(async () => {
    await page?.close();
    page = undefined;
    turnstileOrigin = "stand-in";
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("renders the widget on load, sends its token with POST /session, and a fresh token on the next Start", async () => {
    page = await openChat(browser.context, `${origin}/chat`);
    const calls = await interceptApi(page, {
      "POST /session": (route) =>
        route.fulfill({
          status: 403,
          json: { error: { code: "turnstile_failed", message: "The browser check (Turnstile) failed." } },
        }),
    });
    // Rendered at page load, before any click, with the sitekey from the page and the Worker's action.
    await expect
      .poll(() => page!.evaluate(() => (window as { __turnstile?: { params: unknown } }).__turnstile?.params))
      .toEqual({ sitekey: SITE_KEY, action: TURNSTILE_ACTION, appearance: "interaction-only", refreshExpired: "auto" });

    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error");
    const s = await shown(page);
    expect(s.alert).toContain("The browser check didn't go through");
    expect(s.alert).toContain("The browser check (Turnstile) failed.");

    await page.getByRole("button", { name: "Start" }).click();
    await expect.poll(() => calls.filter((c) => c.method === "POST" && c.path === "/session").length).toBe(2);
    const tokens = calls
      .filter((c) => c.path === "/session")
      .map((c) => (c.body as { turnstile_token?: string }).turnstile_token);
    // Each token goes with one POST only: the widget was reset for the second Start.
    expect(tokens).toEqual(["stand-in-token-1", "stand-in-token-2"]);
    expect(
      await page.evaluate(() => (window as { __turnstile?: { resets: number } }).__turnstile?.resets),
    ).toBeGreaterThanOrEqual(1);
    // The CSP let the widget's script and frame load.
    expect(await page.locator(`#turnstile iframe[src^="${TURNSTILE_ORIGIN}/"]`).count()).toBe(1);
    expect(await problems(page)).toEqual([]);
  });

  it("widget script blocked: Start says the browser check failed and sends no POST /session", async () => {
    turnstileOrigin = "blocked";
    page = await openChat(browser.context, `${origin}/chat`);
    const calls = await interceptApi(page, {});
    await page.getByRole("button", { name: "Start" }).click();
    await waitForPhase(page, "error");
    expect((await shown(page)).alert).toContain("The browser check didn't go through");
    expect(calls.filter((c) => c.path === "/session")).toEqual([]);
    expect(await problems(page)).toEqual([]);
  });
});
