/**
 * What a job takes from its session's profile (profiles/<id>/, loaded at start by profiles/load.ts): the
 * instructions, the greeting, the LLM, voice and language, and the intents that become its tools. See
 * docs/agent.md, "Profiles and actions".
 */
import { DEFAULT_PROFILE_ID, type DispatchMetadata } from "../contract/index.ts";
import type { Profile } from "../contract/profile.ts";
import { type Greeting, type GreetingMode, resolveInstructions } from "./agent.ts";
import type { AgentConfig } from "./config.ts";
import { type ProviderConfig, providerConfig } from "./pipeline.ts";
import { toolParameters } from "./profile-tools.ts";

/** The loaded profiles by id (profiles/load.ts `loadProfiles`). */
export type Profiles = ReadonlyMap<string, Profile>;

/** A job's settings from its profile and its dispatch metadata. */
export interface JobSettings {
  profile: Profile;
  /** The system prompt: the dispatch's `system_prompt` or the profile's prompt, and the visitor's local time. */
  instructions: string;
  /** `GREETING_MODE` with the profile's words. */
  greeting: Greeting;
  /** The profile's LLM, voice and language with the deployment's keys and models. */
  providers: ProviderConfig;
}

/**
 * Chooses a job's profile and derives its settings.
 * @param metadata the validated dispatch metadata: `profile` (absent: `DEFAULT_PROFILE_ID`), `timezone` (absent:
 *   UTC), `system_prompt`
 * @param now the job's start, for the local time line
 * @returns the settings, or the reason the job cannot run (a profile this worker does not have; the Worker and
 *   the agent fleet then disagree on the profiles, as after a partial deploy)
 */
export function jobSettings(
  cfg: Pick<AgentConfig, "openaiApiKey" | "openaiBaseUrl" | "sttModel" | "ttsModel" | "greetingMode">,
  metadata: Pick<DispatchMetadata, "profile" | "timezone" | "system_prompt">,
  profiles: Profiles,
  now: Date = new Date(),
): { ok: true; settings: JobSettings } | { ok: false; reason: string } {
  const id = metadata.profile ?? DEFAULT_PROFILE_ID;
  const profile = profiles.get(id);
  if (!profile) {
    const known = [...profiles.keys()].sort().join(", ");
    return { ok: false, reason: `unknown profile "${id}" (this agent has: ${known || "none"})` };
  }
  return {
    ok: true,
    settings: {
      profile,
      instructions: resolveInstructions(metadata.system_prompt, profile.prompt, now, metadata.timezone),
      greeting: greetingOf(cfg.greetingMode, profile),
      providers: providerConfig(cfg, profile),
    },
  };
}

/** `GREETING_MODE` with a profile's words. */
export function greetingOf(mode: GreetingMode, profile: Pick<Profile, "greeting">): Greeting {
  return mode === "fixed" ? { mode, text: profile.greeting } : { mode };
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
