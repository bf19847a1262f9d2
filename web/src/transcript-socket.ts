/**
 * The transcript WebSocket `/ws/transcript/{session_id}` (docs/architecture.md, "Transcript socket"): validates
 * every frame against the wire contract, re-opens a dropped socket with exponential backoff and
 * `?after=<last seq>` so that stored events are replayed, and drops frames already delivered. While open it
 * sends the keep-alive `ping` every `SOCKET_PING_INTERVAL_S` (idle proxies close silent connections; the server
 * answers `pong` without waking the session's Durable Object), and a socket that has received nothing since the
 * previous ping counts as dropped (a half-open connection the browser has not noticed) and is re-opened.
 */
import {
  ServerMessage,
  SOCKET_PING,
  SOCKET_PING_INTERVAL_S,
  SOCKET_PONG,
  SocketErrorMessage,
  type ServerMessage as Message,
} from "../../contract/index.ts";

export interface SocketHandlers {
  /** A new, valid frame (never one whose `seq` was already delivered). */
  onMessage(message: Message): void;
  /** The socket is open (true) or down and being re-opened (false). */
  onConnection(connected: boolean): void;
  /**
   * The socket will not be re-opened: the server refused it (`{type:"error"}` frame; `code` is the
   * server's) or it stayed down longer than `giveUpMs` (`code` = `connection_lost`).
   */
  onFatal(code: string, message: string): void;
}

export interface BackoffOptions {
  /** First retry delay, ms. */
  initialMs: number;
  /** Longest retry delay, ms. */
  maxMs: number;
  /** How long the socket may stay down before `onFatal`, ms (below the server's CLIENT_GRACE_S). */
  giveUpMs: number;
  /** Interval of the keep-alive `ping`, ms; default `SOCKET_PING_INTERVAL_S`. */
  pingMs?: number;
}

/** An open socket that lasted this long (ms) counts as working again. */
const STABLE_MS = 3000;

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 250,
  maxMs: 4000,
  giveUpMs: 20_000,
  pingMs: SOCKET_PING_INTERVAL_S * 1000,
};

/** Close code the page uses for a socket it gives up on after a missed `pong` (RFC 6455: 4000–4999 are private). */
export const CLOSE_KEEPALIVE_TIMEOUT = 4000;

/**
 * Delay before retry number `attempt` (0-based): `initialMs·2^attempt`, capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so that many pages do not reconnect in lockstep.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const base = Math.min(options.maxMs, options.initialMs * 2 ** attempt);
  return base / 2 + (random() * base) / 2;
}

export class TranscriptSocket {
  readonly #url: string;
  readonly #handlers: SocketHandlers;
  readonly #backoff: BackoffOptions;
  #ws: WebSocket | null = null;
  #lastSeq = 0;
  #attempt = 0;
  #downSince = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #done = false;
  /** The `ended` session state was received: the server's close 1000 that follows is final. */
  #ended = false;

  /**
   * @param sessionId the session whose events to receive
   * @param handlers callbacks; never called after `close()`
   * @param origin `location.origin` of the page (http → ws, https → wss)
   */
  constructor(sessionId: string, handlers: SocketHandlers, origin = location.origin, backoff = DEFAULT_BACKOFF) {
    this.#url = `${origin.replace(/^http/, "ws")}/ws/transcript/${encodeURIComponent(sessionId)}`;
    this.#handlers = handlers;
    this.#backoff = backoff;
  }

  /** Highest `seq` delivered so far. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Opens the socket (first time or after a drop). */
  open(): void {
    if (this.#done) return;
    const url = this.#lastSeq > 0 ? `${this.#url}?after=${this.#lastSeq}` : this.#url;
    const ws = new WebSocket(url);
    this.#ws = ws;
    let openedAt = 0;
    let delivered = false;
    /** Whether anything (a frame or a `pong`) arrived since the last `ping`. */
    let heard = true;
    /** The socket is gone (closed, or silent past a ping): re-open it unless the session is over. */
    const down = (code: number | null) => {
      if (this.#ws !== ws || this.#done) return;
      this.#ws = null;
      clearInterval(this.#pingTimer);
      // Only a socket that worked resets the backoff: one accepted and dropped at once keeps counting
      // towards giving up.
      if (openedAt > 0 && (delivered || Date.now() - openedAt >= STABLE_MS)) {
        this.#attempt = 0;
        this.#downSince = 0;
      }
      // 1000 after the `ended` state message: the session is over, nothing to re-open.
      if (code === 1000 && this.#ended) return this.close();
      this.#retry();
    };
    ws.onopen = () => {
      openedAt = Date.now();
      this.#handlers.onConnection(true);
      clearInterval(this.#pingTimer);
      this.#pingTimer = setInterval(() => {
        if (this.#ws !== ws) return;
        if (!heard) {
          // No pong for a whole interval: a half-open connection. Re-open at once, without waiting for the
          // browser's closing handshake on a dead network.
          down(null);
          return ws.close(CLOSE_KEEPALIVE_TIMEOUT, "keep-alive timeout");
        }
        heard = false;
        ws.send(SOCKET_PING);
      }, this.#backoff.pingMs ?? DEFAULT_BACKOFF.pingMs);
    };
    ws.onmessage = (event) => {
      delivered = true;
      heard = true;
      this.#frame(event.data);
    };
    ws.onclose = (event) => down(event.code);
  }

  /** Closes the socket for good (Stop, or the session ended). Idempotent. */
  close(): void {
    this.#done = true;
    clearTimeout(this.#timer);
    clearInterval(this.#pingTimer);
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, "client closed");
  }

  #frame(data: unknown): void {
    if (this.#done || typeof data !== "string" || data === SOCKET_PONG) return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return console.warn(JSON.stringify({ level: "warn", msg: "transcript frame is not JSON" }));
    }
    const refused = SocketErrorMessage.safeParse(json);
    if (refused.success) {
      const { code, message } = refused.data;
      this.close();
      return this.#handlers.onFatal(code, message);
    }
    const parsed = ServerMessage.safeParse(json);
    if (!parsed.success) return console.warn(JSON.stringify({ level: "warn", msg: "invalid transcript frame" }));
    const message = parsed.data;
    if (message.seq <= this.#lastSeq) return;
    this.#lastSeq = message.seq;
    if ("type" in message && message.type === "session" && message.status === "ended") this.#ended = true;
    this.#handlers.onMessage(message);
  }

  #retry(): void {
    const now = Date.now();
    if (this.#downSince === 0) this.#downSince = now;
    this.#handlers.onConnection(false);
    if (now - this.#downSince >= this.#backoff.giveUpMs) {
      this.close();
      return this.#handlers.onFatal("connection_lost", "the transcript connection stayed down");
    }
    const delay = backoffDelay(this.#attempt++, this.#backoff);
    this.#timer = setTimeout(() => this.open(), delay);
  }
}
