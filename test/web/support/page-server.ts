/**
 * A stand-in for the Worker's page routes, for page tests that need no Worker: serves the render
 * functions' HTML with the Worker's Content-Security-Policy (same directives as worker/security.ts)
 * and `/static/*` from web/dist/static. API calls are intercepted by the tests (page.route); one that reaches the
 * server answers 404 and is recorded (`unrouted`). Listens on an ephemeral port on 127.0.0.1.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import type { TranscriptResponse } from "../../../contract/index.ts";
import {
  renderChat,
  renderErrorPage,
  renderHistory,
  renderHome,
  type ChatPageOptions,
  type ChatProfile,
} from "../../../web/pages/index.ts";
import { ROOT } from "./browser.ts";

/**
 * The Worker's CSP with `liveKitOrigin` (ws form and its http twin) allowed for connections, and with
 * Turnstile on when `turnstileOrigin` is given (its script and frame).
 */
export function workerCsp(liveKitOrigin: string, turnstileOrigin?: string): string {
  const ws = liveKitOrigin.replace(/^http/, "ws");
  const http = liveKitOrigin.replace(/^ws/, "http");
  return [
    "default-src 'self'",
    `script-src 'self'${turnstileOrigin ? ` ${turnstileOrigin}` : ""}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob:",
    `connect-src 'self' ${ws} ${http}`,
    ...(turnstileOrigin ? [`frame-src ${turnstileOrigin}`] : []),
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript",
  ".css": "text/css",
  ".map": "application/json",
  // The icons and the manifest every page links (else Chromium warns that the manifest's icon is not an image).
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".webmanifest": "application/manifest+json",
};
const STATIC = join(ROOT, "web", "dist", "static");

export interface PageServer {
  origin: string;
  /**
   * The requests that reached the server for anything but a page or a static file, in order (`METHOD /path`, no
   * query): API calls no test route took (e.g. a `keepalive` request made as a page is left, after the test removed
   * its routes: Playwright's interception may hold or miss a request the browser process sends once the document is
   * gone).
   */
  unrouted: string[];
  close(): Promise<void>;
}

/** Turnstile on, as the Worker has it with `TURNSTILE_SITE_KEY` (and `TURNSTILE_ORIGIN`). */
export interface PageServerTurnstile {
  siteKey: string;
  /** The origin of the widget script and frame. */
  origin: string;
}

/** The profiles `/chat?agent=<id>` offers, as the Worker reads them from its registry. */
export const TEST_PROFILES: Record<string, ChatProfile> = {
  assistant: { id: "assistant", name: "Assistant", planner: false },
  planner: { id: "planner", name: "Planner", planner: true },
  tutor: { id: "tutor", name: "Tutor", planner: false, tutor: true, askName: true },
};

/**
 * Starts the server.
 * @param history the transcripts `/history/:id` can show, by session id
 * @param turnstile when set, /chat carries the widget and the CSP allows it
 * @param profiles when set, `/chat?agent=<id>` talks with one of these (absent: `assistant`) and 404s others, as
 *   the Worker does; when not, /chat names no profile
 * @param chat more of the deployment's settings for /chat (e.g. `liveMode`, as `ENABLE_VOICE_LIVE_MODE` sets it)
 */
export async function startPageServer(
  liveKitOrigin: string,
  history: Record<string, TranscriptResponse> = {},
  turnstile?: PageServerTurnstile,
  profiles?: Record<string, ChatProfile>,
  chat: ChatPageOptions = {},
): Promise<PageServer> {
  const csp = workerCsp(liveKitOrigin, turnstile?.origin);
  const chatOptions = {
    ...chat,
    ...(turnstile ? { turnstileSiteKey: turnstile.siteKey, turnstileOrigin: turnstile.origin } : {}),
  };
  const unrouted: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const html = (status: number, body: string) => {
      res.writeHead(status, { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp });
      res.end(body);
    };
    if (url.pathname === "/") return html(200, renderHome());
    if (url.pathname === "/chat") {
      if (!profiles) return html(200, renderChat(chatOptions));
      const profile = profiles[url.searchParams.get("agent") || "assistant"];
      if (!profile) return html(404, renderErrorPage(404, "There is no agent by that name to talk with here."));
      return html(200, renderChat({ ...chatOptions, profile }));
    }
    const id = /^\/history\/([^/]+)$/.exec(url.pathname)?.[1];
    if (id) {
      const t = history[id];
      return t
        ? html(200, renderHistory(t))
        : html(404, renderErrorPage(404, "There is no conversation at this address."));
    }
    if (url.pathname.startsWith("/static/")) {
      const file = normalize(join(STATIC, url.pathname.slice("/static/".length)));
      if (file.startsWith(STATIC)) {
        const body = await readFile(file).catch(() => null);
        if (body) {
          res.writeHead(200, {
            "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
            "Content-Security-Policy": csp,
          });
          return res.end(body);
        }
      }
    }
    unrouted.push(`${req.method} ${url.pathname}`);
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not_found", message: "not found" } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    unrouted,
    // Connections a browser still holds open (keep-alive) would keep `close` waiting until they time out.
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
