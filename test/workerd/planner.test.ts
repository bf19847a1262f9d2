/**
 * The planner's handlers (worker/actions/planner.ts) against real VisitorDO storage (durable-objects/planner-store.ts),
 * driven through `POST /session/{id}/actions`, and `GET /planner`: results and messages, matching by id or words,
 * ambiguity, ordering, the storage surviving the visitor's sessions, and one visitor never reaching another's.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { PlannerGoal, PlannerTask } from "../../contract/index.ts";
import { instantMs } from "../../durable-objects/planner-store.ts";
import { matching } from "../../worker/actions/planner.ts";
import { act, planner, plannerSession, transcriptOf } from "./action-helpers.ts";
import { call, expectError, newVisitor, ORIGIN } from "./helpers.ts";

const ISO_NOW = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The visitor id inside a `__Host-vid=<id>.<signature>` cookie pair. */
const visitorIdOf = (cookie: string) => decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1)).split(".")[0]!;

describe("GOAL", () => {
  it("sets a goal and answers it", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const answer = await act(sessionId, "GOAL", {
      title: "Run a marathon",
      description: "A full one, in under five hours",
      target_date: "2027-06-01",
    });
    expect(answer).toMatchObject({ intent: "GOAL", status: "ok", message: "Goal set: Run a marathon" });
    const goal = PlannerGoal.parse(answer.result!.goal);
    expect(goal).toEqual({
      id: expect.stringMatching(/^goal_[a-z2-9]{12}$/),
      title: "Run a marathon",
      description: "A full one, in under five hours",
      target_date: "2027-06-01",
      created_at: expect.stringMatching(ISO_NOW),
    });
    const bare = PlannerGoal.parse((await act(sessionId, "GOAL", { title: "Learn Spanish" })).result!.goal);
    expect(bare).toMatchObject({ description: null, target_date: null });
    expect((await planner(cookie)).goals).toEqual([goal, bare]);
  });
});

describe("NEW_TASK", () => {
  it("adds a task without a goal, its due time as given", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const answer = await act(sessionId, "NEW_TASK", { title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" });
    expect(answer).toMatchObject({ status: "ok", message: "Task added: Call the dentist" });
    expect(PlannerTask.parse(answer.result!.task)).toEqual({
      id: expect.stringMatching(/^task_[a-z2-9]{12}$/),
      title: "Call the dentist",
      due: "2026-12-02T09:00:00+01:00",
      goal_id: null,
      done: false,
      created_at: expect.stringMatching(ISO_NOW),
    });
    const undated = await act(sessionId, "NEW_TASK", { title: "Buy milk" });
    expect(undated.result!.task).toMatchObject({ title: "Buy milk", due: null });
  });

  it("links a task to the goal it names by id or by words; refuses an unknown goal; asks among several", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const marathon = PlannerGoal.parse((await act(sessionId, "GOAL", { title: "Run a marathon" })).result!.goal);
    const spanish = PlannerGoal.parse((await act(sessionId, "GOAL", { title: "Learn Spanish" })).result!.goal);
    const byWords = await act(sessionId, "NEW_TASK", { title: "5 km run", goal: "the Marathon goal" });
    expect(byWords.result!.task).toMatchObject({ goal_id: marathon.id });
    const byId = await act(sessionId, "NEW_TASK", { title: "Buy a phrase book", goal: spanish.id });
    expect(byId.result!.task).toMatchObject({ goal_id: spanish.id });

    const none = await act(sessionId, "NEW_TASK", { title: "Cast on", goal: "knitting" });
    expect(none).toMatchObject({ status: "refused", message: 'No goal matches "knitting".' });
    expect(none.result).toBeUndefined();

    const half = PlannerGoal.parse((await act(sessionId, "GOAL", { title: "Run a half marathon" })).result!.goal);
    const two = await act(sessionId, "NEW_TASK", { title: "Buy shoes", goal: "marathon" });
    expect(two).toMatchObject({
      status: "ambiguous",
      message: 'Which goal: "Run a marathon" or "Run a half marathon"?',
      result: { candidates: [marathon, half] },
    });
    expect((await planner(cookie)).tasks.map((t) => t.title)).toEqual(["5 km run", "Buy a phrase book"]);
  });
});

describe("RESCHEDULE_TASK", () => {
  it("moves a task found by id or by words, answering its previous due time", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const dentist = PlannerTask.parse(
      (await act(sessionId, "NEW_TASK", { title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" })).result!.task,
    );
    const plants = PlannerTask.parse((await act(sessionId, "NEW_TASK", { title: "Water the plants" })).result!.task);

    const byWords = await act(sessionId, "RESCHEDULE_TASK", {
      task: "my DENTIST task",
      due: "2026-12-04T10:00:00+01:00",
    });
    expect(byWords).toMatchObject({
      status: "ok",
      message: "Task moved: Call the dentist",
      result: { task: { ...dentist, due: "2026-12-04T10:00:00+01:00" }, previous_due: "2026-12-02T09:00:00+01:00" },
    });
    const byId = await act(sessionId, "RESCHEDULE_TASK", { task: plants.id, due: "2026-12-05T18:00:00Z" });
    expect(byId).toMatchObject({
      status: "ok",
      message: "Task moved: Water the plants",
      result: { task: { id: plants.id, due: "2026-12-05T18:00:00Z" }, previous_due: null },
    });
    expect((await planner(cookie)).tasks.map((t) => [t.title, t.due])).toEqual([
      ["Call the dentist", "2026-12-04T10:00:00+01:00"],
      ["Water the plants", "2026-12-05T18:00:00Z"],
    ]);
  });

  it("asks which task when several match, and refuses when none does", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const dentist = (await act(sessionId, "NEW_TASK", { title: "Call the dentist" })).result!.task;
    const mom = (await act(sessionId, "NEW_TASK", { title: "Call mom" })).result!.task;
    const gym = (await act(sessionId, "NEW_TASK", { title: "Call the gym" })).result!.task;
    const due = "2026-12-03T10:00:00+01:00";
    expect(await act(sessionId, "RESCHEDULE_TASK", { task: "call", due })).toMatchObject({
      status: "ambiguous",
      message: 'Which task: "Call the dentist", "Call mom" or "Call the gym"?',
      result: { candidates: [dentist, mom, gym] },
    });
    expect(await act(sessionId, "RESCHEDULE_TASK", { task: "the call task", due })).toMatchObject({
      status: "ambiguous",
    });
    expect(await act(sessionId, "RESCHEDULE_TASK", { task: "call the plumber", due })).toMatchObject({
      status: "refused",
      message: 'No task matches "call the plumber".',
    });
    expect(await act(sessionId, "RESCHEDULE_TASK", { task: "task_doesnotexist", due })).toMatchObject({
      status: "refused",
    });
    // Nothing moved.
    expect((await planner(cookie)).tasks.every((t) => t.due === null)).toBe(true);
  });
});

describe("GET /planner", () => {
  it("lists goals oldest first and tasks by due instant, tasks without a due time last", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    const add = (title: string, due?: string) => act(sessionId, "NEW_TASK", due ? { title, due } : { title });
    await add("undated first");
    await add("Wednesday in Berlin", "2026-12-02T09:00:00+01:00"); // 08:00Z
    await add("Wednesday in UTC", "2026-12-02T08:30:00Z");
    await add("Tuesday in New York", "2026-12-01T20:00:00-05:00"); // 01:00Z on Wednesday
    await add("undated second");
    await add("Monday", "2026-11-30T12:00:00+00:00");
    await act(sessionId, "GOAL", { title: "B goal" });
    await act(sessionId, "GOAL", { title: "A goal" });
    const { goals, tasks } = await planner(cookie);
    expect(tasks.map((t) => t.title)).toEqual([
      "Monday",
      "Tuesday in New York",
      "Wednesday in Berlin",
      "Wednesday in UTC",
      "undated first",
      "undated second",
    ]);
    expect(goals.map((g) => g.title)).toEqual(["B goal", "A goal"]);
  });

  it("is empty for a new visitor, leaves no storage behind, and refuses foreign origins", async () => {
    const res = await call("/planner");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ goals: [], tasks: [] });
    const cookie = res.headers.get("Set-Cookie")!.split(";")[0]!;
    const stub = env.VISITORS.get(env.VISITORS.idFromName(visitorIdOf(cookie)));
    const tables = await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'planner%'").toArray(),
    );
    expect(tables).toEqual([]);
    await expectError(
      await call("/planner", { cookie, headers: { Origin: "https://evil.example" } }),
      403,
      "origin_not_allowed",
    );
    const partner = await call("/planner", { cookie, headers: { Origin: "https://partner.example" } });
    expect(partner.status).toBe(200);
    expect(partner.headers.get("Access-Control-Allow-Origin")).toBe("https://partner.example");
    expect(partner.headers.get("Cache-Control")).toBe("no-store");
    expect(ORIGIN).toMatch(/^https:/);
  });

  it("keeps the planner when the visitor's sessions end (their slots are released)", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await plannerSession(cookie);
    await act(sessionId, "NEW_TASK", { title: "Call the dentist" });
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    const stub = env.VISITORS.get(env.VISITORS.idFromName(visitorIdOf(cookie)));
    expect(await stub.count(Date.now())).toBe(0);
    expect((await planner(cookie)).tasks.map((t) => t.title)).toEqual(["Call the dentist"]);
    // And the visitor can start again: the cap's storage comes back.
    const next = await plannerSession(cookie);
    expect(await stub.count(Date.now())).toBe(1);
    await act(next.sessionId, "NEW_TASK", { title: "Buy milk" });
    expect((await planner(cookie)).tasks.map((t) => t.title)).toEqual(["Call the dentist", "Buy milk"]);
    // The first session's transcript keeps its action.
    expect((await transcriptOf(cookie, sessionId)).events.filter((e) => "type" in e)).toHaveLength(1);
  });
});

describe("isolation between visitors", () => {
  it("visitor B never sees visitor A's goals or tasks, nor moves A's task by its id", async () => {
    const a = await newVisitor();
    const b = await newVisitor();
    const sessionA = (await plannerSession(a)).sessionId;
    const sessionB = (await plannerSession(b)).sessionId;
    const task = PlannerTask.parse(
      (await act(sessionA, "NEW_TASK", { title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" })).result!.task,
    );
    await act(sessionA, "GOAL", { title: "Run a marathon" });
    expect(await planner(b)).toEqual({ goals: [], tasks: [] });

    const byId = await act(sessionB, "RESCHEDULE_TASK", { task: task.id, due: "2027-01-01T00:00:00Z" });
    expect(byId).toMatchObject({ status: "refused", message: `No task matches "${task.id}".` });
    const byWords = await act(sessionB, "RESCHEDULE_TASK", { task: "dentist", due: "2027-01-01T00:00:00Z" });
    expect(byWords.status).toBe("refused");
    const goal = await act(sessionB, "NEW_TASK", { title: "Buy shoes", goal: "marathon" });
    expect(goal).toMatchObject({ status: "refused", message: 'No goal matches "marathon".' });

    expect((await planner(a)).tasks).toEqual([task]);
    expect(await planner(b)).toEqual({ goals: [], tasks: [] });
  });
});

describe("matching and ordering helpers", () => {
  it("matching: exact id first, else every non-stop word as a word of the title, case-insensitive", () => {
    const items = [
      { id: "task_a", title: "Call the dentist" },
      { id: "task_b", title: "Call mom" },
      { id: "task_c", title: "Dentistry homework" },
    ];
    const stop = new Set(["the", "a", "my", "task"]);
    expect(matching(items, "task_b", stop).map((i) => i.id)).toEqual(["task_b"]);
    expect(matching(items, " task_b ", stop).map((i) => i.id)).toEqual(["task_b"]);
    expect(matching(items, "DENTIST", stop).map((i) => i.id)).toEqual(["task_a"]);
    expect(matching(items, "call", stop).map((i) => i.id)).toEqual(["task_a", "task_b"]);
    expect(matching(items, "my task", stop).map((i) => i.id)).toEqual(["task_a", "task_b", "task_c"]);
    expect(matching(items, "call dad", stop)).toEqual([]);
  });

  it("instantMs reads every RFC 3339 form the date-time format accepts", () => {
    const at = Date.UTC(2026, 11, 2, 8, 0, 0);
    expect(instantMs("2026-12-02T09:00:00+01:00")).toBe(at);
    expect(instantMs("2026-12-02t08:00:00z")).toBe(at);
    expect(instantMs("2026-12-02 08:00:00Z")).toBe(at);
    expect(instantMs("2026-12-02T08:00:00.250Z")).toBe(at + 250);
    expect(instantMs("2016-12-31T23:59:60Z")).toBe(Date.UTC(2016, 11, 31, 23, 59, 59));
    expect(instantMs("not a date")).toBeNull();
  });
});
