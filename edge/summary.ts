/**
 * A conversation's summary, asked of a language model by the edge: when a session ends, the `SessionDO` calls
 * {@link summarize} with the conversation's finals and stores the answer (it schedules the retries, at most
 * `SUMMARY_ATTEMPTS_MAX` attempts: docs/edge.md, "Summaries"). One call is one HTTP request; this module never
 * logs (the caller does, without the conversation's text) and never throws.
 *
 * Wire format: OpenAI API reference, "Chat Completions" → "Create chat completion"
 * (https://platform.openai.com/docs/api-reference/chat/create): `POST {base}/chat/completions` with
 * `Authorization: Bearer <key>` and `{model, messages: [{role, content}], temperature, max_tokens}`; the answer's
 * text is `choices[0].message.content`; an error answers a non-2xx status with `{"error": {"message", "type",
 * "param", "code"}}` (API reference, "Error codes": 401 invalid key, 429 rate limit or quota, 5xx server errors).
 * `max_tokens` is what OpenAI-compatible servers (and OpenAI's chat models such as gpt-4o-mini) understand;
 * OpenAI's reasoning models refuse it and `temperature`, so `SUMMARY_MODEL` must be a chat model.
 *
 * This file imports nothing of the Worker's environment, so that the local stand-in (dev/openai/) can share
 * {@link SUMMARY_PROMPT} with it.
 */
import { SUMMARY_MAX } from "../contract/defaults.ts";

/** Default `SUMMARY_MODEL`: a small, cheap OpenAI chat model. */
export const DEFAULT_SUMMARY_MODEL = "gpt-4o-mini";

/** Default `OPENAI_BASE_URL`: OpenAI's API. */
export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1";

/** How long one summary request may take, ms, before it counts as failed. */
export const SUMMARY_TIMEOUT_MS = 20_000;

/** Most characters of the transcript sent to the model (the middle of a longer one is left out). */
export const SUMMARY_INPUT_MAX_CHARS = 12_000;

/** Most characters of one turn's line in the transcript sent (a longer turn is cut, ending "…"). */
export const SUMMARY_LINE_MAX_CHARS = 2_000;

/** `temperature` of the request: low, so that a summary reads plainly and varies little. */
export const SUMMARY_TEMPERATURE = 0.2;

/** `max_tokens` of the request: about 150 words, more than two or three sentences need and within `SUMMARY_MAX`. */
export const SUMMARY_MAX_TOKENS = 200;

/** The line that stands for the turns left out of a long transcript. */
export const TRANSCRIPT_GAP_LINE = "[…]";

/** The first line of the transcript when the conversation continues an earlier one. */
export const EARLIER_PREFIX = "Earlier conversation: ";

/**
 * The system message of a summary request, written for a real model. Its first sentence also tells the local
 * stand-in (dev/openai/summary.ts) that a request asks for a summary.
 */
export const SUMMARY_PROMPT =
  "Summarize this conversation between a website visitor and an AI voice agent in two or three sentences. " +
  "Write in the third person about the visitor and the agent: what the visitor wanted, and what the agent did, " +
  "answered or decided. If the transcript starts with a line 'Earlier conversation:', this conversation continues " +
  "that one: summarize both together. A line '[…]' marks turns left out. Write plain text only: no greeting, no " +
  "heading, no lists, no markdown, no quotation of the whole transcript.";

/** Where and how the edge asks for summaries (edge/config.ts `EdgeConfig.summary`). */
export interface SummarySettings {
  /** `OPENAI_API_KEY`: sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** `OPENAI_BASE_URL`, without a trailing slash, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** `SUMMARY_MODEL`, e.g. `gpt-4o-mini`. */
  model: string;
}

/** One final of the conversation: what the visitor or the agent said. */
export interface SummaryTurn {
  role: "user" | "agent";
  text: string;
}

/**
 * What {@link summarize} got: the summary (1 to `SUMMARY_MAX` characters, one paragraph); a failure, whose
 * `error` is short and holds neither conversation text nor the key (fit for a log line) and whose `retryable` says
 * whether another attempt may succeed (false for a refused request or key: 400, 401, 403, 404, 422); or `off`
 * when no `OPENAI_API_KEY` is configured.
 */
export type SummaryOutcome =
  { status: "ok"; summary: string } | { status: "failed"; error: string; retryable: boolean } | { status: "off" };

/** Statuses of a request that will not succeed if sent again unchanged. */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 422]);

/** An error `code` or `type` as OpenAI sends them (`rate_limit_exceeded`, `invalid_api_key`); anything else is left out. */
const ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Collapses runs of whitespace (line breaks included) to single spaces and trims. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/**
 * Clips text to at most `max` characters, at a word boundary when there is one in its second half, ending "…".
 * @returns the text itself when it fits
 */
export function clipAtWord(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, max - 1);
  const space = room.lastIndexOf(" ");
  const cut = space >= max / 2 ? room.slice(0, space) : room;
  return `${cut.replace(/[\s,;:.-]+$/, "")}…`;
}

/**
 * The transcript a summary request sends (the user message): one line per turn, `Visitor: …` or `Agent: …`
 * (whitespace collapsed, empty turns left out, each line at most {@link SUMMARY_LINE_MAX_CHARS}), after a first
 * line `Earlier conversation: <summary>` when `earlierSummary` is given. At most {@link SUMMARY_INPUT_MAX_CHARS}
 * characters: a longer conversation keeps its first lines (up to a third of the room) and its newest, with a line
 * {@link TRANSCRIPT_GAP_LINE} between them.
 */
export function summaryTranscript(turns: readonly SummaryTurn[], earlierSummary?: string): string {
  const head: string[] = [];
  const earlier = earlierSummary === undefined ? "" : oneLine(earlierSummary);
  if (earlier) head.push(`${EARLIER_PREFIX}${clipAtWord(earlier, SUMMARY_MAX)}`);
  const lines: string[] = [];
  for (const turn of turns) {
    const text = oneLine(turn.text);
    if (!text) continue;
    lines.push(clipAtWord(`${turn.role === "user" ? "Visitor" : "Agent"}: ${text}`, SUMMARY_LINE_MAX_CHARS));
  }
  const size = (list: string[]) => list.reduce((n, line) => n + line.length + 1, 0);
  // Each line costs its length and a line break (the last one's break is spare).
  const budget = SUMMARY_INPUT_MAX_CHARS + 1 - size(head);
  if (size(lines) <= budget) return [...head, ...lines].join("\n");
  const room = budget - (TRANSCRIPT_GAP_LINE.length + 1);
  const first: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (used + line.length + 1 > room / 3) break;
    first.push(line);
    used += line.length + 1;
  }
  const newest: string[] = [];
  for (let i = lines.length - 1; i >= first.length; i--) {
    const line = lines[i]!;
    if (used + line.length + 1 > room) break;
    newest.unshift(line);
    used += line.length + 1;
  }
  return [...head, ...first, TRANSCRIPT_GAP_LINE, ...newest].join("\n");
}

/** The failure outcome of an answer with a non-2xx status: the status and OpenAI's error code, if it sent one. */
async function httpFailure(res: Response): Promise<SummaryOutcome> {
  const body = (await res.json().catch(() => null)) as { error?: { code?: unknown; type?: unknown } } | null;
  const code = [body?.error?.code, body?.error?.type].find((c) => typeof c === "string" && ERROR_CODE.test(c));
  return {
    status: "failed",
    error: `chat completions answered HTTP ${res.status}${code ? ` (${String(code)})` : ""}`,
    retryable: !FINAL_STATUSES.has(res.status),
  };
}

/**
 * Asks the language model for a summary of a conversation: one `POST {OPENAI_BASE_URL}/chat/completions` with
 * `SUMMARY_MODEL`, {@link SUMMARY_PROMPT} as the system message and {@link summaryTranscript} as the user message,
 * within {@link SUMMARY_TIMEOUT_MS}. Never throws and never logs.
 * @param config the edge configuration (edge/config.ts `EdgeConfig`); `summary` null means summaries are off
 * @param turns the conversation's finals, oldest first (call it only when the visitor said something)
 * @param earlierSummary the summary of the conversation this one continues (`resume_from`), if it has one
 * @returns `ok` with the answer's text, whitespace collapsed and clipped to `SUMMARY_MAX` (contract/defaults.ts)
 *   characters at a word boundary; `failed` on a network error, a timeout, a non-2xx answer (its status and
 *   OpenAI's error code), an answer that is not a chat completion, or an empty one; `off` without a key
 */
export async function summarize(
  config: { readonly summary: SummarySettings | null },
  turns: readonly SummaryTurn[],
  earlierSummary?: string,
): Promise<SummaryOutcome> {
  const settings = config.summary;
  if (!settings) return { status: "off" };
  let res: Response;
  try {
    res = await fetch(`${settings.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${settings.apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        model: settings.model,
        temperature: SUMMARY_TEMPERATURE,
        max_tokens: SUMMARY_MAX_TOKENS,
        messages: [
          { role: "system", content: SUMMARY_PROMPT },
          { role: "user", content: summaryTranscript(turns, earlierSummary) },
        ],
      }),
      signal: AbortSignal.timeout(SUMMARY_TIMEOUT_MS),
    });
  } catch (err) {
    const name = (err as Error | undefined)?.name;
    if (name === "TimeoutError" || name === "AbortError") {
      return { status: "failed", error: `no answer within ${SUMMARY_TIMEOUT_MS / 1000} s`, retryable: true };
    }
    // A network failure's message names the failure (and at most the URL), never the request body.
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { status: "failed", error: `request failed: ${oneLine(reason).slice(0, 200)}`, retryable: true };
  }
  if (!res.ok) return httpFailure(res);
  const body = (await res.json().catch(() => null)) as { choices?: { message?: { content?: unknown } }[] } | null;
  const content = body?.choices?.[0]?.message?.content;
  if (typeof content !== "string") {
    return { status: "failed", error: "the answer is not a chat completion", retryable: true };
  }
  const summary = clipAtWord(oneLine(content), SUMMARY_MAX);
  if (!summary) return { status: "failed", error: "the answer is empty", retryable: true };
  return { status: "ok", summary };
}
