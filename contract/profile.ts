/**
 * Profiles: what an agent is, configured by files and not by code. A profile is a folder `profiles/<id>/`
 * holding `prompt.md` (the system prompt, markdown) and `profile.yaml` ({@link ProfileFile}: display name,
 * greetings (first-time and resume), voice, language, model settings and the intent registry).
 *
 * This module is the one definition of a profile's shape, used where profiles are loaded and checked: the
 * agent at start (profiles/load.ts), the Worker's build (profiles/build.ts writes the {@link ProfileRegistry}
 * the Worker bundles). Classic zod (not zod/mini): the page does not import it.
 *
 * Intent parameters are JSON Schema, in the subset {@link ParameterSchema} allows: what OpenAI's function
 * calling accepts and what `@cfworker/json-schema` validates in the Worker without `eval` (the Workers runtime
 * forbids code generation, which rules out Ajv). See docs/profiles.md.
 */
import { z } from "zod";
import { IntentName } from "./actions.ts";
import { ProfileId } from "./rest.ts";

/** The planner's backend actions (worker/actions/planner.ts): a profile with any of them gets the plan panel. */
export const PLANNER_ACTIONS = ["GOAL", "NEW_TASK", "RESCHEDULE_TASK"] as const;

/**
 * The tutor's backend actions (worker/actions/tutor.ts): a profile with any of them gets the lesson panel and, once
 * the visitor has a place in the curriculum, that place in its dispatch (`tutor_place`).
 */
export const TUTOR_ACTIONS = [
  "LIST_TOPICS",
  "START_TOPIC",
  "CURRENT_SUBTOPIC",
  "CHECK_UNDERSTANDING",
  "NEXT_SUBTOPIC",
  "TUTOR_PROGRESS",
] as const;

/**
 * The intents the Worker has backend handlers for (worker/actions/): a profile's intent must be named after one
 * of them (profiles/load.ts refuses others), since the Worker routes each call to its intent's handler.
 */
export const ACTION_HANDLERS = [...PLANNER_ACTIONS, ...TUTOR_ACTIONS] as const;
export type ActionHandlerName = (typeof ACTION_HANDLERS)[number];

/** Formats a string parameter may declare (JSON Schema 2020-12 `format`, checked by the Worker). */
export const STRING_FORMATS = ["date-time", "date", "time", "email", "uri"] as const;

/** Longest description (of an intent or a parameter), in characters. */
export const DESCRIPTION_MAX = 1000;

const Description = z.string().min(1).max(DESCRIPTION_MAX);

/** A JSON Schema for one value: the subset intents may use. */
export type ValueSchema =
  | {
      type: "string";
      description?: string;
      enum?: string[];
      format?: (typeof STRING_FORMATS)[number];
      minLength?: number;
      maxLength?: number;
      pattern?: string;
    }
  | { type: "number" | "integer"; description?: string; enum?: number[]; minimum?: number; maximum?: number }
  | { type: "boolean"; description?: string }
  | { type: "array"; description?: string; items: ValueSchema; minItems?: number; maxItems?: number }
  | ObjectSchema;

/** A JSON Schema for an object: named properties, which of them are required, and no others. */
export interface ObjectSchema {
  type: "object";
  description?: string;
  properties: Record<string, ValueSchema>;
  required?: string[];
  additionalProperties?: false;
}

const PropertyName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, "property names are snake_case: a-z, 0-9 and _");
const Count = z.number().int().nonnegative();

const StringSchema = z.strictObject({
  type: z.literal("string"),
  description: Description.optional(),
  enum: z.array(z.string().min(1)).min(1).optional(),
  format: z.enum(STRING_FORMATS).optional(),
  minLength: Count.optional(),
  maxLength: Count.optional(),
  pattern: z
    .string()
    .refine((p) => {
      try {
        new RegExp(p, "u");
        return true;
      } catch {
        return false;
      }
    }, "must be a valid regular expression")
    .optional(),
});
const NumberSchema = z.strictObject({
  type: z.enum(["number", "integer"]),
  description: Description.optional(),
  enum: z.array(z.number()).min(1).optional(),
  minimum: z.number().optional(),
  maximum: z.number().optional(),
});
const BooleanSchema = z.strictObject({ type: z.literal("boolean"), description: Description.optional() });

/** The parameters of an intent: an object schema (the top level of every function's parameters). */
export const ObjectSchema: z.ZodType<ObjectSchema> = z.lazy(() =>
  z
    .strictObject({
      type: z.literal("object"),
      description: Description.optional(),
      properties: z.record(PropertyName, ValueSchema),
      required: z.array(z.string()).optional(),
      additionalProperties: z.literal(false).optional(),
    })
    // `when`: also checked when other parts of the schema are wrong, so that every problem is reported at once.
    .superRefine(
      (schema, ctx) => {
        for (const [i, name] of (schema.required ?? []).entries()) {
          if (typeof name === "string" && !Object.hasOwn(schema.properties, name)) {
            ctx.addIssue({
              code: "custom",
              path: ["required", i],
              message: `names "${name}", which is not a property`,
            });
          }
        }
      },
      { when: (payload) => hasRequiredAndProperties(payload.value) },
    ),
);

/** Whether a (possibly invalid) value has a `required` list and a `properties` map to check it against. */
function hasRequiredAndProperties(value: unknown): value is { required: unknown[]; properties: object } {
  const v = value as { required?: unknown; properties?: unknown } | null;
  return (
    typeof v === "object" &&
    v !== null &&
    Array.isArray(v.required) &&
    typeof v.properties === "object" &&
    v.properties !== null
  );
}

/** Any value's schema (recursive through arrays and objects). */
export const ValueSchema: z.ZodType<ValueSchema> = z.lazy(
  () =>
    z.discriminatedUnion("type", [
      StringSchema,
      NumberSchema,
      BooleanSchema,
      z.strictObject({
        type: z.literal("array"),
        description: Description.optional(),
        items: ValueSchema,
        minItems: Count.optional(),
        maxItems: Count.optional(),
      }),
      ObjectSchema as unknown as z.ZodObject<{ type: z.ZodLiteral<"object"> }>,
    ]) as unknown as z.ZodType<ValueSchema>,
);

/** The top-level parameters schema of an intent. */
export const ParameterSchema = ObjectSchema;

/** One intent of a profile's registry: an action the agent can take, exposed to the LLM as a function tool. */
export const Intent = z.strictObject({
  /** The tool's name, and the backend handler it is routed to (worker/actions/). */
  name: IntentName,
  /** What the intent does and when to use it, written for the LLM. */
  description: Description,
  /** The arguments, as JSON Schema (the subset above). */
  parameters: ParameterSchema,
  /** A few things a visitor might say to mean it (the LLM sees them in the description; 1-10). */
  examples: z.array(z.string().min(1).max(200)).min(1).max(10),
  /** Whether the agent must read the action back and get a yes before submitting it. */
  confirm: z.boolean(),
});
export type Intent = z.infer<typeof Intent>;

/** A voice of OpenAI's text-to-speech (platform.openai.com/docs/guides/text-to-speech, "Voice options"). */
export const TTS_VOICES = [
  "alloy",
  "ash",
  "ballad",
  "coral",
  "echo",
  "fable",
  "nova",
  "onyx",
  "sage",
  "shimmer",
  "verse",
] as const;

/**
 * The speech providers a deployment can use for STT and TTS (agent/config.ts `STT_PROVIDER`, `TTS_PROVIDER`): OpenAI
 * (the default) or Deepgram. The LLM is always OpenAI's (or an OpenAI-compatible endpoint).
 */
export const SPEECH_PROVIDERS = ["openai", "deepgram"] as const;
export type SpeechProvider = (typeof SPEECH_PROVIDERS)[number];

/**
 * A Deepgram Aura voice: Deepgram's TTS voice is its model name, `aura-2-<name>-<language>` (or the first
 * generation's `aura-<name>-<language>`), e.g. `aura-2-thalia-en`, `aura-2-celeste-es`
 * (developers.deepgram.com/docs/tts-models).
 */
export const DeepgramVoice = z
  .string()
  .regex(/^aura-[a-z0-9]+(-[a-z0-9]+)*$/, "must be a Deepgram Aura voice such as aura-2-thalia-en");

/**
 * A profile's choice of speech providers, each overriding the deployment's (`STT_PROVIDER`, `TTS_PROVIDER`) for its
 * sessions; absent: the deployment's. `deepgram_voice` is the Aura voice its sessions speak with when their TTS is
 * Deepgram (absent: the deployment's `DEEPGRAM_TTS_MODEL`); `voice` stays the OpenAI one.
 */
export const ProfileProviders = z.strictObject({
  stt: z.enum(SPEECH_PROVIDERS).optional(),
  tts: z.enum(SPEECH_PROVIDERS).optional(),
  deepgram_voice: DeepgramVoice.optional(),
});
export type ProfileProviders = z.infer<typeof ProfileProviders>;

/**
 * What the agent says first when the visitor continues an earlier conversation, for a profile without its own
 * `resume_greeting`.
 */
export const DEFAULT_RESUME_GREETING = "Welcome back. Shall we pick up where we left off?";

/**
 * What the agent says when the visitor's live minutes for the day run out mid-conversation and it goes on in the
 * pipeline (docs/agent.md, "Live mode"), for a profile without its own `live_limit_notice`.
 */
export const DEFAULT_LIVE_LIMIT_NOTICE =
  "That's all the live mode time for today, so I'll carry on in standard mode. We can keep talking.";

/**
 * A greeting line: 1-500 characters, whose only `{…}` placeholders are among `placeholders` (filled by
 * {@link greetingText}).
 */
function greetingLine(...placeholders: readonly string[]) {
  return z
    .string()
    .min(1)
    .max(500)
    .superRefine((line, ctx) => {
      for (const [whole, name] of line.matchAll(/\{([^{}]*)\}/g)) {
        if (!placeholders.includes(name!))
          ctx.addIssue({
            code: "custom",
            message: `${whole} is not a placeholder here (allowed: ${placeholders.map((p) => `{${p}}`).join(", ")})`,
          });
      }
    });
}

/** `profiles/<id>/profile.yaml`. */
export const ProfileFile = z.strictObject({
  /** Shown to the visitor (page title, history). */
  display_name: z.string().min(1).max(64),
  /** What the agent says first in a new conversation (spoken as written; `{name}`: see {@link greetingText}). */
  greeting: greetingLine("name"),
  /**
   * What the agent says first when the visitor continues an earlier conversation (`POST /session {resume_from}`;
   * spoken as written); absent: {@link DEFAULT_RESUME_GREETING}.
   */
  resume_greeting: greetingLine("name").default(DEFAULT_RESUME_GREETING),
  /**
   * What the agent says first, new or resumed conversation, when the visitor has a place in the tutor's curriculum
   * (dispatch `tutor_place`, for a profile with tutor actions), e.g. "Hi {name}, ready to continue with {topic}?";
   * absent: `greeting` or `resume_greeting` as usual. See {@link greetingText} for the placeholders.
   */
  continue_greeting: greetingLine("name", "topic").optional(),
  /**
   * What the agent says, in the pipeline, when the visitor's live minutes for the day ran out mid-conversation
   * (`LIVE_MINUTES_PER_DAY`); absent: {@link DEFAULT_LIVE_LIMIT_NOTICE}. Spoken as written: no placeholders.
   */
  live_limit_notice: greetingLine().default(DEFAULT_LIVE_LIMIT_NOTICE),
  /**
   * Whether the page asks the visitor's first name before their first Start (the name step; "Skip" is always
   * offered). The name goes on the LiveKit token and into the greetings' `{name}`.
   */
  ask_name: z.boolean().default(false),
  /** The TTS voice (OpenAI's; a Deepgram TTS speaks with `providers.deepgram_voice` or the deployment's). */
  voice: z.enum(TTS_VOICES),
  /**
   * The speech providers of this profile's sessions (absent: the deployment's `STT_PROVIDER` and `TTS_PROVIDER`).
   * A provider the deployment has no key for is replaced by OpenAI at session start (docs/agent.md, "Providers").
   */
  providers: ProfileProviders.optional(),
  /** The conversation's language, a BCP 47 tag (e.g. `en`, `en-GB`): the STT's and the prompt's. */
  language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, "must be a BCP 47 language tag such as en or en-GB"),
  /** LLM settings. */
  model: z.strictObject({
    name: z.string().min(1).max(64),
    temperature: z.number().min(0).max(2).optional(),
  }),
  /** The intent registry: the actions this profile's agent can take (may be empty). Names are unique. */
  intents: z
    .array(Intent)
    .max(32)
    .superRefine(
      (intents, ctx) => {
        const seen = new Set<unknown>();
        for (const [i, intent] of intents.entries()) {
          const name: unknown = (intent as unknown as { name?: unknown } | null)?.name;
          if (typeof name !== "string") continue;
          if (seen.has(name))
            ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${name}" is defined twice` });
          seen.add(name);
        }
      },
      // Also checked when an intent has other problems (every problem is reported at once).
      { when: (payload) => Array.isArray(payload.value) },
    )
    .default([]),
});
export type ProfileFile = z.infer<typeof ProfileFile>;

/** Longest `prompt.md`, in characters. */
export const PROMPT_MAX = 16_000;

/** A loaded profile: its id (folder name), its file and its prompt. */
export interface Profile extends ProfileFile {
  id: ProfileId;
  /** `prompt.md`, as written. */
  prompt: string;
}

/**
 * What the Worker bundles (profiles/build.ts writes it as JSON): every profile without its prompt, which only
 * the agent needs.
 */
export const ProfileRegistry = z.strictObject({
  profiles: z.record(ProfileId, ProfileFile),
});
export type ProfileRegistry = z.infer<typeof ProfileRegistry>;

/**
 * The line the agent appends to a profile's prompt so that the LLM can resolve "tomorrow at 9": the visitor's
 * local time as an ISO 8601 date-time with its UTC offset, and the zone's name, e.g.
 * `The visitor's current local time is 2026-12-01T11:40:00+01:00 (Europe/Berlin).`
 * The local OpenAI stand-in reads it back with {@link LOCAL_TIME_LINE} to resolve dates the same way.
 * @param now the instant
 * @param timeZone an IANA zone name (contract `TimeZone`); an unknown one counts as UTC
 */
export function localTimeLine(now: Date, timeZone = "UTC"): string {
  let zone = timeZone;
  let offsetMin = zoneOffsetAt(zone, now.getTime());
  if (offsetMin === undefined) {
    zone = "UTC";
    offsetMin = 0;
  }
  const wall = new Date(Math.floor(now.getTime() / 1000) * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `The visitor's current local time is ${wall}${offset} (${zone}).`;
}

/**
 * The UTC offset of an IANA time zone at an instant, from the runtime's time zone data (`Intl.DateTimeFormat`).
 * @param zone e.g. `Europe/Berlin`
 * @param instantMs epoch ms
 * @returns minutes east of UTC (e.g. 60 for Berlin in winter, -300 for New York), or undefined for a zone the
 *   runtime does not know
 */
export function zoneOffsetAt(zone: string, instantMs: number): number | undefined {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).formatToParts(new Date(instantMs));
  } catch {
    return undefined;
  }
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour") % 24, get("minute"), get("second"));
  return Math.round((wall - Math.floor(instantMs / 1000) * 1000) / 60_000);
}

/** Finds {@link localTimeLine}'s line in a prompt: group 1 is the date-time with offset, group 2 the zone. */
export const LOCAL_TIME_LINE =
  /The visitor's current local time is (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}) \(([^)]+)\)\./;

/**
 * The line the agent greets with, its placeholders filled:
 * - `continue_greeting` when the profile has one and `topic` is known, else `resume_greeting` for a resumed
 *   conversation, else `greeting`;
 * - `{name}` is the visitor's first name; without one, it goes with the space or comma before it ("Hi {name}, ready"
 *   → "Hi, ready"; "Hi {name}!" → "Hi!");
 * - `{topic}` is the tutor topic the visitor is on (only `continue_greeting` is used with it).
 * @param place `name`: the visitor's first name (dispatch `visitor_name`); `topic`: their tutor topic
 *   (dispatch `tutor_place.topic`); `resumed`: the visitor continues an earlier conversation
 */
export function greetingText(
  profile: Pick<ProfileFile, "greeting" | "resume_greeting" | "continue_greeting">,
  place: { name?: string | undefined; topic?: string | undefined; resumed: boolean },
): string {
  const template =
    profile.continue_greeting !== undefined && place.topic !== undefined
      ? profile.continue_greeting
      : place.resumed
        ? profile.resume_greeting
        : profile.greeting;
  const named =
    place.name !== undefined ? template.replaceAll("{name}", place.name) : template.replace(/[ ,]*\{name\}/g, "");
  return named.replaceAll("{topic}", place.topic ?? "");
}
