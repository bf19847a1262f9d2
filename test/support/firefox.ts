/// <reference lib="dom" />
/**
 * Debian's Firefox ESR for browser tests, driven by puppeteer-core over WebDriver BiDi (no CDP: Firefox has none):
 * one place for the executable, the preferences this machine needs, a fresh profile per browser, and the page's
 * console as BiDi reports it (`log.entryAdded`, which puppeteer turns into `console` and `pageerror` events).
 *
 * The microphone is either Firefox's fake stream (`media.navigator.streams.fake`: a 1 kHz tone) or a real capture
 * through PulseAudio (test/support/pulse.ts): pass the daemon's environment and Firefox opens its default source.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/** The Firefox executable (`FIREFOX_PATH`, else Debian's firefox-esr). */
export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

/**
 * The Firefox executable, when installed.
 * @returns its path, or null when it is missing (then skip the test)
 * @throws Error under `CI=true` when it is missing: CI must never skip a browser test silently (apt: firefox-esr)
 */
export function firefoxExecutable(): string | null {
  if (existsSync(FIREFOX_PATH)) return FIREFOX_PATH;
  if (process.env.CI === "true") throw new Error(`${FIREFOX_PATH} is missing: apt-get install firefox-esr`);
  return null;
}

/**
 * Preferences every test Firefox gets (on top of those Firefox's remote agent sets for automation):
 * the microphone is granted without a prompt, media plays without a user gesture, host ICE candidates carry
 * their address (not an mDNS name the dev LiveKit server cannot resolve), and nothing is fetched from Mozilla.
 *
 * `layout.frame_rate` 10: headless Firefox paints the page's animations (voice visualizer, level meter) in software at
 * 60 frames a second, which left less of the 2-core CI host to Firefox's audio; with its audio threads made real-time
 * (test/support/audio-priority.ts) it keeps up with real time under CI's load. docs/browsers.md, "Firefox's audio
 * under load".
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  "media.navigator.permission.disabled": true,
  "permissions.default.microphone": 1,
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  "media.cubeb.backend": "pulse",
  "layout.frame_rate": 10,
  "browser.safebrowsing.update.enabled": false,
  "app.update.enabled": false,
  "extensions.update.enabled": false,
  "datareporting.policy.dataSubmissionEnabled": false,
  "toolkit.telemetry.enabled": false,
};

/** One message of the page's console (BiDi `log.entryAdded`): a `console.*` call, or an uncaught error. */
export interface ConsoleEntry {
  /** `error`, `warn`, `info`, `log`, `debug`, …; `pageerror` for an uncaught exception. */
  type: string;
  text: string;
  /** The script URL and line, when Firefox gave them. */
  location?: string;
}

/** Options of {@link launchFirefox}. */
export interface FirefoxOptions {
  /**
   * Where the microphone comes from: `fake`, Firefox's generated tone; `pulse`, the default source of the PulseAudio
   * server named by `env.PULSE_SERVER` (test/support/pulse.ts).
   */
  microphone: "fake" | "pulse";
  /** Extra environment for Firefox (e.g. {@link PulseDaemon.env}). */
  env?: Record<string, string>;
  /** Extra preferences, after {@link FIREFOX_PREFS}. */
  prefs?: Record<string, unknown>;
}

/** A launched Firefox with one page. */
export interface Firefox {
  browser: Browser;
  page: Page;
  /** Every console message and uncaught error of the page so far, in order. */
  console: ConsoleEntry[];
  /** The main Firefox process's id (its content, socket and utility processes are below it). */
  pid: number;
  /** Closes the browser and deletes its profile. Never throws. */
  close(): Promise<void>;
}

/**
 * Launches headless Firefox over WebDriver BiDi with a fresh profile and opens a page whose console is recorded.
 * @throws Error when Firefox is missing or does not start (puppeteer's message, with Firefox's output)
 */
export async function launchFirefox(options: FirefoxOptions): Promise<Firefox> {
  const executablePath = firefoxExecutable();
  if (!executablePath) throw new Error(`${FIREFOX_PATH} is missing: apt-get install firefox-esr`);
  const profile = mkdtempSync(join(tmpdir(), "e2e-firefox-"));
  const browser = await puppeteer.launch({
    browser: "firefox",
    protocol: "webDriverBiDi",
    executablePath,
    headless: true,
    userDataDir: profile,
    env: { ...process.env, ...options.env },
    extraPrefsFirefox: {
      ...FIREFOX_PREFS,
      "media.navigator.streams.fake": options.microphone === "fake",
      ...options.prefs,
    },
  });
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  const entries: ConsoleEntry[] = [];
  page.on("console", (m) => {
    const { url, lineNumber } = m.location();
    entries.push({ type: m.type(), text: m.text(), location: url ? `${url}:${lineNumber ?? 0}` : undefined });
  });
  page.on("pageerror", (err) => entries.push({ type: "pageerror", text: String(err) }));
  return {
    browser,
    page,
    console: entries,
    pid: browser.process()!.pid!,
    close: async () => {
      await browser.close().catch(() => undefined);
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch {
        // a Firefox process still writing: the profile is left in the temporary directory
      }
    },
  };
}

/**
 * What {@link instrumentAudio} records in `window.__audio` (times in ms since epoch, page clock):
 * - `stats`, every 50 ms: the sum over the page's RTCPeerConnections of `inbound-rtp` audio `totalAudioEnergy`
 *   (W3C webrtc-stats: energy of the decoded audio as it is played out, growing while the agent is heard; undefined
 *   when the browser does not report it) and `packetsReceived`; and of `outbound-rtp` audio `packetsSent` (`sent`).
 * - `meter`: when the page's microphone level meter (`#meter`, `--level`, 0…1) read 0.3 or more: the visitor's
 *   microphone heard in the page's Web Audio graph.
 * - `bars`: when the tallest bar of the agent's voice visualizer (`#visualizer`, `--bar-0` … `--bar-4`, 0…1) was
 *   0.3 or more: the agent's remote track heard in the page's Web Audio graph.
 */
export interface ReceivedAudio {
  stats: { t: number; e?: number; p: number; sent: number }[];
  meter: { t: number; v: number }[];
  bars: { t: number; v: number }[];
}

/**
 * Init script (page.evaluateOnNewDocument; self-contained, it is serialised): records {@link ReceivedAudio} in
 * `window.__audio`. Wraps `RTCPeerConnection` to find the page's connections, and watches the style of `#meter` and
 * `#visualizer` (their custom properties are set through CSSOM, which changes the `style` attribute).
 */
export function instrumentAudio(): void {
  const rec: ReceivedAudio = { stats: [], meter: [], bars: [] };
  const w = window as unknown as { __audio: ReceivedAudio };
  w.__audio = rec;
  const pcs: RTCPeerConnection[] = [];
  const NativePC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePC {
    constructor(config?: RTCConfiguration) {
      super(config);
      pcs.push(this);
    }
  } as typeof RTCPeerConnection;
  type Stat = {
    type: string;
    kind?: string;
    totalAudioEnergy?: number;
    packetsReceived?: number;
    packetsSent?: number;
  };
  setInterval(async () => {
    if (!pcs.length) return;
    let e: number | undefined;
    let p = 0;
    let sent = 0;
    for (const pc of pcs) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((s: Stat) => {
        if (s.kind !== "audio") return;
        if (s.type === "outbound-rtp") sent += s.packetsSent ?? 0;
        if (s.type !== "inbound-rtp") return;
        if (s.totalAudioEnergy !== undefined) e = (e ?? 0) + s.totalAudioEnergy;
        p += s.packetsReceived ?? 0;
      });
    }
    rec.stats.push({ t: Date.now(), e, p, sent });
  }, 50);
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      const el = m.target as HTMLElement;
      if (el.id === "meter") {
        const v = Number(el.style.getPropertyValue("--level") || 0);
        if (v >= 0.3) rec.meter.push({ t: Date.now(), v });
      } else if (el.id === "visualizer") {
        const v = Math.max(...[0, 1, 2, 3, 4].map((i) => Number(el.style.getPropertyValue(`--bar-${i}`) || 0)));
        if (v >= 0.3) rec.bars.push({ t: Date.now(), v });
      }
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["style"] });
}

/** Reads what {@link instrumentAudio} has recorded so far. */
export function receivedAudio(page: Page): Promise<ReceivedAudio> {
  return page.evaluate(() => (window as unknown as { __audio: ReceivedAudio }).__audio);
}

/**
 * When received audio energy first grew by more than `threshold` after `from` (ms since epoch), or null. Energy
 * accumulates, so growth means audible sound arrived in that interval.
 * @param series `ReceivedAudio.stats` (samples without `e` count as 0)
 */
export function energyOnset(series: { t: number; e?: number }[], from: number, threshold: number): number | null {
  const base = series.filter((s) => s.t <= from).at(-1)?.e ?? 0;
  return series.find((s) => s.t > from && (s.e ?? 0) - base > threshold)?.t ?? null;
}
