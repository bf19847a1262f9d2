/**
 * What a conversation used and how fast it answered: the counts the agent posts in its `usage` events
 * (contract/events.ts `AgentUsageEvent`), the summary the `SessionDO` keeps of them ({@link SessionUsage}, in each
 * conversation's entry of `GET /conversations` and on `/history`), and the estimated cost of that summary from
 * configured prices ({@link estimateCostUsd}).
 *
 * The counts come from LiveKit Agents' own usage metrics (`AgentSession.usage`, @livekit/agents 1.9
 * `metrics/model_usage.ts`): LLM input, cached input and output tokens, STT audio duration, TTS characters and
 * TTS audio duration, summed over every model the session used.
 *
 * Written with `zod/mini`, like rest.ts, so the page can import it. See docs/agent.md, "Metrics and usage".
 */
import * as z from "zod/mini";

/** A count of tokens, characters or milliseconds: a non-negative integer below 10^12. */
const Count = z.number().check(z.int(), z.nonnegative(), z.maximum(1e12));

/** Most answered turns one `usage` event reports. */
export const USAGE_TURNS_MAX = 100;
/** Newest turn latencies a session keeps for its median. */
export const SESSION_LATENCIES_MAX = 500;
/** Longest turn latency reported, ms (10 minutes); a longer one is clamped by the sender. */
export const TURN_LATENCY_MAX_MS = 600_000;

/** One answered turn's latency: the visitor's end of speech → the reply's first audio handed to the room, ms. */
export const TurnLatencyMs = z.number().check(z.int(), z.nonnegative(), z.maximum(TURN_LATENCY_MAX_MS));

/**
 * The usage count fields: LLM input (prompt) tokens, cached ones included; of those, the tokens the provider served
 * from its prompt cache; LLM output (completion) tokens; visitor audio sent to the STT, ms; characters sent to the
 * TTS; agent audio the TTS produced, ms.
 */
const COUNT_FIELDS = {
  llm_input_tokens: Count,
  llm_cached_input_tokens: Count,
  llm_output_tokens: Count,
  stt_audio_ms: Count,
  tts_characters: Count,
  tts_audio_ms: Count,
};

/** Usage counts ({@link COUNT_FIELDS}). In a `usage` event: what was used since the job's previous one; in a summary: the session's sum. */
export const UsageCounts = z.strictObject(COUNT_FIELDS);
export type UsageCounts = z.infer<typeof UsageCounts>;

/** All-zero {@link UsageCounts}. (Plain literals, here and below: the page's bundle drops what it does not use.) */
export const NO_USAGE: Readonly<UsageCounts> = {
  llm_input_tokens: 0,
  llm_cached_input_tokens: 0,
  llm_output_tokens: 0,
  stt_audio_ms: 0,
  tts_characters: 0,
  tts_audio_ms: 0,
};

/** The usage keys, in their documented order. */
export const USAGE_KEYS: readonly (keyof UsageCounts)[] = [
  "llm_input_tokens",
  "llm_cached_input_tokens",
  "llm_output_tokens",
  "stt_audio_ms",
  "tts_characters",
  "tts_audio_ms",
];

/** `a + b`, key by key (capped at the largest {@link UsageCounts} value). */
export function addUsage(a: UsageCounts, b: UsageCounts): UsageCounts {
  const out = { ...NO_USAGE };
  for (const k of USAGE_KEYS) out[k] = Math.min(a[k] + b[k], 1e12);
  return out;
}

/**
 * A conversation's usage and latency summary: `turns` answered (with a reply that reached its first audio),
 * `median_latency_ms` over the newest {@link SESSION_LATENCIES_MAX} of them (null before the first), and the summed
 * {@link UsageCounts} of every agent job the conversation had (a replacement agent's included).
 */
export const SessionUsage = z.object({
  turns: Count,
  median_latency_ms: z.nullable(Count),
  ...COUNT_FIELDS,
});
export type SessionUsage = z.infer<typeof SessionUsage>;

/**
 * Prices for {@link estimateCostUsd}, in US dollars. Each applies to one usage count; 0 leaves it out.
 * TTS is priced per minute of audio (OpenAI's `gpt-4o-mini-tts`) or per million characters (`tts-1`): set the one
 * that matches the configured model.
 */
export interface UsagePrices {
  llmInputPerMTok: number;
  llmCachedInputPerMTok: number;
  llmOutputPerMTok: number;
  sttPerMinute: number;
  ttsPerMinute: number;
  ttsPerMChars: number;
}

/**
 * Default prices: the default models' (`gpt-4o-mini`, `gpt-4o-mini-transcribe`, `gpt-4o-mini-tts`) standard prices
 * on https://platform.openai.com/docs/pricing as of 2026-12: $0.15 / $0.075 (cached) / $0.60 per million input /
 * output tokens, an estimated $0.003 per minute transcribed and $0.015 per minute of speech.
 */
export const DEFAULT_USAGE_PRICES: Readonly<UsagePrices> = {
  llmInputPerMTok: 0.15,
  llmCachedInputPerMTok: 0.075,
  llmOutputPerMTok: 0.6,
  sttPerMinute: 0.003,
  ttsPerMinute: 0.015,
  ttsPerMChars: 0,
};

/**
 * The estimated cost of `usage` in US dollars (not rounded): uncached input tokens at the input price, cached ones
 * at the cached price, output tokens, STT minutes, TTS minutes and TTS characters, each at its price.
 */
export function estimateCostUsd(usage: UsageCounts, prices: UsagePrices): number {
  const uncached = Math.max(0, usage.llm_input_tokens - usage.llm_cached_input_tokens);
  return (
    (uncached * prices.llmInputPerMTok +
      usage.llm_cached_input_tokens * prices.llmCachedInputPerMTok +
      usage.llm_output_tokens * prices.llmOutputPerMTok) /
      1e6 +
    (usage.stt_audio_ms / 60_000) * prices.sttPerMinute +
    (usage.tts_audio_ms / 60_000) * prices.ttsPerMinute +
    (usage.tts_characters / 1e6) * prices.ttsPerMChars
  );
}

/** The median of `values` (the mean of the middle two for an even count), rounded to an integer; null when empty. */
export function medianOf(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return Math.round(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2);
}
