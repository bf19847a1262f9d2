/**
 * The tutor's curriculum and the visitors' progress through it, in Cloudflare D1 (binding `CURRICULUM`, tables of
 * migrations/0001_curriculum.sql): typed queries for the tutor's actions (worker/actions/tutor.ts), `GET /tutor`
 * and `GET /tutor/subtopics/{id}` (worker/routes/tutor.ts), and the visitor's place for the agent's dispatch.
 *
 * - **The current subtopic** of a visitor is the one of their `progress` rows written last (highest `updated_at`).
 *   Every write here stamps `updated_at` with the call's time, but at least one more than the visitor's latest row,
 *   so that two writes in the same millisecond still leave one unambiguous current subtopic.
 * - **Round trips**: each function makes one D1 round trip (a `batch` is one, and runs as one transaction, so a
 *   write and the read after it see the same state). Every read is one statement with `LEFT JOIN`s over the
 *   visitor's progress (primary key `(visitor_id, subtopic_id)`, index `progress_latest`).
 * - **Never a downgrade**: starting a subtopic again (`START_TOPIC`, `NEXT_SUBTOPIC`) keeps an `understood` or
 *   `not_understood` status and its note, and only makes it current.
 *
 * Every function throws whatever D1 throws (the action then answers 500 and the agent retries it once).
 * See docs/actions.md, "The tutor".
 */
import type { SubtopicResponse, SubtopicStatus, TutorPlace, TutorSubtopic, TutorTopic } from "../contract/index.ts";

/** The paragraph that ends each subtopic's content: "A good check question: <question>? (<answer>)". */
const CHECK_PARAGRAPH = /^A good check question:\s*(?<question>.*\?)\s*\((?<answer>.*)\)\s*$/s;

/** A subtopic's content, split into the teaching text and its check question. */
export interface LessonText {
  /** The teaching text without the check question's paragraph (paragraphs separated by a blank line). */
  content: string;
  /** The check question as written, ending with "?", without its bracketed answer; "" when there is none. */
  check_question: string;
  /** The expected answer (the bracketed text after the question); "" when there is none. */
  check_answer: string;
}

/**
 * Splits a subtopic's content at its last paragraph when that is "A good check question: <question>? (<answer>)".
 * @returns the text before it (trimmed), the question (from its first word to its "?") and the answer (inside the
 *   brackets); content that does not end so is answered whole, with "" for the question and the answer
 */
export function splitContent(text: string): LessonText {
  const trimmed = text.trim();
  const breaks = [...trimmed.matchAll(/\n[ \t]*\n/g)];
  const last = breaks.at(-1);
  const start = last ? last.index + last[0].length : 0;
  const m = CHECK_PARAGRAPH.exec(trimmed.slice(start).trim());
  if (!m?.groups) return { content: trimmed, check_question: "", check_answer: "" };
  return {
    content: trimmed.slice(0, last ? last.index : 0).trim(),
    check_question: m.groups.question!.trim(),
    check_answer: m.groups.answer!.trim(),
  };
}

/** A subtopic of the curriculum with the visitor's status on it (no content). */
export interface CurriculumEntry extends TutorSubtopic {
  topic: string;
}

/** The visitor's place with the current subtopic's content. */
export interface PlaceWithContent {
  place: TutorPlace;
  /** The current subtopic's whole content (see {@link splitContent}). */
  content: string;
}

/** The visitor's current subtopic id: their progress row written last. `?1` is the visitor id. */
const CURRENT_ID =
  "(SELECT subtopic_id FROM progress WHERE visitor_id = ?1 ORDER BY updated_at DESC, subtopic_id DESC LIMIT 1)";

/** The `updated_at` of a write: the call's time `?2`, but after every row of visitor `?1`. */
const NEXT_STAMP = "MAX(?2, COALESCE((SELECT MAX(updated_at) FROM progress WHERE visitor_id = ?1), 0) + 1)";

/** The current subtopic's topic, all its subtopics in order with visitor `?1`'s statuses, and its content. */
const PLACE_SQL = `SELECT s.id, s.topic, s.subtopic AS title, s.position, p.status,
    CASE WHEN s.id = ${CURRENT_ID} THEN s.content END AS content
  FROM subtopics s LEFT JOIN progress p ON p.visitor_id = ?1 AND p.subtopic_id = s.id
  WHERE s.topic = (SELECT topic FROM subtopics WHERE id = ${CURRENT_ID})
  ORDER BY s.position`;

/** Each topic (alphabetical), its subtopic count, and visitor `?1`'s understood and touched counts. */
const TOPICS_SQL = `SELECT s.topic, COUNT(*) AS subtopics,
    COUNT(CASE WHEN p.status = 'understood' THEN 1 END) AS understood, COUNT(p.subtopic_id) AS touched
  FROM subtopics s LEFT JOIN progress p ON p.visitor_id = ?1 AND p.subtopic_id = s.id
  GROUP BY s.topic ORDER BY s.topic COLLATE NOCASE, s.topic`;

interface PlaceRow {
  id: number;
  topic: string;
  title: string;
  position: number;
  status: SubtopicStatus | null;
  content: string | null;
}

/** A topic with how many of its subtopics the visitor touched at all (a progress row of any status). */
export interface TopicProgress extends TutorTopic {
  touched: number;
}

function placeStatement(db: D1Database, visitorId: string): D1PreparedStatement {
  return db.prepare(PLACE_SQL).bind(visitorId);
}

function topicsStatement(db: D1Database, visitorId: string): D1PreparedStatement {
  return db.prepare(TOPICS_SQL).bind(visitorId);
}

const subtopicOf = (r: Pick<PlaceRow, "id" | "title" | "position" | "status">): TutorSubtopic => ({
  id: r.id,
  title: r.title,
  position: r.position,
  status: r.status,
});

/** The place from {@link PLACE_SQL}'s rows; null without a current subtopic. */
function placeOf(rows: readonly PlaceRow[]): PlaceWithContent | null {
  const current = rows.find((r) => r.content !== null);
  if (!current) return null;
  return {
    place: { topic: current.topic, subtopic: subtopicOf(current), subtopics: rows.map(subtopicOf) },
    content: current.content!,
  };
}

const topicOf = (t: TopicProgress): TutorTopic => ({
  topic: t.topic,
  subtopics: t.subtopics,
  understood: t.understood,
});

/**
 * The curriculum's topics, alphabetical, each with its number of subtopics and how many of them the visitor
 * understood (and touched: any progress row). One round trip.
 */
export async function topicProgress(db: D1Database, visitorId: string): Promise<TopicProgress[]> {
  return (await topicsStatement(db, visitorId).all<TopicProgress>()).results;
}

/** {@link topicProgress} as the contract's `TutorTopic`s (without `touched`). */
export function tutorTopics(topics: readonly TopicProgress[]): TutorTopic[] {
  return topics.map(topicOf);
}

/**
 * Every subtopic of the curriculum (by topic, then position) with the visitor's status on it, without content:
 * what `START_TOPIC` chooses from. One round trip.
 */
export async function curriculum(db: D1Database, visitorId: string): Promise<CurriculumEntry[]> {
  const { results } = await db
    .prepare(
      `SELECT s.id, s.topic, s.subtopic AS title, s.position, p.status
        FROM subtopics s LEFT JOIN progress p ON p.visitor_id = ?1 AND p.subtopic_id = s.id
        ORDER BY s.topic COLLATE NOCASE, s.topic, s.position`,
    )
    .bind(visitorId)
    .all<CurriculumEntry>();
  return results;
}

/**
 * The visitor's place in the curriculum: the topic of their current subtopic (their progress row written last),
 * that subtopic, and all the topic's subtopics in order with their statuses. One round trip.
 * @param visitorId the `vid` cookie's visitor id
 * @returns null when the visitor has no progress yet
 */
export async function tutorPlace(db: D1Database, visitorId: string): Promise<TutorPlace | null> {
  return (await placeWithContent(db, visitorId))?.place ?? null;
}

/** {@link tutorPlace} with the current subtopic's content. One round trip. */
export async function placeWithContent(db: D1Database, visitorId: string): Promise<PlaceWithContent | null> {
  return placeOf((await placeStatement(db, visitorId).all<PlaceRow>()).results);
}

/**
 * The visitor's place (with content) and the topics with their progress, read together: `TUTOR_PROGRESS`,
 * `CURRENT_SUBTOPIC` and `GET /tutor`. One round trip.
 */
export async function overview(
  db: D1Database,
  visitorId: string,
): Promise<{ topics: TopicProgress[]; current: PlaceWithContent | null }> {
  const [topics, place] = await db.batch<unknown>([topicsStatement(db, visitorId), placeStatement(db, visitorId)]);
  return {
    topics: topics!.results as TopicProgress[],
    current: placeOf(place!.results as PlaceRow[]),
  };
}

/**
 * Makes subtopic `subtopicId` the visitor's current one: records it `started` when they have no row for it, else
 * keeps its status and note (never a downgrade) and only stamps it as the latest. Then reads the place. One round
 * trip (a batch: the write and the read in one transaction).
 * @param nowMs epoch ms of the call
 * @param subtopicId an existing subtopic's id (the caller found it in {@link curriculum})
 * @returns the place after the write; null only for a subtopic id that does not exist
 * @throws D1's errors (also the foreign key's, for a subtopic id that does not exist, where D1 enforces it)
 */
export async function startSubtopic(
  db: D1Database,
  visitorId: string,
  subtopicId: number,
  nowMs: number,
): Promise<PlaceWithContent | null> {
  const [, place] = await db.batch<unknown>([
    db
      .prepare(
        `INSERT INTO progress (visitor_id, subtopic_id, status, note, updated_at)
          VALUES (?1, ?3, 'started', NULL, ${NEXT_STAMP})
          ON CONFLICT (visitor_id, subtopic_id) DO UPDATE SET updated_at = excluded.updated_at`,
      )
      .bind(visitorId, nowMs, subtopicId),
    placeStatement(db, visitorId),
  ]);
  return placeOf(place!.results as PlaceRow[]);
}

/**
 * Moves the visitor on from their current subtopic to the next one of its topic (the lowest higher position),
 * recorded like {@link startSubtopic} with the call's operation id; then reads the place. Once per `opId`: when a
 * row of the visitor already carries it (a copy of the call that ran first, or the retry of one whose answer was
 * lost), nothing is written and the answer is the same. One round trip (a batch, which D1 runs as one transaction).
 * @param opId `<session_id>:<call_id>` of the action call (worker/actions/index.ts `ActionContext.opId`)
 * @param nowMs epoch ms of the call
 * @returns `moved: false` when there is no next subtopic (the current one is its topic's last, or there is no
 *   current one) and this operation moved nothing before; `current`: the place after the write, null without any
 *   progress
 */
export async function advanceSubtopic(
  db: D1Database,
  visitorId: string,
  opId: string,
  nowMs: number,
): Promise<{ moved: boolean; current: PlaceWithContent | null }> {
  const [, done, place] = await db.batch<unknown>([
    db
      .prepare(
        `INSERT INTO progress (visitor_id, subtopic_id, status, note, updated_at, op_id)
          SELECT ?1, n.id, 'started', NULL, ${NEXT_STAMP}, ?3
            FROM subtopics c JOIN subtopics n ON n.topic = c.topic
            WHERE c.id = ${CURRENT_ID}
              AND n.position = (SELECT MIN(position) FROM subtopics WHERE topic = c.topic AND position > c.position)
              AND NOT EXISTS (SELECT 1 FROM progress WHERE visitor_id = ?1 AND op_id = ?3)
          ON CONFLICT (visitor_id, subtopic_id) DO UPDATE SET updated_at = excluded.updated_at, op_id = excluded.op_id`,
      )
      .bind(visitorId, nowMs, opId),
    db.prepare("SELECT 1 AS done FROM progress WHERE visitor_id = ?1 AND op_id = ?2 LIMIT 1").bind(visitorId, opId),
    placeStatement(db, visitorId),
  ]);
  return { moved: done!.results.length > 0, current: placeOf(place!.results as PlaceRow[]) };
}

/**
 * Records the visitor's check of understanding on their current subtopic: status `understood` or
 * `not_understood`, the note, stamped as the latest. Then reads the place. One round trip (a batch).
 * @param note the tutor's short note, or null (the caller bounds it: contract `TUTOR_NOTE_MAX`; the column allows
 *   500)
 * @param nowMs epoch ms of the call
 * @returns the place after the write; null when the visitor has no current subtopic (nothing is written)
 */
export async function recordCheck(
  db: D1Database,
  visitorId: string,
  understood: boolean,
  note: string | null,
  nowMs: number,
): Promise<PlaceWithContent | null> {
  const [, place] = await db.batch<unknown>([
    db
      .prepare(
        `UPDATE progress SET status = ?3, note = ?4, updated_at = ${NEXT_STAMP}
          WHERE visitor_id = ?1 AND subtopic_id = ${CURRENT_ID}`,
      )
      .bind(visitorId, nowMs, understood ? "understood" : "not_understood", note),
    placeStatement(db, visitorId),
  ]);
  return placeOf(place!.results as PlaceRow[]);
}

/**
 * One subtopic with its content, its topic's subtopic count and the visitor's status on it (`GET
 * /tutor/subtopics/{id}`). One round trip.
 * @param id a subtopic id (any integer; one that does not exist answers null)
 * @returns null when there is no subtopic with this id
 */
export async function subtopicById(db: D1Database, visitorId: string, id: number): Promise<SubtopicResponse | null> {
  return db
    .prepare(
      `SELECT s.id, s.topic, s.subtopic AS title, s.position,
          (SELECT COUNT(*) FROM subtopics t WHERE t.topic = s.topic) AS count, s.content, p.status
        FROM subtopics s LEFT JOIN progress p ON p.visitor_id = ?1 AND p.subtopic_id = s.id
        WHERE s.id = ?2`,
    )
    .bind(visitorId, id)
    .first<SubtopicResponse>();
}
