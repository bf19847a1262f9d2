/**
 * The local provider's "language model": a small scripted responder that acknowledges what the
 * user said, or, when the request offers function tools, calls one by the deterministic rules of
 * tools.ts, or, for the edge's summary request, answers the deterministic summary of summary.ts;
 * streamed in OpenAI's chat-completions chunk format (server-sent events) or not.
 *
 * Wire format: OpenAI API reference, "Create chat completion" (`stream: true` →
 * `data: {chat.completion.chunk}` lines, then `data: [DONE]`; `stream_options.include_usage` adds a
 * last chunk with `usage` and empty `choices`; a tool call streams as a first `delta.tool_calls` entry
 * with `index`, `id`, `type` and `function.name` and empty `arguments`, then entries with `index` and
 * argument fragments only, then `finish_reason: "tool_calls"`).
 */
import { createHash } from "node:crypto";
import { isSummaryRequest, standInSummary } from "./summary.ts";
import { type ChatMessage, decide, type FunctionTool, textOf, type ToolChoice } from "./tools.ts";

type Message = ChatMessage;

/** The greeting, when the conversation has no user message yet. */
export const GREETING = "Hello! I am the local stand-in voice assistant. How can I help you today?";

/**
 * Scripted reply for a conversation.
 * @param messages OpenAI chat messages
 * @returns a greeting when no user has spoken, else a sentence that repeats the last user message and, when the
 *   context holds earlier user messages, says how many and the first words of the first one ("Before that, you said
 *   2 other things, first "go forward ten meters"."), so that a test can see what context the agent sent (the
 *   history a replacement agent starts with, or a resumed conversation's earlier turns)
 */
export function scriptedReply(messages: Message[]): string {
  const users = messages.filter((m) => m.role === "user");
  const lastUser = users.at(-1);
  const said = lastUser ? textOf(lastUser).trim().replace(/\s+/g, " ") : "";
  if (!said) return GREETING;
  const earlier = users.length - 1;
  const first = textOf(users[0]!).trim().split(/\s+/).slice(0, 8).join(" ");
  const before =
    earlier > 0 ? ` Before that, you said ${earlier} other thing${earlier === 1 ? "" : "s"}, first "${first}".` : "";
  return `I heard you say: ${said}.${before} This answer comes from the local stand-in, not from a real language model.`;
}

/** Splits a reply into streamed pieces: a word and its following space. */
export function pieces(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

/** What the stand-in answers: text, or one call of a function tool (`arguments` is the JSON text). */
export type Reply = { kind: "text"; text: string } | { kind: "tool"; id: string; name: string; arguments: string };

/**
 * A deterministic tool-call id for a conversation: `call_` and the first 24 hex digits of the SHA-256 of its
 * messages (JSON), so that the same request gets the same id and tests are repeatable.
 */
export function toolCallId(messages: unknown[]): string {
  return `call_${createHash("sha256").update(JSON.stringify(messages)).digest("hex").slice(0, 24)}`;
}

/**
 * The stand-in's answer to a chat request.
 * @param messages OpenAI chat messages
 * @param tools the request's function tools (others are ignored)
 * @param toolChoice the request's `tool_choice` (default `auto`)
 * @returns for a summary request (the edge's, summary.ts `isSummaryRequest`), summary.ts `standInSummary`;
 *   else a tool call or text chosen by tools.ts `decide`, else {@link scriptedReply}'s text
 */
export function respond(messages: Message[], tools: FunctionTool[] = [], toolChoice?: ToolChoice): Reply {
  if (isSummaryRequest(messages)) return { kind: "text", text: standInSummary(messages) };
  const decision = decide(messages, tools, toolChoice);
  if (decision?.kind === "tool") {
    return {
      kind: "tool",
      id: toolCallId(messages),
      name: decision.name,
      arguments: JSON.stringify(decision.arguments),
    };
  }
  return { kind: "text", text: decision?.text ?? scriptedReply(messages) };
}

/** Splits a call's JSON arguments into streamed fragments of up to 8 characters (OpenAI sends a few tokens each). */
export function argumentFragments(json: string): string[] {
  return json.match(/[\s\S]{1,8}/g) ?? [];
}

const asReply = (r: string | Reply): Reply => (typeof r === "string" ? { kind: "text", text: r } : r);

/**
 * Builds the SSE body lines for a streamed completion.
 * @param reply the text, or a {@link Reply}
 * @returns each string is one complete `data: …\n\n` event; a tool call streams as OpenAI does: a chunk with
 *   `delta.tool_calls: [{index: 0, id, type: "function", function: {name, arguments: ""}}]`, chunks with
 *   `{index: 0, function: {arguments: <fragment>}}`, then `finish_reason: "tool_calls"`
 */
export function completionEvents(
  model: string,
  reply: string | Reply,
  includeUsage: boolean,
  promptTokens = 0,
): string[] {
  const r = asReply(reply);
  const id = `chatcmpl-dev-${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: object, finish: string | null, extra: object = {}) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  });
  const events: object[] = [];
  let count: number;
  if (r.kind === "tool") {
    const fragments = argumentFragments(r.arguments);
    count = fragments.length;
    events.push(
      chunk(
        {
          role: "assistant",
          content: null,
          tool_calls: [{ index: 0, id: r.id, type: "function", function: { name: r.name, arguments: "" } }],
        },
        null,
      ),
    );
    for (const f of fragments) events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: f } }] }, null));
    events.push(chunk({}, "tool_calls"));
  } else {
    const parts = pieces(r.text);
    count = parts.length;
    events.push(chunk({ role: "assistant", content: "" }, null));
    for (const p of parts) events.push(chunk({ content: p }, null));
    events.push(chunk({}, "stop"));
  }
  if (includeUsage) {
    events.push({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [],
      usage: usage(promptTokens, count),
    });
  }
  return [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), "data: [DONE]\n\n"];
}

/** A non-streamed completion body (`message.tool_calls` and `finish_reason: "tool_calls"` for a tool call). */
export function completionBody(model: string, reply: string | Reply, promptTokens = 0): object {
  const r = asReply(reply);
  const message =
    r.kind === "tool"
      ? {
          role: "assistant",
          content: null,
          refusal: null,
          tool_calls: [{ id: r.id, type: "function", function: { name: r.name, arguments: r.arguments } }],
        }
      : { role: "assistant", content: r.text, refusal: null };
  const count = r.kind === "tool" ? argumentFragments(r.arguments).length : pieces(r.text).length;
  return {
    id: `chatcmpl-dev-${Date.now().toString(36)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message, finish_reason: r.kind === "tool" ? "tool_calls" : "stop" }],
    usage: usage(promptTokens, count),
  };
}

function usage(promptTokens: number, completionTokens: number) {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
  };
}

/**
 * The stand-in's count of a request's prompt tokens: about one per 4 characters of its messages (OpenAI's rule of
 * thumb for English, https://help.openai.com/en/articles/4936856), at least 1. A real tokenizer is not needed: the
 * count only feeds usage figures (tokens and estimated cost) with a plausible, repeatable number.
 */
export function promptTokensOf(messages: unknown[]): number {
  return Math.max(1, Math.ceil(JSON.stringify(messages).length / 4));
}
