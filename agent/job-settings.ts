/**
 * What a job takes from its session's profile (profiles/<id>/, loaded at start by profiles/load.ts): the
 * instructions, the greeting (the first-time or the resume one, or none for a replacement agent), the LLM, voice
 * and language, and the intents that become its tools. See docs/agent.md, "Profiles and actions" and "Behaviour
 * worth knowing".
 */
import { DEFAULT_PROFILE_ID, type DispatchMetadata, type SessionMode } from "../contract/index.ts";
import { greetingText, type Profile } from "../contract/profile.ts";
import { type Greeting, type GreetingMode, resolveInstructions, visitorContext } from "./agent.ts";
import type { AgentConfig } from "./config.ts";
import { type ProviderConfig, providerConfig } from "./pipeline.ts";
import { toolParameters } from "./profile-tools.ts";

/** The loaded profiles by id (profiles/load.ts `loadProfiles`). */
export type Profiles = ReadonlyMap<string, Profile>;

/**
 * How a job's conversation starts, from its dispatch metadata: `new` (no `history`, no `resumed`), `resumed` (the
 * visitor continues an earlier conversation: `resumed` is set) or `replacement` (`history` without `resumed`: the
 * session lost its agent and this one takes over mid-conversation).
 */
export type ConversationStart = "new" | "resumed" | "replacement";

/** {@link ConversationStart} of a dispatch. */
export function conversationStart(metadata: Pick<DispatchMetadata, "history" | "resumed">): ConversationStart {
  if (metadata.resumed) return "resumed";
  return (metadata.history?.length ?? 0) > 0 ? "replacement" : "new";
}

/** A job's settings from its profile and its dispatch metadata. */
export interface JobSettings {
  profile: Profile;
  /** The system prompt: the dispatch's `system_prompt` or the profile's prompt, and the visitor's local time. */
  instructions: string;
  /** How the conversation starts. */
  start: ConversationStart;
  /**
   * `GREETING_MODE` with the profile's words: its `greeting`, its `resume_greeting` when resumed, its
   * `continue_greeting` when the visitor has a tutor place, with their name ({@link greetingOf}); `none` for a
   * replacement.
   */
  greeting: Greeting;
  /** The profile's LLM, voice and language with the deployment's keys and models. */
  providers: ProviderConfig;
  /** How the session talks (dispatch metadata `mode`; absent: `pipeline`): live mode starts with a live agent (pipeline.ts `createRealtimeModel`). */
  mode: SessionMode;
}

/**
 * Chooses a job's profile and derives its settings.
 * @param metadata the validated dispatch metadata: `profile` (absent: `DEFAULT_PROFILE_ID`), `timezone` (absent:
 *   UTC), `system_prompt`, `history` and `resumed` (how the conversation starts: {@link conversationStart}), and
 *   `visitor_name` and `tutor_place` (the instructions' lines about the visitor, and the greeting's words), `mode`
 * @param now the job's start, for the local time line
 * @returns the settings, or the reason the job cannot run (a profile this worker does not have; the Worker and
 *   the agent fleet then disagree on the profiles, as after a partial deploy)
 */
export function jobSettings(
  cfg: Pick<AgentConfig, "openaiApiKey" | "openaiBaseUrl" | "sttModel" | "ttsModel" | "greetingMode"> &
    Partial<Pick<AgentConfig, "sttProvider" | "ttsProvider" | "deepgram">>,
  metadata: Pick<
    DispatchMetadata,
    "profile" | "timezone" | "system_prompt" | "history" | "resumed" | "visitor_name" | "tutor_place" | "mode"
  >,
  profiles: Profiles,
  now: Date = new Date(),
): { ok: true; settings: JobSettings } | { ok: false; reason: string } {
  const id = metadata.profile ?? DEFAULT_PROFILE_ID;
  const profile = profiles.get(id);
  if (!profile) {
    const known = [...profiles.keys()].sort().join(", ");
    return { ok: false, reason: `unknown profile "${id}" (this agent has: ${known || "none"})` };
  }
  const start = conversationStart(metadata);
  return {
    ok: true,
    settings: {
      profile,
      instructions: resolveInstructions(
        metadata.system_prompt,
        profile.prompt,
        now,
        metadata.timezone,
        visitorContext(metadata),
      ),
      start,
      greeting:
        start === "replacement"
          ? { mode: "none" }
          : greetingOf(cfg.greetingMode, profile, {
              resumed: start === "resumed",
              name: metadata.visitor_name,
              topic: metadata.tutor_place?.topic,
            }),
      providers: providerConfig(cfg, profile),
      mode: metadata.mode ?? "pipeline",
    },
  };
}

/**
 * `GREETING_MODE` with a profile's words.
 * @param place for `fixed`, which of the profile's lines it says and how it fills it (contract/profile.ts
 *   `greetingText`): `resumed` (the visitor resumed an earlier conversation: its `resume_greeting`), `topic` (their
 *   tutor topic: its `continue_greeting`, when it has one) and `name` (the visitor's first name)
 */
export function greetingOf(
  mode: GreetingMode,
  profile: Pick<Profile, "greeting" | "resume_greeting" | "continue_greeting">,
  place: { resumed: boolean; name?: string | undefined; topic?: string | undefined } = { resumed: false },
): Greeting {
  return mode === "fixed" ? { mode, text: greetingText(profile, place) } : { mode };
}

/**
 * Checks at start what the loader (profiles/load.ts) does not: every intent can become a tool (profile-tools.ts).
 * @throws Error naming the profile and the problem
 */
export function checkProfiles(profiles: Profiles): void {
  for (const profile of profiles.values()) {
    for (const intent of profile.intents) {
      try {
        toolParameters(intent);
      } catch (err) {
        throw new Error(`profile ${profile.id}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
}
