/**
 * The `SessionDO`'s side of switching mode mid-conversation (`POST /session/{id}/mode`, contract/mode.ts) and of the
 * daily live-minutes limit (`LIVE_MINUTES_PER_DAY`).
 *
 * A change is relayed first and stored after, like a typed message (session-messages.ts): LiveKit's `SendData` from
 * the server to the agent's participant only, on `TOPIC_MODE_CHANGE`, a `ModeRelayBody` with a fresh id signed with
 * `AGENT_INGEST_SECRET` like ingest. Only once LiveKit has taken it does the session store the new mode (row `mode`,
 * which a replacement agent's dispatch and `GET /transcripts` `mode` read), append a `ModeMessage` (stored kind
 * `mode`: in the transcript and the socket replay, never in the finals a summary, preview, history or resume read)
 * and broadcast it. A refused relay stores nothing. One change at a time per session.
 *
 * Live time: a session counts it from when it enters live mode (a start in live mode, or a switch) in `live_since`,
 * and adds it to its owner's `VisitorDO` (live-usage-store.ts) when it leaves live mode (a switch to the pipeline, or
 * the end of the session for any reason); a failure to add is logged, not thrown (that time then goes uncounted).
 * Entering live mode needs at least {@link LIVE_MIN_MS} left today. While live, `live_until` is when the day's
 * allowance runs out; the alarm's `live_limit` deadline (session-deadlines.ts) then counts the time used so far and,
 * unless time is left after all (a new UTC day began), switches to the pipeline with reason `live_limit` the same way.
 * When that relay fails, or the session has no agent to tell (starting or reconnecting), it is retried
 * {@link LIVE_LIMIT_RETRY_MS} later, live time counting meanwhile: the mode is not stored without the agent being
 * told, since a replacement was dispatched with the mode the row had then. Concurrent sessions of one visitor each
 * know only the time the others had counted when they entered live mode, so together they may overrun the day's
 * allowance by up to the time they overlap.
 *
 * See docs/architecture.md, "Mode switch".
 */
import {
  type ModeChangeReason,
  type ModeMessage,
  type ModeRelayBody,
  type SessionMode,
  signIngest,
  TOPIC_MODE_CHANGE,
  type TypedRelayPacket,
} from "../contract/index.ts";
import { errorSummary } from "../contract/log.ts";
import type { EdgeConfig } from "../edge/config.ts";
import { sendServerData } from "../edge/livekit.ts";
import { log } from "../edge/log.ts";
import { randomId } from "../edge/random-id.ts";
import { findAgent } from "./session-messages.ts";
import type { SessionRow, SessionStore } from "./session-store.ts";

/** Wait before a fallback to the pipeline that could not be relayed is tried again, ms. */
export const LIVE_LIMIT_RETRY_MS = 5000;

/** Least live time, ms, a visitor must have left today to enter live mode (less counts as none). */
export const LIVE_MIN_MS = 1000;

/**
 * What became of a mode change:
 * - `ok`: the session's mode is now `mode` (`changed`: false when it already was; nothing was sent); `live_s_left`
 *   the owner's live seconds left today (for a session in live mode: until it falls back to the pipeline);
 * - `not_found`: no such session; `ended`: the session has ended;
 * - `not_ready`: no agent to tell yet (starting, or reconnecting to a replacement agent);
 * - `in_flight`: another change of this session is being relayed;
 * - `live_limit`: the owner has no live time left today (nothing was sent);
 * - `unreachable`: LiveKit refused the relay or could not be reached (logged); nothing was stored.
 */
export type ModeResult =
  | { status: "ok"; mode: SessionMode; changed: boolean; live_s_left: number }
  | { status: "not_found" | "ended" | "not_ready" | "in_flight" | "live_limit" | "unreachable" };

/** What the owner's `VisitorDO` offers for live time (visitor-do.ts). */
export interface LiveUsageKeeper {
  liveLeft(limitMs: number, nowMs: number): Promise<number>;
  addLiveUsage(fromMs: number, toMs: number, limitMs: number): Promise<number>;
}

/** What {@link ModeSwitch} needs of its `SessionDO`. */
export interface ModeHost {
  store: SessionStore;
  /** The edge configuration (`readEdgeConfig` of the object's env). */
  config(): EdgeConfig;
  /** Runs `fn` in one storage transaction (`ctx.storage.transactionSync`). */
  transaction<T>(fn: () => T): T;
  /** Sends a message on every transcript socket. */
  broadcast(message: ModeMessage): void;
  /** The `VisitorDO` of visitor id `owner`. */
  visitor(owner: string): LiveUsageKeeper;
  /** Arms the alarm for the session's next deadline. */
  armAlarm(): Promise<void>;
}

/** A stretch of live mode not yet counted: epoch ms. */
interface Stretch {
  from: number;
  to: number;
}

type Relayed = { status: "ok"; leftMs: number } | { status: "not_found" | "ended" | "not_ready" | "unreachable" };

/** The day's live allowance of `config`, ms (`LIVE_MINUTES_PER_DAY` × 60 000). */
export function liveLimitMs(config: EdgeConfig): number {
  return config.liveMinutesPerDay * 60_000;
}

/**
 * The live columns of a session that starts at `nowMs` (epoch ms) in `mode`, with `leftMs` of live time left today.
 */
export function liveColumnsAtStart(
  mode: SessionMode,
  nowMs: number,
  leftMs: number,
): Pick<SessionRow, "live_since" | "live_until"> {
  return mode === "live" ? { live_since: nowMs, live_until: nowMs + leftMs } : { live_since: null, live_until: null };
}

/** Whole seconds in `ms` (never negative). */
const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));

const encoder = new TextEncoder();

/** A session's mode changes and live-time accounting; one per `SessionDO` instance. */
export class ModeSwitch {
  readonly #host: ModeHost;
  /** Whether a change is being relayed now (in memory: a relay lasts one request or one alarm). */
  #busy = false;

  constructor(host: ModeHost) {
    this.#host = host;
  }

  /**
   * The visitor asks for `mode` (the Worker has checked the owner, the body and `ENABLE_VOICE_LIVE_MODE`): relayed to
   * the agent, then stored and broadcast as a `ModeMessage` with reason `visitor`.
   * @param nowMs epoch ms
   * @throws whatever the owner's `VisitorDO` throws when asked for the live time left (nothing is stored then)
   */
  async change(mode: SessionMode, nowMs: number): Promise<ModeResult> {
    const { store } = this.#host;
    const row = store.row();
    if (!row) return { status: "not_found" };
    if (row.status === "ended") return { status: "ended" };
    if ((row.mode ?? "pipeline") === mode) {
      return { status: "ok", mode, changed: false, live_s_left: seconds(await this.#leftNow(row, nowMs)) };
    }
    if (row.status !== "active") return { status: "not_ready" };
    if (this.#busy) return { status: "in_flight" };
    this.#busy = true;
    try {
      let leftMs = 0;
      if (mode === "live") {
        leftMs = await this.#host.visitor(row.owner).liveLeft(liveLimitMs(this.#host.config()), nowMs);
        if (leftMs < LIVE_MIN_MS) return { status: "live_limit" };
      }
      const out = await this.#relayAndStore(row, mode, "visitor", leftMs);
      if (out.status !== "ok") return out;
      return { status: "ok", mode, changed: true, live_s_left: seconds(out.leftMs) };
    } finally {
      this.#busy = false;
    }
  }

  /**
   * The alarm's `live_limit` deadline: counts the live time used so far; when the owner has time left after all (a
   * new UTC day), moves the deadline; else switches to the pipeline with reason `live_limit`, retried
   * {@link LIVE_LIMIT_RETRY_MS} later when it cannot be relayed now. Never throws for a failed count or relay (logged).
   * @param nowMs epoch ms
   */
  async liveLimitDue(nowMs: number): Promise<void> {
    const { store } = this.#host;
    const row = store.row();
    if (!row || row.status === "ended" || row.live_until === null || row.live_until > nowMs) return;
    if (this.#busy) return this.#retryLater(nowMs, "in_flight");
    this.#busy = true;
    try {
      const stretch = this.#claim(nowMs, false);
      const left = stretch ? await this.#count(row, stretch) : null;
      const fresh = store.row();
      if (!fresh || fresh.status === "ended" || fresh.live_until === null) return;
      if (left !== null && left >= LIVE_MIN_MS) {
        store.update({ live_until: nowMs + left });
        log.info("live_allowance_renewed", { session_id: row.session_id, live_s_left: seconds(left) });
        return;
      }
      if (fresh.status !== "active") return this.#retryLater(nowMs, "not_ready");
      const out = await this.#relayAndStore(fresh, "pipeline", "live_limit", 0);
      if (out.status !== "ok" && out.status !== "ended" && out.status !== "not_found") {
        this.#retryLater(Date.now(), out.status);
      }
    } finally {
      this.#busy = false;
    }
  }

  /**
   * The session has ended (status `ended` already stored): counts its last live stretch, if any, in the owner's
   * `VisitorDO`, and clears its live columns. A failed count is logged, not thrown.
   * @param nowMs the end, epoch ms
   */
  async endLive(nowMs: number): Promise<void> {
    const row = this.#host.store.row();
    if (!row) return;
    const stretch = this.#claim(nowMs, true);
    if (stretch) await this.#count(row, stretch);
  }

  /**
   * Relays the change to the agent, then, once LiveKit took it, stores it (row `mode`, the live columns, a
   * `ModeMessage`) and broadcasts it; leaving live mode counts the stretch.
   * @param leftMs live ms left today, for a change to live mode
   * @returns for `ok`, the owner's live ms left today (for a change to live mode, `leftMs`)
   */
  async #relayAndStore(row: SessionRow, mode: SessionMode, reason: ModeChangeReason, leftMs: number): Promise<Relayed> {
    const { store } = this.#host;
    const config = this.#host.config();
    const agentSid = row.agent_sid ?? (await findAgent({ store, config }, row.room, row.session_id));
    if (agentSid === null) return { status: "not_ready" };
    const body = JSON.stringify({ session_id: row.session_id, id: randomId(), mode, reason } satisfies ModeRelayBody);
    const packet: TypedRelayPacket = { body, signature: await signIngest(config.ingestSecret, row.session_id, body) };
    const data = encoder.encode(JSON.stringify(packet));
    if (!(await sendServerData(config, row.room, agentSid, TOPIC_MODE_CHANGE, data, row.session_id))) {
      return { status: "unreachable" };
    }
    const ts = Date.now();
    const stored = this.#host.transaction(() => {
      const now = store.row();
      if (!now) return "not_found" as const; // discarded meanwhile
      if (now.status === "ended") return "ended" as const; // its end counted the live time already
      const stretch = mode === "pipeline" ? this.#claim(ts, true) : null;
      if (mode === "live") store.update({ mode, live_since: ts, live_until: ts + leftMs });
      else store.update({ mode });
      const message: ModeMessage = { type: "mode", mode, reason, seq: store.nextSeq(), ts };
      store.append("mode", message);
      return { message, stretch, until: now.live_until };
    });
    if (typeof stored === "string") return { status: stored };
    this.#host.broadcast(stored.message);
    log.info("mode_changed", { session_id: row.session_id, mode, reason, seq: stored.message.seq });
    if (mode === "live") {
      await this.#host.armAlarm();
      return { status: "ok", leftMs };
    }
    // A session stored before the limit existed has no stretch to count: what is left today is read instead.
    const counted = stored.stretch
      ? await this.#count(row, stored.stretch)
      : await this.#host
          .visitor(row.owner)
          .liveLeft(liveLimitMs(this.#host.config()), ts)
          .catch(() => null);
    return { status: "ok", leftMs: counted ?? Math.max(0, (stored.until ?? ts) - ts) };
  }

  /**
   * Takes the uncounted live stretch up to `nowMs` off the row (synchronously, so that no two callers count it):
   * `live_since` moves to `nowMs`, or, with `leave`, both live columns are cleared.
   * @returns the stretch, or null when the session is not in live mode
   */
  #claim(nowMs: number, leave: boolean): Stretch | null {
    const { store } = this.#host;
    const row = store.row();
    if (!row || row.live_since === null) {
      if (leave && row?.live_until != null) store.update({ live_until: null });
      return null;
    }
    store.update(leave ? { live_since: null, live_until: null } : { live_since: Math.max(row.live_since, nowMs) });
    return { from: row.live_since, to: Math.max(row.live_since, nowMs) };
  }

  /**
   * Adds `stretch` to the owner's live time.
   * @returns the owner's live ms left today, or null when the `VisitorDO` could not be reached (logged)
   */
  async #count(row: SessionRow, stretch: Stretch): Promise<number | null> {
    try {
      const limit = liveLimitMs(this.#host.config());
      return await this.#host.visitor(row.owner).addLiveUsage(stretch.from, stretch.to, limit);
    } catch (err) {
      const fields = { session_id: row.session_id, live_ms: stretch.to - stretch.from, error: errorSummary(err) };
      log.warn("live_usage_failed", fields);
      return null;
    }
  }

  /** The owner's live ms left now: until the fallback for a session in live mode, else the day's rest. */
  async #leftNow(row: SessionRow, nowMs: number): Promise<number> {
    if (row.live_until !== null) return row.live_until - nowMs;
    if (row.mode === "live") return 0; // a session stored before the limit existed
    return this.#host.visitor(row.owner).liveLeft(liveLimitMs(this.#host.config()), nowMs);
  }

  /** Tries the fallback to the pipeline again {@link LIVE_LIMIT_RETRY_MS} after `nowMs`. */
  #retryLater(nowMs: number, why: string): void {
    const row = this.#host.store.row();
    if (!row || row.status === "ended" || row.live_until === null) return;
    this.#host.store.update({ live_until: nowMs + LIVE_LIMIT_RETRY_MS });
    log.warn("live_limit_fallback_retry", { session_id: row.session_id, why, in_ms: LIVE_LIMIT_RETRY_MS });
  }
}
