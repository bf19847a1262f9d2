import { describe, expect, it } from "vitest";
import { act, plannerSession } from "./action-helpers.ts";
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

  it("/ offers the allowed profiles other than the default one", async () => {
    const home = await (await call("/")).text();
    expect(home).toContain(
      'Or talk with: <a href="/chat?agent=planner">Planner</a> · <a href="/chat?agent=tutor">Tutor</a> · <a href="/chat?agent=asistente" lang="es" hreflang="es">Asistente</a>',
    );
    expect(home).not.toContain('href="/chat?agent=assistant"');
  });

  it("/chat talks with the default profile, and ?agent= chooses another (the planner has the plan panel)", async () => {
    const plain = await (await call("/chat")).text();
    expect(plain).toContain("<h1>Talk with Assistant</h1>");
    expect(plain).toContain('data-profile="assistant" data-profile-name="Assistant"');
    expect(plain).not.toContain('id="plan"');
    const res = await call("/chat?agent=planner");
    expect(res.status).toBe(200);
    const planner = await res.text();
    expect(planner).toContain("<h1>Talk with Planner</h1>");
    expect(planner).toContain('data-profile="planner" data-profile-name="Planner" data-planner="true"');
    expect(planner).toContain('<section class="plan" id="plan"');
  });

  it.each(["nope", "PLANNER", "../planner", "planner,assistant"])(
    "/chat?agent=%s is a 404 page naming no internals",
    async (agent) => {
      const res = await call(`/chat?agent=${encodeURIComponent(agent)}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
      const body = await res.text();
      expect(body).toContain("There is no agent by that name to talk with here.");
      expect(body).not.toMatch(/ALLOWED_PROFILES|registry|profiles\//);
    },
  );

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

  it("/history/{id} shows the session's actions as cards", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    await act(sessionId, "NEW_TASK", { title: "Call the <dentist>", due: "2026-12-01T09:00:00+01:00" });
    await act(sessionId, "RESCHEDULE_TASK", { task: "gym", due: "2026-12-02T09:00:00+01:00" });
    const res = await call(`/history/${sessionId}`, { cookie });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<li class="caption action action--ok">');
    expect(html).toContain('<span class="caption__who">Done</span>');
    expect(html).toContain("Task added: Call the &lt;dentist&gt; · <time");
    expect(html).toContain("08:00 UTC</time>");
    expect(html).toContain('<li class="caption action action--refused">');
    expect(html.match(/class="caption action /g)).toHaveLength(2);
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
