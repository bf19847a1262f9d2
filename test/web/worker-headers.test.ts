// The security headers as `wrangler dev` serves them (issue #11, finding 5): static files come from Workers
// static assets, which answer before the Worker unless wrangler.toml runs the Worker first for them; so only a
// real `wrangler dev` shows that /static/* carries the CSP, Permissions-Policy and nosniff, keeps its ETag
// revalidation, and gets no cookie. Plain http here, so no HSTS and the unprefixed `vid` cookie. The icons and the
// manifest the pages link are served too, and /favicon.ico (issue #17: it used to 404 on every page load).
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
  it("/static/* (script, stylesheet, icons) and /favicon.ico carry the pages' security headers", async () => {
    const page = await fetch(`${worker.origin}/chat`);
    expect(page.headers.get("permissions-policy")).toContain("microphone=(self)");
    for (const path of ["/static/chat.js", "/static/chat.css", "/static/icon.svg", "/favicon.ico"]) {
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

  it("serves the icons and the web app manifest the pages link, /favicon.ico as an ICO holding the 32 px PNG", async () => {
    const ico = await fetch(`${worker.origin}/favicon.ico`);
    expect(ico.status).toBe(200);
    expect(ico.headers.get("content-type")).toMatch(/^image\/(x-icon|vnd\.microsoft\.icon)/);
    const bytes = Buffer.from(await ico.arrayBuffer());
    // ICONDIR: reserved 0, type 1 (icon), one image; the entry: 32 × 32, then a PNG at offset 22.
    expect([bytes.readUInt16LE(0), bytes.readUInt16LE(2), bytes.readUInt16LE(4), bytes[6], bytes[7]]).toEqual([
      0, 1, 1, 32, 32,
    ]);
    expect(bytes.readUInt32LE(18)).toBe(22);
    expect(bytes.subarray(22, 30)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(ico.headers.get("set-cookie")).toBeNull();

    const html = await (await fetch(`${worker.origin}/chat`)).text();
    const linked = [...html.matchAll(/<link rel="(?:icon|apple-touch-icon|manifest)" href="([^"]+)"/g)].map(
      (m) => m[1]!,
    );
    expect(linked).toEqual([
      "/favicon.ico",
      "/static/icon.svg",
      "/static/apple-touch-icon.png",
      "/static/manifest.webmanifest",
    ]);
    const manifest = await fetch(`${worker.origin}/static/manifest.webmanifest`);
    expect(manifest.status).toBe(200);
    const { icons, start_url } = (await manifest.json()) as {
      icons: { src: string; sizes: string }[];
      start_url: string;
    };
    expect(start_url).toBe("/chat");
    for (const src of [...linked.slice(1, 3), ...icons.map((i) => i.src)]) {
      const res = await fetch(`${worker.origin}${src}`);
      expect(res.status, src).toBe(200);
      expect(res.headers.get("content-type"), src).toMatch(/^image\/(png|svg\+xml)/);
      await res.arrayBuffer();
    }
  });

  it("sends no HSTS over http, and the cookie is the unprefixed `vid` without Secure", async () => {
    const res = await fetch(`${worker.origin}/chat`);
    expect(res.headers.get("strict-transport-security")).toBeNull();
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^vid=/);
    expect(cookie).not.toMatch(/Secure/i);
  });

  it("Chromium loads /chat under these headers without a warning or a failed request (its favicon included), and the page may still ask for the microphone", async () => {
    const page = await browser.context.newPage();
    const console: string[] = [];
    const failed: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "warning" || m.type() === "error") console.push(m.text());
    });
    page.on("response", (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
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
