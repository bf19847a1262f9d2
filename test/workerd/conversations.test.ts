/**
 * Conversations that last (#14) through the real Worker and Durable Object storage: the visitor's list
 * (`GET /conversations`: order, pagination, isolation, bad cursors), deleting one or all (the storage really is
 * empty afterwards), the retention purge by alarm (with the stored clock moved back), summaries (made by the edge
 * with the fake OpenAI of fake-livekit.ts, the one fake: a paid API; retried; none without a visitor turn) and
 * resuming a conversation (`POST /session {resume_from}`: linking, the dispatch's earlier turns and summary, refusals).
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConversationsResponse, DispatchMetadata, type IngestBatch, TranscriptResponse } from "../../contract/index.ts";
import { waitFor } from "../support/wait.ts";
import { OPENAI_CONTROL_HOST, type OpenAICall } from "./fake-livekit.ts";
import {
  call,
  expectError,
  finalEvent,
  ingest,
  lifecycle,
  liveKitCalls,
  newVisitor,
  startSession,
  uniqueRoom,
} from "./helpers.ts";

const sessions = (id: string) => env.SESSIONS.get(env.SESSIONS.idFromName(id));
let words = 0;
/** A word no other test uses: it tags a transcript for the fake OpenAI. */
const tagWord = () => `tag${Date.now().toString(36)}x${++words}`;

async function list(cookie: string, query = ""): Promise<ConversationsResponse> {
  const res = await call(`/conversations${query}`, { cookie });
  expect(res.status).toBe(200);
  return ConversationsResponse.parse(await res.json());
}

async function transcript(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

async function stop(cookie: string, sessionId: string) {
  expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
}

/** A conversation that ran and ended: the agent joined, `said` went back and forth, then Stop. */
async function conversation(cookie: string, said: [role: "user" | "agent", text: string][] = []) {
  const { room, sessionId } = await startSession(cookie);
  const events: IngestBatch["events"] = [
    lifecycle("agent_joined"),
    ...said.map(([role, text]) => finalEvent(text, role)),
  ];
  expect((await ingest(sessionId, events, { jobId: `AJ_${sessionId}` })).status).toBe(200);
  // agent_left first: no closing window, so the summary is due at once.
  expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId: `AJ_${sessionId}` })).status).toBe(200);
  await stop(cookie, sessionId);
  return { room, sessionId };
}

async function openAICalls(tag: string): Promise<OpenAICall[]> {
  return (await (await fetch(`http://${OPENAI_CONTROL_HOST}/calls?tag=${tag}`)).json()) as OpenAICall[];
}

/** The tables and alarm left in a session's object. */
async function storageOf(sessionId: string) {
  return runInDurableObject(sessions(sessionId), async (_instance, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
      )
      .toArray()
      .map((r) => r.name),
    alarm: await state.storage.getAlarm(),
  }));
}

/** Moves a session's stored clocks back by `secondsAgo` from now. */
async function backdate(sessionId: string, columns: Record<string, number>) {
  const now = Date.now();
  await runInDurableObject(sessions(sessionId), (_instance, state) => {
    for (const [column, secondsAgo] of Object.entries(columns)) {
      state.storage.sql.exec(`UPDATE session SET ${column} = ?`, now - secondsAgo * 1000);
    }
  });
}

describe("GET /conversations", () => {
  it("lists the visitor's conversations newest first, page by page, and no one else's", async () => {
    const alice = await newVisitor();
    const bob = await newVisitor();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await conversation(alice, [["user", `alice number ${i}`]])).sessionId);
    const bobs = await conversation(bob, [["user", "bob here"]]);

    const all = await list(alice);
    expect(all.conversations.map((c) => c.session_id)).toEqual([...ids].reverse());
    expect(all.next_cursor).toBeNull();
    expect(all.conversations[0]).toMatchObject({
      profile: "assistant",
      status: "ended",
      reason: "stopped",
      resumed_from: null,
      preview: "You: alice number 2",
    });
    expect(all.conversations[0]!.ended_at).toBeGreaterThanOrEqual(all.conversations[0]!.started_at);

    const first = await list(alice, "?limit=2");
    expect(first.conversations.map((c) => c.session_id)).toEqual([ids[2], ids[1]]);
    expect(first.next_cursor).not.toBeNull();
    const second = await list(alice, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.conversations.map((c) => c.session_id)).toEqual([ids[0]]);
    expect(second.next_cursor).toBeNull();

    expect((await list(bob)).conversations.map((c) => c.session_id)).toEqual([bobs.sessionId]);
    expect((await list(await newVisitor())).conversations).toEqual([]);
  });

  it("shows a running conversation with its session's current status", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    expect((await list(cookie)).conversations[0]).toMatchObject({ session_id: sessionId, status: "starting" });
    await ingest(sessionId, [lifecycle("agent_joined")], { jobId: "AJ_running" });
    expect((await list(cookie)).conversations[0]).toMatchObject({ status: "active", ended_at: null, preview: null });
  });

  it.each([
    ["a cursor it did not make", "?cursor=bm90LWEtY3Vyc29y", "invalid_cursor"],
    ["a cursor with other characters", "?cursor=a%2Bb", "invalid_request"],
    ["limit 0", "?limit=0", "invalid_request"],
    ["limit 51", "?limit=51", "invalid_request"],
    ["a limit that is not a number", "?limit=ten", "invalid_request"],
  ])("answers 400 for %s", async (_, query, code) => {
    await expectError(await call(`/conversations${query}`, { cookie: await newVisitor() }), 400, code);
  });
});

describe("DELETE /conversations", () => {
  it("deletes one conversation: its storage is empty, its transcript and list entry gone", async () => {
    const cookie = await newVisitor();
    const kept = await conversation(cookie, [["user", "keep me"]]);
    const gone = await conversation(cookie, [["user", "forget me"]]);
    expect((await storageOf(gone.sessionId)).tables).toContain("events");

    const res = await call(`/conversations/${gone.sessionId}`, { method: "DELETE", cookie });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: true });
    expect(await storageOf(gone.sessionId)).toEqual({ tables: [], alarm: null });
    await expectError(await call(`/transcripts/${gone.sessionId}`, { cookie }), 404, "session_not_found");
    expect((await list(cookie)).conversations.map((c) => c.session_id)).toEqual([kept.sessionId]);
    expect((await transcript(cookie, kept.sessionId)).events.length).toBeGreaterThan(0);
    // Again: nothing left to delete.
    await expectError(await call(`/conversations/${gone.sessionId}`, { method: "DELETE", cookie }), 404);
  });

  it("stops a running conversation before deleting it", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    expect((await call(`/conversations/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    expect((await liveKitCalls(room)).some((c) => c.method === "DeleteRoom")).toBe(true);
    expect(await storageOf(sessionId)).toEqual({ tables: [], alarm: null });
    expect((await list(cookie)).conversations).toEqual([]);
  });

  it("deletes all of the visitor's conversations and no one else's", async () => {
    const alice = await newVisitor();
    const bob = await newVisitor();
    const a = [await conversation(alice, [["user", "one"]]), await conversation(alice, [["user", "two"]])];
    const b = await conversation(bob, [["user", "bob's"]]);
    const res = await call("/conversations", { method: "DELETE", cookie: alice });
    expect(await res.json()).toEqual({ deleted: 2 });
    for (const { sessionId } of a) expect(await storageOf(sessionId)).toEqual({ tables: [], alarm: null });
    expect((await list(alice)).conversations).toEqual([]);
    expect((await list(bob)).conversations.map((c) => c.session_id)).toEqual([b.sessionId]);
  });

  it("answers 403 for another visitor's conversation, 404 for an unknown one, 400 for a bad id", async () => {
    const owner = await newVisitor();
    const { sessionId } = await conversation(owner, [["user", "mine"]]);
    const other = await newVisitor();
    await expectError(await call(`/conversations/${sessionId}`, { method: "DELETE", cookie: other }), 403, "forbidden");
    await expectError(await call(`/conversations/${"B".repeat(22)}`, { method: "DELETE", cookie: other }), 404);
    await expectError(
      await call("/conversations/nope", { method: "DELETE", cookie: other }),
      400,
      "invalid_session_id",
    );
    expect((await transcript(owner, sessionId)).events.length).toBeGreaterThan(0);
  });
});

describe("retention", () => {
  it("purges an ended conversation by alarm once RETENTION_DAYS (30) have passed, not before", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await conversation(cookie, [["user", "old news"]]);
    await waitFor("the summary step", async () => (await storageOf(sessionId)).alarm !== null, { timeoutMs: 5000 });
    await backdate(sessionId, { ended_at: 29 * 86_400 });
    await runDurableObjectAlarm(sessions(sessionId));
    expect((await storageOf(sessionId)).tables).toContain("events");

    await backdate(sessionId, { ended_at: 30 * 86_400 + 1 });
    await runDurableObjectAlarm(sessions(sessionId));
    expect(await storageOf(sessionId)).toEqual({ tables: [], alarm: null });
    expect((await list(cookie)).conversations).toEqual([]);
  });

  it("keeps a running conversation however old its start", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    await ingest(sessionId, [lifecycle("agent_joined")], { jobId: "AJ_old" });
    await runInDurableObject(sessions(sessionId), (_i, state) => {
      state.storage.sql.exec("UPDATE session SET max_s = ?", 100 * 86_400);
    });
    await backdate(sessionId, { started_at: 31 * 86_400, agent_seen_at: 0, client_gone_since: 0 });
    // The due step is the end (timeout); the conversation is then ended, not purged.
    await runDurableObjectAlarm(sessions(sessionId));
    expect((await storageOf(sessionId)).tables).toContain("events");
  });
});

describe("summaries", () => {
  it("are made when a conversation ends, stored with it and shown in the list", async () => {
    const cookie = await newVisitor();
    const tag = tagWord();
    const { sessionId } = await conversation(cookie, [
      ["agent", "Hello, how can I help?"],
      ["user", `tell me about ${tag}`],
      ["agent", `Here is what I know about ${tag}.`],
    ]);
    const made = await waitFor("the summary", async () => (await transcript(cookie, sessionId)).summary, {
      timeoutMs: 10_000,
    });
    const [request] = await openAICalls(tag);
    expect(request!.authorization).toMatch(/^Bearer /);
    const input = JSON.stringify(request!.body);
    expect(input).toContain(`Visitor: tell me about ${tag}`);
    expect(made).toMatch(/^Summary of \d+ lines: /);
    expect((await list(cookie)).conversations[0]).toMatchObject({ session_id: sessionId, summary: made });
  });

  it("are not made for a conversation without a visitor turn", async () => {
    const cookie = await newVisitor();
    const tag = tagWord();
    const { sessionId } = await conversation(cookie, [["agent", `Hello ${tag}, anyone there?`]]);
    await waitFor("the summary step to pass", async () => {
      const row = await runInDurableObject(sessions(sessionId), (_i, state) =>
        state.storage.sql.exec<{ summary_at: number | null }>("SELECT summary_at FROM session").one(),
      );
      return row.summary_at === null;
    });
    expect((await transcript(cookie, sessionId)).summary).toBeUndefined();
    expect(await openAICalls(tag)).toEqual([]);
    expect((await list(cookie)).conversations[0]).toMatchObject({ summary: null, preview: null });
  });

  it("are retried after a failure, and given up after three", async () => {
    const cookie = await newVisitor();
    const tag = tagWord();
    await fetch(`http://${OPENAI_CONTROL_HOST}/fail?tag=${tag}&status=503&times=4`, { method: "POST" });
    const { sessionId } = await conversation(cookie, [["user", `please ${tag}`]]);
    const attempts = () =>
      runInDurableObject(sessions(sessionId), (_i, state) =>
        state.storage.sql
          .exec<{ summary_attempts: number; summary_at: number | null }>(
            "SELECT summary_attempts, summary_at FROM session",
          )
          .one(),
      );
    await waitFor("the first attempt", async () => (await attempts()).summary_attempts === 1, { timeoutMs: 10_000 });
    expect((await attempts()).summary_at).toBeGreaterThan(Date.now()); // a retry is scheduled
    await backdate(sessionId, { summary_at: 1 });
    await runDurableObjectAlarm(sessions(sessionId));
    expect(await attempts()).toMatchObject({ summary_attempts: 2 });
    await backdate(sessionId, { summary_at: 1 });
    await runDurableObjectAlarm(sessions(sessionId));
    expect(await attempts()).toEqual({ summary_attempts: 3, summary_at: null });
    expect(await openAICalls(tag)).toHaveLength(3);
    expect((await transcript(cookie, sessionId)).summary).toBeUndefined();
    // The conversation itself is intact and listed.
    expect((await list(cookie)).conversations[0]).toMatchObject({ session_id: sessionId, status: "ended" });
  });
});

describe("POST /session {resume_from}", () => {
  async function resume(cookie: string, body: Record<string, unknown>) {
    const room = uniqueRoom();
    await call(`/token?room=${room}&identity=visitor`, { cookie });
    return call("/session", {
      method: "POST",
      cookie,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ room, identity: "visitor", ...body }),
    });
  }

  it("links the new conversation to the earlier one, with its profile, turns and summary in the dispatch", async () => {
    const cookie = await newVisitor();
    const room = uniqueRoom();
    await call(`/token?room=${room}&identity=visitor`, { cookie });
    const started = await call("/session", {
      method: "POST",
      cookie,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ room, identity: "visitor", profile: "planner" }),
    });
    const earlier = ((await started.json()) as { session_id: string }).session_id;
    await ingest(
      earlier,
      [lifecycle("agent_joined"), finalEvent("add a task to call mom"), finalEvent("Done.", "agent")],
      {
        jobId: "AJ_earlier",
      },
    );
    await ingest(earlier, [lifecycle("agent_left")], { jobId: "AJ_earlier" });
    await stop(cookie, earlier);
    const summary = await waitFor("the summary", async () => (await transcript(cookie, earlier)).summary, {
      timeoutMs: 10_000,
    });

    const res = await resume(cookie, { resume_from: earlier });
    expect(res.status).toBe(201);
    const { session_id: later } = (await res.json()) as { session_id: string };
    expect(await transcript(cookie, later)).toMatchObject({ resumed_from: earlier, profile: "planner" });
    expect((await list(cookie)).conversations[0]).toMatchObject({ session_id: later, resumed_from: earlier });

    const rooms = await liveKitCalls((await transcript(cookie, later)).room);
    const dispatch = rooms.find((c) => c.method === "CreateDispatch")!;
    const metadata = DispatchMetadata.parse(JSON.parse(String(dispatch.body.metadata)));
    expect(metadata).toMatchObject({
      session_id: later,
      profile: "planner",
      history: [
        { role: "user", text: "add a task to call mom" },
        { role: "agent", text: "Done." },
      ],
      resumed: { summary },
    });
  });

  it("refuses another visitor's, a running, an unknown conversation and another profile", async () => {
    const owner = await newVisitor();
    const { sessionId: ended } = await conversation(owner, [["user", "hi"]]);
    const other = await newVisitor();
    await expectError(await resume(other, { resume_from: ended }), 403, "forbidden");
    await expectError(await resume(owner, { resume_from: "C".repeat(22) }), 404, "session_not_found");
    await expectError(await resume(owner, { resume_from: ended, profile: "planner" }), 400, "profile_mismatch");
    await expectError(await resume(owner, { resume_from: "short" }), 400, "invalid_request");
    const { sessionId: running } = await startSession(owner);
    await expectError(await resume(owner, { resume_from: running }), 409, "conversation_active");
  });
});
