/**
 * The voice agent itself: its instructions, its greeting, its tools and the conversation it continues. Kept apart
 * from the worker (main.ts) so that tests can run it with `voice.testing.FakeLLM` and `session.run`.
 */
import { llm, voice } from "@livekit/agents";
import type { HistoryItem } from "../contract/index.ts";
import { localTimeLine } from "../contract/profile.ts";
import type { SpeechPrefetch } from "./greeting.ts";

/** What the LLM is told when it writes the greeting (`GREETING_MODE=generated`). */
export const GREETING_INSTRUCTIONS = "Greet the visitor in one short sentence and offer your help.";

/**
 * How the agent opens the conversation (`GREETING_MODE`, with the words of the session's profile):
 * - `fixed`: says `text` (the profile's `greeting`) verbatim through TTS, without asking the LLM: the fastest first
 *   words (no LLM round trip before the TTS starts) and the same every time;
 * - `generated`: the LLM writes a greeting from the instructions ({@link GREETING_INSTRUCTIONS});
 * - `none`: the agent waits for the visitor to speak first.
 */
export type Greeting = { mode: "fixed"; text: string } | { mode: "generated" } | { mode: "none" };

/** `GREETING_MODE`. */
export type GreetingMode = Greeting["mode"];

/**
 * The instructions of a job: the dispatch's `system_prompt` when there is one (a client prompt the Worker allowed),
 * else the profile's `prompt.md`; then a blank line and the visitor's local time (contract/profile.ts
 * `localTimeLine`), so that the LLM can resolve "tomorrow at 9".
 * @param dispatchPrompt the dispatch metadata's `system_prompt`, when the Worker allowed one (blank counts as none)
 * @param profilePrompt the session's profile's prompt
 * @param now the instant the job starts
 * @param timeZone the dispatch's `timezone` (IANA name); absent or unknown: UTC
 */
export function resolveInstructions(
  dispatchPrompt: string | undefined,
  profilePrompt: string,
  now: Date,
  timeZone?: string,
): string {
  const prompt = dispatchPrompt?.trim() || profilePrompt.trim();
  return `${prompt}\n\n${localTimeLine(now, timeZone)}`;
}

/**
 * The chat context of a conversation that is being continued: each earlier final as a message, in order
 * (`user` → user message, `agent` → assistant message).
 * @param history the dispatch's `history` (contract `DispatchMetadata`), oldest first
 */
export function historyChatContext(history: readonly HistoryItem[]): llm.ChatContext {
  const ctx = llm.ChatContext.empty();
  for (const item of history) ctx.addMessage({ role: item.role === "user" ? "user" : "assistant", content: item.text });
  return ctx;
}

/** What else a {@link WebsiteAgent} may start with. */
export interface WebsiteAgentOptions {
  /**
   * The fixed greeting's audio, synthesized ahead (see greeting.ts); without it, or when its synthesis failed, or
   * when its text is not the greeting's, the greeting is synthesized when spoken.
   */
  prefetched?: SpeechPrefetch | undefined;
  /** The conversation so far, oldest first (dispatch metadata `history`); empty or absent for a new conversation. */
  history?: readonly HistoryItem[];
  /** The function tools the LLM may call (the profile's intents, profile-tools.ts). */
  tools?: readonly llm.FunctionTool[];
}

/**
 * The website voice assistant: greets on entering the session, then answers each user turn, calling its tools
 * when the LLM asks. An agent that continues a conversation (a replacement for a lost one) starts with its turns in
 * the chat context and does not greet: the visitor is mid-conversation.
 */
export class WebsiteAgent extends voice.Agent {
  readonly #greeting: Greeting;
  readonly #prefetched: SpeechPrefetch | undefined;
  /** Whether this agent continues an earlier conversation (it then never greets). */
  readonly continues: boolean;

  /**
   * @param instructions the system prompt (see {@link resolveInstructions})
   * @param greeting how to open the conversation; ignored when `options.history` has turns
   * @param options the prefetched greeting, the history, the tools
   */
  constructor(instructions: string, greeting: Greeting, options: WebsiteAgentOptions = {}) {
    const { prefetched, history = [], tools = [] } = options;
    super({
      instructions,
      ...(history.length > 0 ? { chatCtx: historyChatContext(history) } : {}),
      ...(tools.length > 0 ? { tools: [...tools] } : {}),
    });
    this.continues = history.length > 0;
    this.#greeting = this.continues ? { mode: "none" } : greeting;
    this.#prefetched = prefetched;
  }

  override async onEnter(): Promise<void> {
    const g = this.#greeting;
    // Both stay interruptible: the visitor may talk over the greeting (barge-in).
    if (g.mode === "fixed") {
      const audio = this.#prefetched?.text === g.text ? this.#prefetched.audio() : null;
      this.session.say(g.text, audio ? { audio } : undefined);
    } else if (g.mode === "generated") this.session.generateReply({ instructions: GREETING_INSTRUCTIONS });
  }
}
