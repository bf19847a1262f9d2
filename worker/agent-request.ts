/**
 * What the agent's server-to-server routes share (`POST /session/{id}/events`, `POST /session/{id}/actions`): a
 * bounded body, authenticated with the HMAC in `X-Signature` (contract/signature.ts) on the raw bytes before
 * anything parses them. Refused signatures are counted per client IP (`INGEST_REJECT_LIMITER`): past the limit they
 * answer 429 instead of 401, which throttles signature guessing and bounds the log lines a misbehaving client causes.
 * A valid signature is never counted, so agents sharing an address with a misconfigured one keep working.
 *
 * See docs/architecture.md, "Agent ingest"; docs/actions.md.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { SIGNATURE_HEADER, verifyIngest } from "../contract/index.ts";
import { log } from "../edge/log.ts";
import type { AppEnv } from "./app-env.ts";
import { HttpError } from "./errors.ts";
import { clientIp, ipOverLimit, rateLimited } from "./rate-limit.ts";

const SIGNATURE_MESSAGES = {
  missing: "The X-Signature header is missing.",
  malformed: "The X-Signature header is malformed.",
  stale: "The signature timestamp is too far from the server's clock.",
  mismatch: "The signature does not match.",
} as const;

/**
 * Middleware refusing a body over `maxBytes`.
 * @throws HttpError 413 `payload_too_large`
 */
export function agentBodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new HttpError(413, "payload_too_large", `The body exceeds ${maxBytes} bytes.`);
    },
  });
}

/**
 * The raw request body, once its `X-Signature` verifies for `sessionId` with `AGENT_INGEST_SECRET`. A refusal is
 * logged (`ingest_signature_rejected`, with the route's path and the reason, never the header) and counted
 * against the client IP.
 * @throws HttpError 401 `signature_missing`, `signature_malformed`, `signature_stale` or `signature_mismatch`; 429
 *   `rate_limited` instead once the client IP is over `INGEST_REJECT_LIMITER`
 */
export async function signedBody(c: Context<AppEnv>, sessionId: string): Promise<string> {
  const raw = await c.req.text();
  const verdict = await verifyIngest(c.var.config.ingestSecret, sessionId, raw, c.req.header(SIGNATURE_HEADER));
  if (verdict === "ok") return raw;
  const throttled = await ipOverLimit(c.env.INGEST_REJECT_LIMITER, clientIp(c));
  const route = c.req.path.endsWith("/actions") ? "actions" : "events";
  log.warn("ingest_signature_rejected", { session_id: sessionId, route, reason: verdict, throttled });
  if (throttled) throw rateLimited();
  throw new HttpError(401, `signature_${verdict}`, SIGNATURE_MESSAGES[verdict]);
}
