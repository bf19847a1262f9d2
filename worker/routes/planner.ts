/**
 * `GET /planner`: the calling visitor's goals and tasks (contract `PlannerResponse`), for the page's panel. The
 * visitor is the cookie's: a request without a valid cookie is a new visitor, whose planner is empty. Limited per
 * visitor and per client IP with `READ_LIMITER`, like `/transcripts/{id}`.
 *
 * See docs/actions.md.
 */
import { Hono } from "hono";
import type { PlannerResponse } from "../../contract/index.ts";
import type { AppEnv } from "../app-env.ts";
import { enforceRateLimit } from "../rate-limit.ts";
import { visitorStub } from "../sessions.ts";

export const plannerRoutes = new Hono<AppEnv>();

plannerRoutes.get("/planner", async (c) => {
  await enforceRateLimit(c, c.env.READ_LIMITER);
  const response: PlannerResponse = await visitorStub(c.env, c.var.visitorId).planner();
  return c.json(response);
});
