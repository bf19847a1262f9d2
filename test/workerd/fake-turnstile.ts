/**
 * A fake of Cloudflare Turnstile's siteverify API, a third-party API, at the fetch level: installed next to
 * the fake LiveKit as Miniflare's `outboundService` (vitest.config.ts), so the Worker's
 * `POST https://challenges.cloudflare.com/turnstile/v0/siteverify` lands here and never leaves the process.
 * It answers in the shape Cloudflare documents ("Validate the token"; "Testing" for the dummy keys).
 *
 * Behaviour is chosen by the token (`response`), so that test files running in parallel do not interfere:
 * - `pass-…`: success for action `session_start` on `voice.example` (the tests' ORIGIN);
 * - `partner-…`: the same on `partner.example` (in the tests' ALLOWED_ORIGINS);
 * - `host-…`: success, but solved on `evil.example`; `action-…`: success, but for action `login`;
 * - `down-…`: a network failure on every request; `flaky-…`: `internal-error` on its first request, then as
 *   `pass-…`;
 * - anything else: `invalid-input-response`; a token seen before under another `idempotency_key` (a replay):
 *   `timeout-or-duplicate`;
 * - a secret other than {@link FAKE_TURNSTILE}'s gets `invalid-input-secret`, except Cloudflare's dummy
 *   always-pass secret, which accepts only the dummy token (answering for `localhost`, action `test`).
 * Every request is recorded: `GET http://turnstile.control/calls?token=<token>` returns them as JSON.
 */

/** Host of siteverify (Cloudflare's, faked here). */
export const SITEVERIFY_HOST = "challenges.cloudflare.com";
export const TURNSTILE_CONTROL_HOST = "turnstile.control";

/** The keys the tests turn Turnstile on with (not real keys). */
export const FAKE_TURNSTILE = {
  TURNSTILE_SITE_KEY: "0x4AAAAAAAfake-site-key",
  TURNSTILE_SECRET_KEY: "0x4AAAAAAAfake-secret-key-0123456789",
};

/** Cloudflare's documented dummy always-pass secret and the only token it accepts. */
export const DUMMY_SECRET = "1x0000000000000000000000000000000AA";
export const DUMMY_TOKEN = "XXXX.DUMMY.TOKEN.XXXX";

/** One request siteverify received. */
export interface SiteverifyCall {
  contentType: string | null;
  body: Record<string, unknown>;
}

const calls = new Map<string, SiteverifyCall[]>();

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

const success = (hostname: string, action = "session_start") => ({
  success: true,
  challenge_ts: new Date().toISOString(),
  hostname,
  "error-codes": [],
  action,
  cdata: "",
});
const failure = (code: string) => ({ success: false, "error-codes": [code] });

/** The `outboundService` part for Turnstile: an answer for its hosts, undefined for any other request. */
export function fakeTurnstile(request: Request): Promise<Response> | undefined {
  const url = new URL(request.url);
  if (url.host === TURNSTILE_CONTROL_HOST) {
    return Promise.resolve(json(200, calls.get(url.searchParams.get("token") ?? "") ?? []));
  }
  if (url.host !== SITEVERIFY_HOST) return undefined;
  return siteverify(request);
}

async function siteverify(request: Request): Promise<Response> {
  if (new URL(request.url).pathname !== "/turnstile/v0/siteverify") return json(404, failure("bad-request"));
  const body = (await request.json().catch(() => ({}))) as Record<string, unknown>;
  const token = String(body.response ?? "");
  const list = calls.get(token) ?? [];
  list.push({ contentType: request.headers.get("Content-Type"), body });
  calls.set(token, list);
  if (body.secret === DUMMY_SECRET) {
    return json(200, token === DUMMY_TOKEN ? success("localhost", "test") : failure("invalid-input-response"));
  }
  if (body.secret !== FAKE_TURNSTILE.TURNSTILE_SECRET_KEY) return json(200, failure("invalid-input-secret"));
  if (token.startsWith("down-")) throw new Error("connection refused");
  // A token validates once; a retry of the same validation carries the same idempotency_key.
  if (list.slice(0, -1).some((c) => c.body.idempotency_key !== body.idempotency_key)) {
    return json(200, failure("timeout-or-duplicate"));
  }
  if (token.startsWith("flaky-") && list.length === 1) return json(500, failure("internal-error"));
  if (token.startsWith("pass-") || token.startsWith("flaky-")) return json(200, success("voice.example"));
  if (token.startsWith("partner-")) return json(200, success("partner.example"));
  if (token.startsWith("host-")) return json(200, success("evil.example"));
  if (token.startsWith("action-")) return json(200, success("voice.example", "login"));
  return json(200, failure("invalid-input-response"));
}
