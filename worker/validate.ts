/**
 * Validation at the HTTP boundary with the contract's zod schemas: failures become a 400 with a
 * code naming what was wrong, never a 5xx.
 */
import type { Context } from "hono";
import type * as z from "zod/mini";
import { SessionId } from "../contract/index.ts";
import { HttpError } from "./errors.ts";

function describe(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "The request is invalid.";
  const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue.message}`.slice(0, 300);
}

/**
 * Parses `value` with `schema`.
 * @throws HttpError 400 `code` with the first issue as the message
 */
export function parseWith<S extends z.ZodMiniType>(schema: S, value: unknown, code = "invalid_request"): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new HttpError(400, code, describe(result.error));
  return result.data;
}

/**
 * Whether a `Content-Type` header value is JSON: its media type essence (before any `;` parameter, trimmed,
 * case-insensitive) is exactly `application/json` (RFC 9110 §8.3.1). A cross-site form or no-cors fetch can only
 * send `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data` (the CORS-safelisted types), so
 * requiring JSON makes every such request a preflighted one, which the CORS allow-list then decides.
 */
export function isJsonContentType(value: string | undefined): boolean {
  return (value ?? "").split(";", 1)[0]!.trim().toLowerCase() === "application/json";
}

/**
 * Reads a JSON request body and validates it.
 * @throws HttpError 415 `unsupported_media_type` unless the `Content-Type` is `application/json`
 *   ({@link isJsonContentType}), 400 `invalid_json` when unparsable, 400 `invalid_request` when it does not
 *   match `schema`
 */
export async function jsonBody<S extends z.ZodMiniType>(c: Context, schema: S): Promise<z.infer<S>> {
  if (!isJsonContentType(c.req.header("Content-Type"))) {
    throw new HttpError(415, "unsupported_media_type", "The body must be application/json.");
  }
  return parseWith(schema, parseJson(await c.req.text()));
}

/**
 * `JSON.parse` that throws a 400 instead of a SyntaxError.
 * @throws HttpError 400 `invalid_json`
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "invalid_json", "The body is not valid JSON.");
  }
}

/**
 * The `:session_id` path parameter, validated.
 * @throws HttpError 400 `invalid_session_id`
 */
export function sessionIdParam(c: Context): string {
  return parseWith(SessionId, c.req.param("session_id"), "invalid_session_id");
}
