/**
 * The visitor's first name as JSON (contract/rest.ts `VisitorNameRequest`/`VisitorNameResponse`): `GET /visitor/name`
 * (`READ_LIMITER`) answers it and whether the visitor has answered the name step; `PUT /visitor/name {name}` sets it,
 * `{name: null}` goes without one (skip, or forget it) (`STOP_LIMITER`, shared with the other writes of the visitor's
 * own data). The page itself uses the no-script form `POST /chat/name` (worker/routes/pages.ts), which stores the
 * same way. Kept in the visitor's `VisitorDO` (durable-objects/visitor-name-store.ts); never logged.
 *
 * See docs/edge.md, "Visitor name".
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { VisitorNameRequest, type VisitorNameResponse } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { visitorStub } from "../sessions.ts";
import { jsonBody } from "../validate.ts";

export const visitorRoutes = new Hono<AppEnv>();

/** Largest `PUT /visitor/name` body, bytes: a 40-character name, escaped, fits many times over. */
export const VISITOR_NAME_BODY_MAX_BYTES = 1024;

const limitBody = bodyLimit({
  maxSize: VISITOR_NAME_BODY_MAX_BYTES,
  onError: () => {
    throw new HttpError(413, "payload_too_large", `The body exceeds ${VISITOR_NAME_BODY_MAX_BYTES} bytes.`);
  },
});

visitorRoutes.get("/visitor/name", async (c) => {
  await enforceRateLimit(c, c.env.READ_LIMITER);
  const body: VisitorNameResponse = await visitorStub(c.env, c.var.visitorId).visitorName();
  return c.json(body);
});

/**
 * `PUT /visitor/name`.
 * @throws HttpError 415 `unsupported_media_type` (not JSON), 400 `invalid_json`, 400 `invalid_request` (not
 *   `{name: VisitorName | null}`: empty, too long, markup, digits, not a string), 413 `payload_too_large`, 429
 *   `rate_limited`
 */
visitorRoutes.put("/visitor/name", limitBody, async (c) => {
  await enforceRateLimit(c, c.env.STOP_LIMITER);
  const { name } = await jsonBody(c, VisitorNameRequest);
  const body: VisitorNameResponse = await visitorStub(c.env, c.var.visitorId).setVisitorName(name, Date.now());
  return c.json(body);
});
