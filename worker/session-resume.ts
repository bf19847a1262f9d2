/**
 * Resuming a conversation (`POST /session {resume_from}`, contract/conversations.ts): the checks, and what the new
 * session takes from the earlier one. The new session keeps the earlier one's profile; its agent gets the earlier
 * newest finals (`RESUME_HISTORY_MAX_ITEMS`, `RESUME_HISTORY_MAX_CHARS`) and summary in its dispatch metadata, never
 * through the visitor's browser. See docs/architecture.md, "Conversations".
 */
import type { HistoryItem, SessionCreateRequest } from "../contract/index.ts";
import type { EdgeConfig } from "../edge/config.ts";
import { HttpError } from "./errors.ts";
import { sessionStub } from "./sessions.ts";

/** What a resumed session takes from the conversation it continues. */
export interface Resumption {
  /** The earlier conversation's session id. */
  resumedFrom: string;
  /** Its profile, which the new session keeps. */
  profile: string;
  /** Its newest finals, oldest first (within the resume bounds). */
  history: HistoryItem[];
  /** Its summary; null when none was made. */
  summary: string | null;
}

/**
 * The resumption `request` asks for, or null when it resumes nothing.
 * @param visitorId the calling visitor, who must own the earlier conversation
 * @throws HttpError 404 `session_not_found` (no such conversation), 403 `forbidden` (another visitor's), 409
 *   `conversation_active` (it has not ended), 400 `profile_mismatch` (`profile` names another profile), 400
 *   `unknown_profile` (its profile is no longer offered, `ALLOWED_PROFILES`)
 */
export async function resumption(
  env: Env,
  config: EdgeConfig,
  request: Pick<SessionCreateRequest, "resume_from" | "profile">,
  visitorId: string,
): Promise<Resumption | null> {
  if (request.resume_from === undefined) return null;
  const earlier = await sessionStub(env, request.resume_from).resumeContext();
  if (!earlier) throw new HttpError(404, "session_not_found", "There is no conversation with this id to continue.");
  if (earlier.owner !== visitorId) {
    throw new HttpError(403, "forbidden", "This conversation belongs to another visitor.");
  }
  if (earlier.status !== "ended") {
    throw new HttpError(
      409,
      "conversation_active",
      "This conversation is still running; stop it before continuing it.",
    );
  }
  if (request.profile !== undefined && request.profile !== earlier.profile) {
    throw new HttpError(
      400,
      "profile_mismatch",
      `This conversation continues with its own profile, "${earlier.profile}".`,
    );
  }
  if (!config.allowedProfiles.has(earlier.profile)) {
    throw new HttpError(400, "unknown_profile", `The profile "${earlier.profile}" is no longer offered here.`);
  }
  return {
    resumedFrom: request.resume_from,
    profile: earlier.profile,
    history: earlier.history,
    summary: earlier.summary,
  };
}
