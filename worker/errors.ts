/**
 * One error shape for the whole API: `{"error":{"code":"snake_case","message":"human sentence"}}`
 * (contract `ErrorBody`). Routes throw {@link HttpError}; `app.onError` renders every error, and
 * anything unexpected becomes a logged 500 `internal_error` that reveals nothing.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorBody } from "../contract/index.ts";
import { ConfigError } from "../edge/config.ts";
import { errorSummary } from "../contract/log.ts";
import { log } from "../edge/log.ts";

/** An error meant for the client: a 4xx (or a 502 for an upstream refusal) with a code. */
export class HttpError extends HTTPException {
  readonly code: string;
  readonly headers: Record<string, string>;

  /**
   * @param status HTTP status
   * @param code snake_case machine-readable code
   * @param message one human sentence; never includes secrets or request bodies
   */
  constructor(status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
    super(status, { message });
    this.code = code;
    this.headers = headers;
  }
}

const CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/** Builds an error response in the contract's shape. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ErrorBody = { error: { code, message } };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers },
  });
}

/** `app.onError`: renders any thrown value as the contract's error body. */
export function onError(err: unknown, c: Context): Response {
  if (err instanceof HttpError) return errorResponse(err.status, err.code, err.message, err.headers);
  if (err instanceof HTTPException && err.status < 500) {
    return errorResponse(err.status, CODES[err.status] ?? "bad_request", err.message || "The request was refused.");
  }
  const path = new URL(c.req.url).pathname;
  if (err instanceof ConfigError) {
    log.error("configuration_error", { path, error: err.message });
    return errorResponse(500, "server_misconfigured", "The server is not configured correctly.");
  }
  log.error("unhandled_error", { path, method: c.req.method, error: errorSummary(err) });
  return errorResponse(500, "internal_error", "Something went wrong on our side.");
}

/** `app.notFound`. */
export function notFound(): Response {
  return errorResponse(404, "not_found", "There is nothing at this address.");
}
