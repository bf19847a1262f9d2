/**
 * The voice agent itself: its instructions, its greeting, and the conversation it continues. Kept apart from the
 * worker (main.ts) so that tests can run it with `voice.testing.FakeLLM` and `session.run`.
 */
import { llm, voice } from "@livekit/agents";
import type { HistoryItem } from "../contract/index.ts";
import type { SpeechPrefetch } from "./greeting.ts";

/** What the LLM is told when it writes the greeting (`GREETING_MODE=generated`). */
export const GREETING_INSTRUCTIONS = "Greet the visitor in one short sentence and offer your help.";

/** The greeting spoken when `GREETING` is not set. */
export const DEFAULT_GREETING = "Hi! How can I help you today?";

/**
 * How the agent opens the conversation (`GREETING_MODE`):
 * - `fixed`: says `text` verbatim through TTS, without asking the LLM: the fastest first words (no LLM round
 *   trip before the TTS starts) and the same every time;
 * - `generated`: the LLM writes a greeting from the instructions ({@link GREETING_INSTRUCTIONS});
 * - `none`: the agent waits for the visitor to speak first.
 */
export type Greeting = { mode: "fixed"; text: string } | { mode: "generated" } | { mode: "none" };

/**
 * Picks the instructions for a job.
 * @param dispatchPrompt the dispatch metadata's `system_prompt`, when the Worker allowed one
 * @param configured `SYSTEM_PROMPT` (or the built-in default; see config.ts)
 */
export function resolveInstructions(dispatchPrompt: string | undefined, configured: string): string {
  return dispatchPrompt?.trim() || configured;
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

/**
 * The website voice assistant: greets on entering the session, then answers each user turn. An agent that
 * continues a conversation (a replacement for a lost one) starts with its turns in the chat context and does
 * not greet: the visitor is mid-conversation.
 */
export class WebsiteAgent extends voice.Agent {
  readonly #greeting: Greeting;
  readonly #prefetched: SpeechPrefetch | undefined;
  /** Whether this agent continues an earlier conversation (it then never greets). */
  readonly continues: boolean;

  /**
   * @param instructions the system prompt (see {@link resolveInstructions})
   * @param greeting how to open the conversation (default: {@link DEFAULT_GREETING}, verbatim); ignored when
   *   `history` has turns
   * @param prefetched the fixed greeting's audio, synthesized ahead (see greeting.ts); without it, or when
   *   its synthesis failed, the greeting is synthesized when spoken
   * @param history the conversation so far, oldest first (dispatch metadata `history`); empty or absent for a
   *   new conversation
   */
  constructor(
    instructions: string,
    greeting: Greeting = { mode: "fixed", text: DEFAULT_GREETING },
    prefetched?: SpeechPrefetch,
    history: readonly HistoryItem[] = [],
  ) {
    super({ instructions, ...(history.length > 0 ? { chatCtx: historyChatContext(history) } : {}) });
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
