/**
 * A job's own limits, kept by the job whatever the Worker does (docs/agent.md, "Behaviour worth knowing"):
 *
 * - **session length**: the job leaves `MAX_SESSION_S` + {@link SESSION_SLACK_S} after it started, even if the
 *   session's end (the room's deletion) never reaches it;
 * - **nobody joined**: a job whose room has no visitor (a remote participant that is not an agent) within
 *   `VISITOR_JOIN_TIMEOUT_S` of joining leaves, so a dispatch into a room the visitor never entered does not keep
 *   a job process (≈ 230 MB) for the whole session length.
 *
 * The job decides what leaving means (agent/job.ts); this module only keeps the clocks.
 */
import { ParticipantKind, type RemoteParticipant, RoomEvent } from "@livekit/rtc-node";
import { SESSION_SLACK_S } from "./config.ts";

/** Why a limit was reached: a `job_ended` reason. */
export type JobLimit = "max_session" | "no_visitor";

/** The part of a LiveKit `Room` the limits watch. */
export interface WatchedRoom {
  remoteParticipants: ReadonlyMap<string, RemoteParticipant>;
  on(event: RoomEvent.ParticipantConnected, listener: (p: RemoteParticipant) => void): unknown;
  off(event: RoomEvent.ParticipantConnected, listener: (p: RemoteParticipant) => void): unknown;
}

/** Options of {@link JobLimits}. */
export interface JobLimitsOptions {
  /** `MAX_SESSION_S`, seconds; the job's bound is this plus {@link SESSION_SLACK_S}. */
  maxSessionS: number;
  /** `VISITOR_JOIN_TIMEOUT_S`, seconds, counted from {@link JobLimits.watchRoom}. */
  visitorJoinTimeoutS: number;
  /** Called once, for the first limit reached; not after {@link JobLimits.stop}. */
  onReached: (limit: JobLimit) => void;
}

/**
 * Whether a participant is the visitor rather than an agent: agents join with the `agent` kind, and identities
 * starting with `agent` are reserved for them (docs/architecture.md, "Security model").
 */
export function isVisitor(p: Pick<RemoteParticipant, "kind" | "identity">): boolean {
  return p.kind !== ParticipantKind.AGENT && !/^agent/i.test(p.identity);
}

/** The clocks of one job; see the module comment. */
export class JobLimits {
  readonly #opts: JobLimitsOptions;
  #maxTimer: NodeJS.Timeout | null;
  #visitorTimer: NodeJS.Timeout | null = null;
  #unwatch: (() => void) | null = null;
  #done = false;
  /** Whether a visitor has been seen in the room. */
  visitorSeen = false;

  /** Starts the session-length clock at once (call when the job starts). */
  constructor(opts: JobLimitsOptions) {
    this.#opts = opts;
    this.#maxTimer = setTimeout(() => this.#reach("max_session"), this.maxSessionMs);
    this.#maxTimer.unref();
  }

  /** The job's own bound on its length, in ms: `(MAX_SESSION_S + SESSION_SLACK_S) × 1000`. */
  get maxSessionMs(): number {
    return (this.#opts.maxSessionS + SESSION_SLACK_S) * 1000;
  }

  /**
   * Starts the visitor clock (call once connected): stops at the first visitor already in the room or joining;
   * reaches `no_visitor` after `visitorJoinTimeoutS` without one.
   */
  watchRoom(room: WatchedRoom): void {
    if (this.#done || this.#unwatch || this.visitorSeen) return;
    if ([...room.remoteParticipants.values()].some(isVisitor)) {
      this.visitorSeen = true;
      return;
    }
    const onJoined = (p: RemoteParticipant) => {
      if (!isVisitor(p)) return;
      this.visitorSeen = true;
      this.#stopVisitorClock();
    };
    room.on(RoomEvent.ParticipantConnected, onJoined);
    this.#unwatch = () => room.off(RoomEvent.ParticipantConnected, onJoined);
    this.#visitorTimer = setTimeout(() => this.#reach("no_visitor"), this.#opts.visitorJoinTimeoutS * 1000);
    this.#visitorTimer.unref();
  }

  /** Stops both clocks (the job is leaving for another reason); nothing is reported afterwards. */
  stop(): void {
    this.#done = true;
    if (this.#maxTimer) clearTimeout(this.#maxTimer);
    this.#maxTimer = null;
    this.#stopVisitorClock();
  }

  #stopVisitorClock(): void {
    if (this.#visitorTimer) clearTimeout(this.#visitorTimer);
    this.#visitorTimer = null;
    this.#unwatch?.();
    this.#unwatch = null;
  }

  #reach(limit: JobLimit): void {
    if (this.#done) return;
    this.stop();
    this.#opts.onReached(limit);
  }
}
