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
    { role: "user", text: "and <i>typed</i> too", final: true, typed: true, seq: 5, ts: t0 + 70_000 },
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

  it("history marks a typed turn as typed, and only that one", () => {
    const items = [...pages.history.matchAll(/<li class="caption caption--user([^"]*)">[\s\S]*?<\/li>/g)];
    expect(items.map((m) => [m[1], /go forward|typed/.exec(m[0])?.[0]])).toEqual([
      ["", "go forward"],
      [" caption--typed", "typed"],
    ]);
    expect(pages.history).toContain("and &lt;i&gt;typed&lt;/i&gt; too");
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
    expect(html.match(/class="caption /g)).toHaveLength(3);
  });

  it("chat names the profile it talks with, and has the plan panel only for a planner profile", () => {
    const planner = renderChat({ profile: { id: "planner", name: "Planner <Pat>", planner: true } });
    expect(planner).toContain("<title>Talk with Planner &lt;Pat&gt; · Voice agent</title>");
    expect(planner).toContain("<h1>Talk with Planner &lt;Pat&gt;</h1>");
    expect(planner).toMatch(
      /<div class="chat" id="chat" data-phase="idle" data-profile="planner" data-profile-name="Planner &lt;Pat&gt;" data-planner="true">/,
    );
    expect(planner).toMatch(
      /<section class="plan" id="plan" aria-labelledby="plan-title">\n<h2 id="plan-title">Your plan<\/h2>/,
    );
    for (const id of ["plan-note", "plan-goals", "plan-tasks"]) expect(planner).toContain(`id="${id}"`);
    expect(cspViolations(planner)).toEqual([]);

    const assistant = renderChat({ profile: { id: "assistant", name: "Assistant", planner: false } });
    expect(assistant).toContain("<h1>Talk with Assistant</h1>");
    expect(assistant).toContain('data-profile="assistant" data-profile-name="Assistant">');
    expect(assistant).not.toContain("data-planner");
    expect(assistant).not.toContain('id="plan"');
    // No profile named: the page as before.
    expect(pages.chat).toContain("<h1>Talk with the agent</h1>");
    expect(pages.chat).not.toContain("data-profile");
  });

  it("history shows the agent's actions as cards among the finals, due times in UTC", () => {
    const action = {
      type: "action" as const,
      intent: "NEW_TASK",
      arguments: {},
      ts: t0 + 30_000,
    };
    const html = renderHistory({
      ...transcript,
      events: [
        transcript.events[1]!,
        {
          ...action,
          call_id: "c1",
          status: "ok",
          message: "Task added: Call the <dentist>",
          result: { task: { id: "task_1", title: "Call the <dentist>", due: "2026-11-24T09:00:00+01:00" } },
          seq: 4,
        },
        {
          ...action,
          call_id: "c2",
          intent: "RESCHEDULE_TASK",
          status: "ambiguous",
          message: 'Which task: "Call mum" or "Call dad"?',
          result: {
            candidates: [
              { id: "task_2", title: "Call mum", due: "2026-12-24T18:00:00Z" },
              { id: "task_3", title: "Call dad", due: null },
            ],
          },
          seq: 5,
        },
        { ...action, call_id: "c3", status: "refused", message: 'No task matches "gym".', seq: 6 },
        transcript.events[2]!,
      ],
    });
    expect(cspViolations(html)).toEqual([]);
    const cards = html
      .split('<li class="caption ')
      .map((item) => /^action action--(\w+)">([\s\S]*)$/.exec(item))
      .filter((m) => m !== null);
    expect(cards.map((c) => c[1])).toEqual(["ok", "ambiguous", "refused"]);
    // In seq order with the captions.
    expect(html.indexOf("go forward ten meters")).toBeLessThan(html.indexOf("Task added"));
    expect(html.indexOf("No task matches")).toBeLessThan(html.indexOf("Sure"));
    expect(cards[0]![2]).toContain('<span class="caption__who">Done</span><time class="caption__time"');
    expect(cards[0]![2]).toContain(
      'Task added: Call the &lt;dentist&gt; · <time datetime="2026-11-24T09:00:00+01:00">Tue 08:00 UTC</time>',
    );
    expect(cards[1]![2]).toContain('<span class="caption__who">Which one?</span>');
    expect(cards[1]![2]).toContain(
      '<ul class="action__choices"><li>Call mum · <time datetime="2026-12-24T18:00:00Z">Thu 24 Dec, 18:00 UTC</time></li><li>Call dad</li></ul>',
    );
    expect(cards[2]![2]).toContain('<span class="caption__who">Not done</span>');
    expect(cards[2]![2]).toContain("No task matches &quot;gym&quot;.");
    expect(html.match(/class="caption /g)).toHaveLength(5);
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
