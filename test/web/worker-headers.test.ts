// The security headers as `wrangler dev` serves them (issue #11, finding 5): static files come from Workers
// static assets, which answer before the Worker unless wrangler.toml runs the Worker first for them; so only a
// real `wrangler dev` shows that /static/* carries the CSP, Permissions-Policy and nosniff, keeps its ETag
// revalidation, and gets no cookie. Plain http here, so no HSTS and the unprefixed `vid` cookie.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWranglerDev, type WranglerDev } from "../support/wrangler.ts";
import { launch, type Browser } from "./support/browser.ts";

let worker: WranglerDev;
let browser: Browser;

beforeAll(async () => {
  worker = await startWranglerDev({ LIVEKIT_URL: "ws://127.0.0.1:9" });
  browser = await launch();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await worker?.close();
});

const SECURITY_HEADERS = ["content-security-policy", "x-content-type-options", "referrer-policy", "permissions-policy"];

describe("security headers on wrangler dev", () => {
  it("/static/chat.js and /static/chat.css carry the pages' security headers", async () => {
    const page = await fetch(`${worker.origin}/chat`);
    expect(page.headers.get("permissions-policy")).toContain("microphone=(self)");
    for (const path of ["/static/chat.js", "/static/chat.css"]) {
      const res = await fetch(`${worker.origin}${path}`);
      expect(res.status, path).toBe(200);
      await res.arrayBuffer();
      for (const name of SECURITY_HEADERS)
        expect(res.headers.get(name), `${path} ${name}`).toBe(page.headers.get(name));
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("static files keep their revalidation and get no visitor cookie", async () => {
    const res = await fetch(`${worker.origin}/static/chat.js`);
    await res.arrayBuffer();
    expect(res.headers.get("cache-control") ?? "").not.toContain("no-store");
    expect(res.headers.get("set-cookie")).toBeNull();
    const etag = res.headers.get("etag");
    expect(etag).toBeTruthy();
    const again = await fetch(`${worker.origin}/static/chat.js`, { headers: { "If-None-Match": etag! } });
    expect(again.status).toBe(304);
  });

  it("sends no HSTS over http, and the cookie is the unprefixed `vid` without Secure", async () => {
    const res = await fetch(`${worker.origin}/chat`);
    expect(res.headers.get("strict-transport-security")).toBeNull();
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^vid=/);
    expect(cookie).not.toMatch(/Secure/i);
  });

  it("Chromium loads /chat under these headers without a warning, and the page may still ask for the microphone", async () => {
    const page = await browser.context.newPage();
    const console: string[] = [];
    const failed: string[] = [];
    page.on("console", (m) => {
      // A failed resource is reported below by its URL (the site has no favicon, which is not a header matter).
      if ((m.type() === "warning" || m.type() === "error") && !m.text().startsWith("Failed to load resource")) {
        console.push(m.text());
      }
    });
    page.on("response", (r) => {
      if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${worker.origin}/chat`);
    await page.getByRole("button", { name: "Start" }).waitFor();
    // Chromium's document.featurePolicy reflects the Permissions-Policy header.
    const allowed = await page.evaluate(() => {
      const policy = (document as unknown as { featurePolicy: { allowsFeature(feature: string): boolean } })
        .featurePolicy;
      return ["microphone", "camera", "geolocation"].map((feature) => policy.allowsFeature(feature));
    });
    expect(allowed).toEqual([true, false, false]);
    expect(console).toEqual([]);
    expect(failed).toEqual([]);
    await page.close();
  });

  it("refuses Origin: null on a page", async () => {
    const res = await fetch(`${worker.origin}/chat`, { headers: { Origin: "null" } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("origin_not_allowed");
  });
});
