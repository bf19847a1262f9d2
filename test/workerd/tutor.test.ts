/**
 * The tutor's handlers (worker/actions/tutor.ts) against the real curriculum in D1 (worker/curriculum.ts), driven
 * through `POST /session/{id}/actions` of a `tutor` session as the agent calls them, and `GET /tutor` and
 * `GET /tutor/subtopics/{id}`: results and messages, refusals, schema errors, where a topic starts, that a status
 * is never downgraded, the end of a topic, and one visitor's progress never touching another's.
 *
 * D1 keeps its rows between the tests of this file: every test uses fresh visitors (progress is keyed by visitor).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  type ActionResponse,
  DispatchMetadata,
  SubtopicResponse,
  TUTOR_NOTE_MAX,
  TutorPlace,
  TutorResponse,
} from "../../contract/index.ts";
import { matchTopics, nextSubtopic, startTopic } from "../../worker/actions/tutor.ts";
import { splitContent, startSubtopic, recordCheck, tutorPlace } from "../../worker/curriculum.ts";
import { act, startWith } from "./action-helpers.ts";
import { call, expectError, liveKitCalls, newVisitor } from "./helpers.ts";

/** The visitor id inside a `__Host-vid=<id>.<signature>` cookie pair. */
const visitorIdOf = (cookie: string) => decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1)).split(".")[0]!;

/** A new visitor with an active tutor session. */
async function tutorVisitor(): Promise<{ cookie: string; sessionId: string; visitorId: string }> {
  const cookie = await newVisitor();
  const { sessionId } = await startWith(cookie, { profile: "tutor" });
  return { cookie, sessionId, visitorId: visitorIdOf(cookie) };
}

/** `GET /tutor` as the visitor `cookie`, checked against the contract. */
async function tutor(cookie: string): Promise<TutorResponse> {
  const res = await call("/tutor", { cookie });
  expect(res.status).toBe(200);
  return TutorResponse.parse(await res.json());
}

/** The visitor's progress rows in D1, by subtopic id. */
async function progressRows(visitorId: string) {
  const { results } = await env.CURRICULUM.prepare(
    "SELECT subtopic_id, status, note FROM progress WHERE visitor_id = ? ORDER BY subtopic_id",
  )
    .bind(visitorId)
    .all<{ subtopic_id: number; status: string; note: string | null }>();
  return results;
}

/** The place in an `ok` answer, checked against the contract. */
const placeOf = (answer: ActionResponse) => TutorPlace.parse(answer.result!.place);

const TOPICS_LINE = "Topics: Fractions, Photosynthesis.";
const FRACTIONS_TITLES = [
  "What a fraction is",
  "Equivalent fractions",
  "Adding and subtracting fractions",
  "Multiplying and dividing fractions",
];

describe("LIST_TOPICS", () => {
  it("lists the topics alphabetically with their sizes and the visitor's understood counts", async () => {
    const { sessionId } = await tutorVisitor();
    expect(await act(sessionId, "LIST_TOPICS", {})).toEqual({
      call_id: expect.any(String),
      intent: "LIST_TOPICS",
      status: "ok",
      message: "Topics: Fractions (4 parts), Photosynthesis (3 parts).",
      result: {
        topics: [
          { topic: "Fractions", subtopics: 4, understood: 0 },
          { topic: "Photosynthesis", subtopics: 3, understood: 0 },
        ],
      },
    });
    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "knows the denominator" });
    expect((await act(sessionId, "LIST_TOPICS", {})).result!.topics).toEqual([
      { topic: "Fractions", subtopics: 4, understood: 1 },
      { topic: "Photosynthesis", subtopics: 3, understood: 0 },
    ]);
  });
});

describe("START_TOPIC", () => {
  it("starts the topic at its first subtopic, teaching its content and check question apart", async () => {
    const { sessionId, visitorId } = await tutorVisitor();
    const answer = await act(sessionId, "START_TOPIC", { topic: "the fractions topic" });
    expect(answer).toMatchObject({ status: "ok", message: "Fractions, part 1 of 4: What a fraction is." });
    expect(placeOf(answer)).toEqual({
      topic: "Fractions",
      subtopic: { id: 1, title: "What a fraction is", position: 1, status: "started" },
      subtopics: FRACTIONS_TITLES.map((title, i) => ({
        id: i + 1,
        title,
        position: i + 1,
        status: i === 0 ? "started" : null,
      })),
    });
    const { content, check_question, check_answer } = answer.result as {
      content: string;
      check_question: string;
      check_answer: string;
    };
    expect(content).toMatch(/^A fraction describes part of a whole\./);
    expect(content).toMatch(/one eighth is smaller than one quarter, because the whole is shared among more parts\.$/);
    expect(content).not.toContain("A good check question");
    expect(content.split("\n\n")).toHaveLength(3);
    expect(check_question).toBe(
      "a chocolate bar has 6 equal pieces and you eat 1 of them, so what fraction did you eat, and which number is " +
        "the denominator?",
    );
    expect(check_answer).toBe("one sixth, written 1/6, and the denominator is 6");
    expect(await progressRows(visitorId)).toEqual([{ subtopic_id: 1, status: "started", note: null }]);
  });

  it("finds the topic by its words, whatever the case, singular or plural, amid the visitor's words", async () => {
    const { sessionId } = await tutorVisitor();
    for (const [topic, found] of [
      ["fractions", "Fractions"],
      ["Fraction", "Fractions"],
      ["FRACTIONS", "Fractions"],
      ["teach me fractions", "Fractions"],
      ["let's learn about photosynthesis", "Photosynthesis"],
      ["Photosynthesis basics", "Photosynthesis"],
    ]) {
      const answer = await act(sessionId, "START_TOPIC", { topic });
      expect(answer.status, topic).toBe("ok");
      expect(placeOf(answer).topic, topic).toBe(found);
    }
  });

  it("refuses a topic the curriculum does not have, writing nothing, and asks among several", async () => {
    const { cookie, sessionId, visitorId } = await tutorVisitor();
    expect(await act(sessionId, "START_TOPIC", { topic: "knitting" })).toMatchObject({
      status: "refused",
      message: `No topic matches "knitting". ${TOPICS_LINE}`,
    });
    expect(await act(sessionId, "START_TOPIC", { topic: "the topic" })).toMatchObject({ status: "refused" });
    expect(await act(sessionId, "START_TOPIC", { topic: "fractions and photosynthesis" })).toMatchObject({
      status: "ambiguous",
      message: 'Which topic: "Fractions" or "Photosynthesis"?',
      result: { candidates: ["Fractions", "Photosynthesis"] },
    });
    expect(await progressRows(visitorId)).toEqual([]);
    expect((await tutor(cookie)).place).toBeNull();
  });

  it("starts at the first subtopic not understood, keeping every status and note (never a downgrade)", async () => {
    const { sessionId, visitorId } = await tutorVisitor();
    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "knows the denominator" });
    await act(sessionId, "NEXT_SUBTOPIC", {});
    await act(sessionId, "CHECK_UNDERSTANDING", { understood: false, note: "mixed up top and bottom" });
    await act(sessionId, "NEXT_SUBTOPIC", {});
    await act(sessionId, "START_TOPIC", { topic: "photosynthesis" });

    const again = await act(sessionId, "START_TOPIC", { topic: "fractions" });
    expect(again).toMatchObject({ status: "ok", message: "Fractions, part 2 of 4: Equivalent fractions." });
    expect(placeOf(again).subtopics.map((s) => s.status)).toEqual(["understood", "not_understood", "started", null]);
    expect(placeOf(again).subtopic).toMatchObject({ id: 2, status: "not_understood" });
    expect(await progressRows(visitorId)).toEqual([
      { subtopic_id: 1, status: "understood", note: "knows the denominator" },
      { subtopic_id: 2, status: "not_understood", note: "mixed up top and bottom" },
      { subtopic_id: 3, status: "started", note: null },
      { subtopic_id: 5, status: "started", note: null },
    ]);
    // It is now the current subtopic.
    expect(await act(sessionId, "CURRENT_SUBTOPIC", {})).toMatchObject({
      message: "Fractions, part 2 of 4: Equivalent fractions.",
    });
  });

  it("starts at the first subtopic when the visitor understood them all, still understood", async () => {
    const { sessionId } = await tutorVisitor();
    await act(sessionId, "START_TOPIC", { topic: "photosynthesis" });
    for (let i = 0; i < 3; i++) {
      await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "right" });
      await act(sessionId, "NEXT_SUBTOPIC", {});
    }
    const again = await act(sessionId, "START_TOPIC", { topic: "photosynthesis" });
    expect(again).toMatchObject({ status: "ok", message: "Photosynthesis, part 1 of 3: What photosynthesis is." });
    expect(placeOf(again).subtopics.map((s) => s.status)).toEqual(["understood", "understood", "understood"]);
  });
});

describe("CURRENT_SUBTOPIC", () => {
  it("refuses before any topic, then answers the subtopic touched last with its content", async () => {
    const { sessionId } = await tutorVisitor();
    expect(await act(sessionId, "CURRENT_SUBTOPIC", {})).toMatchObject({
      status: "refused",
      message: `No topic started yet. ${TOPICS_LINE}`,
    });
    const started = await act(sessionId, "START_TOPIC", { topic: "photosynthesis" });
    const current = await act(sessionId, "CURRENT_SUBTOPIC", {});
    expect(current).toMatchObject({ status: "ok", message: "Photosynthesis, part 1 of 3: What photosynthesis is." });
    expect(current.result).toEqual(started.result);
    expect(current.result).toMatchObject({
      check_question: "which raw material supplies the oxygen gas that plants release?",
      check_answer: "water, not carbon dioxide",
    });
  });
});

describe("CHECK_UNDERSTANDING", () => {
  it("records understood or not, with the note, on the current subtopic", async () => {
    const { sessionId, visitorId } = await tutorVisitor();
    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    const no = await act(sessionId, "CHECK_UNDERSTANDING", { understood: false, note: "  said one fifth  " });
    expect(no).toMatchObject({ status: "ok", message: "Noted: not understood yet." });
    expect(Object.keys(no.result!)).toEqual(["place"]);
    expect(placeOf(no).subtopic).toEqual({ id: 1, title: "What a fraction is", position: 1, status: "not_understood" });
    expect(await progressRows(visitorId)).toEqual([
      { subtopic_id: 1, status: "not_understood", note: "said one fifth" },
    ]);

    const yes = await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "one sixth, denominator 6" });
    expect(yes).toMatchObject({ status: "ok", message: "Noted: understood." });
    expect(placeOf(yes).subtopic.status).toBe("understood");
    expect(await progressRows(visitorId)).toEqual([
      { subtopic_id: 1, status: "understood", note: "one sixth, denominator 6" },
    ]);
  });

  it("refuses without a current subtopic, writing nothing", async () => {
    const { sessionId, visitorId } = await tutorVisitor();
    expect(await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "right" })).toMatchObject({
      status: "refused",
      message: `No topic started yet. ${TOPICS_LINE}`,
    });
    expect(await progressRows(visitorId)).toEqual([]);
  });

  it("answers invalid for arguments outside the schema, and changes nothing", async () => {
    const { sessionId, visitorId } = await tutorVisitor();
    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    const yes = await act(sessionId, "CHECK_UNDERSTANDING", { understood: "yes", note: "right" });
    expect(yes).toMatchObject({
      status: "invalid",
      errors: [{ path: "/understood", message: "must be true or false" }],
    });
    const long = await act(sessionId, "CHECK_UNDERSTANDING", {
      understood: true,
      note: "x".repeat(TUTOR_NOTE_MAX + 1),
    });
    expect(long).toMatchObject({ status: "invalid", errors: [{ path: "/note" }] });
    const bare = await act(sessionId, "CHECK_UNDERSTANDING", { understood: true });
    expect(bare).toMatchObject({ status: "invalid", errors: [{ path: "/note", message: "is required" }] });
    expect((await act(sessionId, "LIST_TOPICS", { topic: "fractions" })).status).toBe("invalid");
    expect((await act(sessionId, "START_TOPIC", { topic: "" })).status).toBe("invalid");
    expect(await progressRows(visitorId)).toEqual([{ subtopic_id: 1, status: "started", note: null }]);
  });
});

describe("NEXT_SUBTOPIC", () => {
  it("moves through the topic in order, then answers finished and stays on the last part", async () => {
    const { sessionId } = await tutorVisitor();
    expect(await act(sessionId, "NEXT_SUBTOPIC", {})).toMatchObject({
      status: "refused",
      message: `No topic started yet. ${TOPICS_LINE}`,
    });
    await act(sessionId, "START_TOPIC", { topic: "photosynthesis" });
    const second = await act(sessionId, "NEXT_SUBTOPIC", {});
    expect(second).toMatchObject({
      status: "ok",
      message: "Photosynthesis, part 2 of 3: The light-dependent reactions.",
    });
    expect(second.result).toMatchObject({
      check_question: "which two energy-carrying molecules do the light-dependent reactions make?",
      check_answer: "ATP and NADPH",
    });
    expect(placeOf(second).subtopics.map((s) => s.status)).toEqual(["started", "started", null]);
    const third = await act(sessionId, "NEXT_SUBTOPIC", {});
    expect(third).toMatchObject({ status: "ok", message: "Photosynthesis, part 3 of 3: The Calvin cycle." });
    expect(third.result!.content).toMatch(/^The second stage, the Calvin cycle,/);

    for (let i = 0; i < 2; i++) {
      const end = await act(sessionId, "NEXT_SUBTOPIC", {});
      expect(end).toMatchObject({
        status: "ok",
        message: "That was the last part of Photosynthesis.",
        result: { finished: true },
      });
      expect(Object.keys(end.result!).sort()).toEqual(["finished", "place"]);
      expect(placeOf(end).subtopic).toMatchObject({ id: 7, position: 3 });
    }
  });

  it("moves on once per call: a copy of the call, at once or later, answers the same part", async () => {
    const { visitorId } = await tutorVisitor();
    const ctx = (opId: string) => ({ env, visitorId, opId, nowMs: Date.now() });
    await startTopic(ctx("s:start"), { topic: "fractions" });
    const [a, b] = await Promise.all([nextSubtopic(ctx("s:next-1"), {}), nextSubtopic(ctx("s:next-1"), {})]);
    const retried = await nextSubtopic(ctx("s:next-1"), {});
    for (const answer of [a, b, retried]) {
      expect(answer).toMatchObject({ status: "ok", message: "Fractions, part 2 of 4: Equivalent fractions." });
    }
    // A new call moves on.
    expect(await nextSubtopic(ctx("s:next-2"), {})).toMatchObject({
      message: "Fractions, part 3 of 4: Adding and subtracting fractions.",
    });
    expect((await progressRows(visitorId)).map((r) => r.subtopic_id)).toEqual([1, 2, 3]);
  });

  it("keeps a status it passes over", async () => {
    const { sessionId } = await tutorVisitor();
    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    await act(sessionId, "NEXT_SUBTOPIC", {});
    await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "simplified 15/20" });
    await act(sessionId, "START_TOPIC", { topic: "fractions" }); // back to part 1, not understood yet
    const next = await act(sessionId, "NEXT_SUBTOPIC", {});
    expect(placeOf(next).subtopic).toEqual({ id: 2, title: "Equivalent fractions", position: 2, status: "understood" });
  });
});

describe("TUTOR_PROGRESS", () => {
  it("says each topic's progress and answers the place", async () => {
    const { sessionId } = await tutorVisitor();
    expect(await act(sessionId, "TUTOR_PROGRESS", {})).toMatchObject({
      status: "ok",
      message: "Fractions: not started. Photosynthesis: not started.",
      result: {
        topics: [
          { topic: "Fractions", subtopics: 4, understood: 0 },
          { topic: "Photosynthesis", subtopics: 3, understood: 0 },
        ],
        place: null,
      },
    });
    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    expect((await act(sessionId, "TUTOR_PROGRESS", {})).message).toBe(
      "Fractions: 0 of 4 understood. Photosynthesis: not started.",
    );
    await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "right" });
    const progress = await act(sessionId, "TUTOR_PROGRESS", {});
    expect(progress.message).toBe("Fractions: 1 of 4 understood. Photosynthesis: not started.");
    expect(placeOf(progress).subtopic).toMatchObject({ id: 1, status: "understood" });
  });
});

describe("isolation between visitors", () => {
  it("one visitor's progress never shows in, nor moves with, another's", async () => {
    const a = await tutorVisitor();
    const b = await tutorVisitor();
    await act(a.sessionId, "START_TOPIC", { topic: "fractions" });
    await act(a.sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "right" });
    await act(a.sessionId, "NEXT_SUBTOPIC", {});

    expect((await act(b.sessionId, "CURRENT_SUBTOPIC", {})).status).toBe("refused");
    expect((await act(b.sessionId, "CHECK_UNDERSTANDING", { understood: false, note: "wrong" })).status).toBe(
      "refused",
    );
    expect((await act(b.sessionId, "NEXT_SUBTOPIC", {})).status).toBe("refused");
    expect((await act(b.sessionId, "TUTOR_PROGRESS", {})).message).toBe(
      "Fractions: not started. Photosynthesis: not started.",
    );
    expect((await tutor(b.cookie)).place).toBeNull();

    const bStart = await act(b.sessionId, "START_TOPIC", { topic: "fractions" });
    expect(placeOf(bStart).subtopics.map((s) => s.status)).toEqual(["started", null, null, null]);
    await act(b.sessionId, "CHECK_UNDERSTANDING", { understood: false, note: "wrong" });

    const aPlace = (await tutor(a.cookie)).place!;
    expect(aPlace.subtopic).toMatchObject({ id: 2, status: "started" });
    expect(aPlace.subtopics.map((s) => s.status)).toEqual(["understood", "started", null, null]);
    expect(await progressRows(a.visitorId)).toEqual([
      { subtopic_id: 1, status: "understood", note: "right" },
      { subtopic_id: 2, status: "started", note: null },
    ]);
    expect(await progressRows(b.visitorId)).toEqual([{ subtopic_id: 1, status: "not_understood", note: "wrong" }]);
    // And the read of one subtopic is the caller's own.
    const one = async (cookie: string) =>
      SubtopicResponse.parse(await (await call("/tutor/subtopics/1", { cookie })).json()).status;
    expect([await one(a.cookie), await one(b.cookie)]).toEqual(["understood", "not_understood"]);
  });
});

describe("GET /tutor", () => {
  it("answers the topics and no place for a new visitor, then the place the actions made", async () => {
    const res = await call("/tutor");
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(TutorResponse.parse(await res.json())).toEqual({
      topics: [
        { topic: "Fractions", subtopics: 4, understood: 0 },
        { topic: "Photosynthesis", subtopics: 3, understood: 0 },
      ],
      place: null,
    });
    const { cookie, sessionId } = await tutorVisitor();
    const started = await act(sessionId, "START_TOPIC", { topic: "photosynthesis" });
    await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "water" });
    const after = await tutor(cookie);
    expect(after.topics[1]).toEqual({ topic: "Photosynthesis", subtopics: 3, understood: 1 });
    expect(after.place).toEqual({
      ...placeOf(started),
      subtopic: { ...placeOf(started).subtopic, status: "understood" },
      subtopics: placeOf(started).subtopics.map((s) => (s.id === 5 ? { ...s, status: "understood" } : s)),
    });
  });

  it("refuses a foreign origin and allows a partner's with CORS", async () => {
    const cookie = await newVisitor();
    await expectError(
      await call("/tutor", { cookie, headers: { Origin: "https://evil.example" } }),
      403,
      "origin_not_allowed",
    );
    const partner = await call("/tutor", { cookie, headers: { Origin: "https://partner.example" } });
    expect(partner.status).toBe(200);
    expect(partner.headers.get("Access-Control-Allow-Origin")).toBe("https://partner.example");
  });
});

describe("GET /tutor/subtopics/{id}", () => {
  it("answers one subtopic with its whole content, its topic's size and the visitor's status", async () => {
    const { cookie, sessionId } = await tutorVisitor();
    const res = await call("/tutor/subtopics/3", { cookie });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = SubtopicResponse.parse(await res.json());
    expect(body).toEqual({
      id: 3,
      topic: "Fractions",
      title: "Adding and subtracting fractions",
      position: 3,
      count: 4,
      content: expect.stringMatching(/^When two fractions have the same denominator,[^]*\n\nA good check question: /),
      status: null,
    });
    expect(body.content).toMatch(/what is 5\/6 minus 1\/4\? \(7\/12\)$/);
    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    await act(sessionId, "NEXT_SUBTOPIC", {});
    await act(sessionId, "NEXT_SUBTOPIC", {});
    const started = SubtopicResponse.parse(await (await call("/tutor/subtopics/3", { cookie })).json());
    expect(started.status).toBe("started");
    const last = SubtopicResponse.parse(await (await call("/tutor/subtopics/7", { cookie })).json());
    expect(last).toMatchObject({ topic: "Photosynthesis", title: "The Calvin cycle", position: 3, count: 3 });
  });

  it("answers 400 for an id that is not a positive decimal integer, 404 for one that does not exist", async () => {
    const cookie = await newVisitor();
    for (const id of ["abc", "0", "-1", "1.5", "1e3", "01", "+1", "%201", "0x10", "2147483648", "99999999999"]) {
      await expectError(await call(`/tutor/subtopics/${id}`, { cookie }), 400, "invalid_subtopic_id");
    }
    for (const id of ["8", "999", "2147483647"]) {
      await expectError(await call(`/tutor/subtopics/${id}`, { cookie }), 404, "subtopic_not_found");
    }
  });
});

describe("curriculum queries", () => {
  it("keeps one current subtopic when writes share a millisecond, or come with an older time", async () => {
    const visitorId = `test-${crypto.randomUUID()}`;
    const db = env.CURRICULUM;
    expect(await tutorPlace(db, visitorId)).toBeNull();
    await startSubtopic(db, visitorId, 1, 1000);
    expect((await startSubtopic(db, visitorId, 5, 1000))!.place.subtopic.id).toBe(5);
    expect((await startSubtopic(db, visitorId, 2, 999))!.place.subtopic.id).toBe(2);
    expect((await recordCheck(db, visitorId, true, null, 5))!.place.subtopic).toMatchObject({
      id: 2,
      status: "understood",
    });
    expect(await tutorPlace(db, visitorId)).toEqual({
      topic: "Fractions",
      subtopic: { id: 2, title: "Equivalent fractions", position: 2, status: "understood" },
      subtopics: FRACTIONS_TITLES.map((title, i) => ({
        id: i + 1,
        title,
        position: i + 1,
        status: (["started", "understood", null, null] as const)[i]!,
      })),
    });
  });

  it("splits every seeded subtopic into its teaching text, check question and answer", async () => {
    const { results } = await env.CURRICULUM.prepare("SELECT content FROM subtopics").all<{ content: string }>();
    expect(results.length).toBeGreaterThanOrEqual(7);
    for (const { content } of results) {
      const lesson = splitContent(content);
      expect(lesson.content.length).toBeGreaterThan(200);
      expect(lesson.content).not.toContain("A good check question");
      expect(lesson.check_question).toMatch(/^[^()]+\?$/);
      expect(lesson.check_answer).toMatch(/^[^()]+$/);
      expect(content).toContain(`A good check question: ${lesson.check_question} (${lesson.check_answer})`);
    }
    expect(splitContent("One paragraph.\n\nAnother, without a question.")).toEqual({
      content: "One paragraph.\n\nAnother, without a question.",
      check_question: "",
      check_answer: "",
    });
  });

  it("matchTopics: the topics holding every word of the query, else those whose words the query holds", () => {
    const topics = ["Fractions", "Photosynthesis", "Decimal fractions"];
    expect(matchTopics(topics, "fractions")).toEqual(["Fractions", "Decimal fractions"]);
    expect(matchTopics(topics, "the decimal fraction topic")).toEqual(["Decimal fractions"]);
    expect(matchTopics(topics, "PHOTOSYNTHESIS")).toEqual(["Photosynthesis"]);
    expect(matchTopics(topics, "let's learn about photosynthesis")).toEqual(["Photosynthesis"]);
    expect(matchTopics(topics, "the topic")).toEqual([]);
    expect(matchTopics(topics, "knitting")).toEqual([]);
  });
});

describe("the visitor's place, where a conversation starts", () => {
  /** The dispatch metadata LiveKit received for `room`. */
  async function dispatched(room: string): Promise<DispatchMetadata> {
    const calls = (await liveKitCalls(room)).filter((c) => c.method === "CreateDispatch");
    expect(calls).toHaveLength(1);
    return DispatchMetadata.parse(JSON.parse(String(calls[0]!.body.metadata)));
  }

  it("goes into a tutor session's dispatch once they started a topic, and never into another profile's", async () => {
    const { cookie, sessionId } = await tutorVisitor();
    const before = await startWith(await newVisitor(), { profile: "tutor" });
    expect(await dispatched(before.room)).not.toHaveProperty("tutor_place");

    await act(sessionId, "START_TOPIC", { topic: "fractions" });
    await act(sessionId, "CHECK_UNDERSTANDING", { understood: true, note: "knows the denominator" });
    await act(sessionId, "NEXT_SUBTOPIC", {});
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);

    const next = await startWith(cookie, { profile: "tutor" });
    const place = (await dispatched(next.room)).tutor_place!;
    expect(place).toEqual((await tutor(cookie)).place);
    expect(place).toMatchObject({
      topic: "Fractions",
      subtopic: { id: 2, title: "Equivalent fractions", position: 2, status: "started" },
    });
    expect(place.subtopics[0]).toMatchObject({ id: 1, status: "understood" });
    expect((await call(`/session/${next.sessionId}`, { method: "DELETE", cookie })).status).toBe(200);

    const planner = await startWith(cookie, { profile: "planner" });
    expect(await dispatched(planner.room)).not.toHaveProperty("tutor_place");
  });

  it("is on the tutor's chat page for the lesson panel (none before a topic, none for another profile)", async () => {
    const { cookie, sessionId } = await tutorVisitor();
    const page = async (agent: string) => {
      const res = await call(`/chat?agent=${agent}`, { cookie });
      expect(res.status).toBe(200);
      return res.text();
    };
    const empty = await page("tutor");
    expect(empty).toContain('id="tutor"');
    expect(empty).not.toContain("data-place");
    await act(sessionId, "START_TOPIC", { topic: "photosynthesis" });
    const html = await page("tutor");
    const attribute = /<section class="plan tutor" id="tutor"[^>]* data-place="([^"]+)"/.exec(html)?.[1];
    const decoded = attribute!.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&amp;", "&");
    expect(TutorPlace.parse(JSON.parse(decoded))).toEqual((await tutor(cookie)).place);
    expect(await page("planner")).not.toContain('id="tutor"');
  });
});
