/**
 * The one way the agent posts to the Worker: a JSON body signed with `AGENT_INGEST_SECRET` as contract/signature.ts
 * defines it (`X-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<session_id>.<raw body>")>`). Used by the
 * ingest forwarder (`POST /session/{id}/events`, ingest-forwarder.ts) and the actions client
 * (`POST /session/{id}/actions`, actions.ts); the Worker verifies both the same way (docs/architecture.md,
 * "Agent ingest").
 *
 * Node's `fetch` (undici) keeps connections alive between requests.
 */
import { ErrorBody, SIGNATURE_HEADER, signIngest } from "../contract/index.ts";

/** What {@link postSigned} needs. */
export interface SignedPost {
  /** The full URL, e.g. `http://localhost:8787/session/<id>/events`. */
  url: string;
  /** `AGENT_INGEST_SECRET`. */
  secret: string;
  /** The session the body is posted for: part of the signed text. */
  sessionId: string;
  /** The exact request body (JSON), signed as sent. */
  body: string;
  /** Aborts the request (a timeout, the job's end). */
  signal?: AbortSignal;
}

/**
 * POSTs `body` as `application/json` with its `X-Signature` header, signed now.
 * @returns the Worker's response (any status); the caller reads its body
 * @throws what `fetch` throws: a network error (`TypeError`), or the signal's reason when it aborts
 */
export async function postSigned({ url, secret, sessionId, body, signal }: SignedPost): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", [SIGNATURE_HEADER]: await signIngest(secret, sessionId, body) },
    body,
    ...(signal ? { signal } : {}),
  });
}

/** A Worker answer's body as JSON, or undefined when it is not JSON (a proxy's HTML page, a cut body). */
export function jsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The `error.code` of a Worker error answer (contract `ErrorBody`, at most 64 characters), or null when it is not one. */
export function errorCode(text: string): string | null {
  const parsed = ErrorBody.safeParse(jsonBody(text));
  return parsed.success ? parsed.data.error.code.slice(0, 64) : null;
}
