// The visitor cookie (issue #11, finding 5): `__Host-vid` on https (Secure, Path=/, no Domain), `vid` on
// plain-http local development, and the COOKIE_SECRET rotation path: a cookie signed with
// COOKIE_SECRET_PREVIOUS keeps its visitor id and is re-signed with COOKIE_SECRET.
import { env, exports } from "cloudflare:workers";
import { generateSignedCookie } from "hono/cookie";
import { describe, expect, it } from "vitest";
import { call, newVisitor, randomIp, startSession } from "./helpers.ts";

/** `COOKIE_SECRET_PREVIOUS` of the test configuration (test/workerd/vitest.config.ts; not in the generated Env). */
const PREVIOUS_SECRET = (env as unknown as Record<string, string>).COOKIE_SECRET_PREVIOUS!;

/** Every `Set-Cookie` line of a response. */
function setCookies(res: Response): string[] {
  return res.headers.getSetCookie();
}

/** The visitor id inside a `name=<id>.<signature>` pair. */
function idOf(pair: string): string {
  return decodeURIComponent(pair.split("=")[1]!).split(".")[0]!;
}

/** A `__Host-vid` (or, with `prefix` none, `vid`) cookie pair for `id`, signed with `secret` as the Worker signs. */
async function signed(id: string, secret: string, prefix: "host" | "none" = "host"): Promise<string> {
  const opts = prefix === "host" ? { prefix: "host" as const, path: "/" } : { path: "/" };
  return (await generateSignedCookie("vid", id, secret, opts)).split(";")[0]!;
}

describe("visitor cookie on https", () => {
  it("is __Host-vid: Secure, Path=/, no Domain, HttpOnly, SameSite=Lax", async () => {
    const [cookie, ...more] = setCookies(await call("/health"));
    expect(more).toEqual([]);
    expect(cookie).toMatch(/^__Host-vid=[A-Za-z0-9_-]{22}\.[^;]+;/);
    const attributes = cookie!.split(/;\s*/).slice(1);
    expect(attributes).toEqual(expect.arrayContaining(["Path=/", "Secure", "HttpOnly", "SameSite=Lax"]));
    expect(attributes.some((a) => /^Domain=/i.test(a))).toBe(false);
  });

  it("ignores a plain `vid` cookie (one a sibling subdomain or plain http could plant) and expires it", async () => {
    const planted = await signed("AAAAAAAAAAAAAAAAAAAAAA", env.COOKIE_SECRET, "none");
    const cookies = setCookies(await call("/health", { cookie: planted }));
    const issued = cookies.find((c) => c.startsWith("__Host-vid="));
    expect(issued).toBeDefined();
    expect(idOf(issued!)).not.toBe("AAAAAAAAAAAAAAAAAAAAAA");
    expect(cookies.find((c) => c.startsWith("vid="))).toMatch(/^vid=;.*Max-Age=0/);
  });
});

describe("visitor cookie on plain http (local development)", () => {
  it("is vid without Secure, so that browsers keep it on http://localhost", async () => {
    const res = await exports.default.fetch(
      new Request("http://localhost:8787/health", { headers: { "CF-Connecting-IP": randomIp() } }),
    );
    const [cookie] = setCookies(res);
    expect(cookie).toMatch(/^vid=[A-Za-z0-9_-]{22}\.[^;]+;/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).not.toMatch(/Secure/);
  });
});

describe("COOKIE_SECRET rotation", () => {
  it("accepts a cookie signed with COOKIE_SECRET_PREVIOUS, keeps the visitor's id and re-signs it", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const old = await signed(idOf(cookie), PREVIOUS_SECRET);
    expect(old).not.toBe(cookie);

    // Still the owner of its session: the id survived the rotation.
    const res = await call(`/transcripts/${sessionId}`, { cookie: old });
    expect(res.status).toBe(200);
    // Re-signed with the current secret: exactly the pair a visitor issued under COOKIE_SECRET holds.
    const [resigned, ...more] = setCookies(res);
    expect(more).toEqual([]);
    expect(resigned!.split(";")[0]).toBe(cookie);
    expect(resigned).toMatch(/Max-Age=31536000/);
    // And once re-signed, nothing more is set.
    expect(setCookies(await call("/health", { cookie }))).toEqual([]);
  });

  it("gives a cookie signed with any other secret a fresh id", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const foreign = await signed(idOf(cookie), "some-other-secret-0123456789abcdef-xyz");
    const res = await call(`/transcripts/${sessionId}`, { cookie: foreign });
    expect(res.status).toBe(403);
    const [issued] = setCookies(res);
    expect(idOf(issued!)).not.toBe(idOf(cookie));
  });
});
