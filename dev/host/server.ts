/**
 * A sample host page for the embeddable widget (docs/widget.md): a plain web page on another origin than the
 * Worker's that adds the widget with one `<script src="<worker>/embed.js" data-agent="…" async>` tag, as a site
 * owner would, and shows the widget's API at work: two buttons that post `voice-agent:open`/`voice-agent:close`,
 * and a log of the widget's events (`#events`, one `<li>` per event, `data-type` its type without the prefix).
 *
 * `npm run dev` serves it on http://127.0.0.1:8790 (another origin than the Worker's http://localhost:8787, and in
 * `ALLOWED_ORIGINS` there); the e2e tests also serve it on an origin that is not allowed.
 *
 * Routes: `GET /` (the page; `?agent=<id>` picks the profile, default `planner`; served with a CSP that enforces
 * Trusted Types, as a strict site would), `GET /host.js` (its script).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface HostServerOptions {
  /** The Worker's origin, e.g. `http://localhost:8787`: where `embed.js` comes from. */
  workerUrl: string;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
}

export interface HostServer {
  /** The page's origin, e.g. `http://127.0.0.1:8790`. */
  origin: string;
  close(): Promise<void>;
}

const PROFILE_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;

/** Escapes `&`, `<`, `>` and `"` for an HTML attribute or text. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The sample page for profile `agent`. */
function page(workerUrl: string, agent: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Outdoor · Sample host page</title>
<link rel="icon" href="data:,">
<style>
body{margin:0;font:16px/1.5 Georgia,serif;color:#1f2937;background:#fdfaf3}
header{padding:1.5rem 2rem;background:#14532d;color:#f0fdf4}
header h1{margin:0;font-size:1.6rem}
main{max-width:44rem;padding:1.5rem 2rem}
button{font:inherit;padding:.4rem .9rem;margin-right:.5rem}
#events{font:13px/1.4 ui-monospace,monospace;background:#fff;border:1px solid #e5e7eb;padding:.5rem 1.5rem;min-height:3rem}
</style>
<script src="/host.js" defer></script>
<script src="${escapeHtml(workerUrl)}/embed.js" data-agent="${escapeHtml(agent)}" data-label="Talk with our planner" async></script>
</head>
<body>
<header><h1>Acme Outdoor</h1><p>Trail gear, guided hikes and a voice assistant.</p></header>
<main>
<h2>Plan your next hike</h2>
<p>This page stands in for a site that embeds the voice agent with one script tag. Its styles are its own; the
widget's button sits in the bottom right corner, and its panel comes from ${escapeHtml(workerUrl)}.</p>
<p><button id="open" type="button">Open the voice chat</button><button id="close" type="button">Close it</button></p>
<h2>Widget events</h2>
<ol id="events"></ol>
</main>
</body>
</html>
`;
}

/** The page's script: the API buttons and the events' log. */
const HOST_JS = `// The widget's postMessage API, as a host page uses it (docs/widget.md).
const log = document.getElementById("events");
window.addEventListener("message", (event) => {
  if (event.source !== window || event.origin !== location.origin) return;
  const data = event.data;
  if (!data || typeof data.type !== "string" || !data.type.startsWith("voice-agent:")) return;
  if (data.type === "voice-agent:open" || data.type === "voice-agent:close") return;
  const item = document.createElement("li");
  item.dataset.type = data.type.slice("voice-agent:".length);
  item.textContent = JSON.stringify(data);
  log.append(item);
});
document.getElementById("open").addEventListener("click", () => window.postMessage({ type: "voice-agent:open" }, location.origin));
document.getElementById("close").addEventListener("click", () => window.postMessage({ type: "voice-agent:close" }, location.origin));
`;

/**
 * Serves the sample host page until `close()`.
 * @param options.workerUrl any URL of the Worker; its origin is used
 * @throws Error when the address cannot be listened on
 */
export async function startHostServer(options: HostServerOptions): Promise<HostServer> {
  const workerUrl = new URL(options.workerUrl).origin;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://host");
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (url.pathname === "/") {
      const agent = url.searchParams.get("agent") ?? "planner";
      if (!PROFILE_ID.test(agent)) {
        res.writeHead(400, { "content-type": "text/plain" }).end("agent must be a profile id\n");
        return;
      }
      // A strict host: Trusted Types enforced, so that any `innerHTML` of the loader's would be refused (and the
      // e2e widget tests, which allow no console error, would see it).
      res
        .writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "require-trusted-types-for 'script'",
        })
        .end(page(workerUrl, agent));
    } else if (url.pathname === "/host.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(HOST_JS);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    origin: `http://${address}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
