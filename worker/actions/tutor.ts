/**
 * The tutor's backend actions (the `tutor` profile's intents), over the curriculum and the visitor's progress in
 * Cloudflare D1 (worker/curriculum.ts):
 * - `LIST_TOPICS {}`: the topics, with the visitor's understood counts;
 * - `START_TOPIC {topic}`: starts the topic the words name, at its first subtopic the visitor has not understood;
 * - `CURRENT_SUBTOPIC {}`: the subtopic the visitor is on, with its content;
 * - `CHECK_UNDERSTANDING {understood, note}`: records the check of the current subtopic;
 * - `NEXT_SUBTOPIC {}`: moves on to the topic's next subtopic (after the last: `finished`);
 * - `TUTOR_PROGRESS {}`: the topics with the visitor's progress, and their place.
 *
 * Progress is the visitor's (the session's owner): every query is keyed by `ctx.visitorId`, so no visitor reads or
 * changes another's. Each action makes one D1 round trip (`START_TOPIC` two: it reads the curriculum to find the
 * topic first), and one more only to list the topics in a refusal. See docs/actions.md, "The tutor".
 */
import { TUTOR_NOTE_MAX, type TutorPlace } from "../../contract/index.ts";
import {
  advanceSubtopic,
  curriculum,
  type CurriculumEntry,
  overview,
  type PlaceWithContent,
  recordCheck,
  splitContent,
  startSubtopic,
  type TopicProgress,
  topicProgress,
  tutorTopics,
} from "../curriculum.ts";
import type { ActionContext, ActionHandler, HandlerOutcome } from "./index.ts";

/** Words a topic query may hold besides the topic's own ("the fractions topic", "a lesson on photosynthesis"). */
const TOPIC_STOP_WORDS = new Set([
  "the",
  "a",
  "an",
  "my",
  "topic",
  "subject",
  "lesson",
  "course",
  "about",
  "on",
  "of",
  "in",
  "to",
  "me",
  "please",
  "teach",
  "learn",
  "learning",
  "study",
  "start",
  "some",
  "basic",
  "basics",
]);

/**
 * Lower-case word stems (letters and digits, any script) of `text`, a plural `s` dropped ("Fractions" →
 * "fraction"; "class" stays).
 */
function stems(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((w) => (w.length > 3 && w.endsWith("s") && !w.endsWith("ss") ? w.slice(0, -1) : w));
}

/**
 * The topics (names, as stored) that `query` names, case-insensitively and tolerant of plurals: those whose name
 * holds every word of the query but {@link TOPIC_STOP_WORDS} ("fraction", "the fractions topic"); when none does,
 * those whose every name word is in the query ("fractions for beginners"). A query with no word left names none.
 */
export function matchTopics(topics: readonly string[], query: string): string[] {
  const wanted = stems(query).filter((w) => !TOPIC_STOP_WORDS.has(w));
  if (wanted.length === 0) return [];
  const said = new Set(wanted);
  const named = topics.filter((t) => {
    const name = new Set(stems(t));
    return wanted.every((w) => name.has(w));
  });
  if (named.length > 0) return named;
  return topics.filter((t) => {
    const name = stems(t);
    return name.length > 0 && name.every((w) => said.has(w));
  });
}

/** `"A" or "B"`, `"A", "B" or "C"`. */
function alternatives(names: readonly string[]): string {
  const quoted = names.map((t) => `"${t}"`);
  return quoted.length < 2 ? (quoted[0] ?? "") : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

function refused(message: string): HandlerOutcome {
  return { status: "refused", message };
}

/** `Topics: Fractions, Photosynthesis.`; "" for an empty curriculum. */
function topicList(names: readonly string[]): string {
  return names.length ? `Topics: ${names.join(", ")}.` : "";
}

/** `refused` when the visitor has no current subtopic: `No topic started yet. Topics: …` (one more round trip). */
async function noPlace(ctx: ActionContext, topics?: readonly TopicProgress[]): Promise<HandlerOutcome> {
  const names = (topics ?? (await topicProgress(ctx.env.CURRICULUM, ctx.visitorId))).map((t) => t.topic);
  return refused(`No topic started yet. ${topicList(names)}`.trim());
}

/** `Fractions, part 1 of 4: What a fraction is.` */
function partMessage(place: TutorPlace): string {
  const index = place.subtopics.findIndex((s) => s.id === place.subtopic.id);
  return `${place.topic}, part ${index + 1} of ${place.subtopics.length}: ${place.subtopic.title}.`;
}

/** The `ok` answer that teaches the current subtopic: `{place, content, check_question, check_answer}`. */
function lesson(current: PlaceWithContent): HandlerOutcome {
  return {
    status: "ok",
    message: partMessage(current.place),
    result: { place: current.place, ...splitContent(current.content) },
  };
}

/** A string argument, trimmed; undefined when absent, not a string or blank. */
function text(args: Record<string, unknown>, name: string): string | undefined {
  const value = args[name];
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

/**
 * `LIST_TOPICS {}`: the curriculum's topics, alphabetical. ok: `{topics: TutorTopic[]}`, message
 * `Topics: Fractions (4 parts), Photosynthesis (3 parts).` One round trip.
 */
export const listTopics: ActionHandler = async (ctx) => {
  const topics = await topicProgress(ctx.env.CURRICULUM, ctx.visitorId);
  const parts = topics.map((t) => `${t.topic} (${t.subtopics} ${t.subtopics === 1 ? "part" : "parts"})`);
  return {
    status: "ok",
    message: topics.length ? `Topics: ${parts.join(", ")}.` : "There are no topics yet.",
    result: { topics: tutorTopics(topics) },
  };
};

/**
 * `START_TOPIC {topic}`: starts the topic `topic` names ({@link matchTopics}) at its first subtopic (by position)
 * the visitor has not understood, or its first when they understood them all; records it `started` (an existing
 * status stays) and makes it current. ok: `{place, content, check_question, check_answer}`, message
 * `Fractions, part 1 of 4: What a fraction is.`; no match is refused (`No topic matches "<topic>". Topics: …`),
 * several ambiguous (`Which topic: "A" or "B"?`, `candidates`: topic names). Two round trips.
 */
export const startTopic: ActionHandler = async (ctx, args) => {
  const query = text(args, "topic");
  const entries = await curriculum(ctx.env.CURRICULUM, ctx.visitorId);
  const byTopic = new Map<string, CurriculumEntry[]>();
  for (const e of entries) byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), e]);
  const names = [...byTopic.keys()];
  if (query === undefined) return refused(`Which topic? ${topicList(names)}`.trim());
  const found = matchTopics(names, query);
  if (found.length > 1) {
    return { status: "ambiguous", message: `Which topic: ${alternatives(found)}?`, result: { candidates: found } };
  }
  if (found.length === 0) return refused(`No topic matches "${query}". ${topicList(names)}`.trim());
  const subtopics = byTopic.get(found[0]!)!;
  const first = subtopics.find((s) => s.status !== "understood") ?? subtopics[0]!;
  const current = await startSubtopic(ctx.env.CURRICULUM, ctx.visitorId, first.id, ctx.nowMs);
  if (!current) throw new Error("the started subtopic is not the current one");
  return lesson(current);
};

/**
 * `CURRENT_SUBTOPIC {}`: the subtopic the visitor is on (their progress row written last), to teach. ok: like
 * {@link startTopic}'s; refused without one (`No topic started yet. Topics: …`). One round trip.
 */
export const currentSubtopic: ActionHandler = async (ctx) => {
  const { topics, current } = await overview(ctx.env.CURRICULUM, ctx.visitorId);
  return current ? lesson(current) : noPlace(ctx, topics);
};

/**
 * `CHECK_UNDERSTANDING {understood, note}`: records the visitor's answer to the current subtopic's check question
 * (`understood` or `not_understood`, with the note, at most `TUTOR_NOTE_MAX` characters). ok: `{place}`, message
 * `Noted: understood.` / `Noted: not understood yet.`; refused without a current subtopic, or without a boolean
 * `understood`. One round trip (two when refused for no subtopic).
 */
export const checkUnderstanding: ActionHandler = async (ctx, args) => {
  const understood = args.understood;
  if (typeof understood !== "boolean") return refused("A check needs understood: true or false.");
  const note = text(args, "note")?.slice(0, TUTOR_NOTE_MAX) ?? null;
  const current = await recordCheck(ctx.env.CURRICULUM, ctx.visitorId, understood, note, ctx.nowMs);
  if (!current) return noPlace(ctx);
  return {
    status: "ok",
    message: understood ? "Noted: understood." : "Noted: not understood yet.",
    result: { place: current.place },
  };
};

/**
 * `NEXT_SUBTOPIC {}`: moves on to the next subtopic of the current topic, recorded like {@link startTopic}'s. ok:
 * like {@link startTopic}'s; after the topic's last subtopic ok with `{place, finished: true}` (the place stays on
 * the last), message `That was the last part of Fractions.`; refused without a current subtopic. One round trip
 * (two when refused).
 *
 * Once per call: the write carries `ctx.opId`, so a copy of the call arriving while the first still runs, or a retry
 * after a 5xx that came after the write, answers the same part without moving on again.
 */
export const nextSubtopic: ActionHandler = async (ctx) => {
  const { moved, current } = await advanceSubtopic(ctx.env.CURRICULUM, ctx.visitorId, ctx.opId, ctx.nowMs);
  if (!current) return noPlace(ctx);
  if (moved) return lesson(current);
  return {
    status: "ok",
    message: `That was the last part of ${current.place.topic}.`,
    result: { place: current.place, finished: true },
  };
};

/**
 * `TUTOR_PROGRESS {}`: the visitor's progress. ok: `{topics: TutorTopic[], place: TutorPlace | null}`, message
 * `Fractions: 1 of 4 understood. Photosynthesis: not started.` One round trip.
 */
export const tutorProgress: ActionHandler = async (ctx) => {
  const { topics, current } = await overview(ctx.env.CURRICULUM, ctx.visitorId);
  const lines = topics.map((t) =>
    t.touched === 0 ? `${t.topic}: not started.` : `${t.topic}: ${t.understood} of ${t.subtopics} understood.`,
  );
  return {
    status: "ok",
    message: lines.length ? lines.join(" ") : "There are no topics yet.",
    result: { topics: tutorTopics(topics), place: current?.place ?? null },
  };
};
