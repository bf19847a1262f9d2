import { env } from "cloudflare:workers";
import { TokenVerifier } from "livekit-server-sdk";
import { describe, expect, it } from "vitest";
import { TokenResponse } from "../../contract/index.ts";
import { ROOM_CLOSE_MARGIN_S } from "../../edge/livekit.ts";
import { call, expectError, newVisitor, uniqueRoom } from "./helpers.ts";

/** Verifies the token's signature and issuer with the SDK LiveKit servers use, and returns its claims. */
async function claims(token: string) {
  return new TokenVerifier(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET).verify(token);
}

describe("GET /health", () => {
  it("answers ok, sets the visitor cookie and the security headers", async () => {
    const res = await call("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    const cookie = res.headers.get("Set-Cookie")!;
    expect(cookie).toMatch(/^__Host-vid=[A-Za-z0-9_-]{22}\.[^;]+;/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Secure/);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
  });

  it("keeps a valid cookie and replaces a forged one", async () => {
    const cookie = await newVisitor();
    expect((await call("/health", { cookie })).headers.get("Set-Cookie")).toBeNull();
    const forged = cookie.replace(/^__Host-vid=[^.]+/, "__Host-vid=AAAAAAAAAAAAAAAAAAAAAA");
    expect((await call("/health", { cookie: forged })).headers.get("Set-Cookie")).toMatch(/^__Host-vid=/);
  });
});

describe("GET /token", () => {
  it("mints a token for one room with microphone-only publish, TOKEN_TTL_S and the room's limits", async () => {
    const cookie = await newVisitor();
    const room = uniqueRoom();
    const res = await call(`/token?room=${room}&identity=alice&name=Alice`, { cookie });
    expect(res.status).toBe(200);
    const body = TokenResponse.parse(await res.json());
    expect(body).toMatchObject({ room, identity: "alice", url: "ws://livekit.test" });
    const c = await claims(body.token);
    expect(c.sub).toBe("alice");
    expect(c.iss).toBe(env.LIVEKIT_API_KEY);
    expect(c.name).toBe("Alice");
    expect(c.exp! - c.nbf!).toBe(Number(env.TOKEN_TTL_S));
    // LiveKit creates the room with these when this token's join creates it: one visitor (agents do not
    // count), and the room closes CLIENT_GRACE_S + the margin after its visitor left. Only the fields set are in
    // the JSON.
    const grace = Number(env.CLIENT_GRACE_S);
    const closeAfter = grace + ROOM_CLOSE_MARGIN_S;
    expect(c.roomConfig).toStrictEqual({ maxParticipants: 1, emptyTimeout: closeAfter, departureTimeout: closeAfter });
    expect(c.video).toEqual({
      roomJoin: true,
      room,
      canPublish: true,
      canPublishSources: ["microphone"],
      canSubscribe: true,
      canPublishData: true,
    });
  });

  it("picks a fresh room when none is given", async () => {
    const cookie = await newVisitor();
    const a = TokenResponse.parse(await (await call("/token?identity=bob", { cookie })).json());
    const b = TokenResponse.parse(await (await call("/token?identity=bob", { cookie })).json());
    expect(a.room).not.toBe(b.room);
    expect((await claims(a.token)).video?.room).toBe(a.room);
  });

  it("refuses another visitor's room with 403", async () => {
    const room = uniqueRoom();
    const owner = await newVisitor();
    expect((await call(`/token?room=${room}&identity=alice`, { cookie: owner })).status).toBe(200);
    const other = await newVisitor();
    await expectError(await call(`/token?room=${room}&identity=mallory`, { cookie: other }), 403, "room_forbidden");
    expect((await call(`/token?room=${room}&identity=alice`, { cookie: owner })).status).toBe(200);
  });

  it("binds the room to its first token's identity: another identity gets 403, for a token or a session", async () => {
    const cookie = await newVisitor();
    const room = uniqueRoom();
    expect((await call(`/token?room=${room}&identity=alice`, { cookie })).status).toBe(200);
    await expectError(await call(`/token?room=${room}&identity=alice2`, { cookie }), 403, "identity_mismatch");
    const post = (identity: string) =>
      call("/session", {
        method: "POST",
        cookie,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ room, identity }),
      });
    await expectError(await post("alice2"), 403, "identity_mismatch");
    expect((await call(`/token?room=${room}&identity=alice`, { cookie })).status).toBe(200);
    expect((await post("alice")).status).toBe(201);
  });

  it("binds a room first reserved by a session to the session's identity", async () => {
    const cookie = await newVisitor();
    const room = uniqueRoom();
    const res = await call("/session", {
      method: "POST",
      cookie,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ room, identity: "bob" }),
    });
    expect(res.status).toBe(201);
    await expectError(await call(`/token?room=${room}&identity=bob2`, { cookie }), 403, "identity_mismatch");
    expect((await call(`/token?room=${room}&identity=bob`, { cookie })).status).toBe(200);
  });

  it.each([
    ["identity missing", "/token?room=r1"],
    ["reserved identity", "/token?identity=agent-x"],
    ["bad room", "/token?identity=a&room=has%20space"],
    ["long room", `/token?identity=a&room=${"r".repeat(65)}`],
    ["control character in name", "/token?identity=a&name=%07bell"],
  ])("rejects %s with 400", async (_, path) => {
    await expectError(await call(path), 400, "invalid_request");
  });

  it("limits one visitor to the binding's rate with 429 and Retry-After", async () => {
    const cookie = await newVisitor();
    let limited: Response | undefined;
    // Twice the limit (30/min) and more: the binding counts in fixed windows, and one may roll over mid-test.
    for (let i = 0; i < 65 && !limited; i++) {
      const res = await call(`/token?identity=alice`, { cookie });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect(limited).toBeDefined();
    expect(limited!.headers.get("Retry-After")).toBe("60");
    await expectError(limited!, 429, "rate_limited");
  });
});
