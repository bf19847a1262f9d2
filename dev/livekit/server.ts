/**
 * A LiveKit-protocol-compatible development server: signal v0 at `/rtc` and v1 at `/rtc/v1` (one peer connection,
 * for livekit-client and rtc-node; option `signalV1` can keep rtc-node on v0), audio SFU and data relay on werift,
 * the agent worker protocol at `/agent`, Twirp `RoomService`/`AgentDispatchService`, signed webhooks, and
 * fault injection for tests at `/dev/faults/` (faults.ts).
 * For local development and CI only; production uses LiveKit Cloud or a self-hosted livekit-server.
 * What the real SDKs require of it: docs/livekit.md.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { ClientInfo_SDK, type JoinRequest, ServerInfo, ServerInfo_Edition } from "@livekit/protocol";
import { type ClaimGrants, TokenVerifier } from "livekit-server-sdk";
import { RoomRegistry } from "./rooms.ts";
import { parseJoinRequest, roomConfigFromClaims, servesV1, type SignalV1Clients } from "./join.ts";
import { acceptParticipant } from "./signal.ts";
import { AgentDispatcher } from "./agent-dispatch.ts";
import { handleTwirp } from "./twirp.ts";
import { Faults, FAULTS_PATH, handleFault } from "./faults.ts";
import { startWebhooks } from "./webhooks.ts";
import { DEV_PORTS } from "../../contract/defaults.ts";
import { errorSummary } from "../../contract/log.ts";
import { log } from "./log.ts";

/** Options of {@link startDevLiveKit}; every field has a development default. */
export interface DevLiveKitOptions {
  /** Address to listen on for HTTP/WebSocket; default `127.0.0.1`. */
  host?: string;
  /** TCP port; default 7880 (as `livekit-server --dev`); 0 picks a free one. */
  port?: number;
  /** Default `devkey` / `secret` (the `livekit-server --dev` keys). */
  apiKey?: string;
  apiSecret?: string;
  /** URLs that receive signed webhooks. */
  webhookUrls?: string[];
  /** The one IPv4 address media binds to and ICE advertises; default: every non-internal IPv4 interface. */
  mediaAddress?: string;
  /**
   * Seconds a room in which no participant other than agents has joined stays open after its creation;
   * default 300 (livekit-server's `room.empty_timeout`). A join token's `roomConfig` overrides it for the room
   * its join creates.
   */
  emptyTimeoutS?: number;
  /**
   * Seconds a room stays open after the last participant left, once a participant other than an agent had
   * joined; default 20 (livekit-server's `room.departure_timeout`). Overridden like `emptyTimeoutS`.
   */
  departureTimeoutS?: number;
  /**
   * Seconds a token is still accepted after its `exp` (and before its `nbf`); default 60, livekit-server's
   * leeway (livekit/protocol `auth/verifier.go`, `tokenLeeway`). Tests lower it to see expiry quickly.
   */
  tokenLeewayS?: number;
  /**
   * Which SDKs `/rtc/v1` (one peer connection) serves; default `all`. `livekit-client` answers rtc-node 404 there,
   * so that it joins on `/rtc` (two peer connections), as against a livekit-server without v1: tests of v0 use it.
   */
  signalV1?: SignalV1Clients;
}

/** livekit-server's defaults of `room.empty_timeout` and `room.departure_timeout`, seconds (pkg/config/config.go). */
export const DEFAULT_EMPTY_TIMEOUT_S = 300;
export const DEFAULT_DEPARTURE_TIMEOUT_S = 20;

/** livekit-server's clock leeway on a token's `exp` and `nbf`, seconds. */
export const DEFAULT_TOKEN_LEEWAY_S = 60;

/** livekit-server-sdk's `TokenVerifier` with a fixed clock tolerance (its own default is 10 s). */
class LeewayVerifier extends TokenVerifier {
  readonly #leewayS: number;
  constructor(apiKey: string, apiSecret: string, leewayS: number) {
    super(apiKey, apiSecret);
    this.#leewayS = leewayS;
  }
  override verify(token: string): Promise<ClaimGrants> {
    return super.verify(token, this.#leewayS);
  }
}

/** A running server. */
export interface DevLiveKit {
  /** `ws://host:port`, what SDKs take as the LiveKit URL. */
  url: string;
  /** Closes every room, worker and socket, waits for queued webhooks, then stops listening. */
  close(): Promise<void>;
}

/** The server version announced to clients (livekit-client enables features by version). */
export const SERVER_VERSION = "1.9.0";

type Verified = { ok: true; claims: ClaimGrants } | { ok: false; status: number; reason: string };

function bearer(req: IncomingMessage, url: URL): string | undefined {
  return url.searchParams.get("access_token") ?? /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
}

async function verify(verifier: TokenVerifier, token: string | undefined, need: "join" | "agent"): Promise<Verified> {
  if (!token) return { ok: false, status: 401, reason: "missing access token" };
  let claims: ClaimGrants;
  try {
    claims = await verifier.verify(token);
  } catch (err) {
    return { ok: false, status: 401, reason: `invalid access token: ${errorSummary(err)}` };
  }
  if (need === "agent" && !claims.video?.agent)
    return { ok: false, status: 403, reason: "token lacks the agent grant" };
  if (need === "join" && (!claims.video?.roomJoin || !claims.video.room)) {
    return { ok: false, status: 403, reason: "token lacks roomJoin for a room" };
  }
  if (need === "join" && !claims.sub) return { ok: false, status: 401, reason: "token has no identity" };
  try {
    roomConfigFromClaims(claims); // livekit-server refuses a token whose roomConfig it cannot parse
  } catch (err) {
    return { ok: false, status: 401, reason: `invalid access token: ${errorSummary(err)}` };
  }
  return { ok: true, claims };
}

type V1Join = { ok: true; join: JoinRequest } | { ok: false; status: number; reason: string };

/**
 * The v1 join request of `/rtc/v1` or `/rtc/v1/validate`: 400 when it does not decode (livekit-server's
 * reasons), 404 when its SDK is not served v1 (`clients`; rtc-node then falls back to `/rtc`; see {@link servesV1}).
 */
function v1Join(url: URL, clients: SignalV1Clients): V1Join {
  let join: JoinRequest;
  try {
    join = parseJoinRequest(url.searchParams.get("join_request"));
  } catch (err) {
    return { ok: false, status: 400, reason: err instanceof Error ? err.message : String(err) };
  }
  if (!servesV1(join, clients)) {
    const sdk = ClientInfo_SDK[join.clientInfo?.sdk ?? ClientInfo_SDK.UNKNOWN] ?? "UNKNOWN";
    log.debug("v1_not_served", { sdk, version: join.clientInfo?.version });
    return { ok: false, status: 404, reason: `signal v1 is served to livekit-client only (this is ${sdk}): use /rtc` };
  }
  return { ok: true, join };
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  const text = { 401: "Unauthorized", 403: "Forbidden", 404: "Not Found" }[status] ?? "Bad Request";
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\nConnection: close\r\n\r\n${reason}`,
  );
}

/**
 * Starts the server.
 * @returns once listening; `url` carries the actual port when `port` was 0
 * @throws the listen error (e.g. EADDRINUSE)
 */
export async function startDevLiveKit(opts: DevLiveKitOptions = {}): Promise<DevLiveKit> {
  const host = opts.host ?? "127.0.0.1";
  const apiKey = opts.apiKey ?? "devkey";
  const v1Clients = opts.signalV1 ?? "all";
  const apiSecret = opts.apiSecret ?? "secret";
  const verifier = new LeewayVerifier(apiKey, apiSecret, opts.tokenLeewayS ?? DEFAULT_TOKEN_LEEWAY_S);
  const serverInfo = new ServerInfo({
    edition: ServerInfo_Edition.Standard,
    version: SERVER_VERSION,
    protocol: 16,
    nodeId: "ND_dev",
    region: "local",
    agentProtocol: 1,
  });
  const registry = new RoomRegistry({
    emptyTimeoutS: opts.emptyTimeoutS ?? DEFAULT_EMPTY_TIMEOUT_S,
    departureTimeoutS: opts.departureTimeoutS ?? DEFAULT_DEPARTURE_TIMEOUT_S,
    maxParticipants: 0,
  });
  const dispatcher = new AgentDispatcher(registry, { apiKey, apiSecret, serverInfo });
  const faults = new Faults();
  const flushWebhooks = startWebhooks(registry, opts.webhookUrls ?? [], apiKey, apiSecret);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 << 20 });

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://dev");
    // The browser SDK fetches /rtc/v1/validate and /rtc/validate cross-origin (livekit-server allows any origin).
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (req.method === "OPTIONS") {
      res
        .writeHead(204, {
          "Access-Control-Allow-Headers": "Authorization, Content-Type",
          "Access-Control-Allow-Methods": "GET, POST",
        })
        .end();
      return;
    }
    if (url.pathname.startsWith("/twirp/livekit.")) {
      void handleTwirp(url.pathname.slice("/twirp/livekit.".length), req, res, {
        registry,
        dispatcher,
        verifier,
        faults,
      });
      return;
    }
    if (url.pathname.startsWith(FAULTS_PATH)) {
      void handleFault(url.pathname.slice(FAULTS_PATH.length), req, res, { faults, registry, verifier });
      return;
    }
    if (url.pathname === "/rtc/validate" || url.pathname === "/rtc/v1/validate") {
      // livekit-client asks here why an upgrade failed and shows the reason (v1: the join request's too).
      const v1 = url.pathname === "/rtc/v1/validate" ? v1Join(url, v1Clients) : undefined;
      if (v1 && !v1.ok) {
        res.writeHead(v1.status, { "Content-Type": "text/plain" }).end(v1.reason);
        return;
      }
      void verify(verifier, bearer(req, url), "join").then((v) => {
        res.writeHead(v.ok ? 200 : v.status, { "Content-Type": "text/plain" }).end(v.ok ? "success" : v.reason);
      });
      return;
    }
    if (url.pathname === "/" && req.method === "GET") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("OK");
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  });

  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {});
    const url = new URL(req.url ?? "/", "http://dev");
    const route = url.pathname.replace(/\/+$/, "");
    if (route !== "/rtc" && route !== "/rtc/v1" && route !== "/agent") {
      refuseUpgrade(socket, 404, "not found");
      return;
    }
    // Both SDKs try /rtc/v1 first; an SDK it does not serve (`signalV1`) gets 404 there and rtc-node then falls back
    // to /rtc (docs/livekit.md, "Signal connection", step 1).
    const v1 = route === "/rtc/v1" ? v1Join(url, v1Clients) : undefined;
    if (v1 && !v1.ok) {
      if (v1.status !== 404) log.warn("connection_refused", { path: route, reason: v1.reason });
      refuseUpgrade(socket, v1.status, v1.reason);
      return;
    }
    void verify(verifier, bearer(req, url), route === "/agent" ? "agent" : "join").then((v) => {
      if (!v.ok) {
        log.warn("connection_refused", { path: route, reason: v.reason });
        refuseUpgrade(socket, v.status, v.reason);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        try {
          if (route === "/agent") dispatcher.acceptWorker(ws);
          else {
            const ctx = { registry, serverInfo, mediaAddress: opts.mediaAddress, apiKey, apiSecret };
            const join = v1?.ok ? v1.join : undefined;
            acceptParticipant(
              ws,
              v.claims,
              ctx,
              join
                ? { resume: join.reconnect, singlePeerConnection: true, publisherOffer: join.publisherOffer }
                : { resume: url.searchParams.get("reconnect") === "1" },
            );
          }
        } catch (err) {
          log.error("connection_setup_failed", { path: route, reason: err });
          ws.close(1011, "setup failed");
        }
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(opts.port ?? DEV_PORTS.livekit, host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const url = `ws://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log.info("server_listening", { url, media_address: opts.mediaAddress ?? "all interfaces" });

  return {
    url,
    async close() {
      registry.closeAll();
      dispatcher.close();
      for (const ws of wss.clients) ws.terminate();
      await flushWebhooks();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
