/**
 * The voice agent itself: its instructions and its greeting. Kept apart from the worker (main.ts)
 * so that tests can run it with `voice.testing.FakeLLM` and `session.run`.
 */
import { voice } from "@livekit/agents";

/** What the LLM is told when the agent greets the visitor (the agent speaks first). */
export const GREETING_INSTRUCTIONS = "Greet the visitor in one short sentence and offer your help.";

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
  readonly #greet: boolean;

  /**
   * @param instructions the system prompt (see {@link resolveInstructions})
   * @param greet whether to speak first on entering the session (default true; tests may turn it off)
   */
  constructor(instructions: string, greet = true) {
    super({ instructions });
    this.#greet = greet;
  }

  override async onEnter(): Promise<void> {
    if (this.#greet) this.session.generateReply({ instructions: GREETING_INSTRUCTIONS });
  }
}
