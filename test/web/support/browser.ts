/**
 * Debian's Chromium driven by playwright-core, with the project's mandatory flags and a fresh profile.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { script as english } from "../../../web/i18n/en.ts";
import { launchChromium } from "../../support/chromium.ts";

export const ROOT = join(import.meta.dirname, "..", "..", "..");

export interface LaunchOptions {
  /** A fake microphone (Chromium's test tone, or `wav` when given); false: no capture device at all. */
  microphone?: boolean;
  /** Grant the microphone permission (false: the page's request is denied). */
  grantMicrophone?: boolean;
  wav?: string;
  viewport?: { width: number; height: number };
  colorScheme?: "light" | "dark";
  /** The browser's locale (e.g. "en-GB"); default Playwright's (en-US). */
  locale?: string;
  /** The browser's IANA time zone (e.g. "Asia/Tokyo"); default the machine's. */
  timezoneId?: string;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile; `close()` also deletes the profile. */
export async function launch(options: LaunchOptions = {}): Promise<Browser> {
  const flags = ["--autoplay-policy=no-user-gesture-required"];
  if (options.microphone !== false) flags.push("--use-fake-device-for-media-stream");
  if (options.wav) flags.push(`--use-file-for-fake-audio-capture=${options.wav}`);
  const { context, close } = await launchChromium("web", {
    flags,
    permissions: options.grantMicrophone === false ? [] : ["microphone"],
    viewport: options.viewport ?? { width: 960, height: 900 },
    colorScheme: options.colorScheme ?? "light",
    ...(options.locale ? { locale: options.locale } : {}),
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
  });
  return { context, close };
}

/**
 * The page script's texts as `/chat` carries them (web/pages/chat.ts `#texts`): the modules read them at load.
 */
export function textsBlock(texts: unknown = english): string {
  return `<script type="application/json" id="texts">${JSON.stringify(texts).replace(/</g, "\\u003c")}</script>`;
}

/**
 * A page holding `body` and the DOM test bundle (support/dom-entry.ts → `window.web`), optionally
 * with the page stylesheet. With `origin` (an http origin without a CSP on its 404s, e.g. a page server's), the
 * page is at that origin, so that the modules' relative fetches (`/planner`) go there and can be routed. A `body`
 * without the page's `#texts` block gets the English one, as an English `/chat` has it.
 */
export async function domPage(context: BrowserContext, body = "", withCss = false, origin?: string): Promise<Page> {
  const page = await context.newPage();
  if (origin) await page.goto(`${origin}/dom-test`);
  const texts = body.includes('id="texts"') ? "" : textsBlock();
  await page.setContent(`<!doctype html><html><head></head><body>${body}${texts}</body></html>`);
  if (withCss) await page.addStyleTag({ content: readFileSync(join(ROOT, "web/dist/static/chat.css"), "utf8") });
  await page.addScriptTag({ content: readFileSync(join(ROOT, "node_modules/.cache/web-test/dom.js"), "utf8") });
  return page;
}

/**
 * Saves `docs/<name>.png` when `WEB_SCREENSHOTS=1` (the committed screenshots shown in the README), so
 * that ordinary test runs leave the working tree untouched.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.WEB_SCREENSHOTS !== "1") return;
  await page.mouse.move(0, 0); // no hover state in the picture
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(400); // let colour transitions (e.g. after a colour-scheme switch) finish
  await page.screenshot({ path: join(ROOT, "docs", `${name}.png`) });
}
