/**
 * WebKit for browser tests: Debian's WebKitGTK MiniBrowser (apt: webkit2gtk-driver brings it), two ways.
 *
 * - {@link launchWebKit}: driven by its WebDriver, `WebKitWebDriver`, through WebDriver classic over HTTP (a small
 *   client here, no dependency). This is how a test clicks: the session runs MiniBrowser in automation mode, where
 *   WebKit grants media capture itself (mock devices, no prompt). But in automation mode MiniBrowser browses in an
 *   ephemeral session, and WebKit writes no console message of an ephemeral page anywhere; WebDriver classic has no log
 *   endpoint, and this WebKitWebDriver (2.50) refuses a BiDi session (`webSocketUrl: true` → "session not created:
 *   Failed to match capabilities"). So a WebDriver session cannot see the page's console.
 * - {@link inspectWebKit}: MiniBrowser run by itself on one URL, with WebKit's remote inspector served over HTTP
 *   (`WEBKIT_INSPECTOR_HTTP_SERVER`), to which this module connects with the Web Inspector protocol: `Console.enable`
 *   replays every message the page has logged so far and reports the next ones, and `Runtime.evaluate` reads the page.
 *   The two cannot be combined: with the inspector's HTTP server on, WebKitWebDriver never reaches the browser.
 *
 * MiniBrowser is a GTK program and needs a display: each launch starts its own Xvfb (apt: xvfb) on a free display
 * number. MiniBrowser takes WebKitSettings as command-line options ({@link WEBKIT_SETTINGS}).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { freePort } from "./ports.ts";
import { waitFor } from "./wait.ts";

/** The WebDriver (`WEBKIT_DRIVER_PATH`, else Debian's). */
export const WEBKIT_DRIVER = process.env.WEBKIT_DRIVER_PATH ?? "/usr/bin/WebKitWebDriver";

/** The browser (`WEBKIT_BROWSER_PATH`, else the MiniBrowser of Debian's WebKitGTK 4.1). */
export const WEBKIT_BROWSER =
  process.env.WEBKIT_BROWSER_PATH ??
  ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]
    .map((lib) => `${lib}/webkit2gtk-4.1/MiniBrowser`)
    .find((p) => existsSync(p)) ??
  "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/** The X server each launch starts (apt: xvfb). */
export const XVFB = process.env.XVFB_PATH ?? "/usr/bin/Xvfb";

/**
 * Whether WebKitWebDriver, MiniBrowser and Xvfb are installed.
 * @returns true when all three are there, false when one is missing (then skip the test)
 * @throws Error under `CI=true` when one is missing: CI must never skip a browser test silently
 */
export function webkitInstalled(): boolean {
  const missing = [WEBKIT_DRIVER, WEBKIT_BROWSER, XVFB].filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  if (process.env.CI === "true") {
    throw new Error(`${missing.join(", ")} missing: apt-get install webkit2gtk-driver xvfb`);
  }
  return false;
}

/**
 * WebKitSettings every test MiniBrowser gets, as its options: media streams with WebKit's mock capture devices
 * (three generated microphones and a camera), and WebRTC, when the build has it (Debian's has not:
 * `RTCPeerConnection` is undefined whatever this says).
 */
export const WEBKIT_SETTINGS: readonly string[] = [
  "--enable-media-stream=true",
  "--enable-mock-capture-devices=true",
  "--enable-webrtc=true",
];

/** One console message of the page (Web Inspector protocol `Console.ConsoleMessage`). */
export interface WebKitConsoleEntry {
  /** `javascript`, `network`, `console-api`, `security`, `media`, … */
  source: string;
  /** `log`, `info`, `warning`, `error`, `debug`. */
  level: string;
  text: string;
  url?: string;
  line?: number;
}

/** A WebDriver error answer: its `error` code (`javascript error`, `no such element`, …) and message. */
export class WebDriverError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = "WebDriverError";
    this.code = code;
  }
}

/** Child processes of one launch, their output, and a folder for their files. */
class Processes {
  readonly dir = mkdtempSync(join(tmpdir(), "e2e-webkit-"));
  readonly #children: ChildProcess[] = [];
  #output = "";

  /**
   * Starts `command` in a process group of its own (so that {@link stop} also ends the helpers it starts: WebKit's web,
   * network and GPU processes); its output is kept for {@link output}.
   */
  spawn(command: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const child = spawn(command, args, {
      env: {
        ...process.env,
        HOME: this.dir,
        XDG_CACHE_HOME: join(this.dir, "cache"),
        // Mesa's shader cache would be written by the GPU process until it ends, racing the folder's deletion.
        MESA_SHADER_CACHE_DISABLE: "true",
        // GStreamer's PulseAudio client (no daemon here) would leave a runtime folder in /tmp for every launch.
        PULSE_RUNTIME_PATH: join(this.dir, "pulse"),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.#children.push(child);
    child.stdout!.on("data", (d: Buffer) => (this.#output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (this.#output += d.toString()));
    return child;
  }

  /** Everything the processes printed (ALSA's complaints about the missing sound card left out). */
  output(): string {
    return this.#output
      .split("\n")
      .filter((line) => !/^(ALSA lib|AL lib)/.test(line))
      .join("\n");
  }

  /** Starts Xvfb on a free display. @returns the display (`:N`) */
  async xvfb(): Promise<string> {
    let number = "";
    // Xvfb picks a free display and writes its number to the given descriptor (here its stdout).
    const xvfb = this.spawn(XVFB, ["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x800x24"]);
    xvfb.stdout!.on("data", (d: Buffer) => (number += d.toString()));
    return waitFor(
      "Xvfb's display number",
      () => {
        if (xvfb.exitCode !== null) throw new Error(`Xvfb exited with ${xvfb.exitCode}`);
        return /^\d+\n/.test(number) && `:${number.trim()}`;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
  }

  /**
   * Stops every process group, last started first (SIGTERM, then SIGKILL to the group after 3 s or once its leader has
   * gone), and deletes the folder. Never throws.
   */
  async stop(): Promise<void> {
    const signal = (child: ChildProcess, sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // the group is gone
      }
    };
    for (const child of this.#children.reverse()) {
      if (child.pid === undefined) continue;
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once("exit", r));
        signal(child, "SIGTERM");
        const killer = setTimeout(() => signal(child, "SIGKILL"), 3000);
        await gone;
        clearTimeout(killer);
      }
      signal(child, "SIGKILL"); // helpers that outlived their parent
    }
    try {
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch {
      // a helper still writing: the folder is left in the temporary directory
    }
  }
}

/** A MiniBrowser under WebKitWebDriver, with one WebDriver classic session. */
export interface WebKit {
  /** The capabilities the session was created with (browserName, browserVersion, …). */
  capabilities: Record<string, unknown>;
  /** The driver's and the browser's output (for a failure message). */
  output(): string;
  /** Navigates and waits for the page load (WebDriver "Navigate To"). */
  navigate(url: string): Promise<void>;
  /**
   * Runs `script` as a function body in the page (WebDriver "Execute Script"), with `args` as `arguments`.
   * @returns its JSON-serialisable result
   * @throws WebDriverError `javascript error` when it throws
   */
  execute<T>(script: string, ...args: unknown[]): Promise<T>;
  /**
   * Runs `script` as an async function body (WebDriver "Execute Async Script"): it resolves by calling its last
   * argument (`arguments[arguments.length - 1]`) with the result, within 30 s.
   * @throws WebDriverError `script timeout` after 30 s
   */
  executeAsync<T>(script: string, ...args: unknown[]): Promise<T>;
  /**
   * Clicks the element `selector` finds (WebDriver "Element Click": scrolled into view, a real pointer click, so a
   * user gesture).
   * @throws WebDriverError `no such element` when there is none, `element not interactable` when it is hidden
   */
  click(selector: string): Promise<void>;
  /** Ends the session and stops the driver, the browser and Xvfb; deletes their folder. Never throws. */
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

/**
 * Starts Xvfb, WebKitWebDriver and, through a new session, MiniBrowser in automation mode with
 * {@link WEBKIT_SETTINGS}.
 * @param args extra MiniBrowser options (WebKitSettings, e.g. `--enable-media-stream=false`)
 * @throws Error with the processes' output when one does not start within 30 s or the session is refused
 */
export async function launchWebKit(args: string[] = []): Promise<WebKit> {
  const procs = new Processes();
  try {
    const display = await procs.xvfb();
    const port = await freePort();
    const driver = procs.spawn(WEBKIT_DRIVER, [`--port=${port}`], { DISPLAY: display });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      "WebKitWebDriver to answer",
      async () => {
        if (driver.exitCode !== null) throw new Error(`WebKitWebDriver exited with ${driver.exitCode}`);
        return fetch(`${base}/status`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const call = async (method: string, path: string, body?: Json): Promise<unknown> => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body ? { "content-type": "application/json" } : undefined,
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(60_000),
      });
      const json = (await res.json()) as { value: unknown };
      if (!res.ok) {
        const v = (json.value ?? {}) as { error?: string; message?: string };
        throw new WebDriverError(v.error ?? String(res.status), v.message ?? "");
      }
      return json.value;
    };
    const created = (await call("POST", "/session", {
      capabilities: {
        alwaysMatch: {
          // WebKitWebDriver adds nothing to the options it is given: without `--automation` MiniBrowser opens as an
          // ordinary window and the new session never answers.
          "webkitgtk:browserOptions": { binary: WEBKIT_BROWSER, args: ["--automation", ...WEBKIT_SETTINGS, ...args] },
        },
      },
    })) as { sessionId: string; capabilities: Json };
    const session = `/session/${created.sessionId}`;
    await call("POST", `${session}/timeouts`, { script: 30_000, pageLoad: 60_000 });
    const element = async (selector: string) => {
      const found = (await call("POST", `${session}/element`, { using: "css selector", value: selector })) as Json;
      return String(Object.values(found)[0]);
    };
    return {
      capabilities: created.capabilities,
      output: () => procs.output(),
      navigate: async (url) => void (await call("POST", `${session}/url`, { url })),
      execute: async <T>(script: string, ...a: unknown[]) =>
        (await call("POST", `${session}/execute/sync`, { script, args: a })) as T,
      executeAsync: async <T>(script: string, ...a: unknown[]) =>
        (await call("POST", `${session}/execute/async`, { script, args: a })) as T,
      click: async (selector) => void (await call("POST", `${session}/element/${await element(selector)}/click`, {})),
      close: async () => {
        await call("DELETE", session).catch(() => undefined);
        await procs.stop();
      },
    };
  } catch (err) {
    const output = procs.output();
    await procs.stop();
    throw new Error(`${(err as Error).message}\n${output.slice(-3000)}`, { cause: err });
  }
}

/** A MiniBrowser showing one page, read through WebKit's remote inspector. */
export interface InspectedWebKit {
  /** Every console message of the page so far, in order (those logged before the inspector connected included). */
  console: WebKitConsoleEntry[];
  /**
   * Evaluates `expression` in the page (`Runtime.evaluate`, returned by value).
   * @returns its JSON-serialisable value
   * @throws Error with the exception's description when it throws
   */
  evaluate<T>(expression: string): Promise<T>;
  /** The browser's output (for a failure message). */
  output(): string;
  /** Stops the browser and Xvfb and deletes their folder. Never throws. */
  close(): Promise<void>;
}

/**
 * Opens `url` in MiniBrowser (not in automation mode: a normal, persistent session) with {@link WEBKIT_SETTINGS} and the
 * remote inspector served over HTTP, and connects to the page's inspector.
 * @param args extra MiniBrowser options
 * @throws Error with the processes' output when the page's inspector target does not appear within 30 s
 */
export async function inspectWebKit(url: string, args: string[] = []): Promise<InspectedWebKit> {
  const procs = new Processes();
  let ws: WebSocket | undefined;
  try {
    const display = await procs.xvfb();
    const port = await freePort();
    const inspector = `127.0.0.1:${port}`;
    const browser = procs.spawn(WEBKIT_BROWSER, ["--enable-developer-extras=true", ...WEBKIT_SETTINGS, ...args, url], {
      DISPLAY: display,
      WEBKIT_INSPECTOR_HTTP_SERVER: inspector,
    });
    // The inspector's HTTP server lists the inspectable pages, each with the path of its WebSocket.
    const socketPath = await waitFor(
      "MiniBrowser's inspectable page",
      async () => {
        if (browser.exitCode !== null) throw new Error(`MiniBrowser exited with ${browser.exitCode}`);
        const list = await fetch(`http://${inspector}/`).then(
          (r) => r.text(),
          () => "",
        );
        return list.includes(url) && /\/socket\/\d+\/\d+\/WebPage/.exec(list)?.[0];
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const socket = new WebSocket(`ws://${inspector}${socketPath}`);
    ws = socket;
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));

    const entries: WebKitConsoleEntry[] = [];
    const pending = new Map<number, (reply: Json) => void>();
    let nextId = 1;
    let target: string | undefined;
    const targetReady = new Promise<void>((resolve) => {
      socket.on("message", (data: Buffer) => {
        const msg = JSON.parse(data.toString()) as { method?: string; params?: Json };
        if (msg.method === "Target.targetCreated") {
          const info = msg.params!.targetInfo as { targetId: string; type: string };
          if (info.type !== "page") return;
          target = info.targetId;
          send("Console.enable", {}).catch(() => undefined);
          resolve();
        } else if (msg.method === "Target.dispatchMessageFromTarget") {
          const inner = JSON.parse(String(msg.params!.message)) as { id?: number; method?: string; params?: Json };
          if (inner.id !== undefined) pending.get(inner.id)?.(inner as Json);
          if (inner.method === "Console.messageAdded") {
            const m = inner.params!.message as WebKitConsoleEntry;
            entries.push({ source: m.source, level: m.level, text: m.text, url: m.url, line: m.line });
          }
        }
      });
    });
    // Messages to the page go through the Target domain, wrapped.
    const send = (method: string, params: Json): Promise<Json> => {
      const id = nextId++;
      const reply = new Promise<Json>((resolve) => pending.set(id, resolve));
      socket.send(
        JSON.stringify({
          id: nextId++,
          method: "Target.sendMessageToTarget",
          params: { targetId: target, message: JSON.stringify({ id, method, params }) },
        }),
      );
      return reply;
    };
    await Promise.race([
      targetReady,
      new Promise((_, reject) => setTimeout(() => reject(new Error("no page target on the inspector")), 30_000)),
    ]);
    return {
      console: entries,
      output: () => procs.output(),
      evaluate: async <T>(expression: string) => {
        const reply = (await send("Runtime.evaluate", { expression, returnByValue: true })) as {
          result?: { result: { value?: unknown }; wasThrown?: boolean };
          error?: { message: string };
        };
        if (reply.error) throw new Error(reply.error.message);
        if (reply.result?.wasThrown) throw new Error(`evaluation threw: ${JSON.stringify(reply.result.result)}`);
        return reply.result?.result.value as T;
      },
      close: async () => {
        socket.close();
        await procs.stop();
      },
    };
  } catch (err) {
    ws?.close();
    const output = procs.output();
    await procs.stop();
    throw new Error(`${(err as Error).message}\n${output.slice(-3000)}`, { cause: err });
  }
}
