/**
 * The `SessionDO`'s side of conversations that last (docs/architecture.md, "Conversations"): its entry in the
 * visitor's conversation list (with its usage summary once the agent reported one), its first lines, and its
 * summary, made by the LLM once it has ended (edge/summary.ts) and retried a bounded number of times. The alarm runs
 * {@link runSummary} (session-deadlines.ts, `summarize`); a summary never holds up the end.
 */
import {
  type ConversationEntry,
  DEFAULT_PROFILE_ID,
  type HistoryItem,
  PREVIEW_MAX,
  SUMMARY_ATTEMPTS_MAX,
  type SessionUsage,
} from "../contract/index.ts";
import { errorSummary } from "../contract/log.ts";
import type { EdgeConfig } from "../edge/config.ts";
import { log } from "../edge/log.ts";
import { summarize } from "../edge/summary.ts";
import type { SessionRow, SessionStore } from "./session-store.ts";

/** Wait before the second and the third summary attempt, ms. */
export const SUMMARY_RETRY_MS = [30_000, 5 * 60_000] as const;

/**
 * The session's entry in its owner's conversation list, as it stands in `row`.
 * @param firstLines its first lines ({@link preview}), or null
 * @param usage its usage summary (`SessionStore.usage()`); null or absent leaves `usage` out
 */
export function conversationEntry(
  row: SessionRow,
  firstLines: string | null,
  usage: SessionUsage | null = null,
): ConversationEntry {
  return {
    session_id: row.session_id,
    profile: row.profile ?? DEFAULT_PROFILE_ID,
    status: row.status,
    reason: row.reason,
    started_at: row.started_at,
    ended_at: row.ended_at,
    summary: row.summary,
    preview: firstLines,
    resumed_from: row.resumed_from,
    ...(usage !== null ? { usage } : {}),
  };
}

/**
 * A conversation's first lines, from the visitor's first turn on ("You: … · Agent: …"), at most `PREVIEW_MAX`
 * characters (cut at a word, with "…"); null when the visitor said nothing.
 * @param finals the stored finals, oldest first
 */
export function preview(finals: readonly HistoryItem[]): string | null {
  const first = finals.findIndex((f) => f.role === "user");
  if (first < 0) return null;
  const text = finals
    .slice(first, first + 4)
    .map((f) => `${f.role === "user" ? "You" : "Agent"}: ${f.text.replace(/\s+/g, " ").trim()}`)
    .join(" · ");
  if (text.length <= PREVIEW_MAX) return text;
  const cut = text.slice(0, PREVIEW_MAX - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > PREVIEW_MAX / 2 ? cut.slice(0, space) : cut}…`;
}

/**
 * One summary attempt for the ended session `row`: none when the visitor said nothing or summaries are off (no
 * `OPENAI_API_KEY`); a failure is retried after {@link SUMMARY_RETRY_MS}, up to `SUMMARY_ATTEMPTS_MAX` attempts, then
 * given up (`summary_abandoned`). Logs lengths and counts, never the text.
 * @param nowMs epoch ms
 * @returns the new summary, or null when none was made this time
 */
export async function runSummary(
  store: SessionStore,
  config: EdgeConfig,
  row: SessionRow,
  nowMs: number,
): Promise<string | null> {
  const fields = { session_id: row.session_id };
  const finals = store.finals();
  if (!finals.some((f) => f.role === "user")) {
    store.update({ summary_at: null });
    log.info("summary_skipped", { ...fields, reason: "no_visitor_turn" });
    return null;
  }
  const outcome = await summarize(config, finals, row.earlier_summary ?? undefined);
  if (!store.row()) return null; // deleted meanwhile
  if (outcome.status === "ok") {
    store.update({ summary: outcome.summary, summary_at: null });
    log.info("summary_made", { ...fields, chars: outcome.summary.length, attempts: row.summary_attempts + 1 });
    return outcome.summary;
  }
  if (outcome.status === "off") {
    store.update({ summary_at: null });
    log.info("summary_skipped", { ...fields, reason: "no_llm_configured" });
    return null;
  }
  const attempts = row.summary_attempts + 1;
  if (attempts >= SUMMARY_ATTEMPTS_MAX) {
    store.update({ summary_at: null, summary_attempts: attempts });
    log.error("summary_abandoned", { ...fields, attempts, error: errorSummary(outcome.error) });
    return null;
  }
  const wait = SUMMARY_RETRY_MS[Math.min(attempts - 1, SUMMARY_RETRY_MS.length - 1)]!;
  store.update({ summary_at: nowMs + wait, summary_attempts: attempts });
  log.warn("summary_failed", { ...fields, attempts, retry_in_ms: wait, error: errorSummary(outcome.error) });
  return null;
}
