/**
 * The Worker's REST API as the page uses it (docs/architecture.md, "REST API"). Same-origin fetches:
 * the HttpOnly `vid` cookie goes along by itself.
 */
import * as z from "zod/mini";
import {
  ErrorBody,
  ModeChangeResponse,
  type ModeChangeRequest,
  PlannerResponse,
  type SessionCreateRequest,
  SessionCreateResponse,
  TimeZone,
  type TypedMessageRequest,
} from "../../contract/index.ts";

/** A refused or failed request. `status` 0 means the network failed (no response). */
export class RequestError extends Error {
  readonly status: number;
  /** The error body's `code`, or `network` / `bad_response`. */
  readonly code: string;
  /** Seconds from `Retry-After` (429), when present. */
  readonly retryAfterS: number | undefined;

  constructor(status: number, code: string, message: string, retryAfterS?: number) {
    super(message);
    this.name = "RequestError";
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

function retryAfter(res: Response): number | undefined {
  const value = res.headers.get("Retry-After");
  if (!value) return undefined;
  const s = /^\d+$/.test(value) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : undefined;
}

async function call<T>(path: string, init: RequestInit, schema: z.ZodMiniType<T>): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      ...init,
      credentials: "same-origin",
      headers: { Accept: "application/json", ...init.headers },
    });
  } catch (err) {
    throw new RequestError(0, "network", err instanceof Error ? err.message : "network error");
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const error = ErrorBody.safeParse(body);
    const { code, message } = error.success ? error.data.error : { code: "http_error", message: res.statusText };
    throw new RequestError(res.status, code, message, retryAfter(res));
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new RequestError(res.status, "bad_response", `unexpected response from ${path}`);
  return parsed.data;
}

/** What `POST /session` carries besides the identity (contract `SessionCreateRequest`). */
export type SessionOptions = Pick<
  SessionCreateRequest,
  "turnstile_token" | "profile" | "timezone" | "resume_from" | "mode"
>;

/**
 * `POST /session` without a room: the Worker picks a fresh room, claims it for this visitor, creates the session,
 * dispatches the agent into the room, and answers the token that joins it as `identity` (one request for Start).
 * @param identity the visitor's participant identity (`^[A-Za-z0-9_-]{1,64}$`, not starting with `agent`)
 * @param options `turnstile_token`: the Turnstile widget's token when the deployment has Turnstile on
 *   (single-use); `profile`: the agent's profile (`/chat?agent=`); `timezone`: the visitor's IANA zone;
 *   `resume_from`: the ended conversation this one continues (`/chat?resume=`); `mode`: `live` when the visitor
 *   turned live mode on (the deployment offers it). Keys whose value is undefined are left out.
 * @returns the `session_id` and `livekit`: the room's LiveKit URL, token (to be used within the Worker's
 *   `TOKEN_TTL_S`, 60 s by default; once joined, LiveKit keeps the client's token fresh), room and identity
 * @throws RequestError (429 carries `retryAfterS`; 403 `turnstile_failed` / 503 `turnstile_unavailable` when the
 *   browser check is refused or cannot be verified; 400 `unknown_profile` when the profile is not allowed; 403
 *   `live_mode_disabled` when live mode is asked of a deployment without it; 429 `live_limit_reached` when the
 *   visitor's live minutes for today are used up)
 */
export function startSession(identity: string, options: SessionOptions = {}): Promise<SessionCreateResponse> {
  const request: SessionCreateRequest = { identity, ...options };
  return call(
    "/session",
    { method: "POST", body: JSON.stringify(request), headers: { "Content-Type": "application/json" } },
    SessionCreateResponse,
  );
}

/**
 * `GET /planner`: the visitor's goals and tasks (the `vid` cookie says whose).
 * @throws RequestError like the others
 */
export function fetchPlanner(): Promise<PlannerResponse> {
  return call("/planner", { method: "GET" }, PlannerResponse);
}

/**
 * The browser's IANA time zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`), or undefined when it
 * reports none the contract accepts (`TimeZone`).
 */
export function browserTimeZone(): string | undefined {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return TimeZone.safeParse(zone).success ? zone : undefined;
}

/**
 * `DELETE /session/{id}`: ends the session (idempotent on the server).
 * @param keepalive true from `pagehide`, so the request outlives the page
 * @throws RequestError like the others; callers tearing down may ignore it
 */
export async function stopSession(sessionId: string, keepalive = false): Promise<void> {
  await call(`/session/${encodeURIComponent(sessionId)}`, { method: "DELETE", keepalive }, z.unknown());
}

/**
 * `POST /session/{id}/messages`: a message the visitor typed (contract `TypedMessageRequest`, messages.ts). The
 * server relays it to the agent and the visitor's turn arrives on the transcript socket (`typed: true`), so the
 * answer's body (`{seq, duplicate}`) is not read.
 * @param id the message's id (`randomId()`): a retry of the same message reuses it, and the server takes it once
 * @param text the trimmed text, 1 to `TYPED_TEXT_MAX` characters
 * @throws RequestError: 409 `agent_not_ready` / `session_ended`, 429 `too_many_messages` (with `retryAfterS`),
 *   502 `livekit_unavailable` (nothing was taken: the same id may be sent again), and the others' refusals
 */
export async function sendMessage(sessionId: string, id: string, text: string): Promise<void> {
  const request: TypedMessageRequest = { id, text };
  await call(
    `/session/${encodeURIComponent(sessionId)}/messages`,
    { method: "POST", body: JSON.stringify(request), headers: { "Content-Type": "application/json" } },
    z.unknown(),
  );
}

/**
 * `POST /session/{id}/mode` (contract/mode.ts `ModeChangeRequest`): switches the running session between the pipeline
 * and live mode. The session also records the change as a `ModeMessage`, which arrives on the transcript socket.
 * @param mode the mode the visitor wants (`live` or `pipeline`)
 * @returns `ModeChangeResponse`: the session's `mode` now, `changed` (false when it already was), and `live_s_left`,
 *   the visitor's live seconds left today
 * @throws RequestError: 403 `live_mode_disabled`, 404, 409 `session_ended` / `agent_not_ready` /
 *   `mode_change_in_flight`, 429 `live_limit_reached` / `rate_limited`, 502 `livekit_unavailable`, or status 0 (no
 *   answer)
 */
export function changeMode(sessionId: string, mode: ModeChangeRequest["mode"]): Promise<ModeChangeResponse> {
  const request: ModeChangeRequest = { mode };
  return call(
    `/session/${encodeURIComponent(sessionId)}/mode`,
    { method: "POST", body: JSON.stringify(request), headers: { "Content-Type": "application/json" } },
    ModeChangeResponse,
  );
}

/** 16 random base64url characters (96 bits, `crypto.getRandomValues`): a typed message's id. */
export function randomId(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(12))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_");
}

/** A random participant identity for this visitor: `v_` + {@link randomId} (96 bits). */
export function newIdentity(): string {
  return "v_" + randomId();
}
