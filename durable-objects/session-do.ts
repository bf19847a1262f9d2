/**
 * `SessionDO`: one per session. Holds the lifecycle state machine (`starting → active →
 * ended(reason)`), the event log, the `/ws/transcript` sockets (Hibernation API) and the alarms.
 * The Worker calls it over RPC after it has checked the caller; the upgrade arrives via `fetch`.
 *
 * See docs/architecture.md, "Flows", "Transcript socket", "Agent ingest" and "Session lifecycle".
 */
import { DurableObject } from "cloudflare:workers";
import {
  type AgentEvent,
  type EndReason,
  ReplayQuery,
  type ServerMessage,
  type SessionStateMessage,
  type SessionStatus,
  type TranscriptResponse,
} from "../contract/index.ts";
import { errorSummary } from "../contract/log.ts";
import { readEdgeConfig } from "../edge/config.ts";
import { deleteRoom } from "../edge/livekit.ts";
import { log } from "../edge/log.ts";
import { dueReason, nextDeadline } from "./session-deadlines.ts";
import { applyBatch } from "./session-ingest.ts";
import { type SessionRow, SessionStore } from "./session-store.ts";

/** What the Worker passes to start a session. `owner` is the visitor id of the room owner. */
export interface SessionInit {
  session_id: string;
  room: string;
  identity: string;
  owner: string;
}

/**
 * What the Worker learns about a session over RPC (`info()`): who owns it, its participant identity and
 * where it is in its lifecycle. Times are epoch ms; `reason` and `ended_at` are null until it ends.
 */
export interface SessionInfo {
  session_id: string;
  room: string;
  /** The visitor's LiveKit participant identity. */
  identity: string;
  /** Visitor id (`vid` cookie) of the room owner who started the session. */
  owner: string;
  status: SessionStatus;
  reason: EndReason | null;
  started_at: number;
  ended_at: number | null;
}

/** Result of an ingest call. */
export type IngestResult =
  { status: "ok"; accepted: number; duplicates: number } | { status: "not_found" } | { status: "ended" };

/** Per-socket state kept across hibernation. */
interface SocketAttachment {
  connected_at: number;
}

/** Close code sent when the session ends (RFC 6455 normal closure). */
export const CLOSE_NORMAL = 1000;

export class SessionDO extends DurableObject<Env> {
  readonly #store: SessionStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new SessionStore(ctx.storage.sql);
    // Keep-alive pings are answered without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /**
   * Starts the session in state `starting` (seq 1 is its state message) and arms the alarm.
   * @returns false when this object already holds a session (ids are random, so this means a retry)
   */
  async create(init: SessionInit): Promise<boolean> {
    if (this.#store.row()) return false;
    const config = readEdgeConfig(this.env);
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#store.migrate();
      this.#store.insert({
        ...init,
        status: "starting",
        started_at: now,
        client_gone_since: now,
        join_timeout_s: config.agentJoinTimeoutS,
        lease_s: config.agentLeaseS,
        grace_s: config.clientGraceS,
        max_s: config.maxSessionS,
      });
      this.#appendState("starting", undefined, now);
    });
    await this.#armAlarm();
    log.info("session_created", { session_id: init.session_id, room: init.room });
    return true;
  }

  /** The session's {@link SessionInfo}, or null when there is no such session. */
  async info(): Promise<SessionInfo | null> {
    const row = this.#store.row();
    if (!row) return null;
    const { session_id, room, identity, owner, status, reason, started_at, ended_at } = row;
    return { session_id, room, identity, owner, status, reason, started_at, ended_at };
  }

  /** `GET /transcripts/{id}` body, or null when there is no such session. */
  async transcript(): Promise<TranscriptResponse | null> {
    const row = this.#store.row();
    if (!row) return null;
    return {
      session_id: row.session_id,
      room: row.room,
      status: row.status,
      ...(row.reason ? { reason: row.reason } : {}),
      started_at: row.started_at,
      ended_at: row.ended_at,
      events: this.#store.transcript(),
    };
  }

  /** Applies an ingest batch (validated by the Worker) and broadcasts what it produced. */
  async ingest(events: AgentEvent[]): Promise<IngestResult> {
    const row = this.#store.row();
    if (!row) return { status: "not_found" };
    if (row.status === "ended") return { status: "ended" };
    const outcome = this.ctx.storage.transactionSync(() => applyBatch(this.#store, events, Date.now()));
    for (const message of outcome.broadcast) this.#broadcast(message);
    for (const detail of outcome.errors) log.warn("agent_error", { session_id: row.session_id, detail });
    if (outcome.end) await this.stop(outcome.end);
    else if (outcome.accepted) await this.#armAlarm();
    return { status: "ok", accepted: outcome.accepted, duplicates: outcome.duplicates };
  }

  /**
   * Ends the session with `reason`: stores and sends the `ended` state message, closes every socket
   * with 1000, deletes the LiveKit room and frees the room's and the visitor's slots. Idempotent.
   * @returns false when there is no such session
   */
  async stop(reason: EndReason): Promise<boolean> {
    const row = this.#store.row();
    if (!row) return false;
    if (row.status === "ended") return true;
    const now = Date.now();
    const message = this.ctx.storage.transactionSync(() => {
      this.#store.update({ status: "ended", reason, ended_at: now, client_gone_since: null });
      return this.#appendState("ended", reason, now);
    });
    this.#broadcast(message);
    for (const ws of this.ctx.getWebSockets()) closeQuietly(ws, CLOSE_NORMAL, "session ended");
    await this.ctx.storage.deleteAlarm();
    log.info("session_ended", { session_id: row.session_id, room: row.room, reason });
    await this.#release(row, now);
    return true;
  }

  /** Forgets a session that never got going (its dispatch failed): storage, alarm and sockets. */
  async discard(): Promise<void> {
    for (const ws of this.ctx.getWebSockets()) closeQuietly(ws, 1011, "session discarded");
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#store.dropped();
  }

  /** Accepts a transcript socket (the Worker has checked the visitor and the Origin). */
  override async fetch(request: Request): Promise<Response> {
    const row = this.#store.row();
    if (!row) return new Response("no such session", { status: 404 });
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const query = ReplayQuery.safeParse({ after: new URL(request.url).searchParams.get("after") ?? undefined });
    const after = query.success ? (query.data.after ?? 0) : 0;
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment({ connected_at: Date.now() } satisfies SocketAttachment);
    for (const message of this.#store.after(after)) server.send(JSON.stringify(message));
    if (row.status === "ended") {
      closeQuietly(server, CLOSE_NORMAL, "session ended");
    } else if (row.client_gone_since !== null) {
      this.#store.update({ client_gone_since: null });
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(): Promise<void> {
    // The transcript socket is server → client only; anything else the client sends is ignored.
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeQuietly(ws, code === 1005 || code === 1006 ? CLOSE_NORMAL : code, "closing");
    await this.#socketGone(ws);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    log.warn("websocket_error", { session_id: this.#store.row()?.session_id, error: errorSummary(error) });
    await this.#socketGone(ws);
  }

  /** Ends the session when a deadline has passed; otherwise re-arms for the next one. */
  override async alarm(): Promise<void> {
    const row = this.#store.row();
    if (!row || row.status === "ended") return;
    const reason = dueReason(row, Date.now());
    if (reason) await this.stop(reason);
    else await this.#armAlarm();
  }

  async #socketGone(ws: WebSocket): Promise<void> {
    const row = this.#store.row();
    if (!row || row.status === "ended") return;
    const open = this.ctx.getWebSockets().filter((s) => s !== ws && s.readyState === WebSocket.OPEN);
    if (open.length === 0 && row.client_gone_since === null) {
      this.#store.update({ client_gone_since: Date.now() });
      await this.#armAlarm();
    }
  }

  #appendState(status: SessionStateMessage["status"], reason: EndReason | undefined, ts: number): ServerMessage {
    const message: SessionStateMessage = {
      type: "session",
      status,
      ...(reason ? { reason } : {}),
      seq: this.#store.nextSeq(),
      ts,
    };
    this.#store.append("state", message);
    return message;
  }

  #broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // A socket that is closing misses live messages; its client replays them with ?after=.
      }
    }
  }

  /** Moves the alarm earlier when the next deadline is earlier than the one armed. */
  async #armAlarm(): Promise<void> {
    const row = this.#store.row();
    const next = row ? nextDeadline(row) : null;
    if (next === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || next < current) await this.ctx.storage.setAlarm(next);
  }

  async #release(row: SessionRow, nowMs: number): Promise<void> {
    const config = readEdgeConfig(this.env);
    await deleteRoom(config, row.room, row.session_id);
    try {
      await this.env.ROOMS.get(this.env.ROOMS.idFromName(row.room)).endSession(row.session_id, nowMs);
      await this.env.VISITORS.get(this.env.VISITORS.idFromName(row.owner)).release(row.session_id);
    } catch (err) {
      // The reservations lapse on their own (reservation.ts, RESERVATION_SLACK_S after MAX_SESSION_S); log and move on.
      log.warn("session_release_failed", { session_id: row.session_id, error: errorSummary(err) });
    }
  }
}

function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // already closed
  }
}
