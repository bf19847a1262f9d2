// Cross-site requests (issue #11, finding 5): `Origin: null` (sandboxed frames, data: and file: pages, some
// redirects) and foreign origins are refused on every cookie-bearing route and the socket upgrade, and the
// REST API's POST takes application/json only (a form or no-cors fetch can only send text/plain,
// urlencoded or multipart bodies).
import { describe, expect, it } from "vitest";
import { ORIGIN, call, expectError, expectRefusedSocket, newVisitor, startSession, uniqueRoom } from "./helpers.ts";

describe("Origin: null", () => {
  it("is refused with 403 on the pages, /health and the history page", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    for (const path of ["/", "/chat", "/health", `/history/${sessionId}`]) {
      await expectError(await call(path, { cookie, headers: { Origin: "null" } }), 403, "origin_not_allowed");
    }
    // The same requests without Origin (navigations, same-origin GETs) still work.
    expect((await call(`/history/${sessionId}`, { cookie })).status).toBe(200);
  });

  it("is refused with 403 on the REST API", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const headers = { Origin: "null", "Content-Type": "application/json" };
    await expectError(await call("/token?identity=alice", { cookie, headers }), 403, "origin_not_allowed");
    const body = JSON.stringify({ room: uniqueRoom(), identity: "visitor" });
    await expectError(await call("/session", { method: "POST", cookie, headers, body }), 403, "origin_not_allowed");
    await expectError(await call(`/transcripts/${sessionId}`, { cookie, headers }), 403, "origin_not_allowed");
    await expectError(
      await call(`/session/${sessionId}`, { method: "DELETE", cookie, headers }),
      403,
      "origin_not_allowed",
    );
  });

  it("refuses the transcript socket upgrade with the origin_not_allowed frame", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const res = await call(`/ws/transcript/${sessionId}`, {
      cookie,
      headers: { Upgrade: "websocket", Origin: "null" },
    });
    await expectRefusedSocket(res, "origin_not_allowed");
  });

  it("issues no visitor cookie to a refused request", async () => {
    const res = await call("/chat", { headers: { Origin: "null" } });
    expect(res.status).toBe(403);
    expect(res.headers.get("Set-Cookie")).toBeNull();
  });
});

describe("foreign origins on browser routes", () => {
  it("refuse a cross-site read of the history page; the page's own origin and ALLOWED_ORIGINS pass", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const path = `/history/${sessionId}`;
    await expectError(await call(path, { cookie, headers: { Origin: "https://evil.example" } }), 403);
    expect((await call(path, { cookie, headers: { Origin: ORIGIN } })).status).toBe(200);
    expect((await call(path, { cookie, headers: { Origin: "https://partner.example" } })).status).toBe(200);
  });
});

describe("POST /session body type", () => {
  it.each([
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json-seq",
  ])("refuses %s with 415", async (type) => {
    const cookie = await newVisitor();
    const body = JSON.stringify({ room: uniqueRoom(), identity: "visitor" });
    const res = await call("/session", { method: "POST", cookie, headers: { "Content-Type": type }, body });
    await expectError(res, 415, "unsupported_media_type");
  });

  it("accepts application/json with parameters", async () => {
    const cookie = await newVisitor();
    const body = JSON.stringify({ room: uniqueRoom(), identity: "visitor" });
    const headers = { "Content-Type": "Application/JSON; charset=utf-8" };
    expect((await call("/session", { method: "POST", cookie, headers, body })).status).toBe(201);
  });
});
