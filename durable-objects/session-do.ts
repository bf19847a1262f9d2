/**
 * `SessionDO`: one per session. Holds the lifecycle state machine (`starting → active ⇄ reconnecting →
 * ended(reason)`), the event log, the `/ws/transcript` sockets (Hibernation API, session-sockets.ts) and the
 * alarms. It tracks the room's participants from LiveKit's webhooks (session-presence.ts: a visitor who never
 * joins ends the session), replaces a lost agent once, keeps an ended session open to its agent's last events for
 * a closing window, retries deleting the room until it is gone, and releases the session's reservations. It takes
 * the agent's events (session-ingest.ts: its `usage` events make the conversation's usage summary, kept in its
 * listing) and actions (session-actions.ts), the visitor's typed messages (session-messages.ts) and mode switches,
 * with the live minutes they count (session-mode.ts).
 * The Worker calls it over RPC after it has checked the caller; the upgrade arrives via `fetch`.
 *
 * See docs/architecture.md, "Flows", "Transcript socket", "Agent ingest" and "Session lifecycle".
 */
import { DurableObject } from "cloudflare:workers";
import {
  type ActionRequest,
  type ActionResponse,
  type AgentEvent,
  type AgentLeaveReason,
  DEFAULT_PROFILE_ID,
  type EndReason,
  type HistoryItem,
  HISTORY_MAX_CHARS,
  HISTORY_MAX_ITEMS,
  type ServerMessage,
  type SessionMode,
  type SessionStateMessage,
  type SessionStatus,
  RESUME_HISTORY_MAX_CHARS,
  RESUME_HISTORY_MAX_ITEMS,
  SOCKET_PING,
  SOCKET_PONG,
  type TranscriptResponse,
} from "../contract/index.ts";
import { AGENT_REPLACEMENTS_MAX, CLOSING_WINDOW_S } from "../contract/defaults.ts";
import { errorSummary } from "../contract/log.ts";
import { readEdgeConfig } from "../edge/config.ts";
import { deleteRoom, dispatchAgent, type RoomNotice } from "../edge/livekit.ts";
import { log } from "../edge/log.ts";
import { type ActionBegin, beginAction, recordAction } from "./session-actions.ts";
import { conversationEntry, preview, runSummary } from "./session-conversation.ts";
import { ipCapStubById, totalCapStub } from "./session-cap-do.ts";
import { DELETE_RETRY_FOR_MS, dueAction, nextDeadline, nextDeleteAttempt } from "./session-deadlines.ts";
import { applyBatch } from "./session-ingest.ts";
import { takeTypedMessage, type TypedResult } from "./session-messages.ts";
import { liveColumnsAtStart, liveLimitMs, type ModeResult, ModeSwitch } from "./session-mode.ts";
import {
  applyRoomEvent,
  checkAgent,
  checkVisitor,
  type PresenceHost,
  type RoomEventOutcome,
} from "./session-presence.ts";
import { CLOSE_NORMAL, closeQuietly, TranscriptSockets } from "./session-sockets.ts";
import { type SessionRow, SessionStore } from "./session-store.ts";

export type { ActionBegin, ModeResult, RoomEventOutcome, TypedResult };

type VisitorStub = DurableObjectStub<import("./visitor-do.ts").VisitorDO>;

/**
 * What the Worker passes to start a session. `owner` is the visitor id of the room owner; `system_prompt`
 * the one the first agent was dispatched with (kept for a replacement agent); `ip_slot` the id string of the
 * `SessionCapDO` holding its per-address slot (session-cap-do.ts), released when the session ends; `profile` the
 * session's profile id (absent: the default assistant) and `timezone` the visitor's IANA zone, both kept for
 * its actions and a replacement agent's dispatch.
 */
export interface SessionInit {
  session_id: string;
  room: string;
  identity: string;
  owner: string;
  system_prompt?: string;
  ip_slot?: string;
  profile?: string;
  timezone?: string;
  /** How the session talks (`POST /session {mode}`); absent: `pipeline`. Kept for a replacement agent's dispatch. */
  mode?: SessionMode;
  /**
   * For a start in live mode: the owner's live ms left today, as the Worker read it before the start
   * (`VisitorDO.liveLeft`); absent: a whole day's allowance (`LIVE_MINUTES_PER_DAY`), corrected at its deadline.
   */
  live_ms_left?: number;
  /** The conversation this one continues (`POST /session {resume_from}`), and that conversation's summary. */
  resumed_from?: string;
  earlier_summary?: string;
}

/**
 * What a conversation offers one that resumes it (`POST /session {resume_from}`): its owner, its status, its profile,
 * its newest finals within `RESUME_HISTORY_MAX_ITEMS` and `RESUME_HISTORY_MAX_CHARS`, oldest first, and its summary
 * (null when none was made).
 */
export interface ResumeContext {
  owner: string;
  status: SessionStatus;
  profile: string;
  history: HistoryItem[];
  summary: string | null;
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

/**
 * Result of an ingest call: `ended` once the session and its closing window are over, `replaced` for a job
 * whose agent a replacement took over from.
 */
export type IngestResult =
  | { status: "ok"; accepted: number; duplicates: number }
  | { status: "not_found" }
  | { status: "ended" }
  | { status: "replaced" };

export class SessionDO extends DurableObject<Env> {
  readonly #store: SessionStore;
  readonly #presence: PresenceHost;
  readonly #sockets: TranscriptSockets;
  readonly #modes: ModeSwitch;
  /** Typed messages being relayed now, by id (session-messages.ts). */
  readonly #typedInFlight = new Set<string>();
  /** The usage push to the listing under way ({@link SessionDO.#pushUsage}), and whether a newer summary awaits. */
  #usagePush: Promise<void> | null = null;
  #usageDirty = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#store = new SessionStore(ctx.storage.sql);
    this.#sockets = new TranscriptSockets(ctx, this.#store);
    this.#presence = {
      store: this.#store,
      env,
      armAlarm: () => this.#armAlarm(),
      end: (reason) => this.stop(reason),
      agentLost: (why) => this.#agentLost(why),
    };
    this.#modes = new ModeSwitch({
      store: this.#store,
      config: () => readEdgeConfig(env),
      transaction: (fn) => ctx.storage.transactionSync(fn),
      broadcast: (message) => this.#broadcast(message),
      visitor: (owner) => this.#visitor(owner),
      armAlarm: () => this.#armAlarm(),
    });
    // Keep-alive pings are answered without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(SOCKET_PING, SOCKET_PONG));
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
        session_id: init.session_id,
        room: init.room,
        identity: init.identity,
        owner: init.owner,
        system_prompt: init.system_prompt ?? null,
        status: "starting",
        started_at: now,
        client_gone_since: now,
        join_timeout_s: config.agentJoinTimeoutS,
        lease_s: config.agentLeaseS,
        grace_s: config.clientGraceS,
        max_s: config.maxSessionS,
        visitor_join_s: config.clientJoinTimeoutS,
        ip_slot: init.ip_slot ?? null,
        profile: init.profile ?? null,
        timezone: init.timezone ?? null,
        mode: init.mode ?? null,
        ...liveColumnsAtStart(init.mode ?? "pipeline", now, init.live_ms_left ?? liveLimitMs(config)),
        resumed_from: init.resumed_from ?? null,
        earlier_summary: init.earlier_summary ?? null,
        retention_s: config.retentionDays > 0 ? config.retentionDays * 86_400 : null,
      });
      this.#appendState("starting", undefined, now);
    });
    await this.#armAlarm();
    // Listed in the visitor's conversations from the start; a failure leaves it unlisted (logged), not broken.
    try {
      await this.#visitor(init.owner).noteConversation(conversationEntry(this.#store.row()!, null));
    } catch (err) {
      log.warn("conversation_index_failed", { session_id: init.session_id, step: "note", error: errorSummary(err) });
    }
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
    const usage = this.#store.usage();
    return {
      session_id: row.session_id,
      room: row.room,
      ...(row.profile !== null ? { profile: row.profile } : {}),
      ...(row.mode !== null ? { mode: row.mode } : {}),
      ...(row.resumed_from !== null ? { resumed_from: row.resumed_from } : {}),
      ...(row.summary !== null ? { summary: row.summary } : {}),
      status: row.status,
      ...(row.reason ? { reason: row.reason } : {}),
      started_at: row.started_at,
      ended_at: row.ended_at,
      ...(usage !== null ? { usage } : {}),
      events: this.#store.transcript(),
    };
  }

  /**
   * Applies an ingest batch (validated by the Worker) and broadcasts what it produced. An ended session
   * still takes its current agent's events during the closing window; an `agent_left` closes the window,
   * and on a running session it counts as the agent lost (replaced once, see {@link SessionDO.roomEvent}). `usage`
   * events add to the usage summary, which then goes into the visitor's list (never on the sockets).
   * @param jobId `IngestBatch.job_id`, null when the agent did not send one
   */
  async ingest(events: AgentEvent[], jobId: string | null = null): Promise<IngestResult> {
    const row = this.#store.row();
    if (!row) return { status: "not_found" };
    const now = Date.now();
    if (jobId !== null && jobId === row.replaced_job) return { status: "replaced" };
    if (row.status === "ended") {
      const windowOpen = row.closing_until !== null && now < row.closing_until;
      const otherJob = jobId !== null && row.agent_job !== null && jobId !== row.agent_job;
      if (!windowOpen || otherJob) return { status: "ended" };
    }
    const outcome = this.ctx.storage.transactionSync(() => applyBatch(this.#store, events, now, jobId));
    for (const message of outcome.broadcast) this.#broadcast(message);
    for (const detail of outcome.errors) log.warn("agent_error", { session_id: row.session_id, detail });
    if (outcome.usage) await this.#pushUsage();
    if (outcome.agentLeft !== null) await this.#agentLeft(outcome.agentLeft);
    else if (outcome.accepted) await this.#armAlarm();
    return { status: "ok", accepted: outcome.accepted, duplicates: outcome.duplicates };
  }

  /**
   * Step one of an action call (session-actions.ts): whether the session takes it, or the stored first answer of
   * a `call_id` answered before.
   */
  async beginAction(callId: string): Promise<ActionBegin> {
    return beginAction(this.#store, callId, Date.now());
  }

  /**
   * Step two of an action call: stores the Worker's answer by `call_id`, appends it as an `ActionMessage` and
   * broadcasts it. A `call_id` answered meanwhile keeps its first answer, which is returned.
   * @returns the answer to send (the first one for a repeated `call_id`)
   */
  async recordAction(request: ActionRequest, response: ActionResponse): Promise<ActionResponse> {
    const now = Date.now();
    const out = this.ctx.storage.transactionSync(() => recordAction(this.#store, request, response, now));
    if (out.message) this.#broadcast(out.message);
    return out.response;
  }

  /**
   * A typed message from the visitor (the Worker has checked the owner and the body): relayed to the agent, then
   * stored as the visitor's turn and broadcast (session-messages.ts).
   */
  async typedMessage(id: string, text: string): Promise<TypedResult> {
    return takeTypedMessage(
      {
        store: this.#store,
        config: readEdgeConfig(this.env),
        inFlight: this.#typedInFlight,
        transaction: (fn) => this.ctx.storage.transactionSync(fn),
        broadcast: (message) => this.#broadcast(message),
      },
      id,
      text,
      Date.now(),
    );
  }

  /**
   * The visitor asks for `mode` (the Worker has checked the owner, the body and `ENABLE_VOICE_LIVE_MODE`): relayed to
   * the agent, then stored and broadcast as a `ModeMessage` (session-mode.ts).
   */
  async changeMode(mode: SessionMode): Promise<ModeResult> {
    return this.#modes.change(mode, Date.now());
  }

  /** Applies a verified LiveKit webhook about the session's room (session-presence.ts, `applyRoomEvent`). */
  async roomEvent(notice: RoomNotice): Promise<RoomEventOutcome> {
    return applyRoomEvent(this.#presence, notice);
  }

  /**
   * Ends the session with `reason`: stores and sends the `ended` state message, deletes the LiveKit room
   * (which ends the agent's job and disconnects the visitor; retried from the alarm until it succeeds) and
   * frees the room's, the visitor's, the client address's and the deployment's slots. While an agent is still
   * in the session, ingest stays open to it for the closing window (`CLOSING_WINDOW_S`, or until its
   * `agent_left`), and the sockets stay open with it; then they close with 1000. Idempotent.
   * @returns false when there is no such session
   */
  async stop(reason: EndReason): Promise<boolean> {
    return this.#end(reason, { agentDone: false });
  }

  /** Forgets a session that never got going (its dispatch failed): storage, alarm, sockets and its listing. */
  async discard(): Promise<void> {
    const row = this.#store.row();
    this.#sockets.closeAll(1011, "session discarded");
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#store.dropped();
    if (row) await this.#visitor(row.owner).forgetConversation(row.session_id);
  }

  /**
   * What a conversation that resumes this one gets ({@link ResumeContext}), or null when there is no such session.
   * @throws Error naming the `seq` of a stored message that does not match the contract
   */
  async resumeContext(): Promise<ResumeContext | null> {
    const row = this.#store.row();
    if (!row) return null;
    return {
      owner: row.owner,
      status: row.status,
      profile: row.profile ?? DEFAULT_PROFILE_ID,
      history: this.#store.history(RESUME_HISTORY_MAX_ITEMS, RESUME_HISTORY_MAX_CHARS),
      summary: row.summary,
    };
  }

  /**
   * Deletes the conversation: stops it first when it is running (the room deleted, the reservations released), then
   * closes its sockets and deletes all its storage (events, summary, alarm). Does not touch the visitor's list: the
   * caller removes the entry (`VisitorDO.forgetConversation`). Idempotent.
   * @param why for the log: `deleted` (by the visitor) or `retention`
   * @returns the session's owner (visitor id), or null when there was nothing to delete
   */
  async purge(why: "deleted" | "retention" = "deleted"): Promise<string | null> {
    const row = this.#store.row();
    if (!row) return null;
    if (row.status !== "ended") await this.stop("stopped");
    this.#sockets.closeAll(CLOSE_NORMAL, "conversation deleted");
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#store.dropped();
    log.info("conversation_purged", { session_id: row.session_id, why });
    return row.owner;
  }

  /** A transcript socket upgrade (the Worker has checked the caller): session-sockets.ts, `accept`. */
  override async fetch(request: Request): Promise<Response> {
    return this.#sockets.accept(request);
  }

  override async webSocketMessage(): Promise<void> {
    // The transcript socket is server → client only. The page's keep-alive `ping` is answered `pong` by the runtime
    // (setWebSocketAutoResponse) without reaching here; anything else a client sends is ignored.
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    closeQuietly(ws, code === 1005 || code === 1006 ? CLOSE_NORMAL : code, "closing");
    await this.#socketGone(ws);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    log.warn("websocket_error", { session_id: this.#store.row()?.session_id, error: errorSummary(error) });
    await this.#socketGone(ws);
  }

  /** Takes the step whose deadline has passed (session-deadlines.ts), then re-arms for the next one. */
  override async alarm(): Promise<void> {
    const row = this.#store.row();
    if (!row) return;
    const action = dueAction(row, Date.now());
    switch (action?.kind) {
      case undefined:
        break;
      case "end":
        await this.stop(action.reason);
        break;
      case "check_agent":
        await checkAgent(this.#presence, row);
        break;
      case "check_visitor":
        await checkVisitor(this.#presence, row);
        break;
      case "agent_lost":
        await this.#agentLost("no heartbeat although LiveKit lists the agent in the room");
        break;
      case "live_limit":
        await this.#modes.liveLimitDue(Date.now());
        break;
      case "close_window":
        this.#closeWindow();
        break;
      case "delete_room":
        await this.#deleteRoom(row);
        break;
      case "summarize":
        await this.#summarize(row);
        break;
      case "purge":
        // Unlisted first: when that fails the alarm retries, and the conversation is never left unlisted yet stored.
        await this.#visitor(row.owner).forgetConversation(row.session_id);
        await this.purge("retention");
        return;
    }
    await this.#armAlarm();
  }

  async #end(reason: EndReason, { agentDone }: { agentDone: boolean }): Promise<boolean> {
    const row = this.#store.row();
    if (!row) return false;
    if (row.status === "ended") return true;
    const now = Date.now();
    // An agent that joined and has not said it left may still post its last words (an interrupted reply).
    const agentAround = !agentDone && row.agent_job !== null;
    const message = this.ctx.storage.transactionSync(() => {
      this.#store.update({
        status: "ended",
        reason,
        ended_at: now,
        client_gone_since: null,
        visitor_left_at: null,
        reconnect_since: null,
        closing_until: agentAround ? now + CLOSING_WINDOW_S * 1000 : null,
        room_delete_at: now,
        // A summary once the agent's last words are in (after the closing window); none when nothing was said.
        summary_at: now,
      });
      return this.#appendState("ended", reason, now);
    });
    this.#broadcast(message);
    if (!agentAround) this.#sockets.closeAll();
    log.info("session_ended", { session_id: row.session_id, room: row.room, reason, closing_window: agentAround });
    await this.#deleteRoom(this.#store.row()!);
    // The live time is counted first: the VisitorDO then keeps it when the session's slot, its last, is released.
    await this.#modes.endLive(now);
    await this.#releaseReservations(row, now);
    await this.#updateListing({ status: "ended", reason, ended_at: now, preview: preview(this.#store.finals()) });
    // Again at the end, should an earlier push have failed.
    if (this.#store.usage() !== null) await this.#pushUsage();
    await this.#armAlarm();
    return true;
  }

  /** One summary attempt (session-conversation.ts); the result goes into the visitor's list too. */
  async #summarize(row: SessionRow): Promise<void> {
    const summary = await runSummary(this.#store, readEdgeConfig(this.env), row, Date.now());
    if (summary !== null) await this.#updateListing({ summary });
  }

  /** Changes the session's entry in its owner's conversation list; a failure is logged, not thrown. */
  async #updateListing(change: Parameters<VisitorStub["updateConversation"]>[1]): Promise<void> {
    const row = this.#store.row();
    if (!row) return;
    try {
      await this.#visitor(row.owner).updateConversation(row.session_id, change);
    } catch (err) {
      log.warn("conversation_index_failed", { session_id: row.session_id, step: "update", error: errorSummary(err) });
    }
  }

  /**
   * Puts the session's current usage summary into its listing. Pushes never overlap: one asked for while another is
   * under way joins it, and it sends the newest summary once more when it is done, so the last one written is the
   * newest whatever the order of the calls. A failure is logged (by {@link SessionDO.#updateListing}), not thrown.
   */
  #pushUsage(): Promise<void> {
    this.#usageDirty = true;
    this.#usagePush ??= this.#drainUsage().finally(() => {
      this.#usagePush = null;
    });
    return this.#usagePush;
  }

  /** Sends the newest usage summary to the listing until no newer one is waiting. */
  async #drainUsage(): Promise<void> {
    while (this.#usageDirty) {
      this.#usageDirty = false;
      const usage = this.#store.usage();
      if (usage !== null) await this.#updateListing({ usage });
    }
  }

  #visitor(owner: string): VisitorStub {
    return this.env.VISITORS.get(this.env.VISITORS.idFromName(owner));
  }

  /**
   * The current agent is done (`agent_left`): after the end it closes the closing window; an agent that left
   * because of its own limits (`max_session`, `no_visitor`) ends the session (`timeout`); any other departure
   * of a running session counts as a lost agent.
   */
  async #agentLeft({ reason, detail }: { reason: AgentLeaveReason | null; detail: string }): Promise<void> {
    const row = this.#store.row()!;
    if (row.status === "ended") {
      this.#closeWindow();
      return this.#armAlarm(); // the summary is due once the window closes
    }
    if (reason === "max_session" || reason === "no_visitor") {
      await this.#end("timeout", { agentDone: true });
    } else if (row.status === "starting") {
      await this.#end("agent_lost", { agentDone: true });
    } else {
      await this.#agentLost(`agent_left (${reason ?? "no reason"}): ${detail}`, { agentDone: true });
    }
  }

  /**
   * The current agent is lost (it left, its participant left the room, or it went silent). A running
   * session dispatches one replacement agent into the same room with the stored finals as its history
   * (status `reconnecting`); when replacements are used up, or the dispatch fails, it ends with `agent_lost`.
   * While the visitor is away (its grace running) there is no one to replace the agent for: the session ends
   * with `timeout`.
   */
  async #agentLost(why: string, { agentDone = false } = {}): Promise<void> {
    const row = this.#store.row()!;
    if (row.status === "ended") return;
    if (row.visitor_left_at !== null) {
      // The visitor has left too (LiveKit closing the room takes the agent with it): no one to replace it for.
      log.warn("agent_lost", { session_id: row.session_id, status: row.status, why, replaced: false });
      await this.#end("timeout", { agentDone });
      return;
    }
    if (row.status !== "active" || row.replacements >= AGENT_REPLACEMENTS_MAX) {
      log.warn("agent_lost", { session_id: row.session_id, status: row.status, why, replaced: false });
      await this.#end("agent_lost", { agentDone });
      return;
    }
    const now = Date.now();
    const message = this.ctx.storage.transactionSync(() => {
      this.#store.update({
        status: "reconnecting",
        reconnect_since: now,
        replacements: row.replacements + 1,
        replaced_job: row.agent_job,
        agent_job: null,
        agent_sid: null,
        agent_seen_at: null,
      });
      return this.#appendState("reconnecting", undefined, now);
    });
    this.#broadcast(message);
    log.warn("agent_lost", { session_id: row.session_id, status: row.status, why, replaced: true });
    try {
      await dispatchAgent(readEdgeConfig(this.env), row.room, {
        session_id: row.session_id,
        ...(row.profile !== null ? { profile: row.profile } : {}),
        ...(row.timezone !== null ? { timezone: row.timezone } : {}),
        ...(row.system_prompt !== null ? { system_prompt: row.system_prompt } : {}),
        ...(row.mode === "live" ? { mode: "live" as const } : {}),
        history: this.#store.history(HISTORY_MAX_ITEMS, HISTORY_MAX_CHARS),
      });
      log.info("agent_replacement_dispatched", { session_id: row.session_id, room: row.room });
    } catch (err) {
      log.warn("agent_replacement_failed", { session_id: row.session_id, error: errorSummary(err) });
      await this.#end("agent_lost", { agentDone: true });
      return;
    }
    await this.#armAlarm();
  }

  /**
   * Tries `DeleteRoom`. On failure the next attempt is scheduled with backoff (the alarm retries) until it
   * succeeds, the room is gone, or `DELETE_RETRY_FOR_MS` after the end (then it gives up, logged).
   */
  async #deleteRoom(row: SessionRow): Promise<void> {
    if (row.room_delete_at === null) return;
    const deleted = await deleteRoom(readEdgeConfig(this.env), row.room, row.session_id);
    const now = Date.now();
    if (deleted) {
      if (row.room_delete_failures > 0) {
        log.info("room_deleted_after_retries", { session_id: row.session_id, failures: row.room_delete_failures });
      }
      this.#store.update({ room_delete_at: null });
      return;
    }
    const failures = row.room_delete_failures + 1;
    if (now - (row.ended_at ?? now) > DELETE_RETRY_FOR_MS) {
      log.error("room_delete_abandoned", { session_id: row.session_id, room: row.room, failures });
      this.#store.update({ room_delete_at: null, room_delete_failures: failures });
      return;
    }
    const at = nextDeleteAttempt(now, failures, Math.random());
    this.#store.update({ room_delete_at: at, room_delete_failures: failures });
    log.warn("room_delete_retry_scheduled", { session_id: row.session_id, failures, in_ms: at - now });
  }

  #closeWindow(): void {
    const row = this.#store.row();
    if (!row || row.closing_until === null) return;
    this.#store.update({ closing_until: null });
    this.#sockets.closeAll();
  }

  async #socketGone(ws: WebSocket): Promise<void> {
    const row = this.#store.row();
    if (!row || row.status === "ended") return;
    if (!this.#sockets.othersOpen(ws) && row.client_gone_since === null) {
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
    this.#sockets.broadcast(message);
  }

  /**
   * Moves the alarm earlier when the next deadline is earlier than the one armed (a later alarm is left alone:
   * when it fires early, the handler finds nothing due and re-arms; this saves a write per heartbeat).
   */
  async #armAlarm(): Promise<void> {
    const row = this.#store.row();
    const next = row ? nextDeadline(row) : null;
    if (next === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || next < current) await this.ctx.storage.setAlarm(next);
  }

  /**
   * Frees what the session held: the room's active session, the visitor's, the address's and the deployment's
   * slots, each on its own. One that fails is logged and lapses by itself (reservation.ts, RESERVATION_SLACK_S
   * after MAX_SESSION_S). Once the address's slot is free, the row forgets which object held it.
   */
  async #releaseReservations(row: SessionRow, nowMs: number): Promise<void> {
    const { env } = this;
    const { ip_slot: ipSlot, session_id: sessionId } = row;
    const results = await Promise.allSettled([
      env.ROOMS.get(env.ROOMS.idFromName(row.room)).endSession(sessionId, nowMs),
      env.VISITORS.get(env.VISITORS.idFromName(row.owner)).release(sessionId),
      (async () => ipSlot !== null && (await ipCapStubById(env, ipSlot).release(sessionId)))(),
      totalCapStub(env).release(sessionId),
    ]);
    const names = ["room", "visitor", "ip", "total"];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") return;
      const fields = { session_id: sessionId, reservation: names[i], error: errorSummary(r.reason) };
      log.warn("session_release_failed", fields);
    });
    if (ipSlot !== null && results[2]!.status === "fulfilled") this.#store.update({ ip_slot: null });
  }
}
