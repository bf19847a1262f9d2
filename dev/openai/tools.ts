/**
 * The stand-in LLM's tool rules: which function tool a visitor's words ask for, its arguments, a question when a
 * required argument is missing, and the sentence after a tool result. Deterministic word rules driven by the tools'
 * descriptions and JSON Schemas, not a model; prompts and schemas are written for a real model (docs/agent.md, "The
 * local OpenAI-compatible provider").
 *
 * Wire shapes: OpenAI API reference, "Create chat completion" (`tools: [{type: "function", function: {name,
 * description, parameters}}]`, `tool_choice: "auto" | "none" | "required" | {type: "function", function: {name}}`,
 * assistant messages with `tool_calls`, `{role: "tool", tool_call_id, content}` results).
 */
import { findWhen, localNowFrom, type LocalNow, renderWhen, speakWhen } from "./when.ts";

/** A content part of a chat message; only text parts are read. */
export type Part = { type?: string; text?: string };

/** An assistant message's tool call (OpenAI shape). */
export interface ToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

/** An OpenAI chat message, as much of it as the stand-in reads. */
export interface ChatMessage {
  role?: string;
  content?: string | Part[] | null;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
}

/** The JSON Schema keywords the rules read (the intents' subset, contract/profile.ts `ValueSchema`). */
export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  format?: string;
  enum?: unknown[];
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

/** An OpenAI function tool. */
export interface FunctionTool {
  type: "function";
  function: { name: string; description?: string; parameters?: JsonSchema };
}

/** OpenAI's `tool_choice`. */
export type ToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

/** What the stand-in answers: text, or one call of a tool with its arguments. */
export type Decision =
  { kind: "text"; text: string } | { kind: "tool"; name: string; arguments: Record<string, unknown> };

/** The text of a message: its string content, or its text parts joined by spaces. */
export function textOf(m: ChatMessage | undefined): string {
  if (!m) return "";
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content))
    return m.content.map((p) => (p.type === "text" || !p.type ? (p.text ?? "") : "")).join(" ");
  return "";
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Words                                                                                                         */

/** Words that carry no meaning for matching. */
const STOP_WORDS = new Set(
  (
    "a an the to at on in of for by and or is are am be been being it its i me my mine you your we our us please " +
    "can could would will shall should do does did that this these those with from up just some so then there here " +
    "what which who how when where why let lets i'd i'm i'll it's that's hey hi ok okay oh um uh also too really very " +
    "about into as"
  ).split(" "),
);

/** Verbs of actions, which weigh 3 in matching (other words 1, thing nouns 2); "goal" and "task" are nouns. */
export const ACTION_VERBS = [
  "add",
  "create",
  "make",
  "new",
  "set",
  "put",
  "schedule",
  "plan",
  "remind",
  "remember",
  "note",
  "track",
  "move",
  "reschedule",
  "postpone",
  "push",
  "delay",
  "change",
  "shift",
  "update",
  "rename",
  "delete",
  "remove",
  "cancel",
  "complete",
  "finish",
  "mark",
  "book",
  "start",
  "record",
  "log",
  "save",
];

/** Nouns that name the thing a request is about ("add a task to …"), besides the tool name's own words. */
const THING_NOUNS = ["task", "goal", "todo", "to-do", "reminder", "item", "entry"];

/** Lower-cases a word and drops a plural `s` ("Tasks" → "task"). */
export function stem(word: string): string {
  const w = word.toLowerCase().replace(/['’]s$/, "");
  return w.length > 3 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w;
}

/** The meaningful words of a text: lower-cased, stemmed, without {@link STOP_WORDS}. */
export function words(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}'’-]+/gu) ?? [])
    .map((w) => w.replace(/^[-'’]+|[-'’]+$/g, ""))
    .filter((w) => w && !STOP_WORDS.has(w))
    .map(stem);
}

/** A tool name's words: `RESCHEDULE_TASK` → `["reschedule", "task"]`. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z])([A-Z])/g, "$1 $2")
    .split(/[\s_.-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

/**
 * Splits a tool description into its prose and its example utterances. The agent writes the examples as one line
 * `Examples: <a> | <b> | <c>` (case-insensitive `Examples:`, anywhere in the description, examples separated by `|`).
 * @returns `{prose, examples}`; `examples` is empty when there is no such line
 */
export function parseExamples(description: string | undefined): { prose: string; examples: string[] } {
  const text = description ?? "";
  const m = /^[ \t]*examples:[ \t]*(.*)$/im.exec(text);
  if (!m) return { prose: text, examples: [] };
  const examples = m[1]!
    .split("|")
    .map((e) => e.trim())
    .filter(Boolean);
  return { prose: (text.slice(0, m.index) + text.slice(m.index + m[0].length)).trim(), examples };
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Choosing a tool                                                                                               */

/**
 * The lowest score that picks a tool under `tool_choice: "auto"`: an action verb and a little more ("add milk"), or a
 * thing noun and two more words ("my goal is to learn the piano"), or most of an example.
 */
export const SCORE_THRESHOLD = 3.5;

/** A word's weight in matching: 3 for an action verb ({@link ACTION_VERBS}), 2 for a thing noun ({@link THING_NOUNS}
 * or a word of an offered tool's name that is not a verb: "goal", "task"), else 1. */
export function wordWeight(word: string, nouns: Set<string> = new Set()): number {
  if (THING_NOUNS.includes(word) || (nouns.has(word) && !ACTION_VERBS.includes(word))) return 2;
  return ACTION_VERBS.includes(word) ? 3 : 1;
}

/** Any fixed "now" serves to find (and drop) the date expressions of example utterances. */
const EXAMPLE_NOW = localNowFrom([], new Date(0));

/** An example utterance's meaningful words, without its date expressions ("call mom tomorrow at 6" → call, mom). */
function exampleWords(example: string): string[] {
  return words(removeSpans(example, findWhen(example, EXAMPLE_NOW)?.spans ?? []));
}

/**
 * How well a visitor's text matches a tool. Each distinct meaningful word of the text (see {@link words}) that
 * appears in the tool's name or example utterances adds its weight ({@link wordWeight}); one that appears only in the
 * description's prose adds half its weight. Then the
 * share of the best-covered example's words that the text holds adds up to 2 (a text that says most of an example
 * passes {@link SCORE_THRESHOLD} even without a weighty word: "I want to learn Spanish").
 * @param text the visitor's words, date expressions already removed
 * @param tool the tool
 * @param nouns thing nouns besides {@link THING_NOUNS} (the offered tools' name words that are not verbs)
 */
export function scoreTool(text: string, tool: FunctionTool, nouns: Set<string> = new Set()): number {
  const { prose, examples } = parseExamples(tool.function.description);
  const perExample = examples.map((e) => new Set(exampleWords(e)));
  const strong = new Set([...nameWords(tool.function.name).map(stem), ...perExample.flatMap((e) => [...e])]);
  const weak = new Set(words(prose));
  const said = new Set(words(text));
  let score = 0;
  for (const w of said) {
    const weight = wordWeight(w, nouns);
    if (strong.has(w)) score += weight;
    else if (weak.has(w)) score += weight / 2;
  }
  const coverage = Math.max(
    0,
    ...perExample.map((e) => (e.size ? [...e].filter((w) => said.has(w)).length / e.size : 0)),
  );
  return score + 2 * coverage;
}

/** A text as compared with examples whole: lower-case words (letters, digits, apostrophes) joined by one space. */
function wholeWords(text: string): string {
  return (text.toLowerCase().match(/[\p{L}\p{N}'’]+/gu) ?? []).join(" ").replaceAll("’", "'");
}

/**
 * The tool a text asks for: the first tool one of whose examples the text is, word for word (case and punctuation
 * aside: "How am I doing?" for the example "how am I doing", whose words score too little alone); else the best
 * {@link scoreTool} (the first offered on a tie) when it reaches {@link SCORE_THRESHOLD}, or at any score when
 * `force` (tool_choice `required`).
 */
export function pickTool(text: string, tools: FunctionTool[], force = false): FunctionTool | undefined {
  const said = wholeWords(text);
  const exact = tools.find((t) => parseExamples(t.function.description).examples.some((e) => wholeWords(e) === said));
  if (exact && said) return exact;
  const nouns = new Set(tools.flatMap((t) => nameWords(t.function.name).map(stem)));
  let best: FunctionTool | undefined;
  let bestScore = -1;
  for (const tool of tools) {
    const score = scoreTool(text, tool, nouns);
    if (score > bestScore) [best, bestScore] = [tool, score];
  }
  return force || bestScore >= SCORE_THRESHOLD ? best : undefined;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Arguments                                                                                                     */

const OBJECT_NAMES = ["title", "task", "goal", "name", "subject"];

/** String properties that take the visitor's words as they were said (a note about the answer they gave). */
const NOTE_NAMES = ["note"];

/**
 * The property that names the object of a request ("call the dentist" in "add a task to call the dentist"): the
 * first required plain string (no `format`, no `enum`) among `title`, `task`, `goal`, `name`, `subject`, else the first
 * required plain string, else the first of those names that is a plain string.
 */
export function objectProperty(schema: JsonSchema | undefined): string | undefined {
  const props = schema?.properties ?? {};
  const plain = (n: string) =>
    props[n]?.type === "string" && !props[n]!.format && !props[n]!.enum && !NOTE_NAMES.includes(n);
  const required = (schema?.required ?? []).filter(plain);
  return (
    required.find((n) => OBJECT_NAMES.includes(n)) ?? required[0] ?? OBJECT_NAMES.find((n) => n in props && plain(n))
  );
}

/** Hides `[start, end)` spans of a text behind U+0001 characters (which no word or space pattern matches). */
function mask(text: string, spans: [number, number][]): string {
  let out = text;
  for (const [s, e] of spans) out = out.slice(0, s) + "\u0001".repeat(e - s) + out.slice(e);
  return out;
}

/** Spans sorted and merged where they overlap. */
function mergeSpans(spans: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [s, e] of [...spans].sort((a, b) => a[0] - b[0])) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

const PREPOSITIONS = "for|to|under|in|into|towards?|on|of";
const DETERMINERS = "the|my|our|a|an|this";

/** Removes `[start, end)` spans (overlapping or not) from a text and tidies the spaces left behind. */
export function removeSpans(text: string, spans: [number, number][]): string {
  let out = text;
  for (const [s, e] of mergeSpans(spans).reverse()) out = `${out.slice(0, s)} ${out.slice(e)}`;
  return out
    .replace(/\s+([,.!?;:])/g, "$1")
    .replace(/\s{2,}/g, " ")
    .trim();
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const MODAL =
  /\b(?:want|wanna|need|like|love|plan|planning|hope|wish|intend|going|have|got|try|trying|aim|aiming)\s+to\b/i;

/**
 * The phrase naming the object of a request: the words after its verb and connector, without the thing noun and
 * without trailing fillers. "add a task to call the dentist" → "call the dentist"; "move the dentist task" →
 * "dentist"; "my goal is to run a marathon" → "run a marathon"; "I'd like to add a task to call mom" → "call mom".
 * A quoted phrase ("…" or “…”) is taken as it is.
 * @param text the visitor's words, date expressions already removed
 * @param nouns words naming the thing (the tool name's words and {@link THING_NOUNS})
 * @param vocabulary the tool's action words (its name's words and the first word of each example): a verb after
 *   "want to" is skipped only when it is one of them or introduces a thing noun ("I want to add a task to …", "I'd
 *   like to move the dentist task" for a tool whose example starts with "move", but not "I want to make bread")
 * @returns the phrase as written (original case), possibly empty
 */
export function objectPhrase(text: string, nouns: string[], vocabulary: Set<string> = new Set()): string {
  const quoted = /["“]([^"”]+)["”]/.exec(text);
  if (quoted) return quoted[1]!.trim();
  const nounAlt = [...new Set(nouns)].map(escape).join("|");
  const verbs = new RegExp(`\\b(?:${ACTION_VERBS.filter((v) => !nouns.includes(v)).join("|")})\\b`, "i");
  const nounIs = new RegExp(`\\b(?:${nounAlt})s?\\s+(?:is|was|will\\s+be|would\\s+be)(?:\\s+to)?\\b`, "i");
  const skip = new RegExp(
    `^(?:\\s*(?:\\b(?:me|us|a|an|the|my|our|new|another|(?:${nounAlt})s?|to|for|of|called|named|titled|about|that|saying|with)\\b|[:,–—-]))*\\s*`,
    "i",
  );
  const found = [verbs, nounIs, MODAL]
    .map((re, kind) => ({ m: re.exec(text), kind }))
    .filter((c): c is { m: RegExpExecArray; kind: number } => c.m !== null)
    .sort((a, b) => a.m.index - b.m.index || b.kind - a.kind)[0];
  let rest = found
    ? text.slice(found.m.index + found.m[0].length)
    : text.replace(
        /^\s*(?:please\s+)?(?:(?:can|could|would|will|shall)\s+(?:you|we|i)\s+)?(?:please\s+)?(?:do\b)?/i,
        "",
      );
  if (found?.kind === 2) {
    // "I want to add a task to …": also drop that verb when it belongs to the tool or introduces a thing noun
    const verb = verbs.exec(rest);
    if (verb && /^\s*$/.test(rest.slice(0, verb.index))) {
      const after = rest.slice(verb.index + verb[0].length);
      const introducesNoun = new RegExp(`^\\s*(?:(?:a|an|the|my|new)\\s+)*(?:${nounAlt})s?\\b`, "i").test(after);
      if (vocabulary.has(verb[0].toLowerCase()) || introducesNoun) rest = after;
    }
  }
  rest = rest.replace(skip, "");
  const tail = new RegExp(
    `(?:\\s+(?:(?:${nounAlt})s?|please|thanks|thank you|for me|instead|again|then|too|as well|(?:to|on|in|onto|into)\\s+(?:my|the)\\s+(?:list|to-?do(?:\\s+list)?|tasks?|goals?|planner|calendar)|to|for|on|at|by|and|with)|[\\s,.!?;:])$`,
    "i",
  );
  for (let prev = ""; prev !== rest;) {
    prev = rest;
    rest = rest.replace(tail, "");
  }
  return rest.trim();
}

/** "call the dentist" → "Call the dentist". */
export function capitalise(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** Labels a property for a sentence: `target_date` → "target date". */
export function label(name: string): string {
  return name.replace(/_/g, " ");
}

/**
 * The question asked instead of a call when a required property cannot be filled, phrased from its name and schema:
 * a `due`-like date → "When should it be due?", another date → "When should the <label> be?", `title`/`name` →
 * "What should it be called?", an enum → "Which <label>: a, b or c?", the object of the request → "Which <label> do
 * you mean?", anything else → "What <label> should I use?".
 */
export function questionFor(name: string, schema: JsonSchema, isObject: boolean): string {
  const l = label(name);
  if (schema.format === "date-time" || schema.format === "date" || schema.format === "time")
    return /\bdue\b/.test(l) ? "When should it be due?" : `When should the ${l} be?`;
  if (schema.enum?.length) {
    const options = schema.enum.map(String);
    const list = options.length > 1 ? `${options.slice(0, -1).join(", ")} or ${options.at(-1)}` : options[0];
    return `Which ${l}: ${list}?`;
  }
  if (name === "title" || name === "name") return "What should it be called?";
  if (isObject) return `Which ${l} do you mean?`;
  return `What ${l} should I use?`;
}

const YES =
  /^(?:yes|yeah|yep|yup|sure|correct|right|ok|okay|do it|please do|go ahead|absolutely|of course|that's right|definitely)\b/i;
const NO = /^(?:no|nope|nah|don't|do not|cancel|never mind|stop)\b/i;

/** Whether the visitor's words are a yes ("yes", "yeah", "sure", "correct", "do it", "please do", …), without a "but". */
export function isYes(text: string): boolean {
  const t = text.trim();
  return YES.test(t) && !/\b(?:but|not|don't|no)\b/i.test(t);
}

/** Whether the visitor's words are a no ("no", "nope", "don't", "cancel", …). */
export function isNo(text: string): boolean {
  return NO.test(text.trim());
}

/**
 * Whether the visitor's words are negative anywhere: "no", "not", "never", a "n't" ("I don't get it"), "confused",
 * "lost", "no idea", "not sure".
 */
export function isNegative(text: string): boolean {
  return /\b(?:no|not|never|nope|confused|lost|wrong)\b|n[’']t\b/i.test(text);
}

/**
 * Whether an assistant text ends with a yes/no question: its last sentence ends with "?" and starts with an auxiliary
 * ("Shall I move …?", "Do you want …?", "Is that right?"), not a wh-word ("Which task: A or B?").
 */
export function askedYesNo(text: string): boolean {
  const t = text.trim();
  if (!t.endsWith("?")) return false;
  const last = t.split(/(?<=[.!?])\s+/).at(-1) ?? t;
  return /^(?:shall|should|do|does|did|is|are|was|were|can|could|will|would|may|have|has|ok|okay|right|all right)\b/i.test(
    last,
  );
}

/** What the rules know about the turn when they fill arguments. */
export interface TurnContext {
  /** The visitor's local "now" (from the system prompt's local-time line). */
  now: LocalNow;
  /** The text of the assistant message just before the visitor's words, if any. */
  previousAssistant?: string;
}

/** Filled arguments, and the required properties the text did not give. */
export interface Filled {
  arguments: Record<string, unknown>;
  missing: string[];
}

/** The first number in a text outside `taken` spans, for a number/integer property (in range, in the enum if any). */
function numberIn(
  text: string,
  schema: JsonSchema,
  taken: [number, number][],
): { value: number; span: [number, number] } | undefined {
  for (const m of text.matchAll(/-?\b\d+(?:\.\d+)?\b/g)) {
    const start = m.index;
    if (taken.some(([s, e]) => start < e && start + m[0].length > s)) continue;
    const n = schema.type === "integer" ? Math.trunc(Number(m[0])) : Number(m[0]);
    if (schema.minimum !== undefined && n < schema.minimum) continue;
    if (schema.maximum !== undefined && n > schema.maximum) continue;
    if (schema.enum && !schema.enum.includes(n)) continue;
    return { value: n, span: withPreposition(text, start, start + m[0].length) };
  }
  return undefined;
}

/** The enum value a text mentions (whole words, case-insensitive, `_` read as a space) and where it stands. */
function enumIn(text: string, values: unknown[]): { value: string; span: [number, number] } | undefined {
  for (const v of values) {
    const m = new RegExp(`\\b${escape(String(v)).replace(/_/g, "[ _]")}\\b`, "i").exec(text);
    if (m) return { value: String(v), span: withPreposition(text, m.index, m.index + m[0].length) };
  }
  return undefined;
}

/** Extends a span back over a preposition before it ("to high"), so that the object phrase loses both. */
function withPreposition(text: string, start: number, end: number): [number, number] {
  const lead = /\b(?:to|as|at|with|for|on|in)\s+$/i.exec(text.slice(0, start));
  return [lead ? lead.index : start, end];
}

/**
 * Fills a tool's arguments from the visitor's words, driven by its parameters' JSON Schema:
 * - a `string` with `format` `date-time`/`date`/`time`: the first date/time expression (see when.ts `findWhen`),
 *   relative to `ctx.now`, as ISO 8601 with the visitor's offset;
 * - the object property ({@link objectProperty}): the {@link objectPhrase}, capitalised when named `title`/`name`,
 *   cut to `maxLength`;
 * - another plain string property named N: the words in "for my <words> N" ("for my marathon goal" → "marathon");
 * - an `enum` string: the value the text mentions; a number/integer: the first number in range;
 * - a boolean named `confirmed`: true only when the previous assistant message asked a yes/no question and the text
 *   is a yes ({@link isYes}); any other boolean (e.g. `understood`): true unless the words are negative
 *   ({@link isNegative}: "I don't get it");
 * - a string property named `note`: the visitor's words as said, cut to `maxLength`;
 * - anything else (arrays, objects) is left out.
 * @returns the arguments and the names of the required properties left unfilled (in schema order)
 */
export function fillArguments(text: string, tool: FunctionTool, ctx: TurnContext): Filled {
  const schema = tool.function.parameters ?? {};
  const props = schema.properties ?? {};
  const args: Record<string, unknown> = {};
  const when = findWhen(text, ctx.now);
  const spans: [number, number][] = [...(when?.spans ?? [])];
  const object = objectProperty(schema);

  for (const [name, p] of Object.entries(props)) {
    if (p.type === "string" && (p.format === "date-time" || p.format === "date" || p.format === "time")) {
      const value = when && renderWhen(when, p.format, ctx.now);
      if (value) args[name] = value;
    } else if (p.type === "string" && p.enum) {
      const found = enumIn(text, p.enum);
      if (found) {
        args[name] = found.value;
        spans.push(found.span);
      }
    } else if (p.type === "boolean") {
      args[name] =
        name === "confirmed"
          ? Boolean(ctx.previousAssistant && askedYesNo(ctx.previousAssistant) && isYes(text))
          : !isNegative(text);
    } else if (p.type === "string" && NOTE_NAMES.includes(name)) {
      const said = text.trim().replace(/\s+/g, " ");
      const note = p.maxLength !== undefined ? said.slice(0, p.maxLength).trim() : said;
      if (note) args[name] = note;
    } else if (p.type === "number" || p.type === "integer") {
      const found = numberIn(text, p, spans);
      if (found) {
        args[name] = found.value;
        spans.push(found.span);
      }
    } else if (p.type === "string" && name !== object) {
      // "for my marathon goal" → goal "marathon"
      const re = new RegExp(
        `\\b(?:${PREPOSITIONS})\\s+(?:(?:${DETERMINERS})\\s+)?((?:(?!(?:${PREPOSITIONS}|${DETERMINERS})\\b)[\\p{L}\\p{N}'’-]+\\s+){1,4}?)${escape(label(name))}\\b`,
        "iu",
      );
      const m = re.exec(mask(text, spans));
      if (m && words(m[1]!).length > 0) {
        args[name] = m[1]!.trim();
        spans.push([m.index, m.index + m[0].length]);
      }
    }
  }

  if (object) {
    const p = props[object]!;
    const nouns = [...nameWords(tool.function.name).filter((w) => !ACTION_VERBS.includes(w)), ...THING_NOUNS];
    const { examples } = parseExamples(tool.function.description);
    const vocabulary = new Set([
      ...nameWords(tool.function.name),
      ...examples.map((e) => e.toLowerCase().split(/\s+/)[0]!),
    ]);
    let phrase = objectPhrase(removeSpans(text, spans), nouns, vocabulary);
    if (object === "title" || object === "name") phrase = capitalise(phrase);
    if (p.maxLength !== undefined) phrase = phrase.slice(0, p.maxLength).trim();
    if (phrase) args[object] = phrase;
  }

  const missing = (schema.required ?? []).filter((n) => !(n in args));
  return { arguments: args, missing };
}

/* ------------------------------------------------------------------------------------------------------------ */
/* After a tool result                                                                                           */

/** An Action response as the agent returns it from a tool (contract/actions.ts `ActionResponse`). */
interface ActionLike {
  status: string;
  message?: string;
  /** A tutor action's `content` (the text to teach) and `check_question` (worker/actions/tutor.ts). */
  result?: { content?: unknown; check_question?: unknown; [key: string]: unknown };
  errors?: { path?: string; message?: string }[];
}

/** Sentences the stand-in teaches from a `content` (a model would teach all of it, a few sentences at a time). */
export const TEACH_SENTENCES = 2;

/** The first {@link TEACH_SENTENCES} sentences of a text (sentences end with . ! or ? before a space). */
export function firstSentences(text: string, n = TEACH_SENTENCES): string {
  return text
    .trim()
    .split(/(?<=[.!?])\s+/)
    .slice(0, n)
    .join(" ");
}

/** The tool output as a value: a tool's return value arrives JSON-encoded (LiveKit Agents stringifies it). */
function decodeOutput(content: string): unknown {
  let value: unknown = content;
  for (let i = 0; i < 2 && typeof value === "string"; i++) {
    const t = value.trim();
    if (!/^["{[]/.test(t)) break;
    try {
      value = JSON.parse(t);
    } catch {
      break;
    }
  }
  return value;
}

const endSentence = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);
const lowerFirst = (s: string) => (/^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s);

/**
 * A sentence built from an Action response: ok with a `result.content` to teach → "<message>. <its first
 * {@link TEACH_SENTENCES} sentences> Here is a question for you: <result.check_question>"; other ok → "Done.
 * <message>." ("Done. Task added: Call the dentist."),
 * ambiguous → the message (the Worker phrases it as the question: `Which task: "A" or "B"?`), refused → "Sorry,
 * <message>", invalid → "That did not work: <message>. <path>: <error>." (no retry).
 */
export function replyToAction(r: ActionLike): string {
  const message = (r.message ?? "").trim();
  const content = r.result?.content;
  if (r.status === "ok" && typeof content === "string" && content.trim()) {
    const question = r.result?.check_question;
    return [
      message && endSentence(message),
      firstSentences(content),
      typeof question === "string" && question.trim() ? `Here is a question for you: ${question.trim()}` : "",
    ]
      .filter(Boolean)
      .join(" ");
  }
  if (r.status === "ok") return message ? `Done. ${endSentence(message)}` : "Done.";
  if (r.status === "ambiguous") return message || "Which one do you mean?";
  if (r.status === "refused") return `Sorry, ${endSentence(lowerFirst(message || "I cannot do that"))}`;
  const errors = (r.errors ?? [])
    .map((e) => `${(e.path ?? "").replace(/^\//, "").replace(/\//g, ".") || "input"}: ${e.message ?? "invalid"}`)
    .map(endSentence)
    .join(" ");
  return [`That did not work: ${endSentence(message || "the request was invalid")}`, errors].filter(Boolean).join(" ");
}

/** A string tool output that asks the model to read the action back and get a yes. */
export function asksForReadBack(output: string): boolean {
  return /\bread (?:it |this |that |the \w+ )?back\b|\bask (?:for|them for|the visitor for) a yes\b/i.test(output);
}

/**
 * The read-back question for a tool call awaiting confirmation, built from its name and arguments: "Shall I
 * reschedule the task "dentist" (due: Friday 4 December at 10:00)?". A name starting with an action verb reads as
 * "<verb> the <rest>", another as "create the <words>"; the object property is quoted; dates are spoken in words;
 * `confirmed` is left out.
 */
export function readBack(
  name: string,
  args: Record<string, unknown>,
  tool: FunctionTool | undefined,
  now: LocalNow,
): string {
  const w = nameWords(name);
  const verbFirst = w.length > 1 && ACTION_VERBS.includes(w[0]!) && w[0] !== "new";
  const phrase = verbFirst
    ? `${w[0]} the ${w.slice(1).join(" ")}`
    : `create the ${w.filter((x) => x !== "new").join(" ")}`;
  const object = objectProperty(tool?.function.parameters) ?? OBJECT_NAMES.find((n) => typeof args[n] === "string");
  const props = tool?.function.parameters?.properties ?? {};
  const details = Object.entries(args)
    .filter(([k, v]) => k !== object && k !== "confirmed" && v !== undefined && v !== null && v !== "")
    .map(([k, v]) => {
      const dated = typeof v === "string" && (props[k]?.format?.startsWith("date") || /^\d{4}-\d{2}-\d{2}/.test(v));
      return `${label(k)}: ${dated ? speakWhen(v as string, now) : typeof v === "string" ? v : JSON.stringify(v)}`;
    });
  const quoted = object && typeof args[object] === "string" ? ` "${args[object]}"` : "";
  return `Shall I ${phrase}${quoted}${details.length ? ` (${details.join(", ")})` : ""}?`;
}

/** The arguments of an assistant tool call, parsed ({} when they are not a JSON object). */
function callArguments(call: ToolCall): Record<string, unknown> {
  try {
    const v = JSON.parse(call.function?.arguments ?? "{}");
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Finds the assistant tool call with this id. */
function findCall(messages: ChatMessage[], id: string | undefined): ToolCall | undefined {
  for (const m of messages) for (const c of m.tool_calls ?? []) if (c.id === id) return c;
  return undefined;
}

/**
 * The reply after the tool results that end the conversation (one sentence per result, in order): an Action
 * response → {@link replyToAction}; a string asking for a read-back → {@link readBack} of the call it answers; any
 * other string (e.g. a tool error) → the string itself.
 */
export function replyToToolResults(messages: ChatMessage[], tools: FunctionTool[], now: LocalNow): string {
  let first = messages.length;
  while (first > 0 && messages[first - 1]!.role === "tool") first--;
  const replies = messages.slice(first).map((m) => {
    const value = decodeOutput(textOf(m));
    if (value && typeof value === "object" && typeof (value as ActionLike).status === "string")
      return replyToAction(value as ActionLike);
    const text = typeof value === "string" ? value.trim() : JSON.stringify(value);
    if (asksForReadBack(text)) {
      const call = findCall(messages, m.tool_call_id);
      const name = call?.function?.name ?? "";
      if (call)
        return readBack(
          name,
          callArguments(call),
          tools.find((t) => t.function.name === name),
          now,
        );
    }
    return text || "Done.";
  });
  return replies.join(" ");
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The decision                                                                                                  */

/** Marks a question asked for a missing property, so that the next turn can be read together with this one. */
interface Asked {
  kind: "ask";
  text: string;
}

function systemTexts(messages: ChatMessage[]): string[] {
  return messages.filter((m) => m.role === "system" || m.role === "developer").map(textOf);
}

/** Index of the last message with this role, or -1. */
function lastIndex(messages: ChatMessage[], role: string, before = messages.length): number {
  for (let i = before - 1; i >= 0; i--) if (messages[i]!.role === role) return i;
  return -1;
}

function forcedName(choice: ToolChoice | undefined): string | undefined {
  return typeof choice === "object" ? choice.function.name : undefined;
}

/**
 * Decides how the stand-in answers a conversation when tools are offered.
 * 1. The conversation ends with tool results → {@link replyToToolResults} (unless the choice forces a call).
 * 2. `tool_choice: "none"` or no tools → no decision (the caller's scripted text).
 * 3. The previous assistant message asked a yes/no question right after the results of a call of an offered tool
 *    with a boolean `confirmed` parameter, and the visitor says yes (no) → that call again with its arguments and
 *    `confirmed: true` (a text "Okay, I will leave it as it is.").
 * 4. The previous assistant message was this stand-in's question for a missing property → the visitor's earlier
 *    request and the answer are read as one text.
 * 5. {@link pickTool} on the last user text (date expressions removed); named/required choices force a tool.
 *    {@link fillArguments}; a missing required property → {@link questionFor} as text (a forced choice calls anyway).
 * @param now the visitor's "now"; default: the system prompt's local-time line, else the current UTC time
 * @returns undefined when no tool is asked for (the caller answers with its scripted text)
 */
export function decide(
  messages: ChatMessage[],
  tools: FunctionTool[],
  toolChoice: ToolChoice | undefined = "auto",
  now: LocalNow = localNowFrom(systemTexts(messages)),
): Decision | undefined {
  const d = decideInner(messages, tools, toolChoice, now, 2);
  return d?.kind === "ask" ? { kind: "text", text: d.text } : d;
}

function decideInner(
  messages: ChatMessage[],
  tools: FunctionTool[],
  toolChoice: ToolChoice,
  now: LocalNow,
  depth: number,
): Decision | Asked | undefined {
  const forced = forcedName(toolChoice);
  const forcing = forced !== undefined || toolChoice === "required";
  if (messages.at(-1)?.role === "tool" && !forcing)
    return { kind: "text", text: replyToToolResults(messages, tools, now) };
  if (toolChoice === "none" || tools.length === 0) return undefined;

  const u = lastIndex(messages, "user");
  if (u < 0) return undefined;
  let text = textOf(messages[u]).trim();
  const prev = messages[u - 1]?.role === "assistant" ? textOf(messages[u - 1]).trim() : "";

  // 3. a yes/no answer to a read-back question
  if (prev && askedYesNo(prev) && (isYes(text) || isNo(text))) {
    // the question must follow the call's results directly: call, tool result(s), question, yes
    let i = u - 2;
    while (i >= 0 && messages[i]!.role === "tool") i--;
    const call = i < u - 2 ? messages[i]?.tool_calls?.at(-1) : undefined;
    const tool = call && tools.find((t) => t.function.name === call.function?.name);
    if (call && tool?.function.parameters?.properties?.confirmed?.type === "boolean") {
      if (isNo(text)) return { kind: "text", text: "Okay, I will leave it as it is." };
      return { kind: "tool", name: tool.function.name, arguments: { ...callArguments(call), confirmed: true } };
    }
  }

  // 4. the answer to this stand-in's question for a missing property
  if (prev && depth > 0) {
    const asked = decideInner(messages.slice(0, u - 1), tools, toolChoice, now, depth - 1);
    const earlier = lastIndex(messages, "user", u - 1);
    if (asked?.kind === "ask" && asked.text === prev && earlier >= 0)
      text = `${textOf(messages[earlier]).trim()} ${text}`;
  }

  const when = findWhen(text, now);
  const plain = removeSpans(text, when?.spans ?? []);
  const tool = forced ? tools.find((t) => t.function.name === forced) : pickTool(plain, tools, forcing);
  if (!tool) return undefined;
  const filled = fillArguments(text, tool, { now, previousAssistant: prev });
  if (filled.missing.length && !forcing) {
    const name = filled.missing[0]!;
    const props = tool.function.parameters?.properties ?? {};
    return {
      kind: "ask",
      text: questionFor(name, props[name] ?? {}, name === objectProperty(tool.function.parameters)),
    };
  }
  return { kind: "tool", name: tool.function.name, arguments: filled.arguments };
}
