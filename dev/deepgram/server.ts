/**
 * A local Deepgram stand-in for offline development and tests: the part of Deepgram's API that
 * `@livekit/agents-plugin-deepgram` 1.9.0 uses in a voice session, served from one http server. It is a stand-in
 * for the paid Deepgram API and says so in its logs.
 *
 * | route | engine |
 * | --- | --- |
 * | `GET /v1/listen` (WebSocket) | live transcription: pocketsphinx, interim + final results (listen.ts) |
 * | `GET /v1/speak` (WebSocket) | streaming speech: espeak-ng, linear16 (speak.ts) |
 * | `GET /` | a JSON note saying what this is (for readiness checks) |
 *
 * Every request must carry `Authorization: Token <key>` with the stand-in's key ({@link STAND_IN_DEEPGRAM_KEY}
 * unless another is given): another key, or none, is refused as Deepgram refuses it, 401
 * `{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":…}` (with the `dg-error` header a
 * refused WebSocket handshake carries), and query parameters the stand-in cannot serve with 400
 * `{"err_code":"Bad Request","err_msg":…,"request_id":…}` (developers.deepgram.com/reference/errors, read 2026-12).
 * The REST routes (`POST /v1/listen`, `POST /v1/speak`) answer 404 in that shape: the plugin uses them only outside
 * a streaming session (`STT.recognize`, `TTS.synthesize`, which agent/deepgram.ts sends over the socket instead).
 */
import { DEV_PORTS } from "../../contract/defaults.ts";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { createLogger } from "../../contract/log.ts";
import { IDLE_TIMEOUT_MS, parseListenParams, serveListen } from "./listen.ts";
import { parseSpeakParams, serveSpeak } from "./speak.ts";

/**
 * The API key `npm run dev` gives the agent for the stand-in (`DEEPGRAM_API_KEY`): not a secret, but the stand-in
 * refuses any other, so that a client that sends no key or the wrong one fails here as it would against Deepgram.
 */
export const STAND_IN_DEEPGRAM_KEY = "dg-local-stand-in";

/** Default port of `npm run dev`'s Deepgram stand-in (`DEEPGRAM_DEV_PORT`): contract/defaults.ts `DEV_PORTS`. */
export const DEEPGRAM_DEV_PORT = DEV_PORTS.deepgram;

export interface DevDeepgramOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (ephemeral). The CLI uses {@link DEEPGRAM_DEV_PORT}. */
  port?: number;
  /** The one key accepted; default {@link STAND_IN_DEEPGRAM_KEY}. */
  apiKey?: string;
  /**
   * Where log lines go, one JSON object each in the project's log line shape (contract/log.ts) with component
   * "deepgram-dev" and `stand_in: true`; default stdout.
   */
  log?: (line: string) => void;
  /** A live transcription socket without audio or a message this long closes (1011 `NET-0001`); default 10 s. */
  idleTimeoutMs?: number;
}

export interface DevDeepgram {
  /** The base URL for `DEEPGRAM_BASE_URL`, `http://host:port` (the sockets are `ws://host:port/v1/…`). */
  baseURL: string;
  close(): Promise<void>;
}

/** Deepgram's error body. */
function errorBody(code: string, message: string): string {
  return JSON.stringify({ err_code: code, err_msg: message, request_id: randomUUID() });
}

/** Answers an upgrade request with an http error instead of switching protocols. */
function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = errorBody(code, message);
  const reason = status === 401 ? "Unauthorized" : status === 404 ? "Not Found" : "Bad Request";
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ndg-error: ${message.replace(/[\r\n]/g, " ")}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** A socket's parsed query and how to serve it, or the 400 message. */
type Serve = { ok: true; params: object; start: (ws: WebSocket) => void } | { ok: false; message: string };

function withParams<P extends object>(
  parsed: { ok: true; params: P } | { ok: false; message: string },
  serve: (params: P, ws: WebSocket) => void,
): Serve {
  return parsed.ok ? { ok: true, params: parsed.params, start: (ws) => serve(parsed.params, ws) } : parsed;
}

/**
 * Starts the stand-in.
 * @returns its base URL and a `close()` that stops it (and its sockets)
 * @throws the listen error (e.g. EADDRINUSE)
 */
export async function startDevDeepgram(opts: DevDeepgramOptions = {}): Promise<DevDeepgram> {
  const key = opts.apiKey ?? STAND_IN_DEEPGRAM_KEY;
  const log = createLogger({
    component: "deepgram-dev",
    fields: { stand_in: true },
    write: opts.log ?? ((line) => void process.stdout.write(line + "\n")),
  });
  const authorized = (req: IncomingMessage) => req.headers.authorization === `Token ${key}`;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const reply = (status: number, body: string) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(body);
    };
    if (req.method === "GET" && path === "/") {
      return reply(200, JSON.stringify({ stand_in: true, note: "not the Deepgram API: see dev/deepgram/server.ts" }));
    }
    if (!authorized(req)) return reply(401, errorBody("INVALID_AUTH", "Invalid credentials."));
    reply(404, errorBody("Not Found", `the stand-in serves only the WebSockets GET /v1/listen and /v1/speak`));
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    const route = url.pathname.replace(/\/+$/, "");
    if (route !== "/v1/listen" && route !== "/v1/speak") {
      return refuseUpgrade(socket, 404, "Not Found", `no WebSocket route ${route}`);
    }
    if (!authorized(req)) {
      log.info("stand_in_auth_refused", { route, status: 401 });
      return refuseUpgrade(socket, 401, "INVALID_AUTH", "Invalid credentials.");
    }
    const serve =
      route === "/v1/listen"
        ? withParams(parseListenParams(url.searchParams), (params, ws) =>
            serveListen(ws, params, log, opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS),
          )
        : withParams(parseSpeakParams(url.searchParams), (params, ws) => serveSpeak(ws, params, log));
    if (!serve.ok) {
      log.info("stand_in_error", { route, status: 400, error: serve.message });
      return refuseUpgrade(socket, 400, "Bad Request", serve.message);
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      log.info("stand_in_connected", { route, ...serve.params });
      serve.start(ws);
    });
  });

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  const baseURL = `http://${shown}:${port}`;
  log.info("stand_in_listening", {
    base_url: baseURL,
    note: "not the Deepgram API: pocketsphinx for /v1/listen, espeak-ng for /v1/speak",
  });
  return {
    baseURL,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
