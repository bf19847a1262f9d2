/**
 * The livekit-client test page in Chromium: fixtures/page.ts bundled with esbuild and served on loopback, in
 * Debian's Chromium with a fake microphone playing a tone WAV. Driven through `window.lk` (`PageApi`).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { launchChromium } from "../support/chromium.ts";
import { wav } from "../support/wav.ts";

/** A 16-bit mono 48 kHz WAV of a sine tone (amplitude 0.3 FS). */
function toneWav(hz: number, seconds: number): Buffer {
  const rate = 48_000;
  const samples = Int16Array.from({ length: rate * seconds }, (_, i) =>
    Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)),
  );
  return wav(samples, rate);
}

/** A running test page; `close()` closes Chromium and the page's server. */
export interface TestPage {
  page: Page;
  /**
   * Every console error of the page, failed request and HTTP answer ≥ 400 so far, in order, tokens masked
   * (`access_token=…`, `join_request=…`). The product demands none (issue #17, "zero console errors").
   */
  errors: string[];
  /** The URL path of every WebSocket the page opened, in order (e.g. `/rtc/v1`). */
  sockets: string[];
  close(): Promise<void>;
}

/** A URL or message with its join token and join request masked. */
function masked(text: string): string {
  return text.replace(/(access_token|join_request)=[^&\s']+/g, "$1=…");
}

/**
 * Bundles fixtures/page.ts and serves it on loopback: `/` loads it as a module, `/page.js` is the bundle.
 * @returns the page's URL and a `close()` that stops the server
 */
export async function servePage(): Promise<{ url: string; close(): void }> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("fixtures/page.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    write: false,
    logLevel: "silent",
  });
  const js = bundle.outputFiles[0]!.text;
  const http = createServer((req, res) => {
    if (req.url === "/page.js") res.writeHead(200, { "Content-Type": "text/javascript" }).end(js);
    else
      res
        .writeHead(200, { "Content-Type": "text/html" })
        .end('<!doctype html><script type="module" src="/page.js"></script>');
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`, close: () => http.close() };
}

/**
 * Bundles and serves the page ({@link servePage}), launches Chromium on it with a fake microphone playing `toneHz` (5 s, looped),
 * and waits for `window.lk`. Console errors of the page, failed requests and HTTP errors are collected in `errors`
 * and echoed (tokens masked).
 */
export async function openTestPage(toneHz = 440): Promise<TestPage> {
  const served = await servePage();
  const profile = mkdtempSync(join(tmpdir(), "lk-chromium-"));
  const wavPath = join(profile, "tone.wav");
  writeFileSync(wavPath, toneWav(toneHz, 5));
  const chrome = await launchChromium("lk", {
    permissions: ["microphone"],
    flags: [
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      `--use-file-for-fake-audio-capture=${wavPath}`,
      "--autoplay-policy=no-user-gesture-required",
    ],
  });
  const page = chrome.context.pages()[0] ?? (await chrome.context.newPage());
  const errors: string[] = [];
  const sockets: string[] = [];
  const error = (text: string) => {
    errors.push(masked(text));
    console.error(`[page] ${masked(text)}`);
  };
  page.on("console", (m) => {
    if (m.type() === "error") error(m.text());
  });
  page.on("pageerror", (err) => error(`uncaught: ${err.message}`));
  page.on("requestfailed", (r) => error(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  page.on("response", (r) => {
    if (r.status() >= 400) error(`HTTP ${r.status()}: ${r.url()}`);
  });
  page.on("websocket", (ws) => sockets.push(new URL(ws.url()).pathname));
  await page.goto(served.url);
  await page.waitForFunction(() => "lk" in window);
  return {
    page,
    errors,
    sockets,
    async close() {
      await chrome.close();
      served.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
