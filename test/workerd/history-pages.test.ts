/**
 * The HTML side of conversations that last (#14) through the real Worker and Durable Object storage: `/history`
 * (the visitor's list, page links, a bad cursor as an HTML 400), its delete forms (`POST /history/{id}/delete`,
 * `POST /history/delete-all`: 303 back to the list, the conversation gone; refused from another origin and for
 * another visitor's conversation), `/chat?resume=<id>` (the earlier captions and `data-resume` for the owner's ended
 * conversation only; a friendly notice otherwise) and the last conversation offered on `/chat`, and the home page's
 * retention line. Summaries come from the fake OpenAI of fake-livekit.ts (a paid API). The rendering itself is tested
 * in test/web/pages.test.ts.
 */
import { describe, expect, it } from "vitest";
import { call, finalEvent, ingest, lifecycle, newVisitor, ORIGIN, startSession } from "./helpers.ts";

async function stop(cookie: string, sessionId: string) {
  expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
}

/** A conversation that ran and ended: the agent joined, `said` went back and forth, then Stop. */
async function conversation(cookie: string, said: [role: "user" | "agent", text: string][] = []) {
  const { sessionId } = await startSession(cookie);
  const job = { jobId: `AJ_${sessionId}` };
  const events = [lifecycle("agent_joined"), ...said.map(([role, text]) => finalEvent(text, role))];
  expect((await ingest(sessionId, events, job)).status).toBe(200);
  expect((await ingest(sessionId, [lifecycle("agent_left")], job)).status).toBe(200);
  await stop(cookie, sessionId);
  return sessionId;
}

/** A page as the browser gets it: status, type and body. */
async function page(path: string, cookie: string, init: RequestInit = {}) {
  const res = await call(path, { cookie, ...init });
  return {
    status: res.status,
    type: res.headers.get("Content-Type"),
    location: res.headers.get("Location"),
    body: await res.text(),
  };
}

/** A form post from the site's own page (browsers send `Origin` with form posts). */
function formPost(path: string, cookie: string, origin = ORIGIN) {
  return page(path, cookie, {
    method: "POST",
    redirect: "manual",
    headers: { Origin: origin, "Content-Type": "application/x-www-form-urlencoded" },
    body: "",
  });
}

/** The session ids `/history` lists, in order. */
const listed = (html: string) =>
  [...html.matchAll(/<li class="conversation" data-session-id="([^"]+)"/g)].map((m) => m[1]);

describe("/history", () => {
  it("lists the visitor's conversations newest first, with their first lines, and no one else's", async () => {
    const alice = await newVisitor();
    const first = await conversation(alice, [["user", "plan a <b>trip</b> to Rome"]]);
    const second = await conversation(alice);
    await conversation(await newVisitor(), [["user", "not alice"]]);

    const res = await page("/history", alice);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/html/);
    expect(listed(res.body)).toEqual([second, first]);
    // Its summary (made by the fake OpenAI at the end), or its first lines until there is one: escaped either way.
    expect(res.body).toMatch(/<p class="conversation__(summary|preview)">[^<]*plan a &lt;b&gt;trip&lt;\/b&gt; to Rome/);
    expect(res.body).toContain('<p class="conversation__empty">Nothing was said.</p>');
    expect(res.body).toContain("<span>Assistant</span>");
    expect(res.body).toContain(`href="/chat?resume=${first}"`);
    expect(res.body).toContain(`action="/history/${first}/delete"`);
    expect(res.body).toContain("Conversations are deleted 30 days after they end.");
    expect(res.body).not.toContain("not alice");
    expect(res.body).not.toContain("Older conversations");

    const none = await page("/history", await newVisitor());
    expect(none.status).toBe(200);
    expect(none.body).toContain("No conversations yet.");
  });

  it("a running conversation is listed without Continue", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const { body } = await page("/history", cookie);
    expect(listed(body)).toEqual([sessionId]);
    expect(body).toContain("<span>in progress</span>");
    expect(body).not.toContain("/chat?resume=");
  });

  it("a cursor that is not one of ours is the HTML 400 page", async () => {
    const cookie = await newVisitor();
    for (const cursor of ["not-a-cursor", "%%%", "a".repeat(100)]) {
      const res = await page(`/history?cursor=${encodeURIComponent(cursor)}`, cookie);
      expect(res.status).toBe(400);
      expect(res.type).toMatch(/^text\/html/);
      expect(res.body).toContain("That page of conversations doesn&#39;t exist.");
    }
  });
});

describe("POST /history/{id}/delete and /history/delete-all", () => {
  it("deletes one conversation and goes back to the list (303); sent again, it still goes back", async () => {
    const cookie = await newVisitor();
    const keep = await conversation(cookie, [["user", "keep me"]]);
    const gone = await conversation(cookie, [["user", "delete me"]]);
    const res = await formPost(`/history/${gone}/delete`, cookie);
    expect({ status: res.status, location: res.location }).toEqual({ status: 303, location: "/history" });
    expect(listed((await page("/history", cookie)).body)).toEqual([keep]);
    expect((await page(`/history/${gone}`, cookie)).status).toBe(404);
    expect((await call(`/transcripts/${gone}`, { cookie })).status).toBe(404);
    // The form sent twice (back button): nothing left to delete, back to the list all the same.
    expect((await formPost(`/history/${gone}/delete`, cookie)).status).toBe(303);
    expect((await formPost("/history/nope/delete", cookie)).status).toBe(303);
  });

  it("refuses another visitor's conversation with the 403 page, and leaves it", async () => {
    const alice = await newVisitor();
    const hers = await conversation(alice, [["user", "mine"]]);
    const res = await formPost(`/history/${hers}/delete`, await newVisitor());
    expect(res.status).toBe(403);
    expect(res.type).toMatch(/^text\/html/);
    expect(listed((await page("/history", alice)).body)).toEqual([hers]);
  });

  it("refuses a form posted from another site (the origin check)", async () => {
    const cookie = await newVisitor();
    const id = await conversation(cookie);
    for (const path of [`/history/${id}/delete`, "/history/delete-all"]) {
      const res = await formPost(path, cookie, "https://evil.example");
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: "origin_not_allowed" } });
      const opaque = await formPost(path, cookie, "null");
      expect(opaque.status).toBe(403);
    }
    expect(listed((await page("/history", cookie)).body)).toEqual([id]);
  });

  it("deletes all the visitor's conversations, the running one too, and no one else's", async () => {
    const cookie = await newVisitor();
    const other = await newVisitor();
    const ended = await conversation(cookie, [["user", "one"]]);
    const { sessionId: running } = await startSession(cookie);
    const theirs = await conversation(other, [["user", "theirs"]]);
    const res = await formPost("/history/delete-all", cookie);
    expect({ status: res.status, location: res.location }).toEqual({ status: 303, location: "/history" });
    const after = await page("/history", cookie);
    expect(listed(after.body)).toEqual([]);
    expect(after.body).toContain("No conversations yet.");
    for (const id of [ended, running]) expect((await call(`/transcripts/${id}`, { cookie })).status).toBe(404);
    expect(listed((await page("/history", other)).body)).toEqual([theirs]);
  });
});

describe("/chat?resume=<id> and the last conversation", () => {
  it("the owner's ended conversation: its captions above the live ones, data-resume, its profile", async () => {
    const cookie = await newVisitor();
    const id = await conversation(cookie, [
      ["user", "remind me about the <dentist>"],
      ["agent", "Sure, when?"],
    ]);
    // `agent` is ignored: the earlier conversation's profile is the page's.
    const res = await page(`/chat?resume=${id}&agent=planner`, cookie);
    expect(res.status).toBe(200);
    expect(res.body).toContain(`data-profile="assistant" data-profile-name="Assistant" data-resume="${id}">`);
    expect(res.body).toContain('<h2 id="earlier-title">Earlier in this conversation</h2>');
    expect(res.body).toContain("remind me about the &lt;dentist&gt;");
    expect(res.body).toContain("Sure, when?");
    expect(res.body).not.toContain('id="notice"');
    expect(res.body.indexOf("remind me about")).toBeLessThan(res.body.indexOf('id="captions"'));
  });

  it("someone else's, a running one, an unknown one: the ordinary page with a notice, no data-resume", async () => {
    const alice = await newVisitor();
    const hers = await conversation(alice, [["user", "private words"]]);
    const bob = await newVisitor();
    const { sessionId: running } = await startSession(bob);
    for (const id of [hers, running, "C".repeat(22), "nope"]) {
      const res = await page(`/chat?resume=${id}`, bob);
      expect(res.status).toBe(200);
      expect(res.body).toContain('<p class="notice" id="notice">That conversation can&#39;t be continued.</p>');
      expect(res.body).not.toContain("data-resume");
      expect(res.body).not.toContain('id="earlier"');
      expect(res.body).not.toContain("private words");
    }
    // With `agent`, that profile's page.
    expect((await page(`/chat?resume=${hers}&agent=planner`, bob)).body).toContain('data-profile="planner"');
  });

  it("after Stop, a reload of /chat still offers the last conversation", async () => {
    const cookie = await newVisitor();
    expect((await page("/chat", cookie)).body).not.toContain("last-conversation");
    const { sessionId } = await startSession(cookie);
    const running = (await page("/chat", cookie)).body;
    expect(running).toContain(`Your last conversation: <time`);
    expect(running).toContain(`<a href="/history/${sessionId}">Read</a> · <a href="/history">`);
    await stop(cookie, sessionId);
    const ended = (await page("/chat", cookie)).body;
    expect(ended).toContain(
      `<a href="/history/${sessionId}">Read</a> · <a href="/chat?resume=${sessionId}">Continue</a>`,
    );
    expect((await page("/chat", await newVisitor())).body).not.toContain("last-conversation");
  });

  it("the home page states the retention", async () => {
    const { body } = await page("/", await newVisitor());
    expect(body).toContain("your progress in lessons. Conversations are deleted 30 days after they end.");
    expect(body).toContain('<a href="/history">your conversations</a>');
  });
});
