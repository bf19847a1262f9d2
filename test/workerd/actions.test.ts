/**
 * `POST /session/{id}/actions` (worker/routes/actions.ts, durable-objects/session-actions.ts, worker/actions/):
 * signatures and bounds as ingest, schema errors with JSON Pointer paths, intents outside the session's profile,
 * idempotency by `call_id`, every answer stored and broadcast as an `ActionMessage`, the closing window.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ACTION_ARGUMENTS_MAX_BYTES, ActionResponse, type ActionMessage, signIngest } from "../../contract/index.ts";
import { ACTION_BODY_MAX_BYTES } from "../../worker/routes/actions.ts";
import { act, callId, planner, plannerSession, postAction, startWith, transcriptOf } from "./action-helpers.ts";
import { call, expectError, finalEvent, ingest, lifecycle, newVisitor, openSocket } from "./helpers.ts";

afterEach(() => vi.restoreAllMocks());

const TASK = { title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" };
const newTaskCall = () => ({ call_id: callId(), intent: "NEW_TASK", arguments: TASK });

describe("POST /session/{id}/actions signature", () => {
  it.each([
    ["missing", null, "signature_missing"],
    ["malformed", "t=abc,v1=xyz", "signature_malformed"],
    ["wrong", `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`, "signature_mismatch"],
  ])("refuses a %s signature with 401; nothing acts or is stored", async (_, signature, code) => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    await expectError(await postAction(sessionId, newTaskCall(), { signature }), 401, code);
    expect((await transcriptOf(cookie, sessionId)).events).toEqual([]);
    expect((await planner(cookie)).tasks).toEqual([]);
  });

  it("refuses a stale signature, another secret's, another session's and a tampered body", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const { sessionId: otherId } = await plannerSession(cookie);
    const body = JSON.stringify(newTaskCall());
    const stale = await signIngest(env.AGENT_INGEST_SECRET, sessionId, body, Date.now() / 1000 - 301);
    await expectError(await postAction(sessionId, null, { raw: body, signature: stale }), 401, "signature_stale");
    const foreign = await signIngest("another-secret-0123456789abcdef0123", sessionId, body);
    await expectError(await postAction(sessionId, null, { raw: body, signature: foreign }), 401, "signature_mismatch");
    const signed = await signIngest(env.AGENT_INGEST_SECRET, sessionId, body);
    await expectError(await postAction(otherId, null, { raw: body, signature: signed }), 401, "signature_mismatch");
    const tampered = body.replace("dentist", "DENTIST");
    await expectError(
      await postAction(sessionId, null, { raw: tampered, signature: signed }),
      401,
      "signature_mismatch",
    );
    expect((await transcriptOf(cookie, sessionId)).events).toEqual([]);
    expect((await transcriptOf(cookie, otherId)).events).toEqual([]);
    expect((await planner(cookie)).tasks).toEqual([]);
  });
});

describe("POST /session/{id}/actions requests", () => {
  it("refuses bad bodies with 400, unknown sessions with 404", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    await expectError(await postAction(sessionId, null, { raw: "{not json" }), 400, "invalid_json");
    await expectError(await postAction(sessionId, { intent: "NEW_TASK", arguments: TASK }), 400, "invalid_request");
    await expectError(
      await postAction(sessionId, { call_id: "has space", intent: "NEW_TASK", arguments: TASK }),
      400,
      "invalid_request",
    );
    await expectError(
      await postAction(sessionId, { ...newTaskCall(), arguments: ["not", "an", "object"] }),
      400,
      "invalid_request",
    );
    await expectError(await postAction(sessionId, { ...newTaskCall(), extra: true }), 400, "invalid_request");
    await expectError(await postAction(sessionId, { ...newTaskCall(), intent: "new_task" }), 400, "invalid_request");
    await expectError(await postAction("B".repeat(22), newTaskCall()), 404, "session_not_found");
    await expectError(await postAction("bad", newTaskCall()), 400, "invalid_session_id");
    expect((await transcriptOf(cookie, sessionId)).events).toEqual([]);
  });

  it("refuses arguments over ACTION_ARGUMENTS_MAX_BYTES, and bodies over the limit, with 413", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    // Just over the arguments' limit, well within the body's.
    const args = { title: "x".repeat(ACTION_ARGUMENTS_MAX_BYTES) };
    expect(JSON.stringify(args).length).toBeLessThan(ACTION_BODY_MAX_BYTES);
    const tooBig = await postAction(sessionId, { call_id: callId(), intent: "NEW_TASK", arguments: args });
    const body = await expectError(tooBig, 413, "payload_too_large");
    expect(body.error.message).toContain(`${ACTION_ARGUMENTS_MAX_BYTES} bytes`);
    const huge = { call_id: callId(), intent: "NEW_TASK", arguments: { title: "x".repeat(ACTION_BODY_MAX_BYTES) } };
    await expectError(await postAction(sessionId, huge), 413, "payload_too_large");
    expect((await transcriptOf(cookie, sessionId)).events).toEqual([]);
    // At the limit is fine (and answered `invalid`: the title is over 200 characters).
    const atLimit = { title: "x".repeat(ACTION_ARGUMENTS_MAX_BYTES - '{"title":""}'.length) };
    expect(new TextEncoder().encode(JSON.stringify(atLimit)).length).toBe(ACTION_ARGUMENTS_MAX_BYTES);
    expect((await act(sessionId, "NEW_TASK", atLimit)).status).toBe("invalid");
  });
});

describe("schema errors", () => {
  it("answer invalid with JSON Pointer paths and readable messages, and act on nothing", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const answer = await act(sessionId, "NEW_TASK", { title: "", due: "tomorrow at 9", goal: 7, colour: "red" });
    expect(answer.status).toBe("invalid");
    expect(answer.result).toBeUndefined();
    expect(answer.errors).toEqual(
      expect.arrayContaining([
        { path: "/title", message: "must not be empty" },
        {
          path: "/due",
          message: "must be a date and time with its UTC offset, like 2026-12-01T09:00:00+01:00",
        },
        { path: "/goal", message: "must be a string" },
        { path: "/colour", message: "is not a parameter of this action" },
      ]),
    );
    expect(answer.errors).toHaveLength(4);
    expect(answer.message).toMatch(/^The arguments are not valid: .*\/title must not be empty/);

    const missing = await act(sessionId, "RESCHEDULE_TASK", {});
    expect(missing.status).toBe("invalid");
    expect(missing.errors).toEqual([
      { path: "/task", message: "is required" },
      { path: "/due", message: "is required" },
    ]);
    const long = await act(sessionId, "GOAL", { title: "t", description: "d".repeat(501) });
    expect(long.errors).toEqual([{ path: "/description", message: "must be at most 500 characters" }]);
    expect(await planner(cookie)).toEqual({ goals: [], tasks: [] });
  });

  it("check the date-time and date formats (an offset is required; impossible dates fail)", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    for (const due of ["2026-12-02T09:00:00", "2026-12-02", "2026-13-02T09:00:00Z", "2026-12-02T25:00:00+01:00"]) {
      const answer = await act(sessionId, "NEW_TASK", { title: "Water the plants", due });
      expect(
        answer.errors?.map((e) => e.path),
        due,
      ).toEqual(["/due"]);
    }
    for (const target_date of ["2027-02-30", "2027-06-01T00:00:00Z", "June 2027"]) {
      const answer = await act(sessionId, "GOAL", { title: "Run a marathon", target_date });
      expect(
        answer.errors?.map((e) => e.path),
        target_date,
      ).toEqual(["/target_date"]);
      expect(answer.errors?.[0]?.message).toBe("must be a date, like 2026-12-01");
    }
    expect((await act(sessionId, "NEW_TASK", { title: "Water the plants", due: "2026-12-02T09:00:00Z" })).status).toBe(
      "ok",
    );
    expect((await act(sessionId, "GOAL", { title: "Run a marathon", target_date: "2028-02-29" })).status).toBe("ok");
  });
});

describe("intents outside the session's profile", () => {
  it("are refused: an unknown intent, and a planner intent in an assistant session", async () => {
    const cookie = await newVisitor();
    const { sessionId: plannerId } = await plannerSession(cookie);
    const unknown = await act(plannerId, "ORDER_PIZZA", { size: "large" });
    expect(unknown).toMatchObject({
      status: "refused",
      message: "ORDER_PIZZA is not an action this agent can take.",
    });
    const { sessionId: assistantId } = await startWith(cookie);
    const outside = await act(assistantId, "NEW_TASK", TASK);
    expect(outside).toMatchObject({ status: "refused", message: "NEW_TASK is not an action this agent can take." });
    expect(await planner(cookie)).toEqual({ goals: [], tasks: [] });
  });
});

describe("idempotency", () => {
  it("acts once for a call_id posted twice, and answers the first answer again", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const id = callId();
    const first = await act(sessionId, "NEW_TASK", TASK, id);
    expect(first.status).toBe("ok");
    expect(await act(sessionId, "NEW_TASK", TASK, id)).toEqual(first);
    // Even with other arguments: the call is the call_id.
    expect(await act(sessionId, "NEW_TASK", { title: "Something else" }, id)).toEqual(first);
    expect((await planner(cookie)).tasks).toHaveLength(1);
    expect((await transcriptOf(cookie, sessionId)).events.filter((e) => "type" in e)).toHaveLength(1);
  });

  it("acts once when the same call arrives twice at once", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const body = newTaskCall();
    const [a, b] = await Promise.all([postAction(sessionId, body), postAction(sessionId, body)]);
    const answers = [ActionResponse.parse(await a.json()), ActionResponse.parse(await b.json())];
    expect(answers[1]).toEqual(answers[0]);
    expect((await planner(cookie)).tasks).toHaveLength(1);
    expect((await transcriptOf(cookie, sessionId)).events.filter((e) => "type" in e)).toHaveLength(1);
  });

  it("keeps an invalid answer for its call_id: a correction comes with a new call_id", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const id = callId();
    const invalid = await act(sessionId, "NEW_TASK", { title: "" }, id);
    expect(invalid.status).toBe("invalid");
    expect(await act(sessionId, "NEW_TASK", TASK, id)).toEqual(invalid);
    expect((await act(sessionId, "NEW_TASK", TASK)).status).toBe("ok");
  });
});

describe("action events", () => {
  it("store and broadcast every answered call as an ActionMessage, returned by GET /transcripts", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const socket = await openSocket(cookie, sessionId);
    await socket.waitFor(2); // starting, active
    await ingest(sessionId, [finalEvent("add a task to call the dentist")]);
    const ok = await act(sessionId, "NEW_TASK", TASK);
    await act(sessionId, "NEW_TASK", { title: "Call mom" });
    const ambiguous = await act(sessionId, "RESCHEDULE_TASK", { task: "call", due: "2026-12-03T10:00:00+01:00" });
    const invalid = await act(sessionId, "NEW_TASK", { title: 3 });
    const refused = await act(sessionId, "RESCHEDULE_TASK", { task: "gym", due: "2026-12-03T10:00:00+01:00" });
    expect([ok, ambiguous, invalid, refused].map((a) => a.status)).toEqual(["ok", "ambiguous", "invalid", "refused"]);

    const live = (await socket.waitFor(8)).filter((m): m is ActionMessage => "type" in m && m.type === "action");
    expect(live.map((m) => m.status)).toEqual(["ok", "ok", "ambiguous", "invalid", "refused"]);
    expect(live[0]).toMatchObject({
      type: "action",
      call_id: ok.call_id,
      intent: "NEW_TASK",
      arguments: TASK,
      status: "ok",
      message: "Task added: Call the dentist",
      result: ok.result,
      seq: 4,
    });
    expect(live[3]!.errors).toEqual(invalid.errors);
    expect(live.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);

    const stored = (await transcriptOf(cookie, sessionId)).events;
    expect(stored.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(stored.slice(1)).toEqual(live);
    // A late socket replays them too.
    const late = await openSocket(cookie, sessionId, 3);
    expect(await late.waitFor(5)).toEqual(live);
    socket.ws.close(1000);
    late.ws.close(1000);
  });

  it("log action_handled with the session, intent, status and time, never the arguments", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    await act(sessionId, "NEW_TASK", { title: "Secret surprise party" });
    const handled = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === "action_handled");
    expect(handled).toHaveLength(1);
    expect(handled[0]).toMatchObject({ session_id: sessionId, intent: "NEW_TASK", status: "ok", replayed: false });
    expect(handled[0]!.ms).toEqual(expect.any(Number));
    expect(lines.join("\n")).not.toContain("surprise");
  });
});

describe("an ended session", () => {
  it("takes its agent's calls during the closing window, then answers 409 session_ended", async () => {
    const cookie = await newVisitor();
    const { sessionId, jobId } = await plannerSession(cookie);
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    expect((await act(sessionId, "NEW_TASK", TASK)).status).toBe("ok");
    expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId })).status).toBe(200);
    const id = callId();
    await expectError(await postAction(sessionId, { ...newTaskCall(), call_id: id }), 409, "session_ended");
    expect((await planner(cookie)).tasks).toHaveLength(1);
    const actions = (await transcriptOf(cookie, sessionId)).events.filter((e) => "type" in e);
    expect(actions.map((e) => ("call_id" in e ? e.call_id : ""))).not.toContain(id);
    expect(actions).toHaveLength(1);
  });

  it("answers 409 at once when no agent ever joined", async () => {
    const cookie = await newVisitor();
    const room = `room-${crypto.randomUUID()}`;
    await call(`/token?room=${room}&identity=visitor`, { cookie });
    const res = await call("/session", {
      method: "POST",
      cookie,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ room, identity: "visitor", profile: "planner" }),
    });
    const { session_id: sessionId } = (await res.json()) as { session_id: string };
    expect((await act(sessionId, "NEW_TASK", TASK)).status).toBe("ok"); // starting: taken
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    await expectError(await postAction(sessionId, newTaskCall()), 409, "session_ended");
  });
});
