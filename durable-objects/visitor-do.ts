/**
 * `VisitorDO`: one per visitor id (`vid` cookie). Counts the visitor's active sessions so that
 * `POST /session` can enforce `MAX_ACTIVE_SESSIONS_PER_VISITOR` (the shared {@link CappedReservations}), and keeps
 * the visitor's planner: goals and tasks (planner-store.ts), written by the planner's action handlers
 * (worker/actions/planner.ts) and read by `GET /planner`, and the list of the visitor's conversations
 * (conversations-store.ts), kept by their `SessionDO`s and read by `GET /conversations` and `/history`, and the
 * visitor's first name (visitor-name-store.ts: `GET`/`PUT /visitor/name`, the page's name step), which goes on their
 * LiveKit token, into the agent's dispatch and into each conversation they start, and the visitor's live-mode time
 * per UTC day (live-usage-store.ts: `LIVE_MINUTES_PER_DAY`), added by their `SessionDO`s. One object per visitor is
 * the isolation: a visitor's calls reach only its own object.
 *
 * See docs/architecture.md, "Security model" (a cap on concurrently active sessions per visitor), docs/actions.md
 * (the planner), docs/edge.md, "Visitor name", and docs/architecture.md, "Mode switch" (the live-minutes limit).
 */
import type { PlannerGoal, PlannerResponse, PlannerTask } from "../contract/actions.ts";
import type { ConversationEntry, VisitorNameResponse } from "../contract/index.ts";
import { CappedReservations } from "./capped-reservations.ts";
import { type ConversationChange, type ConversationPosition, ConversationsStore } from "./conversations-store.ts";
import { LiveUsageStore } from "./live-usage-store.ts";
import { type Added, type Moved, PlannerStore } from "./planner-store.ts";
import { VisitorNameStore } from "./visitor-name-store.ts";

export type { Added, ConversationChange, ConversationPosition, Moved };

export class VisitorDO extends CappedReservations {
  readonly #planner = new PlannerStore(this.ctx.storage.sql);
  readonly #conversations = new ConversationsStore(this.ctx.storage.sql);
  readonly #name = new VisitorNameStore(this.ctx.storage.sql);
  readonly #liveUsage = new LiveUsageStore(this.ctx.storage.sql);

  /**
   * Lists a new conversation of the visitor (its `SessionDO`, when it starts); replaces a row with its id. An entry
   * without `visitor_name` gets the visitor's current name, so that the conversation keeps the name it was held with.
   */
  async noteConversation(entry: ConversationEntry): Promise<void> {
    const name = entry.visitor_name ?? this.#name.get().name;
    this.#conversations.put(name === null ? entry : { ...entry, visitor_name: name });
  }

  /** The visitor's first name (null: none) and whether they have answered the name step: `GET /visitor/name`. */
  async visitorName(): Promise<VisitorNameResponse> {
    return this.#name.get();
  }

  /**
   * Records the visitor's answer to the name step: a first name, or null (skipped, or forgotten). Conversations
   * listed already keep the name they were held with.
   * @param name a contract `VisitorName` (normalised), or null
   * @param nowMs epoch ms
   * @returns the stored answer
   * @throws Error when `name` is not a `VisitorName` (the Worker validates it first)
   */
  async setVisitorName(name: string | null, nowMs: number): Promise<VisitorNameResponse> {
    return this.#name.set(name, nowMs);
  }

  /**
   * {@link CappedReservations.reserve} for a session start, answering the visitor's first name in the same call
   * (the dispatch's `visitor_name`), so that the start makes no extra round trip for it.
   * @returns whether the slot was reserved (false: the cap is reached), and the visitor's name (null: none)
   */
  async reserveSession(
    sessionId: string,
    cap: number,
    nowMs: number,
    expiresAtMs: number,
  ): Promise<{ reserved: boolean; name: string | null }> {
    const reserved = await this.reserve(sessionId, cap, nowMs, expiresAtMs);
    return { reserved, name: this.#name.get().name };
  }

  /**
   * The visitor's live-mode milliseconds left on the UTC day of `nowMs` (0 when used up).
   * @param limitMs the day's allowance, ms (`LIVE_MINUTES_PER_DAY` × 60 000)
   * @param nowMs epoch ms
   */
  async liveLeft(limitMs: number, nowMs: number): Promise<number> {
    return this.#liveUsage.leftMs(limitMs, nowMs);
  }

  /**
   * Counts a stretch of live mode of one of the visitor's sessions, from `fromMs` to `toMs` (epoch ms; split at UTC
   * midnights), and answers what is left of the day of `toMs`.
   * @param limitMs the day's allowance, ms
   * @returns live milliseconds left on the day of `toMs` (0 when used up)
   */
  async addLiveUsage(fromMs: number, toMs: number, limitMs: number): Promise<number> {
    this.ctx.storage.transactionSync(() => this.#liveUsage.add(fromMs, toMs));
    return this.#liveUsage.leftMs(limitMs, toMs);
  }

  /**
   * Changes a listed conversation (its `SessionDO`: ended, summarised).
   * @returns false when it is not listed (deleted meanwhile)
   */
  async updateConversation(sessionId: string, change: ConversationChange): Promise<boolean> {
    return this.#conversations.update(sessionId, change);
  }

  /** One of the visitor's conversations, or null when it is not listed. */
  async conversation(sessionId: string): Promise<ConversationEntry | null> {
    return this.#conversations.get(sessionId);
  }

  /** Up to `limit` of the visitor's conversations, newest first, after `from`; `more` when others follow. */
  async conversations(
    from: ConversationPosition | null,
    limit: number,
  ): Promise<{ entries: ConversationEntry[]; more: boolean }> {
    return this.#conversations.page(from, limit);
  }

  /** The ids of all the visitor's conversations, newest first. */
  async conversationIds(): Promise<string[]> {
    return this.#conversations.ids();
  }

  /** Removes a conversation from the visitor's list (idempotent). */
  async forgetConversation(sessionId: string): Promise<void> {
    this.#conversations.remove(sessionId);
  }

  /** The visitor's goals (oldest first) and tasks (by due time, none last): `GET /planner`. */
  async planner(): Promise<PlannerResponse> {
    return { goals: this.#planner.goals(), tasks: this.#planner.tasks() };
  }

  /** The visitor's goals, oldest first. */
  async plannerGoals(): Promise<PlannerGoal[]> {
    return this.#planner.goals();
  }

  /** The visitor's tasks, by due time (none last). */
  async plannerTasks(): Promise<PlannerTask[]> {
    return this.#planner.tasks();
  }

  /**
   * Adds a goal for operation `opId` (once per operation: a repeat answers the first goal).
   * @param cap the most goals a visitor may have
   */
  async addGoal(opId: string, goal: PlannerGoal, cap: number): Promise<Added<PlannerGoal>> {
    return this.ctx.storage.transactionSync(() => this.#planner.addGoal(opId, goal, cap));
  }

  /**
   * Adds a task for operation `opId` (once per operation: a repeat answers the first task).
   * @param cap the most tasks a visitor may have
   */
  async addTask(opId: string, task: PlannerTask, cap: number): Promise<Added<PlannerTask>> {
    return this.ctx.storage.transactionSync(() => this.#planner.addTask(opId, task, cap));
  }

  /**
   * Moves task `taskId` to `due` for operation `opId` (once per operation).
   * @returns the task and its previous due time, or null when the visitor has no such task
   */
  async moveTask(opId: string, taskId: string, due: string): Promise<Moved | null> {
    return this.ctx.storage.transactionSync(() => this.#planner.moveTask(opId, taskId, due));
  }

  /**
   * The last reservation is gone: drop only the reservations when the planner, the conversation list, the name or
   * the live-mode time holds data, else everything.
   */
  protected override async forgetReservations(): Promise<void> {
    const holdsData =
      this.#planner.exists() || this.#conversations.exists() || this.#name.exists() || this.#liveUsage.exists();
    if (!holdsData) {
      return super.forgetReservations();
    }
    this.ctx.storage.sql.exec("DROP TABLE IF EXISTS reservations");
    await this.ctx.storage.deleteAlarm();
  }
}
