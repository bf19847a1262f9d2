/**
 * Cloudflare Turnstile on session start: the step of `POST /session` that verifies the page's widget token
 * with Cloudflare's siteverify API before anything is reserved or dispatched. Optional: it does nothing
 * unless the deployment sets both `TURNSTILE_SITE_KEY` and `TURNSTILE_SECRET_KEY` (edge/config.ts).
 *
 * Facts about the third-party API, from Cloudflare's Turnstile documentation
 * (developers.cloudflare.com/turnstile/…):
 * - "Validate the token" (get-started/server-side-validation): `POST
 *   https://challenges.cloudflare.com/turnstile/v0/siteverify` (`TURNSTILE_ORIGIN` moves it, for the local
 *   stand-in) with `secret`, `response` (the token),
 *   optional `remoteip` and `idempotency_key`, as JSON or a form; the answer is always JSON with `success`,
 *   `error-codes`, and on success `challenge_ts`, `hostname` (where the widget was served) and `action`
 *   (integrity-protected: "validate that the action matches an expected value"). A token has at most 2048
 *   characters, is valid for 300 s and validates once (`timeout-or-duplicate` after that); a request that is
 *   retried must carry the same `idempotency_key`; `internal-error` "can be retried".
 * - "Testing" (troubleshooting/testing): the dummy secret keys `1x…AA`, `2x…AA` and `3x…AA` accept only
 *   the dummy token `XXXX.DUMMY.TOKEN.XXXX`, from any hostname.
 *
 * **Fail closed.** When siteverify cannot be reached (network error, timeout, a 5xx or `internal-error`,
 * after one retry) the start is refused with 503 `turnstile_unavailable`. The operator turned Turnstile on to
 * keep automated clients from starting (paid) sessions; failing open would let through exactly the clients
 * that carry no real token, while the visitors' widget, served from the same Cloudflare origin, would most
 * likely be failing at the same time. An attacker cannot make the Worker's own subrequest fail.
 *
 * See docs/architecture.md, "Security model"; docs/edge.md, "Session start".
 */
import { z } from "zod";
import { TURNSTILE_ACTION, TURNSTILE_SITEVERIFY_PATH } from "../contract/defaults.ts";
import { errorSummary, type Logger } from "../contract/log.ts";
import { ConfigError, type EdgeConfig, type TurnstileKeys } from "../edge/config.ts";
import { log as edgeLog } from "../edge/log.ts";
import { HttpError } from "./errors.ts";

/** How long one siteverify request may take, ms, before it counts as unreachable. */
export const SITEVERIFY_TIMEOUT_MS = 3000;

/** siteverify requests per verification: the first and one retry (same `idempotency_key`). */
export const SITEVERIFY_ATTEMPTS = 2;

/** `Retry-After` of the 503 `turnstile_unavailable`, seconds. */
export const TURNSTILE_UNAVAILABLE_RETRY_AFTER_S = 30;

/** siteverify `error-codes` that mean the Worker's secret is wrong: a configuration fault, not the visitor's. */
const SECRET_FAULTS = new Set(["missing-input-secret", "invalid-input-secret"]);

/** Cloudflare's published dummy secret keys (always pass / always fail / already spent). */
const TESTING_SECRET = /^[123]x0{31}AA$/;

/** What siteverify answers (unknown fields are ignored). */
const SiteverifyAnswer = z.object({
  success: z.boolean(),
  "error-codes": z.array(z.string()).default([]),
  hostname: z.string().optional(),
  action: z.string().optional(),
});
type SiteverifyAnswer = z.infer<typeof SiteverifyAnswer>;

/** What the step needs: the configuration and where it logs (the session-start service's deps fit). */
export interface TurnstileDeps {
  config: EdgeConfig;
  /** Default: the edge logger (edge/log.ts). */
  log?: Logger;
}

/** The client that asks to start, as the Worker saw the request. */
export interface TurnstileClient {
  /** `CF-Connecting-IP`, sent to siteverify as `remoteip` when it is an IP address. */
  clientIp: string;
  /**
   * The hostname the request was sent to (the Worker's own, where /chat renders the widget). A token is
   * accepted only when siteverify's `hostname` is this one or the host of an `ALLOWED_ORIGINS` entry; when
   * absent, only the latter are accepted.
   */
  hostname?: string;
}

/**
 * Verifies the `POST /session` Turnstile token when Turnstile is on; does nothing when it is off (a token
 * sent anyway is ignored). Calls siteverify (at most {@link SITEVERIFY_ATTEMPTS} requests of
 * {@link SITEVERIFY_TIMEOUT_MS} each) and accepts the token only when siteverify says `success`, its
 * `action` is {@link TURNSTILE_ACTION} and its `hostname` is one this Worker serves (both unchecked for
 * Cloudflare's dummy testing secrets, whose answers name no real site). The token is spent either way.
 * @param token the request's `turnstile_token` (already bounded by the contract), or undefined
 * @throws HttpError 403 `turnstile_failed` when the token is missing, refused by siteverify (invalid,
 *   expired, already used) or issued for another action or hostname; 503 `turnstile_unavailable` (with
 *   `Retry-After`) when siteverify cannot be reached (fail closed, see above)
 * @throws ConfigError when siteverify refuses `TURNSTILE_SECRET_KEY` (a 500 `server_misconfigured`)
 */
export async function verifyTurnstile(
  deps: TurnstileDeps,
  token: string | undefined,
  client: TurnstileClient,
): Promise<void> {
  const keys = deps.config.turnstile;
  if (!keys) return;
  const log = deps.log ?? edgeLog;
  if (token === undefined) {
    throw refused("This site requires the browser check (Turnstile): send its token as turnstile_token.");
  }
  const answer = await siteverify(keys, token, client.clientIp, log);
  const codes = answer["error-codes"];
  if (!answer.success) {
    if (codes.some((code) => SECRET_FAULTS.has(code))) {
      throw new ConfigError(
        `invalid Worker configuration: TURNSTILE_SECRET_KEY was refused by Turnstile siteverify (${codes.join(",")})`,
      );
    }
    log.info("turnstile_rejected", { error_codes: codes.join(",") });
    throw refused("The browser check (Turnstile) failed, expired or was already used; try again.");
  }
  if (TESTING_SECRET.test(keys.secretKey)) return;
  const hostnames = expectedHostnames(deps.config, client);
  const hostname = answer.hostname?.toLowerCase();
  if (answer.action !== TURNSTILE_ACTION || hostname === undefined || !hostnames.has(hostname)) {
    log.warn("turnstile_mismatch", { action: answer.action ?? null, hostname: answer.hostname ?? null });
    throw refused("The browser check (Turnstile) was not made for starting a conversation on this site.");
  }
}

function refused(message: string): HttpError {
  return new HttpError(403, "turnstile_failed", message);
}

/** The hostnames a token may come from: the request's own and those of `ALLOWED_ORIGINS`, lower case. */
function expectedHostnames(config: EdgeConfig, client: TurnstileClient): ReadonlySet<string> {
  const out = new Set<string>();
  if (client.hostname) out.add(client.hostname.toLowerCase());
  for (const origin of config.allowedOrigins) out.add(new URL(origin).hostname.toLowerCase());
  return out;
}

/**
 * One siteverify verification: a JSON POST, retried once with the same `idempotency_key` when the answer
 * does not come (network error, timeout), is not siteverify's JSON (e.g. a 5xx page) or is `internal-error`.
 * @throws HttpError 503 `turnstile_unavailable` when no attempt got an answer (logged `turnstile_unreachable`)
 */
async function siteverify(
  keys: TurnstileKeys,
  token: string,
  clientIp: string,
  log: Logger,
): Promise<SiteverifyAnswer> {
  const body = JSON.stringify({
    secret: keys.secretKey,
    response: token,
    // rate-limit.ts reports "unknown" without CF-Connecting-IP (local runs): then there is nothing to send.
    ...(/^[0-9A-Fa-f:.]+$/.test(clientIp) ? { remoteip: clientIp } : {}),
    idempotency_key: crypto.randomUUID(),
  });
  let fault: unknown;
  for (let attempt = 1; attempt <= SITEVERIFY_ATTEMPTS; attempt++) {
    try {
      const res = await fetch(`${keys.origin}${TURNSTILE_SITEVERIFY_PATH}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
        signal: AbortSignal.timeout(SITEVERIFY_TIMEOUT_MS),
      });
      const answer = SiteverifyAnswer.safeParse(await res.json().catch(() => null));
      if (answer.success && !answer.data["error-codes"].includes("internal-error")) return answer.data;
      fault = new Error(
        answer.success ? "siteverify answered internal-error" : `siteverify answered HTTP ${res.status}`,
      );
    } catch (err) {
      fault = err;
    }
  }
  log.warn("turnstile_unreachable", { attempts: SITEVERIFY_ATTEMPTS, error: errorSummary(fault) });
  throw new HttpError(
    503,
    "turnstile_unavailable",
    "The browser check (Turnstile) cannot be verified right now; try again shortly.",
    { "Retry-After": String(TURNSTILE_UNAVAILABLE_RETRY_AFTER_S) },
  );
}
