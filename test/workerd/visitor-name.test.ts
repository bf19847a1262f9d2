/**
 * The visitor's first name (#15, the name form) through the real Worker and Durable Object storage: `GET`/`PUT
 * /visitor/name` (validation 400s, set, skip, change, forget, per-visitor isolation, the origin check), the page's
 * name step (`/chat` on a profile with `ask_name`, `?name=edit`, `POST /chat/name`: 303 back, the page again with the
 * typed value and why on a refused name, refused from another site), and where the name goes: the participant's name
 * on the LiveKit token, the dispatch metadata's `visitor_name` as the fake LiveKit receives it, the conversation's
 * list entry, `/history` and the transcript page. It is never logged. The rendering itself is tested in
 * test/web/name-step.test.ts.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { TokenVerifier } from "livekit-server-sdk";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ConversationsResponse,
  SessionCreateResponse,
  TokenResponse,
  VISITOR_NAME_MAX,
  VisitorNameResponse,
} from "../../contract/index.ts";
import { visitorStub } from "../../worker/sessions.ts";
import { startWith } from "./action-helpers.ts";
import {
  call,
  expectError,
  finalEvent,
  ingest,
  lifecycle,
  dispatches,
  newVisitor,
  ORIGIN,
  sendWebhook,
} from "./helpers.ts";

afterEach(() => vi.restoreAllMocks());

const json = { "Content-Type": "application/json" };

/** The visitor id in a `__Host-vid=<id>.<signature>` cookie pair. */
const visitorIdOf = (cookie: string) => /^__Host-vid=([^.]+)\./.exec(cookie)![1]!;

/** `GET /visitor/name` as `cookie`, checked against the contract. */
async function getName(cookie: string): Promise<VisitorNameResponse> {
  const res = await call("/visitor/name", { cookie });
  expect(res.status).toBe(200);
  return VisitorNameResponse.parse(await res.json());
}

/** `PUT /visitor/name` with `body` (JSON-encoded unless a string) as `cookie`. */
function putName(cookie: string, body: unknown, headers: Record<string, string> = json): Promise<Response> {
  return call("/visitor/name", {
    method: "PUT",
    cookie,
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Sets the name and checks the 200 answer. */
async function setName(cookie: string, name: string | null): Promise<VisitorNameResponse> {
  const res = await putName(cookie, { name });
  expect(res.status, await res.clone().text()).toBe(200);
  return VisitorNameResponse.parse(await res.json());
}

/** A page as the browser gets it. */
async function page(path: string, cookie: string, init: RequestInit = {}) {
  const res = await call(path, { cookie, redirect: "manual", ...init });
  return {
    status: res.status,
    type: res.headers.get("Content-Type"),
    location: res.headers.get("Location"),
    body: await res.text(),
  };
}

/** The name step's form post, from the site's own page unless `origin` says otherwise. */
function postNameForm(cookie: string, fields: Record<string, string>, origin = ORIGIN) {
  return page("/chat/name", cookie, {
    method: "POST",
    headers: { Origin: origin, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
}

/** The claims of a token from `GET /token` (`query` after `identity=visitor`), verified like LiveKit does. */
async function tokenClaims(cookie: string, query = "") {
  const res = await call(`/token?identity=visitor${query}`, { cookie });
  expect(res.status).toBe(200);
  const { token } = TokenResponse.parse(await res.json());
  return new TokenVerifier(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET).verify(token);
}

/** `GET /conversations` as `cookie`, checked against the contract. */
async function conversations(cookie: string) {
  const res = await call("/conversations", { cookie });
  expect(res.status).toBe(200);
  return ConversationsResponse.parse(await res.json()).conversations;
}

/** A tutor conversation in which the visitor says `said`, then Stop. */
async function tutorConversation(cookie: string, said: string) {
  const { room, sessionId, jobId } = await startWith(cookie, { profile: "tutor" });
  expect((await ingest(sessionId, [finalEvent(said)], { jobId })).status).toBe(200);
  expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
  return { room, sessionId };
}

describe("GET and PUT /visitor/name", () => {
  it("starts unasked; sets a name (trimmed, inner spaces made one), changes it, skips, and forgets it", async () => {
    const cookie = await newVisitor();
    expect(await getName(cookie)).toEqual({ name: null, asked: false });
    expect(await setName(cookie, "Alice")).toEqual({ name: "Alice", asked: true });
    expect(await getName(cookie)).toEqual({ name: "Alice", asked: true });
    expect(await setName(cookie, "  Jean-Luc   O'Brien ")).toEqual({ name: "Jean-Luc O'Brien", asked: true });
    expect(await setName(cookie, "Zoë")).toEqual({ name: "Zoë", asked: true });
    expect(await setName(cookie, "李")).toEqual({ name: "李", asked: true });
    expect(await getName(cookie)).toEqual({ name: "李", asked: true });
    expect(await setName(cookie, null)).toEqual({ name: null, asked: true });
    expect(await getName(cookie)).toEqual({ name: null, asked: true });
    expect(await setName(cookie, "Alice")).toEqual({ name: "Alice", asked: true });
  });

  it("refuses markup, too long, digits, symbols, empty and non-strings with 400, changing nothing", async () => {
    const cookie = await newVisitor();
    await setName(cookie, "Alice");
    const bad: [unknown, string][] = [
      ["<b>Bob</b>", "letters"],
      ["Bob<script>alert(1)</script>", "letters"],
      ["A".repeat(VISITOR_NAME_MAX + 1), `at most ${VISITOR_NAME_MAX} characters`],
      ["R2D2", "letters"],
      ["Bob!", "letters"],
      ["Bob\u0000", "letters"],
      ["-Bob", "letters"],
      ["", "empty"],
      ["    ", "empty"],
      [42, "name"],
      [true, "name"],
      [["Bob"], "name"],
      [{ first: "Bob" }, "name"],
    ];
    for (const [name, says] of bad) {
      const body = await expectError(await putName(cookie, { name }), 400, "invalid_request");
      expect(body.error.message, JSON.stringify(name)).toMatch(/^name: /);
      expect(body.error.message).toContain(says);
      expect(body.error.message).not.toContain("Bob");
    }
    await expectError(await putName(cookie, {}), 400, "invalid_request");
    await expectError(await putName(cookie, { name: "Bob", extra: 1 }), 400, "invalid_request");
    await expectError(await putName(cookie, "{not json"), 400, "invalid_json");
    await expectError(await putName(cookie, { name: "Bob" }, { "Content-Type": "text/plain" }), 415);
    await expectError(await putName(cookie, { name: "B".repeat(4000) }), 413, "payload_too_large");
    expect(await getName(cookie)).toEqual({ name: "Alice", asked: true });
  });

  it("keeps each visitor's name to that visitor", async () => {
    const alice = await newVisitor();
    const bob = await newVisitor();
    await setName(alice, "Alice");
    expect(await getName(bob)).toEqual({ name: null, asked: false });
    await setName(bob, null);
    expect(await getName(alice)).toEqual({ name: "Alice", asked: true });
    expect(await getName(bob)).toEqual({ name: null, asked: true });
  });

  it("refuses another origin (403 origin_not_allowed); an allowed partner's preflight may PUT", async () => {
    const cookie = await newVisitor();
    const res = await putName(cookie, { name: "Mallory" }, { ...json, Origin: "https://evil.example" });
    await expectError(res, 403, "origin_not_allowed");
    expect(await getName(cookie)).toEqual({ name: null, asked: false });
    const preflight = await call("/visitor/name", {
      method: "OPTIONS",
      headers: {
        Origin: "https://partner.example",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type",
      },
    });
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("https://partner.example");
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toContain("PUT");
  });

  it("is kept when the visitor's last session slot is released (their object forgets only the slots)", async () => {
    const cookie = await newVisitor();
    await setName(cookie, null);
    const visitor = visitorStub(env, visitorIdOf(cookie));
    const now = Date.now();
    expect(await visitor.reserve("a-session", 1, now, now + 60_000)).toBe(true);
    await visitor.release("a-session");
    expect(await getName(cookie)).toEqual({ name: null, asked: true });
    await setName(cookie, "Alice");
    expect(await visitor.reserveSession("b-session", 1, now, now + 60_000)).toEqual({ reserved: true, name: "Alice" });
    expect(await visitor.reserveSession("c-session", 1, now, now + 60_000)).toEqual({ reserved: false, name: "Alice" });
    await visitor.release("b-session");
    expect(await getName(cookie)).toEqual({ name: "Alice", asked: true });
  });
});

describe("the name step: /chat and POST /chat/name", () => {
  it("asks a new visitor on a profile with ask_name, with Start hidden; not on one without", async () => {
    const cookie = await newVisitor();
    const tutor = await page("/chat?agent=tutor", cookie);
    expect(tutor.status).toBe(200);
    expect(tutor.body).toContain('<form class="name-step" id="name-step" method="post" action="/chat/name"');
    expect(tutor.body).toContain('<input type="hidden" name="agent" value="tutor">');
    expect(tutor.body).toMatch(/<input [^>]*id="name-input" name="name"[^>]*maxlength="40" autocomplete="given-name"/);
    expect(tutor.body).toContain('<div class="controls" hidden>');
    expect(tutor.body).toContain('id="start"');
    const assistant = await page("/chat", cookie);
    expect(assistant.body).not.toContain('id="name-step"');
    expect(assistant.body).toContain('<div class="controls">');
    expect(assistant.body).not.toContain('id="visitor-greeting"');
  });

  it("stores the name and answers 303 back to the profile's page, which greets by name and offers a change", async () => {
    const cookie = await newVisitor();
    const res = await postNameForm(cookie, { name: "  Alice ", agent: "tutor" });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/chat?agent=tutor");
    expect(await getName(cookie)).toEqual({ name: "Alice", asked: true });
    const after = await page("/chat?agent=tutor", cookie);
    expect(after.body).not.toContain('id="name-step"');
    expect(after.body).toContain('<div class="controls">');
    expect(after.body).toContain(
      '<p class="visitor-greeting" id="visitor-greeting">Hi Alice · <a href="/chat?agent=tutor&amp;name=edit">Change name</a></p>',
    );
    // Every profile's page greets by the name, and ?name=edit shows the step with it.
    expect((await page("/chat?agent=planner", cookie)).body).toContain("Hi Alice · ");
    const edit = await page("/chat?agent=tutor&name=edit", cookie);
    expect(edit.body).toMatch(/id="name-input" name="name" type="text" value="Alice"/);
    expect(edit.body).toContain(">Forget my name</button>");
    expect(edit.body).toContain('<a href="/chat?agent=tutor">Keep my name as it is</a>');
    expect(edit.body).toContain('<div class="controls" hidden>');
    // A change, then forgetting it (the Skip button, which also sends the typed text).
    expect((await postNameForm(cookie, { name: "Alicia", agent: "tutor" })).status).toBe(303);
    expect(await getName(cookie)).toEqual({ name: "Alicia", asked: true });
    expect((await postNameForm(cookie, { name: "Alicia", skip: "1", agent: "tutor" })).status).toBe(303);
    expect(await getName(cookie)).toEqual({ name: null, asked: true });
  });

  it("Skip: no name, not asked again, 'Add your name' instead", async () => {
    const cookie = await newVisitor();
    const res = await postNameForm(cookie, { name: "", skip: "1", agent: "tutor" });
    expect(res.status).toBe(303);
    expect(await getName(cookie)).toEqual({ name: null, asked: true });
    const after = await page("/chat?agent=tutor", cookie);
    expect(after.body).not.toContain('id="name-step"');
    expect(after.body).toContain('<a href="/chat?agent=tutor&amp;name=edit">Add your name</a>');
    expect((await page("/chat", cookie)).body).not.toContain('id="visitor-greeting"');
  });

  it("a refused name: the page again (400) with the name step, the typed value (escaped) and why; nothing stored", async () => {
    const cookie = await newVisitor();
    const cases: [string, string][] = [
      ['<img src=x onerror="alert(1)">', "Use letters for your first name"],
      ["R2D2", "Use letters for your first name"],
      ["A".repeat(41), "at most 40 characters"],
      ["   ", "Type your first name, or choose Skip."],
    ];
    for (const [typed, says] of cases) {
      const res = await postNameForm(cookie, { name: typed, agent: "tutor" });
      expect(res.status).toBe(400);
      expect(res.type).toMatch(/^text\/html/);
      expect(res.body).toContain('id="name-step"');
      expect(res.body).toContain('<div class="controls" hidden>');
      expect(res.body).toContain('aria-invalid="true" aria-describedby="name-error"');
      expect(res.body).toContain(says);
      expect(res.body).not.toContain("<img src=x");
    }
    const markup = await postNameForm(cookie, { name: "<b>Bo</b>", agent: "tutor" });
    expect(markup.body).toContain('value="&lt;b&gt;Bo&lt;/b&gt;"');
    expect(await getName(cookie)).toEqual({ name: null, asked: false });
  });

  it("goes back to the conversation being resumed; an odd agent or resume goes back to /chat", async () => {
    const cookie = await newVisitor();
    const id = "AbCdEfGhIjKlMnOpQrStUv";
    expect((await postNameForm(cookie, { name: "Al", agent: "tutor", resume: id })).location).toBe(
      `/chat?resume=${id}`,
    );
    expect((await postNameForm(cookie, { name: "Al", agent: "https://evil.example/" })).location).toBe("/chat");
    expect((await postNameForm(cookie, { name: "Al", resume: "../x" })).location).toBe("/chat");
    expect((await postNameForm(cookie, { name: "Al" })).location).toBe("/chat");
  });

  it("refuses a form posted from another site (the origin check), storing nothing", async () => {
    const cookie = await newVisitor();
    const res = await postNameForm(cookie, { name: "Mallory", agent: "tutor" }, "https://evil.example");
    expect(res.status).toBe(403);
    expect(await getName(cookie)).toEqual({ name: null, asked: false });
    const opaque = await postNameForm(cookie, { name: "Mallory", agent: "tutor" }, "null");
    expect(opaque.status).toBe(403);
    expect(await getName(cookie)).toEqual({ name: null, asked: false });
  });
});

describe("where the name goes", () => {
  it("is the participant's name on the token, before the query's name; without one the query's name stays", async () => {
    const cookie = await newVisitor();
    expect((await tokenClaims(cookie, "&name=Bob")).name).toBe("Bob");
    expect((await tokenClaims(cookie)).name).toBeUndefined();
    await setName(cookie, "Alice");
    expect((await tokenClaims(cookie)).name).toBe("Alice");
    expect((await tokenClaims(cookie, "&name=Bob")).name).toBe("Alice");
    await setName(cookie, null);
    expect((await tokenClaims(cookie, "&name=Bob")).name).toBe("Bob");
    expect((await tokenClaims(cookie)).name).toBeUndefined();
  });

  it("is the participant's name on the token POST /session answers; none without a name", async () => {
    const start = async (cookie: string) => {
      const res = await call("/session", {
        method: "POST",
        cookie,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ identity: "visitor" }),
      });
      expect(res.status).toBe(201);
      const { token } = SessionCreateResponse.parse(await res.json()).livekit;
      return new TokenVerifier(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET).verify(token);
    };
    const cookie = await newVisitor();
    expect((await start(cookie)).name).toBeUndefined();
    await setName(cookie, "Alice");
    expect((await start(cookie)).name).toBe("Alice");
  });

  it("goes into the dispatch metadata as visitor_name; none without a name", async () => {
    const alice = await newVisitor();
    await setName(alice, "Alice");
    const named = await startWith(alice, { profile: "tutor" });
    expect(await dispatches(named.room)).toEqual([
      { session_id: named.sessionId, profile: "tutor", visitor_name: "Alice" },
    ]);
    const bob = await newVisitor();
    await setName(bob, null);
    const unnamed = await startWith(bob, { profile: "tutor" });
    expect(await dispatches(unnamed.room)).toEqual([{ session_id: unnamed.sessionId, profile: "tutor" }]);
  });

  it("is kept in each conversation as it was when it started, and /history and the transcript show it", async () => {
    const cookie = await newVisitor();
    const before = await tutorConversation(cookie, "no name yet");
    await setName(cookie, "Alice");
    const named = await tutorConversation(cookie, "teach me fractions");
    await setName(cookie, "Alicia");
    const listed = await conversations(cookie);
    expect(listed.map((e) => [e.session_id, e.visitor_name])).toEqual([
      [named.sessionId, "Alice"],
      [before.sessionId, undefined],
    ]);
    expect(listed[1]).not.toHaveProperty("visitor_name");

    const history = await page("/history", cookie);
    expect(history.body).toContain("<span>Tutor with Alice</span>");
    expect(history.body).not.toContain("Alicia");
    const transcript = await page(`/history/${named.sessionId}`, cookie);
    expect(transcript.body).toMatch(/<span class="caption__who">Alice<\/span>[^]*teach me fractions/);
    expect(transcript.body).not.toContain('<span class="caption__who">You</span>');
    const earlier = await page(`/history/${before.sessionId}`, cookie);
    expect(earlier.body).toContain('<span class="caption__who">You</span>');
    // A new conversation takes the new name.
    const renamed = await tutorConversation(cookie, "and photosynthesis");
    expect((await conversations(cookie))[0]).toMatchObject({ session_id: renamed.sessionId, visitor_name: "Alicia" });
  });

  it("adds the column to a conversation list stored before it, keeping its rows", async () => {
    const cookie = await newVisitor();
    const stub = visitorStub(env, visitorIdOf(cookie));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(`CREATE TABLE conversations (
        session_id TEXT PRIMARY KEY, profile TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
        started_at INTEGER NOT NULL, ended_at INTEGER, summary TEXT, preview TEXT, resumed_from TEXT)`);
      state.storage.sql.exec(
        "INSERT INTO conversations VALUES ('OOOOOOOOOOOOOOOOOOOOOO', 'assistant', 'ended', 'stopped', 1, 2, NULL, NULL, NULL)",
      );
    });
    await setName(cookie, "Alice");
    const { sessionId } = await startWith(cookie, { profile: "tutor" });
    expect((await conversations(cookie)).map((e) => [e.session_id, e.visitor_name])).toEqual([
      [sessionId, "Alice"],
      ["OOOOOOOOOOOOOOOOOOOOOO", undefined],
    ]);
  });
});

describe("logs", () => {
  it("never carry the name: set, form, token, session start, webhook with the participant's name, history", async () => {
    const NAME = "Zephyrine";
    const lines: string[] = [];
    const capture = (line: unknown) => void lines.push(String(line));
    vi.spyOn(console, "log").mockImplementation(capture);
    vi.spyOn(console, "info").mockImplementation(capture);
    vi.spyOn(console, "warn").mockImplementation(capture);
    vi.spyOn(console, "error").mockImplementation(capture);

    const cookie = await newVisitor();
    await setName(cookie, NAME);
    await expectError(await putName(cookie, { name: `${NAME}<b>` }), 400, "invalid_request");
    expect((await postNameForm(cookie, { name: NAME, agent: "tutor" })).status).toBe(303);
    expect((await postNameForm(cookie, { name: `${NAME}9`, agent: "tutor" })).status).toBe(400);
    expect((await tokenClaims(cookie)).name).toBe(NAME);
    const { room, sessionId, jobId } = await startWith(cookie, { profile: "tutor" });
    expect((await dispatches(room))[0]?.visitor_name).toBe(NAME);
    const joined = {
      event: "participant_joined",
      room: { name: room },
      participant: { identity: "visitor", name: NAME },
    };
    expect((await sendWebhook(joined)).status).toBe(200);
    expect((await ingest(sessionId, [lifecycle("agent_joined"), finalEvent("hello")], { jobId })).status).toBe(200);
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    expect((await page("/history", cookie)).body).toContain(NAME);
    expect((await page(`/history/${sessionId}`, cookie)).body).toContain(NAME);

    expect(lines.some((l) => l.includes('"session_started"'))).toBe(true);
    expect(lines.some((l) => l.includes('"session_created"'))).toBe(true); // the SessionDO's lines are captured too
    expect(lines.filter((l) => l.includes(NAME))).toEqual([]);
  });
});
