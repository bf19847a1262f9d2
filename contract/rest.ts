/**
 * REST contract: request and response bodies of the Worker's public API.
 *
 * Written with `zod/mini` (functional checks instead of methods) so the browser page can import the
 * contract itself within its 150 KB gzip budget; schemas still offer `.parse`/`.safeParse`.
 *
 * See docs/architecture.md, "REST API".
 */
import * as z from "zod/mini";
import { SYSTEM_PROMPT_MAX, TURNSTILE_TOKEN_MAX } from "./defaults.ts";
import "./locale.ts";

export { SYSTEM_PROMPT_MAX };

/** Room names: `^[A-Za-z0-9_-]{1,64}$` (docs/architecture.md, "REST API"). */
export const RoomName = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, "room must be 1-64 characters of A-Z, a-z, 0-9, _ or -"));
export type RoomName = z.infer<typeof RoomName>;

/**
 * A visitor's participant identity: same alphabet as rooms; identities starting with `agent`
 * (any case) are reserved for agents.
 */
export const VisitorIdentity = z.string().check(
  z.regex(/^[A-Za-z0-9_-]{1,64}$/, "identity must be 1-64 characters of A-Z, a-z, 0-9, _ or -"),
  z.refine((s) => !s.toLowerCase().startsWith("agent"), "identities starting with 'agent' are reserved"),
);
export type VisitorIdentity = z.infer<typeof VisitorIdentity>;

/** Display name: at most 64 printable characters (no control characters). */
export const DisplayName = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(64),
    z.regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, "name must be printable characters"),
  );

/** Longest {@link VisitorName}, in characters. */
export const VISITOR_NAME_MAX = 40;

/**
 * The first name a visitor gives the page (the name step, `POST /visitor/name`): trimmed, inner runs of spaces made
 * one, then 1 to {@link VISITOR_NAME_MAX} characters of letters (any script) with their combining marks, spaces,
 * hyphens, apostrophes and full stops, starting with a letter: "Alice", "Jean-Luc", "O'Brien", "Zoë", "李". No
 * markup, digits, symbols or control characters. It becomes the participant's name on the visitor's LiveKit token
 * and the agent's greeting ("Hi Alice, …"); it is never logged.
 */
export const VisitorName = z.string().check(
  z.trim(),
  z.overwrite((s) => s.replace(/\s+/gu, " ")),
  z.minLength(1, "name is empty"),
  z.maxLength(VISITOR_NAME_MAX, `name must be at most ${VISITOR_NAME_MAX} characters`),
  z.regex(/^\p{L}[\p{L}\p{M} .'’-]*$/u, "name must be letters, with spaces, hyphens, apostrophes or full stops"),
);
export type VisitorName = z.infer<typeof VisitorName>;

/** `PUT /visitor/name` body: the visitor's first name, or null to go without one ("Skip", or forgetting it). */
export const VisitorNameRequest = z.strictObject({ name: z.nullable(VisitorName) });
export type VisitorNameRequest = z.infer<typeof VisitorNameRequest>;

/**
 * `GET /visitor/name` and `PUT /visitor/name` 200 body: the visitor's first name (null: none), and whether they have
 * answered the name step at all (false: never asked, so a profile with `ask_name` asks before the first Start).
 */
export const VisitorNameResponse = z.object({ name: z.nullable(VisitorName), asked: z.boolean() });
export type VisitorNameResponse = z.infer<typeof VisitorNameResponse>;

/** A system prompt: 1 to {@link SYSTEM_PROMPT_MAX} characters (from `POST /session` or the dispatch metadata). */
export const SystemPrompt = z.string().check(z.minLength(1), z.maxLength(SYSTEM_PROMPT_MAX));

/**
 * Session ids are 128 random bits, base64url without padding: exactly 22 characters.
 */
export const SessionId = z.string().check(z.regex(/^[A-Za-z0-9_-]{22}$/, "session_id must be 22 base64url characters"));
export type SessionId = z.infer<typeof SessionId>;

/**
 * A profile's id: the name of its folder under `profiles/` (`^[a-z][a-z0-9-]{0,31}$`), e.g. `assistant`,
 * `planner`. See docs/profiles.md.
 */
export const ProfileId = z
  .string()
  .check(
    z.regex(/^[a-z][a-z0-9-]{0,31}$/, "profile must be 1-32 characters of a-z, 0-9 and -, starting with a letter"),
  );
export type ProfileId = z.infer<typeof ProfileId>;

/**
 * An IANA time zone name as the browser reports it (`Intl.DateTimeFormat().resolvedOptions().timeZone`), e.g.
 * `Europe/Berlin`, `America/Argentina/Buenos_Aires`, `UTC`: the agent resolves "tomorrow at 9" in it.
 */
export const TimeZone = z
  .string()
  .check(
    z.regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/, "timezone must be an IANA time zone name"),
    z.maxLength(64),
  );
export type TimeZone = z.infer<typeof TimeZone>;

/** `GET /token` query. `room` omitted: the server picks a fresh one. */
export const TokenQuery = z.object({
  room: z.optional(RoomName),
  identity: VisitorIdentity,
  name: z.optional(DisplayName),
});
export type TokenQuery = z.infer<typeof TokenQuery>;

/** `GET /token` 200 body. `token` is a LiveKit JWT; `url` is the LiveKit signal URL (ws/wss). */
export const TokenResponse = z.object({
  token: z.string().check(z.minLength(1)),
  room: RoomName,
  identity: VisitorIdentity,
  url: z.string().check(z.minLength(1)),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/**
 * A Cloudflare Turnstile token (the widget's response): 1 to {@link TURNSTILE_TOKEN_MAX} characters. Only
 * siteverify can tell whether it is valid; the Worker verifies it when Turnstile is on (worker/turnstile.ts).
 */
export const TurnstileToken = z.string().check(z.minLength(1), z.maxLength(TURNSTILE_TOKEN_MAX));

/**
 * How a session talks: `pipeline`, the cascade VAD → STT → LLM → TTS; `live`, one speech-to-speech model (OpenAI's
 * Realtime API), offered only when the deployment has `ENABLE_VOICE_LIVE_MODE` on. See docs/agent.md, "Live mode".
 */
export const SessionMode = z.enum(["pipeline", "live"]);
export type SessionMode = z.infer<typeof SessionMode>;

/**
 * `POST /session` body. `turnstile_token` is the Turnstile widget's token: required (else 403
 * `turnstile_failed`) when the deployment has Turnstile on, ignored when it is off. `profile` chooses the
 * agent's profile among those the operator allows (`ALLOWED_PROFILES`; else 400 `unknown_profile`); absent:
 * the default profile. `timezone` is the visitor's (absent: UTC), for the agent's sense of "today".
 * `resume_from` continues one of the visitor's ended conversations (contract/conversations.ts): the new session
 * takes that conversation's profile (a different `profile` is a 400 `profile_mismatch`). `room` is one the visitor
 * got from `GET /token`; absent, the Worker picks a fresh room and claims it for the visitor, as `GET /token` does
 * without `room`, so that Start takes one request (the response carries the token to join it). `mode` is how the
 * session talks ({@link SessionMode}; absent: `pipeline`); `live` needs `ENABLE_VOICE_LIVE_MODE` (else 403
 * `live_mode_disabled`).
 */
export const SessionCreateRequest = z.strictObject({
  room: z.optional(RoomName),
  identity: VisitorIdentity,
  system_prompt: z.optional(SystemPrompt),
  turnstile_token: z.optional(TurnstileToken),
  profile: z.optional(ProfileId),
  timezone: z.optional(TimeZone),
  resume_from: z.optional(SessionId),
  mode: z.optional(SessionMode),
});
export type SessionCreateRequest = z.infer<typeof SessionCreateRequest>;

/**
 * `POST /session` 201 body: the session, and `livekit`, what joins its room as the request's identity (the
 * `GET /token` body: a token valid `TOKEN_TTL_S`, the room, the identity, the LiveKit URL).
 */
export const SessionCreateResponse = z.object({ session_id: SessionId, livekit: TokenResponse });
export type SessionCreateResponse = z.infer<typeof SessionCreateResponse>;

/** `DELETE /session/{id}` 200 body; idempotent. */
export const SessionStopResponse = z.object({ stopped: z.literal(true) });
export type SessionStopResponse = z.infer<typeof SessionStopResponse>;

/** `GET /health` 200 body. */
export const HealthResponse = z.object({ status: z.literal("ok") });

/** Machine-readable error body of every 4xx/5xx: `{"error":{"code":"snake_case","message":"…"}}`. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string().check(z.regex(/^[a-z][a-z0-9_]*$/)),
    message: z.string().check(z.minLength(1)),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
