/**
 * Cloudflare Turnstile on session start (worker/turnstile.ts, issue #11 finding 1): off by default, and
 * when a deployment sets TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY, `POST /session` is refused unless
 * siteverify accepts the request's token, before anything is reserved or dispatched; the /chat page and its
 * CSP load the widget only then.
 *
 * siteverify is a third-party API: it is faked at the fetch level (fake-turnstile.ts, Miniflare's
 * outboundService), which records what the Worker sent it.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, readEdgeConfig } from "../../edge/config.ts";
import worker from "../../worker/index.ts";
import { runSessionStart } from "../../worker/session-start.ts";
import {
  DUMMY_SECRET,
  DUMMY_TOKEN,
  FAKE_TURNSTILE,
  type SiteverifyCall,
  TURNSTILE_CONTROL_HOST,
} from "./fake-turnstile.ts";
import { call, expectError, liveKitCalls, newVisitor, ORIGIN, randomIp, uniqueRoom } from "./helpers.ts";

/** The test environment with Turnstile on (a fresh object: readEdgeConfig caches per env object). */
const turnstileOn = (keys: Record<string, string> = FAKE_TURNSTILE) => ({ ...env, ...keys }) as Env;

/** Sessions the tests started, stopped after each test so that they hold no session cap. */
const started: string[] = [];
afterEach(async () => {
  for (const id of started.splice(0)) await env.SESSIONS.get(env.SESSIONS.idFromName(id)).stop("stopped");
});

/** Sends `path` to the Worker with `environment` (default: Turnstile on); records a started session. */
async function send(
  path: string,
  init: { method?: string; cookie?: string; ip?: string; body?: unknown } = {},
  environment: Env = turnstileOn(),
): Promise<Response> {
  const headers = new Headers({ "CF-Connecting-IP": init.ip ?? randomIp() });
  if (init.cookie) headers.set("Cookie", init.cookie);
  if (init.body !== undefined) headers.set("Content-Type", "application/json");
  const body = init.body === undefined ? null : JSON.stringify(init.body);
  const request = new Request(`${ORIGIN}${path}`, { method: init.method ?? "GET", headers, body });
  const res = await worker.fetch(request, environment, createExecutionContext());
  if (path === "/session" && res.status === 201) {
    started.push(((await res.clone().json()) as { session_id: string }).session_id);
  }
  return res;
}

/** `POST /session` for a new visitor in a fresh room, with `fields` added to the body. */
async function postSession(fields: Record<string, unknown>, environment?: Env, ip?: string) {
  const cookie = await newVisitor();
  const room = uniqueRoom();
  const body = { room, identity: "visitor", ...fields };
  const res = await send("/session", { method: "POST", cookie, body, ...(ip ? { ip } : {}) }, environment);
  return { res, room, cookie };
}

/** What the fake siteverify received for `token`. */
async function siteverifyCalls(token: string): Promise<SiteverifyCall[]> {
  return (await (await fetch(`http://${TURNSTILE_CONTROL_HOST}/calls?token=${token}`)).json()) as SiteverifyCall[];
}

const token = (prefix: string) => `${prefix}-${crypto.randomUUID()}`;

/**
 * A page without its `#texts` data block: the page's texts include the Turnstile error, which names
 * challenges.cloudflare.com, whether Turnstile is on or off.
 */
function withoutTexts(html: string): string {
  const texts = html.replace(/<script type="application\/json" id="texts">[^<]*<\/script>/, "");
  expect(texts.length, "the page has its texts block").toBeLessThan(html.length);
  return texts;
}

describe("Turnstile off (neither key set: the default)", () => {
  it("starts a session without a token, asks siteverify nothing, and the page and CSP leave the widget out", async () => {
    expect(readEdgeConfig(env).turnstile).toBeNull();
    const sent = token("pass");
    const { res } = await postSession({ turnstile_token: sent }, env);
    expect(res.status).toBe(201);
    expect(await siteverifyCalls(sent)).toEqual([]);
    const { res: plain } = await postSession({}, env);
    expect(plain.status).toBe(201);

    const page = await call("/chat");
    expect(page.headers.get("Content-Security-Policy")).not.toContain("challenges.cloudflare.com");
    expect(withoutTexts(await page.text())).not.toMatch(/turnstile|challenges\.cloudflare\.com/);
  });
});

describe("Turnstile on", () => {
  it("refuses a start without a token with 403 turnstile_failed and dispatches nothing", async () => {
    const { res, room } = await postSession({});
    await expectError(res, 403, "turnstile_failed");
    expect(await liveKitCalls(room)).toEqual([]);
  });

  it("a token siteverify rejects: 403, nothing reserved, and siteverify got the secret, token and client IP", async () => {
    const rejected = token("reject");
    const ip = "203.0.113.7";
    const { res, room, cookie } = await postSession({ turnstile_token: rejected }, undefined, ip);
    await expectError(res, 403, "turnstile_failed");
    expect(await liveKitCalls(room)).toEqual([]);
    const calls = await siteverifyCalls(rejected);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual({
      contentType: "application/json",
      body: {
        secret: FAKE_TURNSTILE.TURNSTILE_SECRET_KEY,
        response: rejected,
        remoteip: ip,
        idempotency_key: expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    });
    // The room stayed free: the same visitor starts in it at once with a good token.
    const again = await send("/session", {
      method: "POST",
      cookie,
      body: { room, identity: "visitor", turnstile_token: token("pass") },
    });
    expect(again.status).toBe(201);
    expect((await liveKitCalls(room)).map((c) => c.method)).toEqual(["CreateDispatch"]);
  });

  it("a refused token reserves neither the room nor a visitor slot (the service's own view)", async () => {
    const env2 = turnstileOn();
    const deps = { env: env2, config: readEdgeConfig(env2) };
    const room = uniqueRoom();
    const visitorId = crypto.randomUUID();
    const caller = { visitorId, clientIp: randomIp(), hostname: "voice.example" };
    const refused = runSessionStart(deps, { room, identity: "visitor", turnstile_token: token("reject") }, caller);
    await expect(refused).rejects.toMatchObject({ status: 403, code: "turnstile_failed" });
    const roomStub = env.ROOMS.get(env.ROOMS.idFromName(room));
    const visitorStub = env.VISITORS.get(env.VISITORS.idFromName(visitorId));
    expect(await roomStub.activeSession(Date.now())).toBeNull();
    expect(await roomStub.owner(Date.now())).toBeNull();
    expect(await visitorStub.count(Date.now())).toBe(0);
  });

  it("a valid token starts the session (201, agent dispatched); the same token again is refused", async () => {
    const valid = token("pass");
    const { res, room, cookie } = await postSession({ turnstile_token: valid });
    expect(res.status).toBe(201);
    expect((await liveKitCalls(room)).map((c) => c.method)).toEqual(["CreateDispatch"]);
    // A token validates once (siteverify's timeout-or-duplicate).
    const replay = await send("/session", {
      method: "POST",
      cookie,
      body: { room: uniqueRoom(), identity: "visitor", turnstile_token: valid },
    });
    await expectError(replay, 403, "turnstile_failed");
  });

  it("refuses a token solved for another action or on another site; accepts an ALLOWED_ORIGINS host", async () => {
    for (const prefix of ["action", "host"]) {
      const { res, room } = await postSession({ turnstile_token: token(prefix) });
      await expectError(res, 403, "turnstile_failed");
      expect(await liveKitCalls(room), prefix).toEqual([]);
    }
    const { res } = await postSession({ turnstile_token: token("partner") });
    expect(res.status).toBe(201);
  });

  it("siteverify unreachable: 503 turnstile_unavailable with Retry-After after one retry (fail closed)", async () => {
    const down = token("down");
    const { res, room } = await postSession({ turnstile_token: down });
    await expectError(res, 503, "turnstile_unavailable");
    expect(res.headers.get("Retry-After")).toBe("30");
    expect(await liveKitCalls(room)).toEqual([]);
    const calls = await siteverifyCalls(down);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.body.idempotency_key).toBe(calls[0]!.body.idempotency_key);
  });

  it("siteverify's internal-error is retried with the same idempotency_key, and the retry's answer counts", async () => {
    const flaky = token("flaky");
    const { res } = await postSession({ turnstile_token: flaky });
    expect(res.status).toBe(201);
    const calls = await siteverifyCalls(flaky);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.body.idempotency_key).toBe(calls[0]!.body.idempotency_key);
  });

  it("a secret siteverify refuses is a server fault: 500 server_misconfigured", async () => {
    const wrongSecret = turnstileOn({ ...FAKE_TURNSTILE, TURNSTILE_SECRET_KEY: "0x4AAAAAAAnot-the-secret" });
    const { res } = await postSession({ turnstile_token: token("pass") }, wrongSecret);
    await expectError(res, 500, "server_misconfigured");
  });

  it("Cloudflare's dummy testing keys pass with the dummy token (hostname and action unchecked)", async () => {
    const dummy = turnstileOn({ TURNSTILE_SITE_KEY: "1x00000000000000000000AA", TURNSTILE_SECRET_KEY: DUMMY_SECRET });
    const { res } = await postSession({ turnstile_token: DUMMY_TOKEN }, dummy);
    expect(res.status).toBe(201);
    const { res: other } = await postSession({ turnstile_token: token("pass") }, dummy);
    await expectError(other, 403, "turnstile_failed");
  });

  it("a token of Cloudflare's maximum 2048 characters is verified; a longer one is a 400 before siteverify", async () => {
    const longest = `pass-${crypto.randomUUID()}`.padEnd(2048, "x");
    const { res } = await postSession({ turnstile_token: longest });
    expect(res.status).toBe(201);
    expect(await siteverifyCalls(longest)).toHaveLength(1);
    const tooLong = `${longest}x`;
    const { res: refused } = await postSession({ turnstile_token: tooLong });
    await expectError(refused, 400, "invalid_request");
    expect(await siteverifyCalls(tooLong)).toEqual([]);
  });

  it("/chat renders the widget's sitekey and script, and the CSP allows its script and frame", async () => {
    const res = await send("/chat");
    expect(res.status).toBe(200);
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toContain("script-src 'self' https://challenges.cloudflare.com");
    expect(csp).toContain("frame-src https://challenges.cloudflare.com");
    const html = await res.text();
    expect(html).toContain(
      '<link rel="preload" href="https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit" as="script">',
    );
    expect(html).toContain(`data-turnstile-sitekey="${FAKE_TURNSTILE.TURNSTILE_SITE_KEY}"`);
    expect(html).toContain('id="turnstile"');
  });
});

describe("Turnstile configuration", () => {
  it.each([
    ["TURNSTILE_SITE_KEY", "TURNSTILE_SECRET_KEY"],
    ["TURNSTILE_SECRET_KEY", "TURNSTILE_SITE_KEY"],
  ])("%s without %s is an error naming the missing one, never a value", (set, missing) => {
    const value = FAKE_TURNSTILE[set as keyof typeof FAKE_TURNSTILE];
    const read = () => readEdgeConfig({ ...env, [set]: value } as Env);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`${missing} is required when ${set} is set`);
    expect(read).not.toThrow(value);
  });

  it("refuses a sitekey that cannot be one, and reads both keys when set", () => {
    expect(() => readEdgeConfig(turnstileOn({ ...FAKE_TURNSTILE, TURNSTILE_SITE_KEY: 'x" onload="y' }))).toThrow(
      "TURNSTILE_SITE_KEY must be a Turnstile sitekey",
    );
    expect(readEdgeConfig(turnstileOn()).turnstile).toEqual({
      siteKey: FAKE_TURNSTILE.TURNSTILE_SITE_KEY,
      secretKey: FAKE_TURNSTILE.TURNSTILE_SECRET_KEY,
      origin: "https://challenges.cloudflare.com",
    });
  });

  it("TURNSTILE_ORIGIN moves the widget and siteverify to an https origin, or to http on this machine only", () => {
    const origin = (value: string) => readEdgeConfig(turnstileOn({ ...FAKE_TURNSTILE, TURNSTILE_ORIGIN: value }));
    expect(origin("http://127.0.0.1:8789").turnstile?.origin).toBe("http://127.0.0.1:8789");
    expect(origin("https://turnstile.example/").turnstile?.origin).toBe("https://turnstile.example");
    for (const bad of ["http://turnstile.example", "https://turnstile.example/api", "challenges", "ftp://127.0.0.1"]) {
      expect(() => origin(bad), bad).toThrow(
        "TURNSTILE_ORIGIN must be an https:// origin (http:// only on this machine)",
      );
    }
  });

  it("/chat and its CSP take the widget from TURNSTILE_ORIGIN", async () => {
    const res = await send("/chat", {}, turnstileOn({ ...FAKE_TURNSTILE, TURNSTILE_ORIGIN: "http://127.0.0.1:8789" }));
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toContain("script-src 'self' http://127.0.0.1:8789;");
    expect(csp).toContain("frame-src http://127.0.0.1:8789;");
    const html = await res.text();
    expect(html).toContain('data-turnstile-script="http://127.0.0.1:8789/turnstile/v0/api.js?render=explicit"');
    expect(withoutTexts(html)).not.toContain("challenges.cloudflare.com");
  });
});
