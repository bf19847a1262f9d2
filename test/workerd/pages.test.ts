import { describe, expect, it } from "vitest";
import { call, newVisitor, startSession } from "./helpers.ts";

describe("pages", () => {
  it.each(["/", "/chat"])("%s renders HTML with the CSP and a visitor cookie", async (path) => {
    const res = await call(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Set-Cookie")).toMatch(/^__Host-vid=.*HttpOnly/);
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' ws://livekit.test http://livekit.test");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("Referrer-Policy")).toBe("strict-origin-when-cross-origin");
    expect(await res.text()).toMatch(/<html|<!doctype/i);
  });

  it("/history/{id} renders the owner's conversation and 404s unknown ones as HTML", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const res = await call(`/history/${sessionId}`, { cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    for (const path of [`/history/${"C".repeat(22)}`, "/history/nope"]) {
      const missing = await call(path, { cookie });
      expect(missing.status).toBe(404);
      expect(missing.headers.get("Content-Type")).toMatch(/^text\/html/);
    }
  });

  it("serves the page script from /static/", async () => {
    const res = await call("/static/chat.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/javascript/);
  });

  it("answers unknown API paths with the JSON error shape", async () => {
    const res = await call("/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: expect.any(String) } });
  });
});
