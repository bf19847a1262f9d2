/**
 * The voice agent itself: its instructions and its greeting. Kept apart from the worker (main.ts)
 * so that tests can run it with `voice.testing.FakeLLM` and `session.run`.
 */
import { voice } from "@livekit/agents";
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

/** The website voice assistant: greets on entering the session, then answers each user turn. */
export class WebsiteAgent extends voice.Agent {
  readonly #greeting: Greeting;
  readonly #prefetched: SpeechPrefetch | undefined;

  /**
   * @param instructions the system prompt (see {@link resolveInstructions})
   * @param greeting how to open the conversation (default: {@link DEFAULT_GREETING}, verbatim)
   * @param prefetched the fixed greeting's audio, synthesized ahead (see greeting.ts); without it, or when
   *   its synthesis failed, the greeting is synthesized when spoken
   */
  constructor(
    instructions: string,
    greeting: Greeting = { mode: "fixed", text: DEFAULT_GREETING },
    prefetched?: SpeechPrefetch,
  ) {
    super({ instructions });
    this.#greeting = greeting;
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
