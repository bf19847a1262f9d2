/**
 * A local stand-in for Cloudflare Turnstile, the optional bot check on session start, so that
 * `npm run dev -- --turnstile` and the e2e tests run the whole check with no account and no network. It is a
 * stand-in for a third-party service: it checks nothing about the visitor (every render passes at once) and
 * says so in its logs and on its widget.
 *
 * | route | what |
 * | --- | --- |
 * | `GET /turnstile/v0/api.js` | the widget script: `window.turnstile.render/reset/remove/getResponse` |
 * | `GET /turnstile/v0/widget` | the widget's frame, which issues one token per load to its parent page |
 * | `POST /turnstile/v0/siteverify` | token validation, JSON or form body |
 *
 * It follows what Cloudflare documents (developers.cloudflare.com/turnstile: "Client-side rendering",
 * "Widget configurations", "Validate the token", "Error codes"):
 * - `turnstile.render(container, params)` returns a widget id; `callback(token)` gets each token;
 *   `expired-callback` runs when the token expires (300 s) and `refresh-expired: "auto"` (the default) then
 *   issues a new one; `error-callback(code)` gets an error code (`110100` for an unknown sitekey);
 *   `appearance: "interaction-only"` keeps the widget out of sight, as it does when no interaction is needed;
 * - siteverify takes `secret`, `response`, optional `remoteip` and `idempotency_key`, and answers
 *   `{success, "error-codes", challenge_ts, hostname, action, cdata}`; a token validates once and for 300 s
 *   (`timeout-or-duplicate` after that), except that a retry with the same `idempotency_key` gets the same
 *   answer; `missing-input-secret`, `invalid-input-secret`, `missing-input-response`,
 *   `invalid-input-response` and `bad-request` are the other error codes.
 *
 * `hostname` and `action` in siteverify's answer are those of the page that rendered the widget and of its
 * `action` parameter, as with the real service, so the Worker's checks of both run unchanged.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "../../contract/log.ts";

/**
 * The keys the stand-in accepts. They are not secrets (anyone can read them here): the stand-in's secret only
 * tells the Worker's siteverify call apart from one made with another key.
 */
export const STAND_IN_TURNSTILE_KEYS = {
  siteKey: "0xLOCAL-turnstile-stand-in",
  secretKey: "0xLOCAL-turnstile-stand-in-secret-not-secret",
} as const;

/** How long a token validates, ms (Cloudflare: 300 s). */
export const TOKEN_LIFETIME_MS = 300_000;

/** Tokens kept at most; the oldest are dropped first (each is at most {@link TOKEN_LIFETIME_MS} old anyway). */
const TOKENS_MAX = 10_000;

/** Largest siteverify body, bytes (a token has at most 2048 characters). */
const BODY_MAX = 16 * 1024;

/** Turnstile's client-side error code for a sitekey it does not know. */
const ERROR_INVALID_SITEKEY = "110100";

/** `postMessage` marker of the widget frame's messages. */
const MESSAGE_SOURCE = "turnstile-stand-in";

export interface TurnstileStandInOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (ephemeral). The CLI uses `DEV_PORTS.turnstile` (contract/defaults.ts). */
  port?: number;
  /**
   * Where log lines go, one JSON object each (contract/log.ts) with component "turnstile-dev" and
   * `stand_in: true`; default stdout. Tokens and the secret are never logged.
   */
  log?: (line: string) => void;
  /** The clock, ms since the epoch (tests move it past a token's lifetime); default `Date.now`. */
  now?: () => number;
}

export interface TurnstileStandIn {
  /** `http://<host>:<port>`: the Worker's `TURNSTILE_ORIGIN`. */
  origin: string;
  close(): Promise<void>;
}

/** A token the widget issued. */
interface Issued {
  issuedAt: number;
  hostname: string;
  action: string;
  /** The `idempotency_key` of the siteverify request that spent it, and that request's answer. */
  spent: { key: string | null; answer: SiteverifyAnswer } | null;
}

type SiteverifyAnswer = Record<string, unknown> & { success: boolean; "error-codes": string[] };

const failure = (...codes: string[]): SiteverifyAnswer => ({ success: false, "error-codes": codes });

/**
 * Starts the stand-in.
 * @throws Error when it cannot listen (e.g. `EADDRINUSE`)
 */
export async function startTurnstileStandIn(options: TurnstileStandInOptions = {}): Promise<TurnstileStandIn> {
  const now = options.now ?? Date.now;
  const log = createLogger({
    component: "turnstile-dev",
    fields: { stand_in: true },
    ...(options.log ? { write: options.log } : {}),
  });
  const tokens = new Map<string, Issued>();
  /** Set once listening; the widget script names it. */
  let origin = "";

  const issue = (hostname: string, action: string): string => {
    const token = `stand-in.${randomBytes(24).toString("base64url")}`;
    for (const [old, t] of tokens) {
      if (tokens.size < TOKENS_MAX && now() - t.issuedAt <= TOKEN_LIFETIME_MS) break;
      tokens.delete(old);
    }
    tokens.set(token, { issuedAt: now(), hostname, action, spent: null });
    return token;
  };

  const siteverify = (fields: Record<string, string>): SiteverifyAnswer => {
    const { secret, response, idempotency_key: key = null } = fields;
    if (!secret) return failure("missing-input-secret");
    if (secret !== STAND_IN_TURNSTILE_KEYS.secretKey) return failure("invalid-input-secret");
    if (!response) return failure("missing-input-response");
    const issued = tokens.get(response);
    if (!issued) return failure("invalid-input-response");
    if (issued.spent)
      return key !== null && issued.spent.key === key ? issued.spent.answer : failure("timeout-or-duplicate");
    const answer =
      now() - issued.issuedAt > TOKEN_LIFETIME_MS
        ? failure("timeout-or-duplicate")
        : {
            success: true,
            "error-codes": [],
            challenge_ts: new Date(issued.issuedAt).toISOString(),
            hostname: issued.hostname,
            action: issued.action,
            cdata: "",
          };
    issued.spent = { key, answer };
    return answer;
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.warn("stand_in_error", { error: (err as Error).message });
      if (!res.headersSent) send(res, 500, "application/json", JSON.stringify(failure("internal-error")));
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stand-in");
    switch (url.pathname) {
      case "/turnstile/v0/api.js":
        return send(res, 200, "text/javascript; charset=utf-8", widgetScript(origin));
      case "/turnstile/v0/widget":
        return send(res, 200, "text/html; charset=utf-8", widgetFrame(url.searchParams, issue), {
          // The frame's one inline script, and no framing restriction: any page may render the widget.
          "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        });
      case "/turnstile/v0/siteverify": {
        if (req.method !== "POST") {
          return send(res, 405, "application/json", JSON.stringify(failure("bad-request")), { Allow: "POST" });
        }
        const fields = await readFields(req);
        const answer = fields ? siteverify(fields) : failure("bad-request");
        log.info("stand_in_siteverify", {
          success: answer.success,
          error_codes: answer["error-codes"].join(","),
          ...(answer.success ? { action: answer.action as string, hostname: answer.hostname as string } : {}),
        });
        return send(res, fields ? 200 : 400, "application/json", JSON.stringify(answer));
      }
      default:
        return send(res, 404, "text/plain; charset=utf-8", "not found\n");
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";
  origin = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
  log.info("stand_in_listening", {
    origin,
    note: "local stand-in for Cloudflare Turnstile: every visitor passes; not a bot check",
  });
  return {
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store", ...headers });
  res.end(body);
}

/** A siteverify body as fields (JSON object or form); null when it is neither or too long. */
async function readFields(req: IncomingMessage): Promise<Record<string, string> | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_MAX) return null;
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const type = req.headers["content-type"] ?? "";
  if (type.startsWith("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  if (!type.startsWith("application/json")) return null;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
    return Object.fromEntries(
      Object.entries(body).flatMap(([k, v]) => (typeof v === "string" ? [[k, v] as [string, string]] : [])),
    );
  } catch {
    return null;
  }
}

/**
 * The widget frame: issues a token for the page that framed it (`parent`, its origin) and posts it there,
 * or posts error 110100 for an unknown sitekey. Shows a small badge that says it is the stand-in.
 */
function widgetFrame(params: URLSearchParams, issue: (hostname: string, action: string) => string): string {
  let parent: URL;
  try {
    parent = new URL(params.get("parent") ?? "");
  } catch {
    return "<!doctype html><p>missing parent</p>";
  }
  const widget = params.get("widget") ?? "";
  const message: Record<string, string> =
    params.get("sitekey") === STAND_IN_TURNSTILE_KEYS.siteKey
      ? { source: MESSAGE_SOURCE, widget, token: issue(parent.hostname, params.get("action") ?? "") }
      : { source: MESSAGE_SOURCE, widget, error: ERROR_INVALID_SITEKEY };
  // JSON inside a script element: "<" escaped so that no value can close the element.
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, "\\u003c");
  return `<!doctype html>
<meta charset="utf-8">
<style>body{margin:0;font:13px system-ui,sans-serif;color:#1d1d1f}p{margin:0;padding:8px 10px;border:1px solid #c7c7cc;border-radius:6px;background:#f5f5f7}</style>
<p>✓ Turnstile stand-in (local development): no check made</p>
<script>parent.postMessage(${json(message)}, ${json(parent.origin)});</script>
`;
}

/**
 * The widget script (`window.turnstile`). Each widget is an iframe of {@link widgetFrame}; its message gives
 * the widget's token or error, and `reset` reloads it for a new token.
 */
function widgetScript(origin: string): string {
  return `// Local stand-in for Cloudflare Turnstile's api.js (voice-agent dev/turnstile/server.ts): every visitor passes.
(() => {
  const ORIGIN = ${JSON.stringify(origin)};
  const LIFETIME_MS = ${TOKEN_LIFETIME_MS};
  const widgets = new Map();
  let next = 0;
  const load = (w) => {
    w.token = undefined;
    clearTimeout(w.expiry);
    const q = new URLSearchParams({ sitekey: String(w.params.sitekey ?? ""), action: String(w.params.action ?? ""),
      widget: w.id, parent: location.origin });
    w.frame.src = ORIGIN + "/turnstile/v0/widget?" + q;
  };
  addEventListener("message", (event) => {
    if (event.origin !== ORIGIN || event.data?.source !== ${JSON.stringify(MESSAGE_SOURCE)}) return;
    const w = widgets.get(event.data.widget);
    if (!w || event.source !== w.frame.contentWindow) return;
    if (event.data.error) {
      const handled = w.params["error-callback"]?.(event.data.error);
      if (!handled) throw new Error("[Turnstile stand-in] error " + event.data.error);
      return;
    }
    w.token = event.data.token;
    w.expiry = setTimeout(() => {
      w.token = undefined;
      w.params["expired-callback"]?.();
      if ((w.params["refresh-expired"] ?? "auto") === "auto") load(w);
    }, LIFETIME_MS);
    w.params.callback?.(event.data.token);
  });
  window.turnstile = {
    render(container, params = {}) {
      const el = typeof container === "string" ? document.querySelector(container) : container;
      if (!el) throw new Error("[Turnstile stand-in] no container " + container);
      const id = "stand-in-" + ++next;
      const frame = document.createElement("iframe");
      frame.title = "Widget containing a Cloudflare security challenge (local stand-in)";
      frame.style.border = "0";
      if (params.appearance === "interaction-only") frame.style.cssText += ";width:0;height:0;position:absolute";
      else frame.style.cssText += ";width:300px;height:65px";
      el.append(frame);
      const w = { id, frame, params };
      widgets.set(id, w);
      load(w);
      return id;
    },
    reset(id) {
      const w = widgets.get(id ?? widgets.keys().next().value);
      if (w) load(w);
    },
    remove(id) {
      const w = widgets.get(id);
      if (!w) return;
      clearTimeout(w.expiry);
      w.frame.remove();
      widgets.delete(id);
    },
    getResponse(id) {
      return widgets.get(id ?? widgets.keys().next().value)?.token;
    },
  };
})();
`;
}
