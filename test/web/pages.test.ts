// The HTML the Worker serves (worker/pages): CSP-compatible markup, escaping, the history page.
import { describe, expect, it } from "vitest";
import type { TranscriptResponse } from "../../contract/index.ts";
import { renderChat, renderErrorPage, renderHistory, renderHome } from "../../web/pages/index.ts";

const t0 = Date.UTC(2026, 10, 21, 9, 30, 0);
const transcript: TranscriptResponse = {
  session_id: "AAAAAAAAAAAAAAAAAAAAAA",
  room: "room-1",
  status: "ended",
  reason: "stopped",
  started_at: t0,
  ended_at: t0 + 95_000,
  events: [
    { role: "user", event: "speech_started", seq: 1, ts: t0 + 1000 },
    { role: "user", text: "go forward ten meters", final: true, seq: 3, ts: t0 + 4000 },
    { role: "agent", text: 'Sure <b>&</b> "done" <script>alert(1)</script>', final: true, seq: 4, ts: t0 + 65_000 },
  ],
};

/** Markup the CSP (`script-src 'self'; style-src 'self'`) would block. */
function cspViolations(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    const attrs = m[1] ?? "";
    if (!/\bsrc="\/static\//.test(attrs) && !/type="application\/json"/.test(attrs))
      found.push(`inline script: ${m[0].slice(0, 60)}`);
  }
  // Only real tags count: escaped text (`&lt;img onerror=…`) is harmless.
  for (const [tag] of html.matchAll(/<[a-z][^>]*>/gi)) {
    if (/^<style\b/i.test(tag)) found.push("<style> element");
    if (/\sstyle\s*=/i.test(tag)) found.push(`style attribute: ${tag}`);
    if (/\son[a-z]+\s*=/i.test(tag)) found.push(`event handler attribute: ${tag}`);
    if (/javascript:/i.test(tag)) found.push(`javascript: URL: ${tag}`);
  }
  return found;
}

describe("pages", () => {
  const pages = {
    home: renderHome(),
    chat: renderChat(),
    history: renderHistory(transcript),
    error: renderErrorPage(404, "There is no conversation at this address."),
  };

  for (const [name, html] of Object.entries(pages)) {
    it(`${name}: a complete document with nothing the CSP blocks`, () => {
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(html).toContain('<html lang="en">');
      expect(html).toContain('name="viewport"');
      expect(html).toContain('href="/static/chat.css"');
      expect(cspViolations(html)).toEqual([]);
    });
  }

  it("home links into /chat", () => {
    expect(pages.home).toMatch(/<a [^>]*href="\/chat"[^>]*>Start a conversation<\/a>/);
  });

  it("chat has Start, a role=log caption region, a status region, and loads the page script", () => {
    const html = pages.chat;
    expect(html).toContain('<script type="module" src="/static/chat.js"></script>');
    expect(html).toMatch(/<button [^>]*id="start"[^>]*>Start<\/button>/);
    expect(html).toMatch(/<div [^>]*id="captions" role="log" aria-live="polite"/);
    expect(html).toMatch(/role="status"/);
    expect(html).toMatch(/id="alert" role="alert" hidden/);
  });

  it("history shows the finals in order, with offsets from the start, and escapes their text", () => {
    const html = pages.history;
    expect(html).toContain("go forward ten meters");
    expect(html.indexOf("go forward ten meters")).toBeLessThan(html.indexOf("Sure"));
    expect(html).toContain("Sure &lt;b&gt;&amp;&lt;/b&gt; &quot;done&quot; &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain(">0:04</time>");
    expect(html).toContain(">1:05</time>");
    expect(html).toContain("21 Nov 2026, 09:30 UTC");
    expect(html).toContain("ended by you");
    expect(html).toContain("<dd>1:35</dd>");
    // Speech events mark timing only: no empty caption for them.
    expect(html.match(/class="caption /g)).toHaveLength(2);
  });

  it("history of a running session with nothing said", () => {
    const html = renderHistory({ ...transcript, status: "active", reason: undefined, ended_at: null, events: [] });
    expect(html).toContain("Nothing was said in this conversation.");
    expect(html).toContain("in progress");
    const replacing = renderHistory({ ...transcript, status: "reconnecting", ended_at: null, events: [] });
    expect(replacing).toContain("in progress (reconnecting the agent)");
  });

  it("error pages escape the message and name the status", () => {
    const html = renderErrorPage(403, '<img src=x onerror="alert(1)">');
    expect(html).toContain("This page isn&#39;t available to you");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(cspViolations(html)).toEqual([]);
    expect(renderErrorPage(500, "boom")).toContain("Something went wrong");
  });
});
