/**
 * Loads and checks the profiles in `profiles/<id>/` (Node only: the agent at start, profiles/build.ts for the
 * Worker). A profile is a folder holding `profile.yaml` ({@link ProfileFile}) and `prompt.md` (the system prompt);
 * other files in it are ignored. See docs/profiles.md.
 *
 * Every problem found is reported at once, one per line, each naming the file, the path inside it, the line
 * (where the YAML has a node there) and what is wrong, e.g.
 * `profiles/planner/profile.yaml: intents[1].parameters.properties.due.format (line 31): must be one of date-time, date, time, email, uri`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { DEFAULT_PROFILE_ID } from "../contract/defaults.ts";
import { ACTION_HANDLERS, ProfileFile, PROMPT_MAX, type Profile } from "../contract/profile.ts";
import { ProfileId } from "../contract/rest.ts";

/** The repository's `profiles/` folder: the default of {@link loadProfiles}. */
export const PROFILES_DIR = fileURLToPath(new URL(".", import.meta.url));

/** The profile's settings file, in each profile folder. */
export const PROFILE_FILE = "profile.yaml";
/** The profile's system prompt, in each profile folder. */
export const PROMPT_FILE = "prompt.md";
/** Folders of the profiles folder that are not profiles: `dist` holds the build's output (profiles/build.ts). */
export const RESERVED_FOLDERS: readonly string[] = ["dist", "node_modules"];

/** One problem of a profile. */
export interface ProfileProblem {
  /** The file or folder, relative to the working directory when inside it (else absolute). */
  file: string;
  /** Where inside the file, e.g. `intents[1].parameters.properties.due.format`; empty for the whole file. */
  path: string;
  /** 1-based line of the YAML node the path points to (or of its nearest existing parent), when there is one. */
  line?: number;
  /** What is wrong, e.g. `must be one of date-time, date, time, email, uri`. */
  message: string;
}

/** Bad profiles: `message` lists every problem found, one per line (see {@link ProfileProblem}). */
export class ProfileError extends Error {
  override name = "ProfileError";
  readonly problems: readonly ProfileProblem[];

  constructor(problems: readonly ProfileProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.problems = problems;
  }
}

/** `file: path (line N): message`, leaving out what is unknown. */
export function formatProblem(p: ProfileProblem): string {
  const where = [p.path, p.line === undefined ? "" : `(line ${p.line})`].filter(Boolean).join(" ");
  return `${p.file}: ${where ? `${where}: ` : ""}${p.message}`;
}

/**
 * Reads every profile folder of `dir` and checks it: `profile.yaml` against {@link ProfileFile} (strict: unknown
 * fields, duplicate YAML keys and YAML syntax errors are errors), every intent's name against
 * {@link ACTION_HANDLERS} (an intent needs a backend handler), `prompt.md` present, not blank and at most
 * {@link PROMPT_MAX} characters, the folder name a valid `ProfileId`, and the default profile
 * ({@link DEFAULT_PROFILE_ID}) present. Files directly in `dir` (such as this module), dot-folders and
 * {@link RESERVED_FOLDERS} are skipped.
 * @param dir the profiles folder (default: the repository's `profiles/`)
 * @returns the profiles by id, in folder-name order; each profile's `prompt` is `prompt.md` as written
 * @throws ProfileError listing every problem of every profile, when there is any
 */
export function loadProfiles(dir: string = PROFILES_DIR): Map<ProfileId, Profile> {
  const problems: ProfileProblem[] = [];
  const profiles = new Map<ProfileId, Profile>();
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith(".") && !RESERVED_FOLDERS.includes(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    throw new ProfileError([
      { file: display(dir), path: "", message: `cannot read the profiles folder (${errorText(err)})` },
    ]);
  }
  for (const name of names) {
    const profile = loadProfile(join(dir, name), name, problems);
    if (profile) profiles.set(profile.id, profile);
  }
  if (!names.includes(DEFAULT_PROFILE_ID)) {
    problems.push({
      file: display(dir),
      path: "",
      message: `the default profile "${DEFAULT_PROFILE_ID}" is missing (DEFAULT_PROFILE_ID: it needs a folder ${DEFAULT_PROFILE_ID}/)`,
    });
  }
  if (problems.length > 0) throw new ProfileError(problems);
  return profiles;
}

/** One folder; pushes its problems and returns the profile when it has none. */
function loadProfile(folder: string, name: string, problems: ProfileProblem[]): Profile | undefined {
  const before = problems.length;
  const yamlPath = join(folder, PROFILE_FILE);
  const promptPath = join(folder, PROMPT_FILE);
  const hasYaml = isFile(yamlPath);
  const hasPrompt = isFile(promptPath);
  if (!hasYaml && !hasPrompt) {
    problems.push({
      file: `${display(folder)}/`,
      path: "",
      message: `holds neither ${PROFILE_FILE} nor ${PROMPT_FILE}: a profile folder needs both`,
    });
    return undefined;
  }
  if (!ProfileId.safeParse(name).success) {
    problems.push({
      file: `${display(folder)}/`,
      path: "",
      message: `folder name "${name}" is not a profile id: 1-32 characters of a-z, 0-9 and -, starting with a letter`,
    });
  }
  let file: ProfileFile | undefined;
  if (hasYaml) file = readProfileFile(yamlPath, problems);
  else
    problems.push({
      file: display(yamlPath),
      path: "",
      message: `is missing: a profile folder needs both ${PROFILE_FILE} and ${PROMPT_FILE}`,
    });
  let prompt: string | undefined;
  if (hasPrompt) {
    prompt = readFileSync(promptPath, "utf8");
    if (prompt.trim() === "") {
      problems.push({ file: display(promptPath), path: "", message: "is empty: write the system prompt in it" });
    } else if (prompt.length > PROMPT_MAX) {
      problems.push({
        file: display(promptPath),
        path: "",
        message: `is ${prompt.length} characters long, at most ${PROMPT_MAX} are allowed (PROMPT_MAX)`,
      });
    }
  } else {
    problems.push({
      file: display(promptPath),
      path: "",
      message: `is missing: a profile folder needs both ${PROFILE_FILE} and ${PROMPT_FILE}`,
    });
  }
  if (problems.length > before || !file || prompt === undefined) return undefined;
  return { ...file, id: name, prompt };
}

/** Parses and checks one `profile.yaml`; pushes its problems. */
function readProfileFile(path: string, problems: ProfileProblem[]): ProfileFile | undefined {
  const file = display(path);
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(path, "utf8"), { lineCounter, prettyErrors: true, uniqueKeys: true });
  for (const error of doc.errors) {
    const line = error.linePos?.[0].line;
    const at = pathAt(doc, error.pos[0]);
    // prettyErrors appends " at line L, column C:" and a source excerpt: keep the sentence.
    const message = error.message.split(/ at line \d+, column \d+/)[0]?.trim() ?? error.message;
    problems.push({
      file,
      path: formatPath(at),
      line,
      message:
        error.code === "DUPLICATE_KEY"
          ? `duplicate key: each key may appear once (${message})`
          : `YAML syntax: ${message}`,
    });
  }
  // After a syntax error the document's data is a guess: report only the syntax. Duplicate keys leave it whole
  // (the last value wins), so the file is checked further.
  if (doc.errors.some((e) => e.code !== "DUPLICATE_KEY")) return undefined;
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problems.push({ file, path: "", message: `YAML: ${errorText(err)}` });
    return undefined;
  }
  const parsed = ProfileFile.safeParse(data);
  const found: ProfileProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      for (const { path, message } of describeIssue(issue, data)) {
        found.push({ file, path: formatPath(path), line: lineOf(doc, lineCounter, path), message });
      }
    }
  }
  // Intent names with no backend handler (checked on the raw data so that they are reported with other problems).
  const intents = isRecord(data) && Array.isArray(data.intents) ? (data.intents as unknown[]) : [];
  for (const [i, intent] of intents.entries()) {
    const name = isRecord(intent) ? intent.name : undefined;
    if (typeof name !== "string" || (ACTION_HANDLERS as readonly string[]).includes(name)) continue;
    const path = ["intents", i, "name"];
    if (found.some((p) => p.path === formatPath(path))) continue;
    found.push({
      file,
      path: formatPath(path),
      line: lineOf(doc, lineCounter, path),
      message: `"${name}" has no backend handler (worker/actions/); known intents: ${ACTION_HANDLERS.join(", ")}`,
    });
  }
  found.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  problems.push(...found);
  return found.length === 0 && parsed.success && doc.errors.length === 0 ? parsed.data : undefined;
}

type Path = readonly PropertyKey[];

/** A zod issue in plain words, with the path it belongs to (one issue may name several keys). */
function describeIssue(issue: z.core.$ZodIssue, data: unknown): { path: Path; message: string }[] {
  const path = issue.path;
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => ({
        path: [...path, key],
        message: "unknown field: remove it or check its spelling",
      }));
    case "invalid_type": {
      if (valueAt(data, path) === undefined)
        return [{ path, message: `is missing: ${article(issue.expected)} is required` }];
      return [{ path, message: `must be ${article(issue.expected)}, not ${kindOf(valueAt(data, path))}` }];
    }
    case "invalid_value":
      return [
        {
          path,
          message: `must be ${issue.values.length === 1 ? "" : "one of "}${issue.values.map(String).join(", ")}`,
        },
      ];
    case "invalid_union":
      // A discriminated union's "type" that names no option (zod 4 reports the options it knows).
      if ((issue as { note?: string }).note === "No matching discriminator") {
        const options = (issue as { options?: unknown[] }).options ?? [];
        return [{ path, message: `must be one of ${options.map(String).join(", ")}` }];
      }
      return [{ path, message: issue.message }];
    case "invalid_key":
      return [{ path, message: `bad key: ${issue.issues.map((i) => i.message).join("; ")}` }];
    case "too_big":
    case "too_small": {
      const bound = issue.code === "too_big" ? `at most ${issue.maximum}` : `at least ${issue.minimum}`;
      if (issue.origin === "string") {
        if (issue.code === "too_small" && Number(issue.minimum) === 1) return [{ path, message: "must not be empty" }];
        return [{ path, message: `must be ${bound} characters long` }];
      }
      if (issue.origin === "array" || issue.origin === "set") return [{ path, message: `must have ${bound} items` }];
      return [{ path, message: `must be ${bound}` }];
    }
    case "not_multiple_of":
      return [{ path, message: `must be a multiple of ${issue.divisor}` }];
    default:
      // invalid_format (our regex messages), custom (our refinements) and the rest: zod's message is the best.
      return [{ path, message: issue.message }];
  }
}

/** `intents[1].parameters.properties.due`; keys that are not identifiers are quoted: `properties["Due date"]`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(String(key))) out += `${out ? "." : ""}${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** The line of the node at `path`: the key's line for a map entry, else the node's; the nearest parent's if absent. */
function lineOf(doc: Document, lineCounter: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) break;
      offset = rangeStart(pair.key) ?? rangeStart(pair.value) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      const item = node.items[key];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

/** The path of the deepest map entry or sequence item whose range holds `offset` (for YAML errors). */
function pathAt(doc: Document, offset: number): PropertyKey[] {
  const path: PropertyKey[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && within(p.key, offset, p.value));
      if (!pair) return path;
      path.push(isScalar(pair.key) ? String(pair.key.value) : String(pair.key));
      node = pair.value;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((item) => within(item, offset));
      if (i < 0) return path;
      path.push(i);
      node = node.items[i];
    } else return path;
  }
}

/** Whether `offset` lies from `first`'s start to the end of `last` (default `first`). */
function within(first: unknown, offset: number, last: unknown = first): boolean {
  const start = rangeStart(first);
  const end = rangeEnd(last) ?? rangeEnd(first);
  return start !== undefined && end !== undefined && start <= offset && offset <= end;
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[0];
}

function rangeEnd(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null)?.range?.[2];
}

function valueAt(data: unknown, path: Path): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return "empty (null)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return `${article(typeof value)} (${JSON.stringify(value)})`;
}

/** `a string`, `an object`, with the YAML words for object and array. */
function article(type: string): string {
  const word = type === "object" || type === "record" ? "map" : type === "array" ? "list" : type;
  return `${/^[aeiou]/.test(word) ? "an" : "a"} ${word}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A path relative to the working directory when inside it. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split("\\").join("/") : path;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
