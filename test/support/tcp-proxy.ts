/**
 * A controllable TCP proxy for fault tests: it forwards every connection to one upstream (e.g. the Worker)
 * until it is paused, and a small HTTP control endpoint pauses and resumes it, so that a test running in
 * another process (a vitest worker) can cut a link that the stack's processes use.
 *
 * While paused, every open connection is cut (reset both ways, as a dropped link) and new connections are
 * either refused (`refuse`, the default: accepted and reset at once, so the client sees ECONNRESET) or held
 * (`hold`: accepted and left unanswered until resume, then forwarded, as a link that stalls).
 *
 * Control endpoint (JSON answers, every one the proxy's {@link ProxyState}):
 *
 * | request | effect |
 * | --- | --- |
 * | `GET /` | the state |
 * | `POST /pause` or `POST /pause?mode=hold` | pause: cut open connections, refuse (or hold) new ones |
 * | `POST /resume` | forward again; held connections are forwarded now |
 */
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import type { Logger } from "../../contract/log.ts";

/** What paused means for new connections. */
export type PauseMode = "refuse" | "hold";

/** The proxy's state and counters, as the control endpoint answers them. */
export interface ProxyState {
  /** The port clients connect to. */
  port: number;
  paused: boolean;
  /** The pause's mode, null while forwarding. */
  mode: PauseMode | null;
  /** Connections accepted since start (including refused and held ones). */
  accepted: number;
  /** Connections reset at accept because the proxy was paused with `refuse`. */
  refused: number;
  /** Open connections cut by a pause. */
  cut: number;
  /** Connections forwarded (or being forwarded) now. */
  open: number;
  /** Connections waiting for resume (`hold`). */
  held: number;
}

/** Options of {@link startTcpProxy}. */
export interface TcpProxyOptions {
  upstreamHost: string;
  upstreamPort: number;
  /** Address of both listeners; default 127.0.0.1. */
  host?: string;
  /** Proxy port; default 0 (a free one). */
  port?: number;
  /** Where the proxy logs its pauses, resumes and cuts (no payload is ever logged). */
  log?: Logger;
}

/** A running proxy. */
export interface TcpProxy {
  /** The port clients connect to instead of the upstream's. */
  port: number;
  /** `http://host:port` of the control endpoint. */
  controlUrl: string;
  /** The same as `POST /pause` and `POST /resume`, for the process that started the proxy. */
  pause(mode?: PauseMode): ProxyState;
  resume(): ProxyState;
  state(): ProxyState;
  /** Cuts every connection and stops both listeners. */
  close(): Promise<void>;
}

async function listen(server: Server | HttpServer, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Starts the proxy and its control endpoint.
 * @returns once both listen
 * @throws the listen error (e.g. EADDRINUSE)
 */
export async function startTcpProxy(opts: TcpProxyOptions): Promise<TcpProxy> {
  const host = opts.host ?? "127.0.0.1";
  const log = opts.log;
  let mode: PauseMode | null = null;
  const counters = { accepted: 0, refused: 0, cut: 0 };
  /** Forwarded connections: the client's socket and its upstream socket. */
  const open = new Map<Socket, Socket>();
  const held = new Set<Socket>();

  const forward = (client: Socket) => {
    const upstream = connect({ host: opts.upstreamHost, port: opts.upstreamPort });
    open.set(client, upstream);
    const end = () => {
      open.delete(client);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const proxy = createServer((client) => {
    counters.accepted++;
    client.setNoDelay(true);
    if (mode === "refuse") {
      counters.refused++;
      client.resetAndDestroy();
      return;
    }
    if (mode === "hold") {
      held.add(client);
      client.pause();
      client.on("error", () => held.delete(client)).on("close", () => held.delete(client));
      return;
    }
    forward(client);
  });

  let port = 0;
  const state = (): ProxyState => ({
    port,
    paused: mode !== null,
    mode,
    ...counters,
    open: open.size,
    held: held.size,
  });
  const pause = (how: PauseMode = "refuse"): ProxyState => {
    mode = how;
    const cut = open.size;
    for (const [client, upstream] of [...open]) {
      open.delete(client);
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    counters.cut += cut;
    log?.info("proxy_paused", { mode: how, cut });
    return state();
  };
  const resume = (): ProxyState => {
    const waiting = [...held];
    held.clear();
    mode = null;
    for (const client of waiting) {
      client.removeAllListeners("error").removeAllListeners("close");
      client.resume();
      forward(client);
    }
    log?.info("proxy_resumed", { forwarded_held: waiting.length });
    return state();
  };

  const control = createHttpServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://control");
    const reply = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.method === "GET" && url.pathname === "/") return reply(200, state());
    if (req.method === "POST" && url.pathname === "/pause") {
      const how = url.searchParams.get("mode") ?? "refuse";
      if (how !== "refuse" && how !== "hold") return reply(400, { error: "mode must be refuse or hold" });
      return reply(200, pause(how));
    }
    if (req.method === "POST" && url.pathname === "/resume") return reply(200, resume());
    reply(404, { error: "GET /, POST /pause[?mode=refuse|hold], POST /resume" });
  });

  port = await listen(proxy, opts.port ?? 0, host);
  const controlPort = await listen(control, 0, host);
  log?.info("proxy_listening", { port, control_port: controlPort, upstream_port: opts.upstreamPort });
  return {
    port,
    controlUrl: `http://${host}:${controlPort}`,
    pause,
    resume,
    state,
    async close() {
      for (const [client, upstream] of open) {
        client.destroy();
        upstream.destroy();
      }
      for (const client of held) client.destroy();
      control.closeAllConnections();
      await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => control.close(r))]);
    },
  };
}

/** A client of a proxy's control endpoint, for tests in another process. */
export interface ProxyControl {
  pause(mode?: PauseMode): Promise<ProxyState>;
  resume(): Promise<ProxyState>;
  state(): Promise<ProxyState>;
}

/**
 * The control endpoint at `controlUrl` as functions.
 * @throws from each call, an Error with the status when the endpoint does not answer 200
 */
export function proxyControl(controlUrl: string): ProxyControl {
  const call = async (method: string, path: string): Promise<ProxyState> => {
    const res = await fetch(`${controlUrl}${path}`, { method });
    if (res.status !== 200) throw new Error(`${method} ${path} on the TCP proxy: ${res.status} ${await res.text()}`);
    return (await res.json()) as ProxyState;
  };
  return {
    pause: (mode = "refuse") => call("POST", `/pause?mode=${mode}`),
    resume: () => call("POST", "/resume"),
    state: () => call("GET", "/"),
  };
}
