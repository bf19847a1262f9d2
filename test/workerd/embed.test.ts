// The embeddable widget's Worker side (issue #17, docs/widget.md): the panel `/embed/chat` may be framed only by
// ALLOWED_ORIGINS (test config: https://partner.example) and issues a partitioned SameSite=None cookie; the
// standalone pages keep `frame-ancestors 'none'` and their SameSite=Lax cookie; `/embed.js` serves the loader.
import { describe, expect, it } from "vitest";
import { call, expectError, newVisitor, startSession } from "./helpers.ts";

const PARTNER = "https://partner.example";
const panel = (query: string) => `/embed/chat?${query}`;

/** The `name=value` pair and the attributes of a `Set-Cookie` line. */
function parseCookie(line: string): { pair: string; attributes: string[] } {
  const [pair, ...attributes] = line.split(/;\s*/);
  return { pair: pair!, attributes };
}

/** The panel's partitioned visitor cookie pair, as a browser framing the panel under PARTNER would send it back. */
async function embeddedVisitor(): Promise<string> {
  const res = await call(panel(`agent=planner&host=${encodeURIComponent(PARTNER)}`));
  const [line] = res.headers.getSetCookie();
  return parseCookie(line!).pair;
}

describe("the panel /embed/chat", () => {
  it("may be framed by ALLOWED_ORIGINS only, with no X-Frame-Options, and is the chat page without the site's shell", async () => {
    const res = await call(panel(`agent=planner&host=${encodeURIComponent(PARTNER)}`));
    expect(res.status).toBe(200);
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toContain(`frame-ancestors ${PARTNER};`);
    expect(csp).not.toContain("frame-ancestors 'none'");
    // Everything else as strict as the standalone page's.
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(res.headers.get("X-Frame-Options")).toBeNull();
    const html = await res.text();
    expect(html).toContain(`data-profile="planner"`);
    expect(html).toContain(`data-embed-host="${PARTNER}"`);
    expect(html).toContain('<script type="module" src="/static/chat.js"></script>');
    expect(html).toContain('<script type="module" src="/static/embed-panel.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/static/embed-panel.css">');
    expect(html).not.toContain('class="site-header"');
    expect(html).not.toContain('class="site-footer"');
    // The dialog's title bar names the agent; the heading stays for screen readers.
    expect(html).toContain('<h1 class="visually-hidden">Talk with Planner</h1>');
  });

  it("issues a partitioned SameSite=None cookie (__Host-evid), not the standalone pages' Lax one", async () => {
    const res = await call(panel(`host=${encodeURIComponent(PARTNER)}`));
    const lines = res.headers.getSetCookie();
    expect(lines).toHaveLength(1);
    const { pair, attributes } = parseCookie(lines[0]!);
    expect(pair).toMatch(/^__Host-evid=[A-Za-z0-9_-]{22}\./);
    expect(attributes).toEqual(
      expect.arrayContaining(["Path=/", "Secure", "HttpOnly", "SameSite=None", "Partitioned"]),
    );
    expect(attributes.some((a) => /^Domain=/i.test(a))).toBe(false);
  });

  it.each([
    ["a host not in ALLOWED_ORIGINS", "https://evil.example"],
    ["no host", ""],
    ["the opaque origin", "null"],
  ])("refuses %s with a 403 page no one may frame", async (_, host) => {
    const res = await call(panel(`agent=planner${host ? `&host=${encodeURIComponent(host)}` : ""}`));
    expect(res.status).toBe(403);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(await res.text()).toContain("This site may not embed the voice agent.");
    // No partitioned cookie for a page that may not embed the panel.
    expect(res.headers.getSetCookie().join("\n")).not.toMatch(/evid|Partitioned/);
  });

  it("is a 404 page for an unknown agent, like /chat", async () => {
    const res = await call(panel(`agent=nope&host=${encodeURIComponent(PARTNER)}`));
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("There is no agent by that name to talk with here.");
  });

  it("keeps the visitor of the partitioned cookie across requests, and the Lax cookie wins when both come", async () => {
    const embedded = await embeddedVisitor();
    // The panel's own API call (same origin inside the frame): the partitioned cookie names the visitor.
    const { sessionId } = await startSession(embedded);
    expect((await call(`/transcripts/${sessionId}`, { cookie: embedded })).status).toBe(200);
    // No new cookie for a request that came with a valid partitioned one.
    expect((await call("/health", { cookie: embedded })).headers.getSetCookie()).toEqual([]);
    // The standalone visitor is another one: the same conversation is not theirs.
    const standalone = await newVisitor();
    await expectError(await call(`/transcripts/${sessionId}`, { cookie: standalone }), 403, "forbidden");
    await expectError(
      await call(`/transcripts/${sessionId}`, { cookie: `${standalone}; ${embedded}` }),
      403,
      "forbidden",
    );
  });

  it("the name step posts back to the panel, keeping its host", async () => {
    const cookie = await embeddedVisitor();
    const page = await (await call(panel(`agent=tutor&host=${encodeURIComponent(PARTNER)}`), { cookie })).text();
    expect(page).toContain('id="name-step"');
    expect(page).toContain(`<input type="hidden" name="host" value="${PARTNER}">`);
    const form = new URLSearchParams({ name: "Ada", agent: "tutor", host: PARTNER });
    const res = await call("/chat/name", { method: "POST", body: form, cookie, redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe(`/embed/chat?agent=tutor&host=${encodeURIComponent(PARTNER)}`);
    const after = await (await call(res.headers.get("Location")!, { cookie })).text();
    expect(after).toContain("Hi Ada");
    expect(after).toContain(`href="/embed/chat?agent=tutor&amp;host=${encodeURIComponent(PARTNER)}&amp;name=edit"`);
    // A host that may not embed is dropped: back to the standalone page.
    const evil = new URLSearchParams({ skip: "1", agent: "tutor", host: "https://evil.example" });
    const back = await call("/chat/name", { method: "POST", body: evil, cookie, redirect: "manual" });
    expect(back.headers.get("Location")).toBe("/chat?agent=tutor");
  });
});

describe("the standalone pages", () => {
  it.each(["/", "/chat", "/chat?agent=planner", "/history"])(
    "%s may not be framed and issues the Lax cookie",
    async (path) => {
      const res = await call(path);
      expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
      const [line] = res.headers.getSetCookie();
      expect(parseCookie(line!).attributes).toContain("SameSite=Lax");
      expect(line).not.toMatch(/Partitioned|SameSite=None/);
    },
  );
});

describe("/embed.js", () => {
  it("serves the loader as JavaScript, cached for 5 minutes, with no cookie", async () => {
    const res = await call("/embed.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/javascript/);
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=300");
    expect(res.headers.getSetCookie()).toEqual([]);
    const js = await res.text();
    expect(js).toContain("/embed/chat?");
    expect(js).toContain("microphone; autoplay");
  });
});
