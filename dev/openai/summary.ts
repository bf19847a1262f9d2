/**
 * The stand-in's summaries: a chat request whose system message starts with the first sentence of the edge's
 * summary prompt (edge/summary.ts `SUMMARY_PROMPT`) gets a deterministic summary of its transcript instead of the
 * echo, so that tests can check the summary a conversation gets (docs/agent.md, "The local OpenAI-compatible
 * provider"). It is built from the transcript's lines (`Visitor: …`, `Agent: …`, a first `Earlier conversation: …`):
 *
 *   The visitor said "<first visitor line, first 12 words>" and the agent answered "<the first agent line after it,
 *   first 12 words>". <N> visitor turns in all.
 *
 * without the agent's part when no agent line follows, and with ` It continued an earlier conversation.` at the end
 * when the transcript starts with an `Earlier conversation:` line. Not a model: it says nothing about what a real
 * model would write.
 */
import { EARLIER_PREFIX, SUMMARY_PROMPT } from "../../edge/summary.ts";
import { type ChatMessage, textOf } from "./tools.ts";

/** The summary prompt's first sentence, which marks a summary request. */
export const SUMMARY_MARKER = SUMMARY_PROMPT.slice(0, SUMMARY_PROMPT.indexOf(".") + 1);

/** Words of a line quoted in a stand-in summary. */
export const SUMMARY_QUOTE_WORDS = 12;

/** Whether a chat request asks for a summary: its first system message starts with {@link SUMMARY_MARKER}. */
export function isSummaryRequest(messages: ChatMessage[]): boolean {
  const system = messages.find((m) => m.role === "system" || m.role === "developer");
  return system !== undefined && textOf(system).trimStart().startsWith(SUMMARY_MARKER);
}

/** The first `n` words of a text, whitespace collapsed. */
function firstWords(text: string, n: number): string {
  return text.trim().split(/\s+/).slice(0, n).join(" ");
}

/**
 * The stand-in's summary of a summary request.
 * @param messages the request's messages; the transcript is the last user message
 * @returns the deterministic summary described above; "The visitor said nothing." without a visitor line
 */
export function standInSummary(messages: ChatMessage[]): string {
  const transcript = textOf(messages.filter((m) => m.role === "user").at(-1));
  const lines = transcript.split("\n").map((line) => line.trim());
  const continued = lines[0]?.startsWith(EARLIER_PREFIX.trim()) ?? false;
  const visitor = lines.flatMap((line, i) => (line.startsWith("Visitor:") ? [i] : []));
  const tail = continued ? " It continued an earlier conversation." : "";
  const first = visitor[0];
  if (first === undefined) return `The visitor said nothing.${tail}`;
  const said = firstWords(lines[first]!.slice("Visitor:".length), SUMMARY_QUOTE_WORDS);
  const answer = lines.slice(first + 1).find((line) => line.startsWith("Agent:"));
  const answered =
    answer === undefined
      ? ""
      : ` and the agent answered "${firstWords(answer.slice("Agent:".length), SUMMARY_QUOTE_WORDS)}"`;
  const turns = `${visitor.length} visitor turn${visitor.length === 1 ? "" : "s"} in all.`;
  return `The visitor said "${said}"${answered}. ${turns}${tail}`;
}
