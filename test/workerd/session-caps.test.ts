/**
 * The concurrent-session caps a dropped cookie cannot escape (worker/session-start.ts, `SessionCapDO`):
 * `MAX_SESSIONS_PER_IP` per client address (an IPv4 address, an IPv6 /64) and `MAX_SESSIONS_TOTAL` for the
 * deployment, through the real Worker entry and real Durable Objects. Every start here comes from a fresh
 * visitor (a new `vid` cookie), as a script that drops its cookie would.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../contract/log.ts";
import { ipCapStub, totalCapStub } from "../../durable-objects/session-cap-do.ts";
import { readEdgeConfig } from "../../edge/config.ts";
import { clientIpKey } from "../../worker/client-ip.ts";
import { HttpError } from "../../worker/errors.ts";
import { runSessionStart } from "../../worker/session-start.ts";
import { call, expectError, newVisitor, randomIp, uniqueRoom } from "./helpers.ts";

const PER_IP = Number(env.MAX_SESSIONS_PER_IP);
const sessionStub = (sessionId: string) => env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));

/** `POST /session` as a fresh visitor from `ip` (its token first, from the same address). */
async function startFrom(ip: string): Promise<{ res: Response; cookie: string }> {
  const cookie = await newVisitor();
  const room = uniqueRoom();
  expect((await call(`/token?room=${room}&identity=visitor`, { cookie, ip })).status).toBe(200);
  const res = await call("/session", {
    method: "POST",
    cookie,
    ip,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ room, identity: "visitor" }),
  });
  return { res, cookie };
}

/** Starts `n` sessions from the addresses given in turn; each must succeed. */
async function fill(ips: string[], n: number): Promise<{ sessionId: string; cookie: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const { res, cookie } = await startFrom(ips[i % ips.length]!);
    expect(res.status).toBe(201);
    out.push({ sessionId: ((await res.json()) as { session_id: string }).session_id, cookie });
  }
  return out;
}

/** A random IPv6 /64 prefix (four groups), e.g. "2001:db8:1a2b:3c4d". */
function randomPrefix64(): string {
  const group = () => Math.floor(Math.random() * 0x10000).toString(16);
  return `2001:db8:${group()}:${group()}`;
}

async function expectCapRefusal(res: Response, code: string) {
  await expectError(res, 429, code);
  expect(res.headers.get("Retry-After")).toBe("30");
}

describe("MAX_SESSIONS_TOTAL", () => {
  it("refuses a session past the deployment's cap with 429 service_at_capacity, and undoes the earlier slots", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ component: "test", write: (line) => lines.push(JSON.parse(line)) });
    // First in this file, whose storage is its own: only this test's sessions count (none older than the test,
    // so none ends meanwhile by its own deadlines).
    const held = await totalCapStub(env).count(Date.now());
    const config = { ...readEdgeConfig(env), maxSessionsTotal: held + 2 };
    const start = (ip = randomIp()) =>
      runSessionStart(
        { env, config, log },
        { room: uniqueRoom(), identity: "visitor" },
        { visitorId: crypto.randomUUID(), clientIp: ip },
      );
    const first = await start();
    await start();
    const ip = randomIp();
    const refused = await start(ip).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ status: 429, code: "service_at_capacity", headers: { "Retry-After": "30" } });
    expect(lines.find((l) => l.msg === "session_start_rolled_back")).toMatchObject({
      steps: "room_reservation,visitor_slot,ip_slot",
    });
    expect(await totalCapStub(env).count(Date.now())).toBe(held + 2);
    expect(await ipCapStub(env, clientIpKey(ip)).count(Date.now())).toBe(0);
    // A slot of the total comes back when a session ends.
    await sessionStub(first.session_id).stop("stopped");
    expect(await totalCapStub(env).count(Date.now())).toBe(held + 1);
    expect((await start(ip)).session_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("defaults to 100 and is read from MAX_SESSIONS_TOTAL", () => {
    expect(readEdgeConfig(env).maxSessionsTotal).toBe(100);
    expect(readEdgeConfig(env).maxSessionsPerIp).toBe(4);
  });
});

describe("MAX_SESSIONS_PER_IP", () => {
  it("refuses the next concurrent session from one IPv4 address with 429 and Retry-After; another address still starts", async () => {
    expect(PER_IP).toBe(4); // the default of wrangler.toml
    const ip = randomIp();
    const running = await fill([ip], PER_IP);
    await expectCapRefusal((await startFrom(ip)).res, "too_many_sessions_from_ip");
    // The same address written as IPv4-mapped IPv6 is the same client.
    await expectCapRefusal((await startFrom(`::ffff:${ip}`)).res, "too_many_sessions_from_ip");
    expect((await startFrom(randomIp())).res.status).toBe(201);
    // A stopped session frees its slot.
    const first = running[0]!;
    expect((await call(`/session/${first.sessionId}`, { method: "DELETE", cookie: first.cookie })).status).toBe(200);
    expect((await startFrom(ip)).res.status).toBe(201);
    await expectCapRefusal((await startFrom(ip)).res, "too_many_sessions_from_ip");
  });

  it("counts every address of one IPv6 /64 together, however it is written; the next /64 is another client", async () => {
    const prefix = randomPrefix64();
    const spellings = [
      `${prefix}::1`,
      `${prefix}:0:0:0:2`,
      `${prefix.toUpperCase()}:abcd:ef01:2345:6789`,
      `${prefix}::3`,
    ];
    await fill(spellings, PER_IP);
    await expectCapRefusal((await startFrom(`${prefix}:ffff:ffff:ffff:ffff`)).res, "too_many_sessions_from_ip");
    expect((await startFrom(`${randomPrefix64()}::1`)).res.status).toBe(201);
  });

  it("is freed when the session ends by itself (its release reaches the address's object)", async () => {
    const ip = randomIp();
    const running = await fill([ip], PER_IP);
    await expectCapRefusal((await startFrom(ip)).res, "too_many_sessions_from_ip");
    await sessionStub(running[1]!.sessionId).stop("timeout");
    expect((await startFrom(ip)).res.status).toBe(201);
  });
});
