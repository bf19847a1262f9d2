/**
 * `POST /session/{id}/events`: agent ingest. The raw body is authenticated with the HMAC in `X-Signature` before
 * it is parsed (worker/agent-request.ts, shared with the actions route); then validated with the contract and
 * handed to the `SessionDO`.
 *
 * See docs/architecture.md, "Agent ingest"; contract/signature.ts.
 */
import { Hono } from "hono";
import { INGEST_BODY_MAX_BYTES, IngestBatch, type IngestResponse } from "../../contract/index.ts";
import { agentBodyLimit, signedBody } from "../agent-request.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { sessionStub } from "../sessions.ts";
import { parseJson, parseWith, sessionIdParam } from "../validate.ts";

export const ingestRoutes = new Hono<AppEnv>();

ingestRoutes.post("/session/:session_id/events", agentBodyLimit(INGEST_BODY_MAX_BYTES), async (c) => {
  const sessionId = sessionIdParam(c);
  const raw = await signedBody(c, sessionId);
  const batch = parseWith(IngestBatch, parseJson(raw), "invalid_batch");
  const result = await sessionStub(c.env, sessionId).ingest(batch.events, batch.job_id ?? null);
  if (result.status === "not_found") {
    throw new HttpError(404, "session_not_found", "There is no session with this id.");
  }
  if (result.status === "ended") {
    throw new HttpError(409, "session_ended", "The session has ended; events are no longer accepted.");
  }
  if (result.status === "replaced") {
    throw new HttpError(409, "agent_replaced", "Another agent has taken over this session; leave the room.");
  }
  const response: IngestResponse = { accepted: result.accepted, duplicates: result.duplicates };
  return c.json(response);
});
