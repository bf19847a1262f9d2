/**
 * The local provider's "language model": a small scripted responder that acknowledges what the
 * user said, streamed in OpenAI's chat-completions chunk format (server-sent events).
 *
 * Wire format: OpenAI API reference, "Create chat completion" (`stream: true` →
 * `data: {chat.completion.chunk}` lines, then `data: [DONE]`; `stream_options.include_usage` adds a
 * last chunk with `usage` and empty `choices`).
 */

type Part = { type?: string; text?: string };
type Message = { role?: string; content?: string | Part[] | null };

function textOf(m: Message): string {
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content))
    return m.content.map((p) => (p.type === "text" || !p.type ? (p.text ?? "") : "")).join(" ");
  return "";
}

/** The greeting, when the conversation has no user message yet. */
export const GREETING = "Hello! I am the local stand-in voice assistant. How can I help you today?";

/**
 * Scripted reply for a conversation.
 * @param messages OpenAI chat messages
 * @returns a greeting when no user has spoken, else a sentence that repeats the last user message and, when the
 *   context holds earlier user messages, says how many ("Before that, you said 2 other things."), so that a test
 *   can see what context the agent sent (e.g. the history a replacement agent starts with)
 */
export function scriptedReply(messages: Message[]): string {
  const users = messages.filter((m) => m.role === "user");
  const lastUser = users.at(-1);
  const said = lastUser ? textOf(lastUser).trim().replace(/\s+/g, " ") : "";
  if (!said) return GREETING;
  const earlier = users.length - 1;
  const before = earlier > 0 ? ` Before that, you said ${earlier} other thing${earlier === 1 ? "" : "s"}.` : "";
  return `I heard you say: ${said}.${before} This answer comes from the local stand-in, not from a real language model.`;
}

/** Splits a reply into streamed pieces: a word and its following space. */
export function pieces(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

/**
 * Builds the SSE body lines for a streamed completion.
 * @returns each string is one complete `data: …\n\n` event
 */
export function completionEvents(model: string, text: string, includeUsage: boolean): string[] {
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
  const parts = pieces(text);
  const events: object[] = [chunk({ role: "assistant", content: "" }, null)];
  for (const p of parts) events.push(chunk({ content: p }, null));
  events.push(chunk({}, "stop"));
  if (includeUsage) {
    events.push({ id, object: "chat.completion.chunk", created, model, choices: [], usage: usage(parts.length) });
  }
  return [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), "data: [DONE]\n\n"];
}

/** A non-streamed completion body. */
export function completionBody(model: string, text: string): object {
  return {
    id: `chatcmpl-dev-${Date.now().toString(36)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: usage(pieces(text).length),
  };
}

function usage(completionTokens: number) {
  return { prompt_tokens: 0, completion_tokens: completionTokens, total_tokens: completionTokens };
}
