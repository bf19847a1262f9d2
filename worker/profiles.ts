/**
 * The profile registry the Worker bundles: `profiles/dist/registry.json`, written by `npx node profiles/build.ts`
 * (which has already checked every profile), parsed here once more with the contract's `ProfileRegistry` when the
 * script starts. This module is the Worker's only importer of that file. It offers the lookups the Worker needs
 * (a profile by id, an intent by profile and name), the intents' compiled argument validators, and the check that
 * `ALLOWED_PROFILES`/`DEFAULT_PROFILE` name profiles of the registry.
 *
 * Arguments are validated with `@cfworker/json-schema` (JSON Schema 2020-12), which interprets a schema instead of
 * generating code: the Workers runtime forbids `eval`/`new Function`, which rules out Ajv. It checks the `format`s
 * profiles may use (`date-time` with a required UTC offset, `date`, `time`, `email`, `uri`) itself
 * (node_modules/@cfworker/json-schema/dist/esm/format.js), which test/workerd/actions.test.ts asserts.
 *
 * See docs/actions.md and docs/profiles.md.
 */
import { type OutputUnit, type Schema, Validator } from "@cfworker/json-schema";
import type { ActionFieldError } from "../contract/actions.ts";
import { type Intent, PLANNER_ACTIONS, type ProfileFile, ProfileRegistry, TUTOR_ACTIONS } from "../contract/profile.ts";
import { ConfigError, type EdgeConfig } from "../edge/config.ts";
import registryJson from "../profiles/dist/registry.json";

/**
 * Parses the bundled registry.
 * @throws Error naming the first path at fault (the script does not start: a bad registry is a build fault)
 */
function parseRegistry(value: unknown): ProfileRegistry {
  const parsed = ProfileRegistry.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "(top level)";
  throw new Error(
    `profiles/dist/registry.json does not match ProfileRegistry at ${where}: ${issue?.message ?? "invalid"}; ` +
      "rebuild it with `npx node profiles/build.ts`",
  );
}

const registry = parseRegistry(registryJson);

/** The ids of every profile in the registry, in the registry's order. */
export function profileIds(): string[] {
  return Object.keys(registry.profiles);
}

/** The profile `id` of the registry (its `profile.yaml`, without the prompt), or undefined when there is none. */
export function profileById(id: string): ProfileFile | undefined {
  return Object.hasOwn(registry.profiles, id) ? registry.profiles[id] : undefined;
}

const PLANNER_INTENTS: ReadonlySet<string> = new Set(PLANNER_ACTIONS);
const TUTOR_INTENTS: ReadonlySet<string> = new Set(TUTOR_ACTIONS);

/** Whether the profile has planner intents (contract/profile.ts `PLANNER_ACTIONS`): the plan panel. */
export function hasPlanner(profile: Pick<ProfileFile, "intents">): boolean {
  return profile.intents.some((i) => PLANNER_INTENTS.has(i.name));
}

/**
 * Whether the profile has tutor intents (contract/profile.ts `TUTOR_ACTIONS`): the lesson panel, and the visitor's
 * place in the dispatch.
 */
export function hasTutor(profile: Pick<ProfileFile, "intents">): boolean {
  return profile.intents.some((i) => TUTOR_INTENTS.has(i.name));
}

/** An intent with its compiled argument validator. */
export interface CompiledIntent {
  intent: Intent;
  /**
   * Checks `args` against the intent's `parameters`.
   * @returns the errors (JSON Pointers into `args`, readable messages), [] when valid
   */
  validate(args: Record<string, unknown>): ActionFieldError[];
}

/** Compiled intents by `<profile>/<intent>`: each schema is compiled once per isolate, on its first call. */
const compiled = new Map<string, CompiledIntent>();

/**
 * The intent `name` of profile `profileId`, with its validator.
 * @returns undefined when the profile does not exist or has no such intent
 */
export function intentOf(profileId: string, name: string): CompiledIntent | undefined {
  const key = `${profileId}/${name}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  const intent = profileById(profileId)?.intents.find((i) => i.name === name);
  if (!intent) return undefined;
  const schema = intent.parameters as Schema;
  const validator = new Validator(schema, "2020-12", false);
  const entry: CompiledIntent = {
    intent,
    validate: (args) => {
      const result = validator.validate(args);
      return result.valid ? [] : fieldErrors(schema, result.errors);
    },
  };
  compiled.set(key, entry);
  return entry;
}

const checked = new WeakSet<EdgeConfig>();

/**
 * Checks that every profile of `ALLOWED_PROFILES` (and so `DEFAULT_PROFILE`, which edge/config.ts keeps among
 * them) is in the bundled registry. Cached per configuration object.
 * @throws ConfigError naming each unknown profile, e.g. `invalid Worker configuration: ALLOWED_PROFILES names
 *   "tutor", which is not in the profile registry (profiles/tutor/, built by npx node profiles/build.ts)`
 */
export function checkProfileConfig(config: EdgeConfig): void {
  if (checked.has(config)) return;
  const unknown = [...config.allowedProfiles].filter((id) => !profileById(id));
  if (unknown.length > 0) {
    const faults = unknown.map(
      (id) =>
        `ALLOWED_PROFILES names "${id}", which is not in the profile registry (profiles/${id}/, built by npx node profiles/build.ts)`,
    );
    throw new ConfigError(`invalid Worker configuration: ${faults.join("; ")}`);
  }
  checked.add(config);
}

// ---- Readable schema errors ------------------------------------------------------------------

/** What each `format` a profile may use expects, in words. */
const FORMAT_HINTS: Record<string, string> = {
  "date-time": "must be a date and time with its UTC offset, like 2026-12-01T09:00:00+01:00",
  date: "must be a date, like 2026-12-01",
  time: "must be a time with its UTC offset, like 09:00:00+01:00",
  email: "must be an email address",
  uri: "must be an absolute URI, like https://example.com/",
};

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "a whole number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  null: "null",
};

/** Keywords whose errors only wrap the errors of a sub-schema, which are reported on their own. */
const WRAPPERS = new Set(["properties", "additionalProperties", "items", "prefixItems", "allOf", "anyOf", "oneOf"]);

/** `#/a/b%20c` (cfworker's URI-fragment pointer) → `/a/b c` (a JSON Pointer, RFC 6901). */
function pointer(location: string): string {
  const fragment = location.startsWith("#") ? location.slice(1) : location;
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment;
  }
}

/** The value at the schema location of a keyword, e.g. `#/properties/title/minLength` → 1. */
function keywordValue(schema: Schema, keywordLocation: string): unknown {
  let node: unknown = schema;
  for (const raw of pointer(keywordLocation).split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !Object.hasOwn(node, segment)) return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** One cfworker output unit in words, or null when it only wraps others. */
function fieldError(schema: Schema, unit: OutputUnit): ActionFieldError | null {
  if (WRAPPERS.has(unit.keyword)) return null;
  const path = pointer(unit.instanceLocation);
  const value = keywordValue(schema, unit.keywordLocation);
  switch (unit.keyword) {
    case "false":
      // `additionalProperties: false`: a property the schema does not list.
      return { path, message: "is not a parameter of this action" };
    case "required": {
      const name = /required property "(.*)"/.exec(unit.error)?.[1];
      return name === undefined
        ? { path, message: "misses a required parameter" }
        : { path: `${path}/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`, message: "is required" };
    }
    case "type":
      return typeof value === "string" && TYPE_WORDS[value]
        ? { path, message: `must be ${TYPE_WORDS[value]}` }
        : { path, message: unit.error };
    case "format":
      return { path, message: FORMAT_HINTS[String(value)] ?? `must match the format ${String(value)}` };
    case "minLength":
      return { path, message: value === 1 ? "must not be empty" : `must be at least ${String(value)} characters` };
    case "maxLength":
      return { path, message: `must be at most ${String(value)} characters` };
    case "enum":
      return { path, message: `must be one of: ${Array.isArray(value) ? value.join(", ") : String(value)}` };
    case "minimum":
      return { path, message: `must be at least ${String(value)}` };
    case "maximum":
      return { path, message: `must be at most ${String(value)}` };
    case "minItems":
      return { path, message: `must have at least ${String(value)} items` };
    case "maxItems":
      return { path, message: `must have at most ${String(value)} items` };
    case "pattern":
      return { path, message: "does not have the expected form" };
    default:
      return { path, message: unit.error };
  }
}

/** cfworker's output units as {@link ActionFieldError}s: wrappers dropped, duplicates removed, in order. */
function fieldErrors(schema: Schema, units: readonly OutputUnit[]): ActionFieldError[] {
  const out: ActionFieldError[] = [];
  const seen = new Set<string>();
  for (const unit of units) {
    const error = fieldError(schema, unit);
    if (!error) continue;
    const key = `${error.path}\u0000${error.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(error);
  }
  return out;
}
