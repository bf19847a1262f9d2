/**
 * `POST /session/{id}/events`: agent ingest. The raw body is authenticated with the HMAC in
 * `X-Signature` before it is parsed; then validated with the contract and handed to the `SessionDO`.
 * Refused signatures are counted per client IP (`INGEST_REJECT_LIMITER`): past the limit they answer 429
 * instead of 401, which throttles signature guessing and bounds the log lines a misbehaving client causes.
 * A valid signature is never counted, so agents sharing an address with a misconfigured one keep working.
 *
 * See docs/architecture.md, "Agent ingest"; contract/signature.ts.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  INGEST_BODY_MAX_BYTES,
  IngestBatch,
  type IngestResponse,
  SIGNATURE_HEADER,
  verifyIngest,
} from "../../contract/index.ts";
import { log } from "../../edge/log.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { clientIp, ipOverLimit, rateLimited } from "../rate-limit.ts";
import { sessionStub } from "../sessions.ts";
import { parseJson, parseWith, sessionIdParam } from "../validate.ts";

export const ingestRoutes = new Hono<AppEnv>();

const SIGNATURE_MESSAGES = {
  missing: "The X-Signature header is missing.",
  malformed: "The X-Signature header is malformed.",
  stale: "The signature timestamp is too far from the server's clock.",
  mismatch: "The signature does not match.",
} as const;

ingestRoutes.post(
  "/session/:session_id/events",
  bodyLimit({
    maxSize: INGEST_BODY_MAX_BYTES,
    onError: () => {
      throw new HttpError(413, "payload_too_large", `The body exceeds ${INGEST_BODY_MAX_BYTES} bytes.`);
    },
  }),
  async (c) => {
    const sessionId = sessionIdParam(c);
    const raw = await c.req.text();
    const verdict = await verifyIngest(c.var.config.ingestSecret, sessionId, raw, c.req.header(SIGNATURE_HEADER));
    if (verdict !== "ok") {
      const throttled = await ipOverLimit(c.env.INGEST_REJECT_LIMITER, clientIp(c));
      log.warn("ingest_signature_rejected", { session_id: sessionId, reason: verdict, throttled });
      if (throttled) throw rateLimited();
      throw new HttpError(401, `signature_${verdict}`, SIGNATURE_MESSAGES[verdict]);
    }
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
  },
);
