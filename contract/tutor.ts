/**
 * The tutor: the curriculum in Cloudflare D1 (migrations/: `subtopics`, and each visitor's `progress`), the tutor
 * profile's actions (worker/actions/tutor.ts) and what the page and the agent learn of the visitor's place in it.
 *
 * Written with `zod/mini`, like rest.ts and actions.ts, so the page can import it.
 *
 * See docs/actions.md, "The tutor".
 */
import * as z from "zod/mini";

/** Where a visitor stands on a subtopic (the `progress.status` column); none yet is `null` where it appears. */
export const SubtopicStatus = z.enum(["started", "understood", "not_understood"]);
export type SubtopicStatus = z.infer<typeof SubtopicStatus>;

/** Longest `CHECK_UNDERSTANDING` note, in characters (the `progress.note` column allows 500). */
export const TUTOR_NOTE_MAX = 200;

/** One subtopic of a topic, with the visitor's status on it. */
export const TutorSubtopic = z.object({
  /** `subtopics.id`, a positive integer. */
  id: z.number(),
  /** Its title (`subtopics.subtopic`), e.g. "Equivalent fractions". */
  title: z.string(),
  /** 1-based position in its topic. */
  position: z.number(),
  status: z.nullable(SubtopicStatus),
});
export type TutorSubtopic = z.infer<typeof TutorSubtopic>;

/**
 * The visitor's place: the topic they are on, its current subtopic (the one of their progress rows they touched
 * last) and all the topic's subtopics in order with their statuses. Every tutor action that changes or reads the
 * place answers it as `result.place`; the page's tutor panel shows it.
 */
export const TutorPlace = z.object({
  topic: z.string(),
  subtopic: TutorSubtopic,
  subtopics: z.array(TutorSubtopic),
});
export type TutorPlace = z.infer<typeof TutorPlace>;

/** A topic of the curriculum, with how far the visitor got in it. */
export const TutorTopic = z.object({
  topic: z.string(),
  /** How many subtopics it has. */
  subtopics: z.number(),
  /** How many of them the visitor understood (their last check said so). */
  understood: z.number(),
});
export type TutorTopic = z.infer<typeof TutorTopic>;

/** `GET /tutor` 200 body: the curriculum's topics (alphabetical) with the calling visitor's progress, and their place. */
export const TutorResponse = z.object({
  topics: z.array(TutorTopic),
  /** null before the visitor started any topic. */
  place: z.nullable(TutorPlace),
});
export type TutorResponse = z.infer<typeof TutorResponse>;

/** `GET /tutor/subtopics/{id}` 200 body: one subtopic to read, with the visitor's status on it. */
export const SubtopicResponse = z.object({
  id: z.number(),
  topic: z.string(),
  title: z.string(),
  position: z.number(),
  /** How many subtopics its topic has. */
  count: z.number(),
  /** The teaching text, paragraphs separated by a blank line, ending with its check question. */
  content: z.string(),
  status: z.nullable(SubtopicStatus),
});
export type SubtopicResponse = z.infer<typeof SubtopicResponse>;
