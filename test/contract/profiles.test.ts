// Profiles: the shipped ones load, the registry build writes what the Worker bundles, and every kind of mistake
// in a profile folder is reported with its file, path, line and problem (profiles/load.ts, docs/profiles.md).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_PROFILE_ID } from "../../contract/defaults.ts";
import {
  ACTION_HANDLERS,
  DEFAULT_RESUME_GREETING,
  LOCAL_TIME_LINE,
  localTimeLine,
  PROMPT_MAX,
  ProfileRegistry,
  zoneOffsetAt,
  type ObjectSchema,
  type ValueSchema,
} from "../../contract/profile.ts";
import { buildRegistry, writeRegistry } from "../../profiles/build.ts";
import { formatProblem, loadProfiles, ProfileError, type ProfileProblem } from "../../profiles/load.ts";

/** The agent's prompt and greeting before profiles (agent/config.ts and agent/agent.ts defaults until #13). */
const DEFAULT_SYSTEM_PROMPT =
  "You are a friendly voice assistant on a website. Answer in one or two short spoken sentences, " +
  "without lists, markdown or emoji. If you did not understand the visitor, ask them to repeat.";
const DEFAULT_GREETING = "Hi! How can I help you today?";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BUILD = join(ROOT, "profiles", "build.ts");

/** A valid profile.yaml; the tests below break one thing at a time (line numbers matter: see the comments). */
const GOOD_YAML = `display_name: Test
greeting: Hello there.
voice: alloy
language: en
model:
  name: gpt-4o-mini
intents:
  - name: GOAL
    description: Set a goal.
    parameters:
      type: object
      properties:
        title:
          type: string
          maxLength: 200
        target_date:
          type: string
          format: date
      required: [title]
      additionalProperties: false
    examples:
      - my goal is to run a marathon
    confirm: false
`;
// Lines of GOOD_YAML: 3 voice, 4 language, 6 model.name, 8 "- name: GOAL", 13 title, 14 title.type,
// 15 title.maxLength, 18 target_date.format, 19 required, 21 examples, 23 confirm.

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Folder = { "profile.yaml"?: string; "prompt.md"?: string; [other: string]: string | undefined };

/**
 * A temporary profiles folder: the given folders, plus a good default profile unless `assistant` is given
 * (`null` leaves it out).
 */
function profilesDir(folders: Record<string, Folder | null>): string {
  const dir = mkdtempSync(join(tmpdir(), "profiles-test-"));
  dirs.push(dir);
  const all: Record<string, Folder | null> = {
    [DEFAULT_PROFILE_ID]: { "profile.yaml": GOOD_YAML.replace(/intents:[\s\S]*/, "intents: []\n"), "prompt.md": "Hi." },
    ...folders,
  };
  for (const [name, files] of Object.entries(all)) {
    if (files === null) continue;
    mkdirSync(join(dir, name));
    for (const [file, text] of Object.entries(files))
      if (text !== undefined) writeFileSync(join(dir, name, file), text);
  }
  return dir;
}

/** A folder `test/` with the given profile.yaml (and a good prompt) besides the default profile. */
function withYaml(yaml: string): string {
  return profilesDir({ test: { "profile.yaml": yaml, "prompt.md": "You test." } });
}

/** Replaces exactly one occurrence of `from` in GOOD_YAML (so that a typo in a test fails loudly). */
function good(from: string, to: string): string {
  expect(GOOD_YAML.split(from).length, `"${from}" occurs once in GOOD_YAML`).toBe(2);
  return GOOD_YAML.replace(from, to);
}

/** The ProfileError loadProfiles throws for `dir`. */
function failure(dir: string): ProfileError {
  try {
    loadProfiles(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileError);
    return err as ProfileError;
  }
  throw new Error("loadProfiles accepted bad profiles");
}

/**
 * Asserts that loading `dir` fails with a problem in `file` (relative to `dir`) at `path` (and `line`), whose
 * message matches `message`, and that the error's message carries it as one line.
 */
function expectProblem(
  dir: string,
  expected: { file: string; path: string; line?: number; message: RegExp },
): ProfileProblem {
  const err = failure(dir);
  const problem = err.problems.find(
    (p) => p.file === join(dir, expected.file) && p.path === expected.path && expected.message.test(p.message),
  );
  expect(
    problem,
    `no problem like ${JSON.stringify({ ...expected, message: String(expected.message) })} in:\n${err.message}`,
  ).toBeDefined();
  expect(problem!.line).toBe(expected.line);
  const line = formatProblem(problem!);
  expect(err.message.split("\n")).toContain(line);
  expect(line.startsWith(`${join(dir, expected.file)}: `)).toBe(true);
  if (expected.path)
    expect(line).toContain(` ${expected.path}${expected.line === undefined ? "" : ` (line ${expected.line})`}: `);
  return problem!;
}

/** Every string property of a schema, recursively, with `additionalProperties: false` on every object. */
function expectClosed(schema: ValueSchema): void {
  if (schema.type === "object") {
    expect(schema.additionalProperties).toBe(false);
    for (const value of Object.values(schema.properties)) expectClosed(value);
  } else if (schema.type === "array") expectClosed(schema.items);
}

describe("the shipped profiles", () => {
  const profiles = loadProfiles();

  it("are the default assistant, the planner, the tutor and the Spanish asistente", () => {
    expect([...profiles.keys()]).toEqual(["asistente", "assistant", "planner", "tutor"]);
    expect(profiles.has(DEFAULT_PROFILE_ID)).toBe(true);
  });

  it("tutor asks the name, greets with it, continues a topic, and teaches only from its six curriculum tools", () => {
    const tutor = profiles.get("tutor")!;
    expect(tutor.ask_name).toBe(true);
    expect(tutor.greeting).toContain("{name}");
    expect(tutor.continue_greeting).toBe("Hi {name}, ready to continue with {topic}?");
    expect(tutor.intents.map((i) => i.name)).toEqual([
      "LIST_TOPICS",
      "START_TOPIC",
      "CURRENT_SUBTOPIC",
      "CHECK_UNDERSTANDING",
      "NEXT_SUBTOPIC",
      "TUTOR_PROGRESS",
    ]);
    const check = tutor.intents.find((i) => i.name === "CHECK_UNDERSTANDING")!;
    expect(check.parameters.required).toEqual(expect.arrayContaining(["understood", "note"]));
    expect(check.parameters.properties.understood).toMatchObject({ type: "boolean" });
    expect(tutor.prompt).toMatch(/only from the curriculum your tools give you, never from your own memory/);
    for (const intent of tutor.intents) expect(tutor.prompt, intent.name).toContain(intent.name);
    expect(profiles.get("planner")!.ask_name).toBe(false);
  });

  it("assistant is today's behaviour: the default prompt and greeting, alloy, en, gpt-4o-mini, no intents", () => {
    const assistant = profiles.get("assistant")!;
    expect(assistant.prompt.trim()).toBe(DEFAULT_SYSTEM_PROMPT);
    expect(assistant).toMatchObject({
      id: "assistant",
      greeting: DEFAULT_GREETING,
      voice: "alloy",
      language: "en",
      model: { name: "gpt-4o-mini" },
      intents: [],
    });
  });

  it("each have a resume greeting of their own, short and unlike their first greeting", () => {
    for (const profile of profiles.values()) {
      expect(profile.resume_greeting, profile.id).not.toBe(profile.greeting);
      expect(profile.resume_greeting, profile.id).not.toBe(DEFAULT_RESUME_GREETING);
      expect(profile.resume_greeting.length, profile.id).toBeLessThanOrEqual(100);
      // "Welcome back", or "de nuevo" ("again") in Spanish.
      expect(profile.resume_greeting, profile.id).toMatch(profile.language === "es" ? /de nuevo/i : /back/i);
    }
  });

  it("asistente is the assistant in Spanish: language es, Spanish words, no intents", () => {
    const asistente = profiles.get("asistente")!;
    expect(asistente).toMatchObject({
      display_name: "Asistente",
      greeting: "¡Hola! ¿En qué puedo ayudarte hoy?",
      resume_greeting: "¡Hola de nuevo! ¿En qué más puedo ayudarte?",
      voice: "alloy",
      language: "es",
      model: { name: "gpt-4o-mini" },
      ask_name: false,
      intents: [],
    });
    expect(asistente.prompt).toMatch(/^Eres un asistente de voz/);
    expect(asistente.prompt).toMatch(/Habla siempre en español/);
  });

  it("planner has GOAL, NEW_TASK and RESCHEDULE_TASK with the agreed parameters and confirmation", () => {
    const planner = profiles.get("planner")!;
    expect(planner).toMatchObject({ voice: "alloy", language: "en", model: { name: "gpt-4o-mini" } });
    const byName = Object.fromEntries(planner.intents.map((i) => [i.name, i]));
    expect(Object.keys(byName)).toEqual(["GOAL", "NEW_TASK", "RESCHEDULE_TASK"]);
    const props = (name: string) => byName[name]!.parameters.properties;

    expect(byName.GOAL!.confirm).toBe(false);
    expect(byName.GOAL!.parameters.required).toEqual(["title"]);
    expect(props("GOAL")).toMatchObject({
      title: { type: "string", minLength: 1, maxLength: 200 },
      description: { type: "string", maxLength: 500 },
      target_date: { type: "string", format: "date" },
    });
    expect(Object.keys(props("GOAL")).sort()).toEqual(["description", "target_date", "title"]);

    expect(byName.NEW_TASK!.confirm).toBe(false);
    expect(byName.NEW_TASK!.parameters.required).toEqual(["title"]);
    expect(props("NEW_TASK")).toMatchObject({
      title: { type: "string", minLength: 1, maxLength: 200 },
      due: { type: "string", format: "date-time" },
      goal: { type: "string", minLength: 1, maxLength: 200 },
    });
    expect(Object.keys(props("NEW_TASK")).sort()).toEqual(["due", "goal", "title"]);

    expect(byName.RESCHEDULE_TASK!.confirm).toBe(true);
    expect([...(byName.RESCHEDULE_TASK!.parameters.required ?? [])].sort()).toEqual(["due", "task"]);
    expect(props("RESCHEDULE_TASK")).toMatchObject({
      task: { type: "string", minLength: 1, maxLength: 200 },
      due: { type: "string", format: "date-time" },
    });
    expect(Object.keys(props("RESCHEDULE_TASK")).sort()).toEqual(["due", "task"]);

    for (const intent of planner.intents) {
      expectClosed(intent.parameters as ObjectSchema);
      expect(ACTION_HANDLERS).toContain(intent.name);
      expect(intent.examples.length).toBeGreaterThanOrEqual(3);
      expect(intent.examples.length).toBeLessThanOrEqual(5);
      // The agent joins the examples with " | " into the tool's description: none may hold the separator.
      for (const example of intent.examples) expect(example).not.toContain("|");
    }
  });

  it("planner's prompt is short, spoken and covers confirmation and every action status", () => {
    const prompt = profiles.get("planner")!.prompt;
    expect(prompt.length).toBeLessThanOrEqual(2500);
    expect(prompt).not.toMatch(/\*\*|^#/m);
    for (const word of ["ambiguous", "invalid", "refused", "confirmed", "local time", "ISO 8601"]) {
      expect(prompt).toContain(word);
    }
  });
});

describe("the registry build", () => {
  it("holds every profile's file in id order, with defaults applied and without prompts", () => {
    const registry = buildRegistry();
    expect(ProfileRegistry.parse(registry)).toEqual(registry);
    expect(Object.keys(registry.profiles)).toEqual(["asistente", "assistant", "planner", "tutor"]);
    for (const [id, file] of Object.entries(registry.profiles)) {
      expect(file).not.toHaveProperty("prompt");
      expect(file).not.toHaveProperty("id");
      const { id: _id, prompt: _prompt, ...expected } = loadProfiles().get(id)!;
      expect(file).toEqual(expected);
    }
    const onlyDefault = profilesDir({});
    expect(buildRegistry(onlyDefault).profiles[DEFAULT_PROFILE_ID]!.intents).toEqual([]);
  });

  it("writes it as JSON atomically, creating the folder, and writes nothing for bad profiles", () => {
    const out = join(profilesDir({}), "out", "deep", "registry.json");
    const { path, registry } = writeRegistry({ out });
    expect(path).toBe(out);
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual(registry);
    expect(readdirSync(dirname(out))).toEqual(["registry.json"]);

    const bad = withYaml(good("voice: alloy", "voice: robot"));
    const badOut = join(bad, "registry.json");
    expect(() => writeRegistry({ dir: bad, out: badOut })).toThrow(ProfileError);
    expect(existsSync(badOut)).toBe(false);
  });

  it("runs as a CLI: writes the file and exits 0, or prints ✖ with the problems and exits 1", () => {
    const dir = profilesDir({ test: { "profile.yaml": GOOD_YAML, "prompt.md": "You test." } });
    const out = join(dir, "dist", "registry.json");
    execFileSync(process.execPath, [BUILD, "--out", out, "--dir", dir], { cwd: ROOT, stdio: "pipe" });
    expect(Object.keys(JSON.parse(readFileSync(out, "utf8")).profiles)).toEqual(["assistant", "test"]);

    const bad = withYaml(good("language: en", "language: English"));
    const badOut = join(bad, "registry.json");
    const run = spawnSync(process.execPath, [BUILD, `--out=${badOut}`, `--dir=${bad}`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`✖ ${join(bad, "test", "profile.yaml")}: language (line 4): must be a BCP 47`);
    expect(existsSync(badOut)).toBe(false);

    const usage = spawnSync(process.execPath, [BUILD, "--outt", out], { cwd: ROOT, encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("usage: node profiles/build.ts");
  }, 60_000);
});

describe("loadProfiles finds", () => {
  const file = "test/profile.yaml";

  it("nothing wrong with a good profile, and ignores unknown files, top-level files and dist/", () => {
    const dir = profilesDir({
      test: { "profile.yaml": GOOD_YAML, "prompt.md": "You test.\n", "README.txt": "notes" },
      dist: { "registry.json": "{}" },
    });
    writeFileSync(join(dir, "load.ts"), "// not a profile");
    const profiles = loadProfiles(dir);
    expect([...profiles.keys()]).toEqual(["assistant", "test"]);
    expect(profiles.get("test")).toMatchObject({ id: "test", prompt: "You test.\n", display_name: "Test" });
  });

  it("nothing wrong without a resume_greeting (the default one), or with one", () => {
    expect(loadProfiles(withYaml(GOOD_YAML)).get("test")!.resume_greeting).toBe(DEFAULT_RESUME_GREETING);
    expect(DEFAULT_RESUME_GREETING).toBe("Welcome back. Shall we pick up where we left off?");
    const own = withYaml(good("greeting: Hello there.\n", "greeting: Hello there.\nresume_greeting: Hello again.\n"));
    expect(loadProfiles(own).get("test")!.resume_greeting).toBe("Hello again.");
    // The registry the Worker bundles carries it, the default applied.
    expect(buildRegistry(withYaml(GOOD_YAML)).profiles.test!.resume_greeting).toBe(DEFAULT_RESUME_GREETING);
  });

  it("a bad resume_greeting: empty, too long, or not text", () => {
    const resume = (value: string) =>
      withYaml(good("greeting: Hello there.\n", `greeting: Hello there.\nresume_greeting: ${value}\n`));
    expectProblem(resume('""'), { file, path: "resume_greeting", line: 3, message: /^must not be empty$/ });
    expectProblem(resume("x".repeat(501)), {
      file,
      path: "resume_greeting",
      line: 3,
      message: /^must be at most 500 characters long$/,
    });
    expectProblem(resume("[Hi, again]"), {
      file,
      path: "resume_greeting",
      line: 3,
      message: /^must be a string, not a list$/,
    });
  });

  it("greeting placeholders: {name} in every greeting, {topic} only in continue_greeting", () => {
    const lines = (extra: string) => withYaml(good("greeting: Hello there.\n", `greeting: Hello there.\n${extra}`));
    const ok = loadProfiles(
      lines("resume_greeting: Back, {name}?\ncontinue_greeting: Hi {name}, on with {topic}?\nask_name: true\n"),
    ).get("test")!;
    expect(ok).toMatchObject({ continue_greeting: "Hi {name}, on with {topic}?", ask_name: true });
    expect(loadProfiles(withYaml(GOOD_YAML)).get("test")).toMatchObject({ ask_name: false });
    expect(loadProfiles(withYaml(GOOD_YAML)).get("test")!.continue_greeting).toBeUndefined();
    expectProblem(lines("resume_greeting: Back to {topic}?\n"), {
      file,
      path: "resume_greeting",
      line: 3,
      message: /^\{topic\} is not a placeholder here \(allowed: \{name\}\)$/,
    });
    expectProblem(lines("continue_greeting: Hi {visitor}!\n"), {
      file,
      path: "continue_greeting",
      line: 3,
      message: /^\{visitor\} is not a placeholder here \(allowed: \{name\}, \{topic\}\)$/,
    });
  });

  it("a YAML syntax error, with its line", () => {
    const problem = expectProblem(withYaml(good("voice: alloy", "voice: [alloy")), {
      file,
      path: "voice[0]",
      line: 4,
      message: /^YAML syntax: Flow sequence/,
    });
    expect(problem.message).not.toContain("\n");
  });

  it("a YAML syntax error at the top level (unclosed quote)", () => {
    expectProblem(withYaml(good("display_name: Test", 'display_name: "Test')), {
      file,
      path: "display_name",
      line: 24,
      message: /^YAML syntax: Missing closing "quote/,
    });
  });

  it("a duplicate key, and checks the rest of the file too", () => {
    const dir = withYaml(good("voice: alloy\n", "voice: alloy\nvoice: robot\n"));
    expectProblem(dir, { file, path: "voice", line: 4, message: /^duplicate key: each key may appear once/ });
    // The last value wins, and is checked (reported at the key's first line).
    expectProblem(dir, { file, path: "voice", line: 3, message: /^must be one of alloy/ });
  });

  it("a duplicate key inside an intent's parameters", () => {
    expectProblem(
      withYaml(good("          maxLength: 200\n", "          maxLength: 200\n          maxLength: 100\n")),
      {
        file,
        path: "intents[0].parameters.properties.title.maxLength",
        line: 16,
        message: /duplicate key/,
      },
    );
  });

  it("a missing field at the top level (line of the map) and inside an intent (line of the intent)", () => {
    expectProblem(withYaml(good("greeting: Hello there.\n", "")), {
      file,
      path: "greeting",
      line: 1,
      message: /^is missing: a string is required$/,
    });
    expectProblem(withYaml(good("    confirm: false\n", "")), {
      file,
      path: "intents[0].confirm",
      line: 8,
      message: /^is missing: a boolean is required$/,
    });
  });

  it("an extra field, at the top level and in the model", () => {
    expectProblem(withYaml(`${GOOD_YAML}colour: red\n`), {
      file,
      path: "colour",
      line: 24,
      message: /^unknown field/,
    });
    expectProblem(withYaml(good("  name: gpt-4o-mini\n", "  name: gpt-4o-mini\n  temp: 0.5\n")), {
      file,
      path: "model.temp",
      line: 7,
      message: /^unknown field/,
    });
  });

  it("a wrong type", () => {
    expectProblem(withYaml(good("confirm: false", 'confirm: "no"')), {
      file,
      path: "intents[0].confirm",
      line: 23,
      message: /^must be a boolean, not a string \("no"\)$/,
    });
    expectProblem(withYaml(good("  name: gpt-4o-mini\n", "  name: gpt-4o-mini\n  temperature: hot\n")), {
      file,
      path: "model.temperature",
      line: 7,
      message: /^must be a number, not a string/,
    });
    expectProblem(withYaml(good("      - my goal is to run a marathon\n", "")), {
      file,
      path: "intents[0].examples",
      line: 21,
      message: /^must be a list, not empty \(null\)$/,
    });
  });

  it("an empty file", () => {
    expectProblem(withYaml(""), { file, path: "", line: undefined, message: /^must be a map, not empty \(null\)$/ });
  });

  it("a voice that is not an OpenAI TTS voice", () => {
    expectProblem(withYaml(good("voice: alloy", "voice: robot")), {
      file,
      path: "voice",
      line: 3,
      message: /^must be one of alloy, ash, .*, verse$/,
    });
  });

  it("a language that is not a BCP 47 tag", () => {
    expectProblem(withYaml(good("language: en", "language: English")), {
      file,
      path: "language",
      line: 4,
      message: /must be a BCP 47 language tag/,
    });
  });

  it("nothing wrong with speech providers (either, both, a Deepgram voice), and keeps them in the registry", () => {
    const yaml = good(
      "language: en\n",
      "language: en\nproviders:\n  stt: deepgram\n  tts: openai\n  deepgram_voice: aura-2-celeste-es\n",
    );
    const dir = withYaml(yaml);
    const test = loadProfiles(dir).get("test")!;
    expect(test.providers).toEqual({ stt: "deepgram", tts: "openai", deepgram_voice: "aura-2-celeste-es" });
    expect(buildRegistry(dir).profiles.test!.providers).toEqual(test.providers);
    expect(
      loadProfiles(withYaml(good("language: en\n", "language: en\nproviders: {}\n"))).get("test")!.providers,
    ).toEqual({});
    expect(loadProfiles(withYaml(GOOD_YAML)).get("test")!.providers).toBeUndefined();
  });

  it("a speech provider that does not exist, an unknown providers field, a Deepgram voice that is not Aura", () => {
    const withProviders = (lines: string) => withYaml(good("language: en\n", `language: en\nproviders:\n${lines}`));
    expectProblem(withProviders("  stt: whisper\n"), {
      file,
      path: "providers.stt",
      line: 6,
      message: /^must be one of openai, deepgram$/,
    });
    expectProblem(withProviders("  llm: deepgram\n"), {
      file,
      path: "providers.llm",
      line: 6,
      message: /^unknown field: remove it or check its spelling$/,
    });
    expectProblem(withProviders("  deepgram_voice: alloy\n"), {
      file,
      path: "providers.deepgram_voice",
      line: 6,
      message: /^must be a Deepgram Aura voice such as aura-2-thalia-en$/,
    });
  });

  it("a bad intent name (once, without also a missing handler)", () => {
    const problem = expectProblem(withYaml(good("name: GOAL", "name: new-goal")), {
      file,
      path: "intents[0].name",
      line: 8,
      message: /intent names are 1-64 characters of A-Z/,
    });
    const again = failure(withYaml(good("name: GOAL", "name: new-goal"))).problems;
    expect(again.map(({ path, line, message }) => ({ path, line, message }))).toEqual([
      { path: problem.path, line: problem.line, message: problem.message },
    ]);
  });

  it("a duplicate intent name", () => {
    const second = GOOD_YAML.slice(GOOD_YAML.indexOf("  - name: GOAL"));
    expectProblem(withYaml(GOOD_YAML + second), {
      file,
      path: "intents[1].name",
      line: 24,
      message: /^"GOAL" is defined twice$/,
    });
  });

  it("an intent without a backend handler, naming the known ones", () => {
    expectProblem(withYaml(good("name: GOAL", "name: BOOK_FLIGHT")), {
      file,
      path: "intents[0].name",
      line: 8,
      message:
        /^"BOOK_FLIGHT" has no backend handler \(worker\/actions\/\); known intents: GOAL, NEW_TASK, RESCHEDULE_TASK, LIST_TOPICS, START_TOPIC, CURRENT_SUBTOPIC, CHECK_UNDERSTANDING, NEXT_SUBTOPIC, TUTOR_PROGRESS$/,
    });
  });

  it("a JSON Schema keyword outside the subset", () => {
    expectProblem(withYaml(good("          maxLength: 200\n", "          maxLength: 200\n          oneOf: []\n")), {
      file,
      path: "intents[0].parameters.properties.title.oneOf",
      line: 16,
      message: /^unknown field/,
    });
  });

  it("`required` naming a property that does not exist", () => {
    expectProblem(withYaml(good("required: [title]", "required: [title, due]")), {
      file,
      path: "intents[0].parameters.required[1]",
      line: 19,
      message: /^names "due", which is not a property$/,
    });
  });

  it("a format outside the subset", () => {
    expectProblem(withYaml(good("format: date", "format: duration")), {
      file,
      path: "intents[0].parameters.properties.target_date.format",
      line: 18,
      message: /^must be one of date-time, date, time, email, uri$/,
    });
  });

  it("a pattern that is not a regular expression", () => {
    expectProblem(
      withYaml(good("          maxLength: 200\n", '          maxLength: 200\n          pattern: "[a-z"\n')),
      {
        file,
        path: "intents[0].parameters.properties.title.pattern",
        line: 16,
        message: /^must be a valid regular expression$/,
      },
    );
  });

  it("a property type that does not exist, and a property name that is not snake_case", () => {
    const dir = withYaml(
      good("          type: string\n          maxLength", "          type: text\n          maxLength").replace(
        "        target_date:",
        "        Target Date:",
      ),
    );
    expectProblem(dir, {
      file,
      path: "intents[0].parameters.properties.title.type",
      line: 14,
      message: /^must be one of string, number, integer, boolean, array, object$/,
    });
    expectProblem(dir, {
      file,
      path: 'intents[0].parameters.properties["Target Date"]',
      line: 16,
      message: /^bad key: property names are snake_case/,
    });
  });

  it("parameters whose top level is not an object", () => {
    expectProblem(withYaml(good("      type: object\n", "      type: array\n")), {
      file,
      path: "intents[0].parameters.type",
      line: 11,
      message: /^must be object$/,
    });
  });

  it("too many examples", () => {
    const many = Array.from({ length: 11 }, (_, i) => `      - example ${i}\n`).join("");
    expectProblem(withYaml(good("      - my goal is to run a marathon\n", many)), {
      file,
      path: "intents[0].examples",
      line: 21,
      message: /^must have at most 10 items$/,
    });
  });

  it("every problem of a file at once, one per line, in line order", () => {
    const yaml = good("voice: alloy", "voice: robot")
      .replace("language: en", "language: English")
      .replace("format: date", "format: day");
    const err = failure(withYaml(yaml));
    expect(err.problems.map((p) => [p.path, p.line])).toEqual([
      ["voice", 3],
      ["language", 4],
      ["intents[0].parameters.properties.target_date.format", 18],
    ]);
    expect(err.message.split("\n")).toHaveLength(3);
  });

  it("a missing prompt.md", () => {
    expectProblem(profilesDir({ test: { "profile.yaml": GOOD_YAML } }), {
      file: "test/prompt.md",
      path: "",
      message: /^is missing: a profile folder needs both profile.yaml and prompt.md$/,
    });
  });

  it("a missing profile.yaml", () => {
    expectProblem(profilesDir({ test: { "prompt.md": "You test." } }), {
      file: "test/profile.yaml",
      path: "",
      message: /^is missing/,
    });
  });

  it("an empty prompt.md", () => {
    expectProblem(profilesDir({ test: { "profile.yaml": GOOD_YAML, "prompt.md": " \n\n" } }), {
      file: "test/prompt.md",
      path: "",
      message: /^is empty/,
    });
  });

  it("a prompt.md that is too long", () => {
    expectProblem(profilesDir({ test: { "profile.yaml": GOOD_YAML, "prompt.md": "x".repeat(PROMPT_MAX + 1) } }), {
      file: "test/prompt.md",
      path: "",
      message: new RegExp(`^is ${PROMPT_MAX + 1} characters long, at most ${PROMPT_MAX} are allowed`),
    });
  });

  it("a folder name that is not a profile id", () => {
    expectProblem(profilesDir({ My_Planner: { "profile.yaml": GOOD_YAML, "prompt.md": "You test." } }), {
      file: "My_Planner/",
      path: "",
      message: /^folder name "My_Planner" is not a profile id/,
    });
  });

  it("a folder with neither file", () => {
    expectProblem(profilesDir({ empty: { "notes.txt": "later" } }), {
      file: "empty/",
      path: "",
      message: /^holds neither profile.yaml nor prompt.md/,
    });
  });

  it("a missing default profile", () => {
    const dir = profilesDir({
      [DEFAULT_PROFILE_ID]: null,
      test: { "profile.yaml": GOOD_YAML, "prompt.md": "You test." },
    });
    const err = failure(dir);
    expect(err.problems).toHaveLength(1);
    expect(err.message).toBe(
      `${dir}: the default profile "${DEFAULT_PROFILE_ID}" is missing (DEFAULT_PROFILE_ID: it needs a folder ${DEFAULT_PROFILE_ID}/)`,
    );
  });

  it("a profiles folder that does not exist", () => {
    const dir = join(profilesDir({}), "nope");
    expect(() => loadProfiles(dir)).toThrow(new RegExp(`^${dir}: cannot read the profiles folder`));
  });
});

describe("the visitor's local time line", () => {
  const instant = new Date("2026-12-01T11:40:05.500Z");

  it.each([
    ["Europe/Berlin", "2026-12-01T12:40:05+01:00"],
    ["America/New_York", "2026-12-01T06:40:05-05:00"],
    ["Asia/Kolkata", "2026-12-01T17:10:05+05:30"],
    ["UTC", "2026-12-01T11:40:05+00:00"],
  ])("in %s reads %s, and LOCAL_TIME_LINE reads it back", (zone, local) => {
    const line = localTimeLine(instant, zone);
    expect(line).toBe(`The visitor's current local time is ${local} (${zone}).`);
    expect(LOCAL_TIME_LINE.exec(`Prompt.\n\n${line}`)?.slice(1, 3)).toEqual([local, zone]);
  });

  it("falls back to UTC for a zone the runtime does not know, and follows daylight saving time", () => {
    expect(localTimeLine(instant, "Mars/Olympus_Mons")).toBe(
      "The visitor's current local time is 2026-12-01T11:40:05+00:00 (UTC).",
    );
    expect(zoneOffsetAt("Mars/Olympus_Mons", instant.getTime())).toBeUndefined();
    expect(zoneOffsetAt("Europe/Berlin", Date.parse("2026-07-01T12:00:00Z"))).toBe(120);
    expect(zoneOffsetAt("America/New_York", Date.parse("2026-07-01T12:00:00Z"))).toBe(-240);
  });
});
