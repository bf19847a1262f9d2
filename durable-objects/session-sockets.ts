/**
 * The `SessionDO`'s transcript sockets (`/ws/transcript/{session_id}`, Hibernation API): accepting one with the
 * replay of the stored messages, the cap per session, broadcasting and closing. The `SessionDO` keeps the runtime's
 * handlers (`webSocketClose`, `webSocketError`) and what a socket's departure means for the session (its client
 * grace period); this module only handles the sockets.
 *
 * See docs/architecture.md, "Transcript socket".
 */
import { ReplayQuery, type ServerMessage } from "../contract/index.ts";
import { TRANSCRIPT_SOCKET_SILENT_S, TRANSCRIPT_SOCKETS_MAX } from "../contract/defaults.ts";
import type { SessionStore } from "./session-store.ts";

/** Close code sent when the session ends (RFC 6455 normal closure). */
export const CLOSE_NORMAL = 1000;

/** Per-socket state kept across hibernation. */
interface SocketAttachment {
  connected_at: number;
}

/** The transcript sockets of one `SessionDO`. */
export class TranscriptSockets {
  readonly #ctx: DurableObjectState;
  readonly #store: SessionStore;

  constructor(ctx: DurableObjectState, store: SessionStore) {
    this.#ctx = ctx;
    this.#store = store;
  }

  /**
   * Accepts a transcript socket (the Worker has checked the visitor, the Origin and the rate limit) and replays the
   * stored messages after `?after=`. A socket to an ended session is closed after the replay, unless the closing
   * window is open. Marks the visitor as connected. Refuses with a contract `ErrorBody`: 404 `session_not_found`,
   * 426 `upgrade_required`, or 429 `too_many_sockets` when `TRANSCRIPT_SOCKETS_MAX` sockets are open and none of
   * them has been silent (no keep-alive `ping`) for `TRANSCRIPT_SOCKET_SILENT_S`.
   */
  accept(request: Request): Response {
    // Refusals are contract `ErrorBody`s; the Worker turns them into the socket's error frame.
    const refuse = (status: number, code: string, message: string) =>
      Response.json({ error: { code, message } }, { status });
    const row = this.#store.row();
    if (!row) return refuse(404, "session_not_found", "There is no session with this id.");
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return refuse(426, "upgrade_required", "This address only accepts WebSocket upgrades.");
    }
    if (!this.#makeRoom()) {
      const message = `This session already has ${TRANSCRIPT_SOCKETS_MAX} transcript connections open.`;
      return refuse(429, "too_many_sockets", message);
    }
    const query = ReplayQuery.safeParse({ after: new URL(request.url).searchParams.get("after") ?? undefined });
    const after = query.success ? (query.data.after ?? 0) : 0;
    const { 0: client, 1: server } = new WebSocketPair();
    this.#ctx.acceptWebSocket(server);
    server.serializeAttachment({ connected_at: Date.now() } satisfies SocketAttachment);
    for (const message of this.#store.after(after)) server.send(JSON.stringify(message));
    if (row.status === "ended") {
      // During the closing window the socket stays open for the agent's last events.
      if (row.closing_until === null) closeQuietly(server, CLOSE_NORMAL, "session ended");
    } else if (row.client_gone_since !== null || row.client_connected_at === null) {
      this.#store.update({ client_gone_since: null, client_connected_at: row.client_connected_at ?? Date.now() });
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Sends `message` on every socket; one that is closing misses it (its client replays with `?after=`). */
  broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const ws of this.#ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // A socket that is closing misses live messages; its client replays them with ?after=.
      }
    }
  }

  /** Closes every socket with `code` (default 1000, the session ended). */
  closeAll(code = CLOSE_NORMAL, reason = "session ended"): void {
    for (const ws of this.#ctx.getWebSockets()) closeQuietly(ws, code, reason);
  }

  /** Whether a socket other than `gone` is still open. */
  othersOpen(gone: WebSocket): boolean {
    return this.#ctx.getWebSockets().some((s) => s !== gone && s.readyState === WebSocket.OPEN);
  }

  /**
   * Makes room for one more socket: with `TRANSCRIPT_SOCKETS_MAX` open, the ones silent for
   * `TRANSCRIPT_SOCKET_SILENT_S` (no keep-alive ping answered since, nor connected within) are closed first (1001,
   * going away).
   * @returns false when the cap is still reached
   */
  #makeRoom(): boolean {
    const open = this.#ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
    if (open.length < TRANSCRIPT_SOCKETS_MAX) return true;
    const silentBefore = Date.now() - TRANSCRIPT_SOCKET_SILENT_S * 1000;
    const silent = open.filter((ws) => {
      const pinged = this.#ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const connected = (ws.deserializeAttachment() as SocketAttachment | null)?.connected_at ?? 0;
      return Math.max(pinged, connected) < silentBefore;
    });
    for (const ws of silent) closeQuietly(ws, 1001, "silent");
    return open.length - silent.length < TRANSCRIPT_SOCKETS_MAX;
  }
}

/** Closes `ws` with `code`, ignoring a socket that is closed already. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
