/**
 * Debian's Chromium for every browser test, driven by playwright-core: one place for the executable,
 * the flags this machine needs, and a fresh profile per browser.
 *
 * Why these flags: Chromium runs as root without a sandbox here, and without the background-networking
 * flags it keeps opening connections to Google's hosts, which this machine's closed network refuses.
 * Playwright refuses `--user-data-dir` in `launch()`, so a persistent context carries the profile.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** The Chromium executable (`CHROMIUM_PATH`, else Debian's). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags every test browser gets. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Options of {@link launchChromium}: extra flags, and playwright's persistent-context options. */
export type ChromiumOptions = Omit<
  NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>,
  "executablePath"
> & {
  /** Extra Chromium flags after {@link CHROMIUM_FLAGS}. */
  flags?: string[];
};

/** A launched browser and its profile folder. */
export interface Chromium {
  context: BrowserContext;
  /** The profile folder; every Chromium process of this browser has it on its command line. */
  profile: string;
  /** Closes the browser and deletes the profile. */
  close(): Promise<void>;
}

/**
 * Launches Chromium with a fresh profile.
 * @param prefix names the temporary profile folder (e.g. "web", "e2e")
 */
export async function launchChromium(prefix: string, options: ChromiumOptions = {}): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), `${prefix}-chromium-`));
  const { flags = [], ...rest } = options;
  const context = await chromium.launchPersistentContext(profile, {
    ...rest,
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_FLAGS, ...flags, ...(rest.args ?? [])],
  });
  return {
    context,
    profile,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
