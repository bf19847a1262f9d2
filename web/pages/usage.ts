/**
 * A conversation's usage and latency summary (contract/usage.ts `SessionUsage`) in words, for `/history` and
 * `/history/{id}`: "4 turns · median reply 1.2 s · ≈ $0.0031". The cost is an estimate from the Worker's configured
 * prices (`PRICE_*`, edge/config.ts `usagePrices`; contract `estimateCostUsd`), marked "≈", read out as "estimated",
 * with the breakdown by model in its tooltip. Nothing is shown for a conversation without a summary.
 */
import { html } from "hono/html";
import { estimateCostUsd, type SessionUsage, type UsageCounts, type UsagePrices } from "../../contract/index.ts";
import type { Html } from "./layout.ts";

const NO_PRICES: UsagePrices = {
  llmInputPerMTok: 0,
  llmCachedInputPerMTok: 0,
  llmOutputPerMTok: 0,
  sttPerMinute: 0,
  ttsPerMinute: 0,
  ttsPerMChars: 0,
};
const COUNT = new Intl.NumberFormat("en-US");
const DOLLARS = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const MINUTES = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** "1 turn", "4 turns". */
export function turnsText(turns: number): string {
  return `${COUNT.format(turns)} ${turns === 1 ? "turn" : "turns"}`;
}

/**
 * A reply latency in seconds: "0.8 s", "1.2 s" (one decimal below 10 s), "12 s", "< 0.1 s".
 * @param ms milliseconds (contract `TurnLatencyMs`)
 */
export function latencyText(ms: number): string {
  if (ms < 50) return "< 0.1 s";
  const s = ms / 1000;
  return s < 9.95 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`;
}

/**
 * An amount of US dollars as a cost estimate shows it: two significant digits under a dollar, so that the fractions
 * of a cent a conversation usually costs stay readable ("$0.0031", "$0.042", "$0.30"), cents from a dollar on
 * ("$1.24", "$1,250.00"); "< $0.0001" for less, "$0.00" for nothing.
 * @param usd US dollars, not negative
 */
export function costText(usd: number): string {
  if (usd <= 0) return "$0.00";
  if (usd < 0.0001) return "< $0.0001";
  const rounded = Number(usd.toPrecision(2));
  if (rounded >= 1) return DOLLARS.format(usd);
  // At least two decimals ("$0.30"), and as many as two significant digits need ("$0.0031"), no trailing zero beyond.
  const decimals = Math.max(2, 1 - Math.floor(Math.log10(rounded)));
  return `$${rounded.toFixed(decimals).replace(/(\.\d\d\d*?)0+$/, "$1")}`;
}

/** `usage` priced with only `pick` of `prices` (the others 0): one part of the breakdown. */
function part(usage: UsageCounts, prices: UsagePrices, pick: (keyof UsagePrices)[]): number {
  const only = { ...NO_PRICES };
  for (const k of pick) only[k] = prices[k];
  return estimateCostUsd(usage, only);
}

/**
 * The tooltip of the cost: what it is, and its parts by model with the counts they come from, e.g. "Estimated cost
 * from the configured prices. LLM $0.0021 (12,345 input tokens, 2,048 of them cached; 512 output tokens) ·
 * speech-to-text $0.00045 (0.2 min) · text-to-speech $0.0009 (0.1 min, 420 characters)".
 */
export function costBreakdown(usage: SessionUsage, prices: UsagePrices): string {
  const llm = part(usage, prices, ["llmInputPerMTok", "llmCachedInputPerMTok", "llmOutputPerMTok"]);
  const stt = part(usage, prices, ["sttPerMinute"]);
  const tts = part(usage, prices, ["ttsPerMinute", "ttsPerMChars"]);
  const min = (ms: number) => `${MINUTES.format(ms / 60_000)} min`;
  const n = COUNT.format;
  return (
    "Estimated cost from the configured prices. " +
    `LLM ${costText(llm)} (${n(usage.llm_input_tokens)} input tokens, ${n(usage.llm_cached_input_tokens)} of them ` +
    `cached; ${n(usage.llm_output_tokens)} output tokens) · ` +
    `speech-to-text ${costText(stt)} (${min(usage.stt_audio_ms)}) · ` +
    `text-to-speech ${costText(tts)} (${min(usage.tts_audio_ms)}, ${n(usage.tts_characters)} characters)`
  );
}

/** Whether any price is set: with none (all 0, e.g. self-hosted models), no cost is shown. */
function priced(prices: UsagePrices): boolean {
  return Object.values(prices).some((p) => p > 0);
}

/**
 * The summary's parts, each an element of its own: the turns, the median reply latency (left out before the first
 * answered turn) and the estimated cost (left out when no price is set), its tooltip the breakdown.
 * @param prices the Worker's configured prices (edge/config.ts `usagePrices`)
 */
export function usageParts(usage: SessionUsage, prices: UsagePrices): Html[] {
  const parts: Html[] = [html`<span>${turnsText(usage.turns)}</span>`];
  if (usage.median_latency_ms !== null) {
    parts.push(html`<span>median reply ${latencyText(usage.median_latency_ms)}</span>`);
  }
  if (priced(prices)) {
    const text = costText(estimateCostUsd(usage, prices));
    // "≈" for the eye (and the tooltip); "estimated" for a screen reader, which may skip the symbol.
    parts.push(
      html`<span class="usage__cost" title="${costBreakdown(usage, prices)}">${text.startsWith("<") ? "" : "≈ "}${text}<span class="visually-hidden"> estimated</span></span>`,
    );
  }
  return parts;
}
