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
  close(): Promise<void>;
}

/**
 * Bundles and serves the page, launches Chromium on it with a fake microphone playing `toneHz` (5 s, looped),
 * and waits for `window.lk`. Console errors of the page are echoed (tokens masked), except the /rtc/v1 404s
 * every join causes.
 */
export async function openTestPage(toneHz = 440): Promise<TestPage> {
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
  // The expected /rtc/v1 404s are logged by Chromium (with the token in the URL): leave them out.
  page.on("console", (m) => {
    const text = m.text();
    if (m.type() !== "error" || /\/rtc\/v1|status of 404/.test(text)) return;
    console.error(`[page] ${text.replace(/access_token=[^&\s']+/g, "access_token=…")}`);
  });
  await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
  await page.waitForFunction(() => "lk" in window);
  return {
    page,
    async close() {
      await chrome.close();
      http.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
