// The HTML the Worker serves (worker/pages): CSP-compatible markup, escaping, the history page.
import { describe, expect, it } from "vitest";
import type { ConversationEntry, TranscriptResponse } from "../../contract/index.ts";
import { renderChat, renderConversations, renderErrorPage, renderHistory, renderHome } from "../../web/pages/index.ts";

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

const ID = { summary: "SSSSSSSSSSSSSSSSSSSSSS", preview: "PPPPPPPPPPPPPPPPPPPPPP", empty: "EEEEEEEEEEEEEEEEEEEEEE" };
const ID_RUNNING = "RRRRRRRRRRRRRRRRRRRRRR";
/** One conversation of every kind: summarised (a resume), first lines only, nothing said, running. */
const entries: ConversationEntry[] = [
  {
    session_id: ID_RUNNING,
    profile: "assistant",
    status: "active",
    reason: null,
    started_at: t0 + 86_400_000,
    ended_at: null,
    summary: null,
    preview: "You: still talking",
    resumed_from: null,
  },
  {
    session_id: ID.summary,
    profile: "planner",
    status: "ended",
    reason: "stopped",
    started_at: t0,
    ended_at: t0 + 95_000,
    summary: 'You planned a <b>marathon</b> & "more" <script>alert(1)</script>',
    preview: "You: not shown when there is a summary",
    resumed_from: ID.preview,
  },
  {
    session_id: ID.preview,
    profile: "assistant",
    status: "ended",
    reason: "timeout",
    started_at: t0 - 3_600_000,
    ended_at: t0 - 3_600_000 + 3_725_000,
    summary: null,
    preview: "You: <img src=x onerror=alert(1)>\nAgent: hello",
    resumed_from: null,
  },
  {
    session_id: ID.empty,
    profile: "gone-profile",
    status: "ended",
    reason: "agent_unavailable",
    started_at: t0 - 7_200_000,
    ended_at: t0 - 7_200_000 + 12_000,
    summary: null,
    preview: null,
    resumed_from: null,
  },
];
const NAMES = { assistant: "Assistant", planner: "Planner" };

/** The `<li class="conversation">` of session `id` in `html`. */
function entryOf(html: string, id: string): string {
  const m = new RegExp(
    `<li class="conversation" data-session-id="${id}"[\\s\\S]*?</li>(?=<li class="conversation"|</ol>)`,
  ).exec(html);
  expect(m, `entry ${id}`).not.toBeNull();
  return m![0];
}

describe("pages", () => {
  const pages = {
    home: renderHome(),
    chat: renderChat(),
    history: renderHistory(transcript),
    conversations: renderConversations({
      conversations: entries,
      nextCursor: "Y3Vyc29y",
      retentionDays: 30,
      profileNames: NAMES,
    }),
    "conversations (none)": renderConversations({ conversations: [], nextCursor: null, retentionDays: 30 }),
    "chat (resume)": renderChat({
      profile: { id: "planner", name: "Planner", planner: true },
      resume: { ...transcript, summary: "An earlier <summary>" },
      last: entries[1],
    }),
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

  it("every page links to /history from its header", () => {
    for (const html of Object.values(pages)) {
      expect(html).toContain('<nav aria-label="Main"><a href="/chat">Talk</a><a href="/history">History</a></nav>');
    }
  });

  it("home states the privacy policy: what is kept, for how long, where to delete it", () => {
    const privacy = /<p class="privacy" id="privacy">([\s\S]*?)<\/p>/.exec(pages.home)![1]!;
    expect(privacy).toContain(
      "What is kept: the transcript of each conversation and a short summary of it, never the audio; your first " +
        "name if you give one, and your progress in lessons.",
    );
    expect(privacy).toContain("Conversations are deleted 30 days after they end.");
    expect(privacy).toContain(
      'You can delete one or all of them at any time in <a href="/history">your conversations</a>.',
    );
    expect(renderHome(1)).toContain("Conversations are deleted 1 day after they end.");
    expect(renderHome(365)).toContain("Conversations are deleted 365 days after they end.");
    expect(renderHome(0)).toContain("Conversations are kept until you delete them.");
  });

  it("home offers the deployment's other agents, each a link to /chat?agent=<id>, and no line without any", () => {
    const html = renderHome(30, [
      { id: "planner", name: "Planner" },
      { id: "tutor", name: "Tutor <b>" },
    ]);
    expect(/<p class="agents" id="agents">([\s\S]*?)<\/p>/.exec(html)![1]).toBe(
      'Or talk with: <a href="/chat?agent=planner">Planner</a> · <a href="/chat?agent=tutor">Tutor &lt;b&gt;</a>',
    );
    expect(renderHome(30)).not.toContain('id="agents"');
  });

  it("/history lists each conversation: date, length, profile, summary or first lines, how it ended, links", () => {
    const html = pages.conversations;
    expect(html).toContain("<title>Your conversations · Voice agent</title>");
    expect(html).toContain("<h1>Your conversations</h1>");
    expect(html).toContain(
      "Only you can see them. Conversations are deleted 30 days after they end. No audio is kept.",
    );
    // Newest first, as given.
    const order = [ID_RUNNING, ID.summary, ID.preview, ID.empty].map((id) => html.indexOf(`data-session-id="${id}"`));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!))).toBe(true);

    const summary = entryOf(html, ID.summary);
    expect(summary).toContain(
      `<h2 class="conversation__title"><a href="/history/${ID.summary}"><time datetime="2026-11-21T09:30:00.000Z">21 Nov 2026, 09:30 UTC</time></a></h2>`,
    );
    expect(summary).toContain(
      `<p class="conversation__meta"><span>Planner</span><span>1 min 35 s</span><span>ended by you</span><span>continues <a href="/history/${ID.preview}">an earlier conversation</a></span></p>`,
    );
    expect(summary).toContain(
      '<p class="conversation__summary">You planned a &lt;b&gt;marathon&lt;/b&gt; &amp; &quot;more&quot; &lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
    expect(summary).not.toContain("conversation__preview");
    expect(summary).toMatch(
      new RegExp(
        `<a class="btn" href="/history/${ID.summary}">Read<span class="visually-hidden"> the conversation of <time`,
      ),
    );
    expect(summary).toMatch(
      new RegExp(`<a class="btn btn--primary" href="/chat\\?resume=${ID.summary}">Continue<span`),
    );
    expect(summary).toMatch(
      new RegExp(
        `<form method="post" action="/history/${ID.summary}/delete"><button class="btn btn--danger" type="submit">Delete<span`,
      ),
    );

    const preview = entryOf(html, ID.preview);
    expect(preview).toContain(
      "<span>Assistant</span><span>1 h 02 min</span><span>ended after its time limit or inactivity</span></p>",
    );
    expect(preview).toContain(
      '<p class="conversation__preview">You: &lt;img src=x onerror=alert(1)&gt;\nAgent: hello</p>',
    );

    const empty = entryOf(html, ID.empty);
    // A profile without a display name (no longer in the registry) shows its id.
    expect(empty).toContain("<span>gone-profile</span><span>12 s</span><span>no agent joined</span></p>");
    expect(empty).toContain('<p class="conversation__empty">Nothing was said.</p>');

    const running = entryOf(html, ID_RUNNING);
    expect(running).toContain('data-status="active"');
    expect(running).toContain("<span>Assistant</span><span>in progress</span></p>");
    expect(running).toContain(`href="/history/${ID_RUNNING}">Read`);
    expect(running).not.toContain("/chat?resume=");
    expect(running).toContain(`action="/history/${ID_RUNNING}/delete"`);

    expect(html.match(/href="\/chat\?resume=/g)).toHaveLength(3);
    expect(html.match(/<form method="post" action="\/history\/[^/]+\/delete">/g)).toHaveLength(4);
  });

  it("/history pages on with the next cursor, links back to the newest from a later page, deletes all behind a <details>", () => {
    expect(pages.conversations).toContain(
      '<nav class="conversations__pages" aria-label="Pages"><a href="/history?cursor=Y3Vyc29y" rel="next">Older conversations</a></nav>',
    );
    expect(pages.conversations).toMatch(
      /<details class="delete-all">\n<summary>Delete all conversations<\/summary>\n<p>This deletes every one of your conversations[^<]*can't be undone.<\/p>\n<form method="post" action="\/history\/delete-all"><button class="btn btn--danger" type="submit">Yes, delete all my conversations<\/button><\/form>\n<\/details>/,
    );
    const last = renderConversations({
      conversations: entries.slice(0, 1),
      nextCursor: null,
      older: true,
      retentionDays: 0,
    });
    expect(last).toContain(
      '<nav class="conversations__pages" aria-label="Pages"><a href="/history">Newest conversations</a></nav>',
    );
    expect(last).not.toContain("Older conversations");
    expect(last).toContain("Conversations are kept until you delete them.");
    // One page only: no page links.
    const one = renderConversations({ conversations: entries, nextCursor: null, retentionDays: 30 });
    expect(one).not.toContain("conversations__pages");
  });

  it("/history without conversations says so and links to /chat, with nothing to delete", () => {
    const html = pages["conversations (none)"];
    expect(html).toContain("<p>No conversations yet.</p>");
    expect(html).toMatch(/<a class="btn btn--primary" href="\/chat">Start a conversation<\/a>/);
    expect(html).not.toContain("<form");
    expect(html).not.toContain("Delete all");
    expect(html).toContain("Conversations are deleted 30 days after they end.");
    const later = renderConversations({ conversations: [], nextCursor: null, older: true, retentionDays: 30 });
    expect(later).toContain("<p>No older conversations.</p>");
    expect(later).toContain('<a href="/history">Newest conversations</a>');
  });

  it("/chat?resume: the earlier captions above the live ones, its id in data-resume, its summary", () => {
    const html = pages["chat (resume)"];
    expect(html).toMatch(
      new RegExp(
        `<div class="chat" id="chat" data-phase="idle" data-profile="planner" data-profile-name="Planner" data-planner="true" data-resume="${transcript.session_id}">`,
      ),
    );
    expect(html).toContain("You&#39;re continuing an earlier conversation");
    const earlier = /<section class="earlier" id="earlier" aria-labelledby="earlier-title">([\s\S]*?)<\/section>/.exec(
      html,
    )![1]!;
    expect(earlier).toContain('<h2 id="earlier-title">Earlier in this conversation</h2>');
    expect(earlier).toContain(`<a class="transcript__link" href="/history/${transcript.session_id}">Transcript</a>`);
    expect(earlier).toContain('<p class="earlier__summary">An earlier &lt;summary&gt;</p>');
    expect(earlier).toContain('role="region" aria-label="Earlier in this conversation, scrollable" tabindex="0"');
    // The transcript page's items: same markup, same escaping, offsets from the earlier start.
    const items = [...earlier.matchAll(/<li class="caption [\s\S]*?<\/li>/g)].map((m) => m[0]);
    const history = [...pages.history.matchAll(/<li class="caption [\s\S]*?<\/li>/g)].map((m) => m[0]);
    expect(items).toHaveLength(3);
    expect(items).toEqual(history);
    expect(earlier).not.toContain("<script>alert(1)");
    // Above the live captions, which stay empty for the page script.
    expect(html.indexOf('id="earlier"')).toBeLessThan(html.indexOf('id="captions"'));
    expect(html).toContain(
      '<div class="captions__log" id="captions" role="log" aria-live="polite" aria-labelledby="captions-title"></div>',
    );

    const silent = renderChat({ resume: { ...transcript, events: [] } });
    expect(silent).toContain("Nothing was said in that conversation.");
    expect(silent).not.toContain("earlier__summary");
    expect(silent).not.toContain('role="region" aria-label="Earlier');
  });

  it("/chat without resume: no data-resume and no earlier list; a notice when asked", () => {
    expect(pages.chat).not.toContain("data-resume");
    expect(pages.chat).not.toContain('id="earlier"');
    expect(pages.chat).not.toContain('id="notice"');
    const refused = renderChat({ notice: "That conversation can't be continued." });
    expect(refused).toContain('<p class="notice" id="notice">That conversation can&#39;t be continued.</p>');
    expect(refused).not.toContain("data-resume");
    expect(refused).toContain("Press Start, allow the microphone");
  });

  it("/chat offers the last conversation (Continue once it ended), except the one it resumes", () => {
    const ended = renderChat({ last: entries[1] });
    expect(ended).toContain(
      `<p class="last-conversation" id="last-conversation">Your last conversation: <time datetime="2026-11-21T09:30:00.000Z">21 Nov 2026, 09:30 UTC</time> — <a href="/history/${ID.summary}">Read</a> · <a href="/chat?resume=${ID.summary}">Continue</a> · <a href="/history">All conversations</a></p>`,
    );
    const running = renderChat({ last: entries[0] });
    expect(running).toContain(
      `<a href="/history/${ID_RUNNING}">Read</a> · <a href="/history">All conversations</a></p>`,
    );
    expect(running).not.toContain("resume=");
    expect(pages.chat).not.toContain("last-conversation");
    expect(renderChat({ last: null })).not.toContain("last-conversation");
    // Resuming it: the page already is about it.
    const same = renderChat({ resume: transcript, last: { ...entries[1]!, session_id: transcript.session_id } });
    expect(same).not.toContain("last-conversation");
    expect(pages["chat (resume)"]).toContain('id="last-conversation"');
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

  it("history shows the summary, the conversation it continues, and Continue once it has ended", () => {
    const html = renderHistory({ ...transcript, summary: "About <dentists> & more", resumed_from: ID.preview });
    expect(html).toContain('<p class="history__summary">About &lt;dentists&gt; &amp; more</p>');
    expect(html).toContain(
      `<p class="history__resumed">This conversation continues <a href="/history/${ID.preview}">an earlier one</a>.</p>`,
    );
    expect(html).toContain(
      `<a class="btn btn--primary" href="/chat?resume=${transcript.session_id}">Continue this conversation</a>`,
    );
    expect(html).toContain('<a class="btn" href="/history">All conversations</a>');
    expect(pages.history).not.toContain("history__summary");
    expect(pages.history).not.toContain("history__resumed");
    const running = renderHistory({ ...transcript, status: "active", ended_at: null });
    expect(running).not.toContain("/chat?resume=");
    expect(running).toContain('<a class="btn btn--primary" href="/chat">Start a new conversation</a>');
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
