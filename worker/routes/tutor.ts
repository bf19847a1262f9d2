/**
 * The tutor's curriculum for the page, as the calling visitor sees it (contract/tutor.ts):
 * - `GET /tutor`: the topics with the visitor's progress, and their place (`TutorResponse`);
 * - `GET /tutor/subtopics/{id}`: one subtopic to read, with the visitor's status on it (`SubtopicResponse`); 400
 *   `invalid_subtopic_id` unless `id` is a positive decimal integer (no sign, no leading zero, at most 2^31-1), 404
 *   `subtopic_not_found` when there is no such subtopic.
 *
 * The visitor is the cookie's: a request without a valid cookie is a new visitor, without progress. Limited per
 * visitor and per client IP with `READ_LIMITER`, like `GET /planner`. One D1 round trip each (worker/curriculum.ts).
 *
 * See docs/actions.md, "The tutor".
 */
import { Hono } from "hono";
import type { TutorResponse } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { overview, subtopicById, tutorTopics } from "../curriculum.ts";
import { HttpError } from "../errors.ts";
import { enforceRateLimit } from "../rate-limit.ts";

/** The largest subtopic id a path may name: 2^31-1 (SQLite's integer ids go further, the curriculum's do not). */
export const SUBTOPIC_ID_MAX = 2 ** 31 - 1;

/**
 * A `{id}` path segment as a subtopic id: digits only, no leading zero, within 1..{@link SUBTOPIC_ID_MAX}.
 * @throws HttpError 400 `invalid_subtopic_id` for anything else ("abc", "0", "-1", "1.5", "1e3", "01", "")
 */
export function subtopicIdParam(value: string | undefined): number {
  const id = value !== undefined && /^[1-9][0-9]{0,9}$/.test(value) ? Number(value) : NaN;
  if (!(id <= SUBTOPIC_ID_MAX)) {
    throw new HttpError(400, "invalid_subtopic_id", "A subtopic id is a whole number from 1 to 2147483647.");
  }
  return id;
}

export const tutorRoutes = new Hono<AppEnv>();

tutorRoutes.get("/tutor", async (c) => {
  await enforceRateLimit(c, c.env.READ_LIMITER);
  const { topics, current } = await overview(c.env.CURRICULUM, c.var.visitorId);
  const response: TutorResponse = { topics: tutorTopics(topics), place: current?.place ?? null };
  return c.json(response);
});

tutorRoutes.get("/tutor/subtopics/:id", async (c) => {
  await enforceRateLimit(c, c.env.READ_LIMITER);
  const id = subtopicIdParam(c.req.param("id"));
  const subtopic = await subtopicById(c.env.CURRICULUM, c.var.visitorId, id);
  if (!subtopic) throw new HttpError(404, "subtopic_not_found", "There is no subtopic with this id.");
  return c.json(subtopic);
});
