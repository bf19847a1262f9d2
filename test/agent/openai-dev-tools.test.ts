/**
 * The local OpenAI stand-in's function tools (dev/openai/tools.ts, when.ts): choosing a tool from a visitor's words,
 * filling its arguments from the JSON Schema (dates in the visitor's zone), questions for missing arguments, the
 * read-back/yes round of a tool that needs confirmation, replies after tool results, and the wire format, streamed
 * and not, read by the real @livekit/agents-plugin-openai LLM.
 */
import { initializeLogger, llm } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localTimeLine } from "../../contract/profile.ts";
import { toolDescription, toolParameters } from "../../agent/profile-tools.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { loadProfiles } from "../../profiles/load.ts";
import {
  askedYesNo,
  type ChatMessage,
  decide,
  fillArguments,
  type FunctionTool,
  isNo,
  isYes,
  objectPhrase,
  parseExamples,
  replyToAction,
  replyToToolResults,
} from "../../dev/openai/tools.ts";
import { findWhen, localNowFrom, type LocalNow, parseLocalNow, renderWhen, speakWhen } from "../../dev/openai/when.ts";

/** What the agent gives the LLM for an intent: its description, then "Examples: a | b | c" (docs/profiles.md). */
const described = (description: string, examples: string[]) => `${description}\nExamples: ${examples.join(" | ")}`;

/** The planner profile's three intents as function tools (schemas from the brief of issue #13). */
const GOAL: FunctionTool = {
  type: "function",
  function: {
    name: "GOAL",
    description: described("Record a goal the visitor wants to reach, with an optional target date.", [
      "my goal is to run a marathon by June",
      "I want to learn Spanish this year",
      "set a goal: read 20 books",
    ]),
    parameters: {
      type: "object",
      properties: {
        title: { type: "string", minLength: 1, maxLength: 200 } as never,
        description: { type: "string", maxLength: 500 },
        target_date: { type: "string", format: "date" },
      },
      required: ["title"],
      additionalProperties: false,
    } as never,
  },
};
const NEW_TASK: FunctionTool = {
  type: "function",
  function: {
    name: "NEW_TASK",
    description: described("Add a task to the visitor's list, optionally with a due date and time and a goal.", [
      "add a task to buy milk",
      "remind me to call mom tomorrow at 6",
      "put pick up the kids on my list for Friday",
    ]),
    parameters: {
      type: "object",
      properties: {
        title: { type: "string", minLength: 1, maxLength: 200 },
        due: { type: "string", format: "date-time", description: "ISO 8601 with offset" },
        goal: { type: "string", minLength: 1, maxLength: 200, description: "a goal's id or words of its title" },
      },
      required: ["title"],
      additionalProperties: false,
    } as never,
  },
};
const RESCHEDULE_TASK: FunctionTool = {
  type: "function",
  function: {
    name: "RESCHEDULE_TASK",
    description: described("Move an existing task to a new due date and time.", [
      "move the dentist task to Friday at 10",
      "reschedule my call with Anna to next week",
      "push the report to tomorrow",
    ]),
    parameters: {
      type: "object",
      properties: {
        task: { type: "string", minLength: 1, maxLength: 200, description: "a task's id or words of its title" },
        due: { type: "string", format: "date-time" },
        // added by the agent to intents with `confirm: true`
        confirmed: {
          type: "boolean",
          description: "true only after you read the action back and the visitor said yes",
        },
      },
      required: ["task", "due", "confirmed"],
      additionalProperties: false,
    } as never,
  },
};
const PLANNER = [GOAL, NEW_TASK, RESCHEDULE_TASK];

/** Tuesday 1 December 2026, 12:40:05 in Berlin (+01:00). */
const NOW = new Date("2026-12-01T11:40:05Z");
const system = (now = NOW, zone = "Europe/Berlin"): ChatMessage => ({
  role: "system",
  content: `You are a planner.\n${localTimeLine(now, zone)}`,
});
const user = (content: string): ChatMessage => ({ role: "user", content });
const assistant = (content: string): ChatMessage => ({ role: "assistant", content });
const berlin = localNowFrom([localTimeLine(NOW, "Europe/Berlin")]);

function at(line: string): LocalNow {
  const m = /^(\S+) (\S+)$/.exec(line)!;
  return parseLocalNow(m[1]!, m[2]!)!;
}

describe("date reader", () => {
  it("reads the visitor's local time from the prompt line, else the current UTC time", () => {
    expect(berlin).toMatchObject({ year: 2026, month: 12, day: 1, hour: 12, minute: 40, offsetMinutes: 60 });
    expect(berlin.zone).toBe("Europe/Berlin");
    const utc = localNowFrom(["no line here"], new Date("2026-12-01T23:30:00Z"));
    expect(utc).toMatchObject({ day: 1, hour: 23, minute: 30, offsetMinutes: 0, zone: "UTC" });
    expect(renderWhen(findWhen("tomorrow", utc)!, "date-time", utc)).toBe("2026-12-02T09:00:00+00:00");
  });

  // [now (local date-time with offset, zone), text, format, expected]
  const table: [string, string, "date-time" | "date" | "time", string | undefined][] = [
    [
      "2026-12-01T12:40:05+01:00 Europe/Berlin",
      "call the dentist tomorrow at 9",
      "date-time",
      "2026-12-02T09:00:00+01:00",
    ],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "today", "date-time", "2026-12-01T13:00:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "tonight", "date-time", "2026-12-01T20:00:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "tonight at 9", "date-time", "2026-12-01T21:00:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "tomorrow morning", "date-time", "2026-12-02T09:00:00+01:00"],
    [
      "2026-12-01T12:40:05+01:00 Europe/Berlin",
      "the day after tomorrow at noon",
      "date-time",
      "2026-12-03T12:00:00+01:00",
    ],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "on Friday", "date-time", "2026-12-04T09:00:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "next Friday at 9:30 pm", "date-time", "2026-12-04T21:30:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "on Tuesday", "date", "2026-12-08"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "this Tuesday", "date", "2026-12-01"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "December 3 at 14:00", "date-time", "2026-12-03T14:00:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "on 3 December at 9am", "date-time", "2026-12-03T09:00:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "the 3rd of December", "date", "2026-12-03"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "Dec 3rd, 2027", "date", "2027-12-03"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "November 30", "date", "2027-11-30"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "by June", "date", "2027-06-01"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "at 9", "date-time", "2026-12-02T09:00:00+01:00"], // 09:00 has passed
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "at 3", "date-time", "2026-12-01T15:00:00+01:00"], // 1-6: afternoon
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "at 7pm", "time", "19:00:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "at 12am", "time", "00:00:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "in 2 hours", "date-time", "2026-12-01T14:40:00+01:00"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "in three days", "date", "2026-12-04"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "next week", "date", "2026-12-07"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "2026-12-24", "date", "2026-12-24"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "by the end of summer", "date", "2027-08-31"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "this winter", "date", "2026-12-01"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "by fall", "date", "2027-09-01"],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "don't let it fall", "date", undefined],
    ["2026-12-01T12:40:05+01:00 Europe/Berlin", "read 20 books", "date", undefined],
    // fixed offsets, no daylight saving
    ["2026-12-01T17:10:05+05:30 Asia/Kolkata", "tomorrow at 9", "date-time", "2026-12-02T09:00:00+05:30"],
    ["2026-06-01T08:40:05-03:00 America/Sao_Paulo", "on Friday at 10", "date-time", "2026-06-05T10:00:00-03:00"],
    ["2026-12-01T06:40:05-05:00 Etc/GMT+5", "at noon", "date-time", "2026-12-01T12:00:00-05:00"],
    ["2026-12-01T23:40:05+14:00 Pacific/Kiritimati", "tomorrow at 8am", "date-time", "2026-12-02T08:00:00+14:00"],
    // an unknown zone keeps the line's offset
    ["2026-12-01T12:40:05+02:00 Mars/Base", "tomorrow at 9", "date-time", "2026-12-02T09:00:00+02:00"],
    // across a daylight-saving change: the offset in force on that day
    ["2026-03-28T10:00:00+01:00 Europe/Berlin", "tomorrow at 9", "date-time", "2026-03-29T09:00:00+02:00"],
    ["2026-10-31T10:00:00-04:00 America/New_York", "tomorrow at 9", "date-time", "2026-11-01T09:00:00-05:00"],
  ];
  it.each(table)("%s: %s (%s) → %s", (now, text, format, expected) => {
    const local = at(now);
    const when = findWhen(text, local);
    expect(when && renderWhen(when, format, local)).toBe(expected);
  });

  it("reports the spans it read, with the prepositions before them", () => {
    const text = "move the dentist task to Friday at 10";
    const when = findWhen(text, berlin)!;
    expect(when.spans.map(([s, e]) => text.slice(s, e))).toEqual(["to Friday", "at 10"]);
  });

  it("speaks a date-time back in words", () => {
    expect(speakWhen("2026-12-04T10:00:00+01:00", berlin)).toBe("Friday 4 December at 10:00");
    expect(speakWhen("2026-12-02T09:00:00+01:00", berlin)).toBe("tomorrow at 09:00");
    expect(speakWhen("2027-06-01", berlin)).toBe("Tuesday 1 June 2027");
  });
});

describe("choosing a tool and filling its arguments", () => {
  const ask = (text: string, tools = PLANNER) => decide([system(), user(text)], tools);

  it("reads the examples line of a description", () => {
    expect(parseExamples(NEW_TASK.function.description)).toEqual({
      prose: "Add a task to the visitor's list, optionally with a due date and time and a goal.",
      examples: [
        "add a task to buy milk",
        "remind me to call mom tomorrow at 6",
        "put pick up the kids on my list for Friday",
      ],
    });
    expect(parseExamples("No examples.").examples).toEqual([]);
  });

  it.each([
    [
      "add a task to call the dentist tomorrow at 9",
      "NEW_TASK",
      { title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" },
    ],
    ["Please remind me to call mom tonight at 7", "NEW_TASK", { title: "Call mom", due: "2026-12-01T19:00:00+01:00" }],
    ["I'd like to add a task to water the plants", "NEW_TASK", { title: "Water the plants" }],
    [
      "add a task to buy running shoes for my marathon goal",
      "NEW_TASK",
      { title: "Buy running shoes", goal: "marathon" },
    ],
    [
      'new task: "Send the invoice" on December 3',
      "NEW_TASK",
      { title: "Send the invoice", due: "2026-12-03T09:00:00+01:00" },
    ],
    [
      "move the dentist task to Friday at 10",
      "RESCHEDULE_TASK",
      { task: "dentist", due: "2026-12-04T10:00:00+01:00", confirmed: false },
    ],
    [
      "reschedule my call with Anna to next week",
      "RESCHEDULE_TASK",
      { task: "call with Anna", due: "2026-12-07T09:00:00+01:00", confirmed: false },
    ],
    ["my goal is to run a marathon by June", "GOAL", { title: "Run a marathon", target_date: "2027-06-01" }],
    ["I want to learn Spanish this year", "GOAL", { title: "Learn Spanish", target_date: "2026-12-31" }],
    ["set a goal: read 20 books", "GOAL", { title: "Read 20 books" }],
  ])("%s → %s %o", (text, name, args) => {
    expect(ask(text)).toEqual({ kind: "tool", name, arguments: args });
  });

  it("answers other words with the scripted text (no decision)", () => {
    for (const text of ["go forward ten meters", "how are you today", "I heard about the task", "thanks"]) {
      expect(ask(text), text).toBeUndefined();
    }
    expect(decide([system()], PLANNER)).toBeUndefined(); // nobody spoke yet: the greeting
  });

  it("extracts the object phrase after the verb and its connector", () => {
    const nouns = ["task", "goal"];
    expect(objectPhrase("can you add a task to call the dentist", nouns)).toBe("call the dentist");
    expect(objectPhrase("move the dentist task", nouns)).toBe("dentist");
    expect(objectPhrase("my goal is to run a marathon", nouns)).toBe("run a marathon");
    expect(objectPhrase("I want to make bread", nouns)).toBe("make bread");
    expect(objectPhrase("I need to add a task to move the couch", nouns)).toBe("move the couch");
    expect(objectPhrase("put pick up the kids on my list", nouns)).toBe("pick up the kids");
  });

  it("asks for a required property it cannot fill instead of calling", () => {
    expect(ask("move the dentist task")).toEqual({ kind: "text", text: "When should it be due?" });
    expect(ask("add a task")).toEqual({ kind: "text", text: "What should it be called?" });
    expect(ask("reschedule to Friday")).toEqual({ kind: "text", text: "Which task do you mean?" });
    const level: FunctionTool = {
      type: "function",
      function: {
        name: "SET_PRIORITY",
        description: described("Set a task's priority.", ["set the priority of the report to high"]),
        parameters: {
          type: "object",
          properties: { task: { type: "string" }, priority: { type: "string", enum: ["low", "normal", "high"] } },
          required: ["task", "priority"],
        },
      },
    };
    expect(ask("set the priority of the report", [level])).toEqual({
      kind: "text",
      text: "Which priority: low, normal or high?",
    });
    expect(ask("set the priority of the report to high", [level])).toEqual({
      kind: "tool",
      name: "SET_PRIORITY",
      arguments: { task: "report", priority: "high" },
    });
    const run: FunctionTool = {
      type: "function",
      function: {
        name: "LOG_RUN",
        description: described("Log a run.", ["log a run of 5 km"]),
        parameters: {
          type: "object",
          properties: { km: { type: "integer", minimum: 1, maximum: 100 }, day: { type: "string", format: "date" } },
          required: ["km"],
        },
      },
    };
    expect(ask("log a run of 12 km on Friday at 7", [run])).toEqual({
      kind: "tool",
      name: "LOG_RUN",
      arguments: { km: 12, day: "2026-12-04" },
    });
    expect(ask("log a run", [run])).toEqual({ kind: "text", text: "What km should I use?" });
  });

  it("reads the answer to its question together with the request", () => {
    const messages = [
      system(),
      user("move the dentist task"),
      assistant("When should it be due?"),
      user("Friday at 10"),
    ];
    expect(decide(messages, PLANNER)).toEqual({
      kind: "tool",
      name: "RESCHEDULE_TASK",
      arguments: { task: "dentist", due: "2026-12-04T10:00:00+01:00", confirmed: false },
    });
    const titled = [system(), user("add a task"), assistant("What should it be called?"), user("buy milk")];
    expect(decide(titled, PLANNER)).toMatchObject({ name: "NEW_TASK", arguments: { title: "Buy milk" } });
  });

  it("honours tool_choice none, required and a named function", () => {
    const messages = [system(), user("add a task to call the dentist")];
    expect(decide(messages, PLANNER, "none")).toBeUndefined();
    expect(decide([system(), user("hello there")], PLANNER, "required")).toMatchObject({ kind: "tool" });
    expect(decide(messages, PLANNER, { type: "function", function: { name: "GOAL" } })).toEqual({
      kind: "tool",
      name: "GOAL",
      arguments: { title: "Call the dentist" },
    });
  });

  it("detects yes, no and yes/no questions", () => {
    for (const t of ["yes", "Yes.", "yeah", "sure", "correct", "do it", "please do", "yes, go ahead"])
      expect(isYes(t), t).toBe(true);
    for (const t of ["no", "yes but at 11", "not yet", "maybe", "I said the dentist"]) expect(isYes(t), t).toBe(false);
    expect(isNo("no, leave it")).toBe(true);
    expect(askedYesNo('Shall I reschedule the task "dentist" (due: Friday 4 December at 10:00)?')).toBe(true);
    expect(askedYesNo("Got it. Do you want me to add it?")).toBe(true);
    expect(askedYesNo('Which task: "Call the dentist" or "Dentist invoice"?')).toBe(false);
    expect(askedYesNo("Shall I do it.")).toBe(false);
  });

  it("fills confirmed only after a yes to a yes/no question", () => {
    const now = berlin;
    const text = "yes";
    expect(
      fillArguments(text, RESCHEDULE_TASK, { now, previousAssistant: "Shall I move it?" }).arguments.confirmed,
    ).toBe(true);
    expect(fillArguments(text, RESCHEDULE_TASK, { now, previousAssistant: "Which task?" }).arguments.confirmed).toBe(
      false,
    );
    expect(fillArguments(text, RESCHEDULE_TASK, { now }).arguments.confirmed).toBe(false);
  });

  it("reads a confirmation back, then repeats the call with confirmed: true after a yes", () => {
    const call = { task: "dentist", due: "2026-12-04T10:00:00+01:00", confirmed: false };
    const history: ChatMessage[] = [
      system(),
      user("move the dentist task to Friday at 10"),
      {
        role: "assistant",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "RESCHEDULE_TASK", arguments: JSON.stringify(call) } },
        ],
      },
      // the agent answers an unconfirmed call itself, as an llm.ToolError (handed over as it is)
      {
        role: "tool",
        tool_call_id: "call_1",
        content: "Read it back and ask for a yes: RESCHEDULE_TASK task: dentist, due: 2026-12-04T10:00:00+01:00",
      },
    ];
    const question = decide(history, PLANNER);
    expect(question).toEqual({
      kind: "text",
      text: 'Shall I reschedule the task "dentist" (due: Friday 4 December at 10:00)?',
    });
    // the same read-back as a JSON-encoded return value (what LiveKit Agents makes of a returned string)
    const encoded = [...history.slice(0, -1), { ...history.at(-1)!, content: JSON.stringify(history.at(-1)!.content) }];
    expect(decide(encoded, PLANNER)).toEqual(question);
    const asked = [...history, assistant((question as { text: string }).text)];
    expect(decide([...asked, user("yes")], PLANNER)).toEqual({
      kind: "tool",
      name: "RESCHEDULE_TASK",
      arguments: { ...call, confirmed: true },
    });
    expect(decide([...asked, user("no")], PLANNER)).toEqual({ kind: "text", text: "Okay, I will leave it as it is." });
    // a later, unrelated yes/no question does not confirm the old call
    const later = [...asked, user("no"), assistant("Okay. Do you want anything else?"), user("yes")];
    expect(decide(later, PLANNER)).toBeUndefined();
  });
});

describe("the shipped planner profile, as the agent describes it", () => {
  const planner = loadProfiles().get("planner")!;
  const tools: FunctionTool[] = planner.intents.map((intent) => ({
    type: "function",
    function: { name: intent.name, description: toolDescription(intent), parameters: toolParameters(intent) as never },
  }));

  it.each(planner.intents.flatMap((i) => i.examples.map((e) => [i.name, e] as const)))(
    "%s is chosen for its example %j",
    (name, example) => {
      const decision = decide([system(), user(example)], tools);
      expect(decision).toMatchObject({ kind: "tool", name });
    },
  );

  it("fills the planner's arguments", () => {
    expect(decide([system(), user("add a 5 km run on Saturday to my marathon goal")], tools)).toEqual({
      kind: "tool",
      name: "NEW_TASK",
      arguments: { title: "5 km run", due: "2026-12-05T09:00:00+01:00", goal: "marathon" },
    });
    expect(decide([system(), user("I'd like to save money for a new bike by the end of summer")], tools)).toEqual({
      kind: "tool",
      name: "GOAL",
      arguments: { title: "Save money for a new bike", target_date: "2027-08-31" },
    });
    expect(decide([system(), user("can we do the flights on Tuesday instead")], tools)).toEqual({
      kind: "tool",
      name: "RESCHEDULE_TASK",
      arguments: { task: "flights", due: "2026-12-08T09:00:00+01:00", confirmed: false },
    });
  });
});

describe("the shipped tutor profile, as the agent describes it", () => {
  const tutor = loadProfiles().get("tutor")!;
  const tools: FunctionTool[] = tutor.intents.map((intent) => ({
    type: "function",
    function: { name: intent.name, description: toolDescription(intent), parameters: toolParameters(intent) as never },
  }));

  it.each(tutor.intents.flatMap((i) => i.examples.map((e) => [i.name, e] as const)))(
    "%s is chosen for its example %j",
    (name, example) => {
      expect(decide([system(), user(example)], tools)).toMatchObject({ kind: "tool", name });
    },
  );

  it("picks a tool when the words are one of its examples, even ones that score little alone", () => {
    // "how am I doing" leaves one word after the stop words; said as the example, it still picks the tool.
    expect(decide([system(), user("How am I doing?")], tools)).toMatchObject({ name: "TUTOR_PROGRESS" });
    expect(decide([system(), user("Where were we")], tools)).toMatchObject({ name: "CURRENT_SUBTOPIC" });
    expect(decide([system(), user("what's the weather like")], tools)).toBeUndefined();
  });

  it("fills understood from whether the answer is negative, and the note with the visitor's words", () => {
    expect(decide([system(), user("I understand, the bottom number is the denominator")], tools)).toEqual({
      kind: "tool",
      name: "CHECK_UNDERSTANDING",
      arguments: { understood: true, note: "I understand, the bottom number is the denominator" },
    });
    expect(decide([system(), user("I don't get it")], tools)).toEqual({
      kind: "tool",
      name: "CHECK_UNDERSTANDING",
      arguments: { understood: false, note: "I don't get it" },
    });
  });

  it("teaches the first sentences of a result's content, then asks its check question", () => {
    const content = "A fraction describes part of a whole. Imagine a pizza. The bottom number is the denominator.";
    expect(
      replyToAction({
        status: "ok",
        message: "Fractions, part 1 of 4: What a fraction is.",
        result: { content, check_question: "which number is the denominator?" },
      }),
    ).toBe(
      "Fractions, part 1 of 4: What a fraction is. A fraction describes part of a whole. Imagine a pizza. " +
        "Here is a question for you: which number is the denominator?",
    );
    // Without content, an ok is "Done." as for any action.
    expect(replyToAction({ status: "ok", message: "Noted: understood.", result: { place: {} } })).toBe(
      "Done. Noted: understood.",
    );
  });
});

describe("replies after a tool result", () => {
  const response = (status: string, message: string, extra: object = {}) =>
    JSON.stringify({ call_id: "call_1", intent: "NEW_TASK", status, message, ...extra });
  const after = (content: string) =>
    replyToToolResults(
      [
        system(),
        user("add a task to call the dentist"),
        {
          role: "assistant",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "NEW_TASK", arguments: "{}" } }],
        },
        { role: "tool", tool_call_id: "call_1", content },
      ],
      PLANNER,
      berlin,
    );

  it.each([
    ["ok", "Task added: Call the dentist", {}, "Done. Task added: Call the dentist."],
    [
      "ambiguous",
      'Which task: "Call the dentist" or "Dentist invoice"?',
      {},
      'Which task: "Call the dentist" or "Dentist invoice"?',
    ],
    ["refused", 'No task matches "plumber".', {}, 'Sorry, no task matches "plumber".'],
    [
      "invalid",
      "The arguments do not match the intent.",
      { errors: [{ path: "/due", message: "must be a date-time with an offset" }] },
      "That did not work: The arguments do not match the intent. due: must be a date-time with an offset.",
    ],
  ])("%s", (status, message, extra, expected) => {
    expect(after(response(status, message, extra))).toBe(expected);
    expect(replyToAction({ status, message, ...extra })).toBe(expected);
  });

  it("passes other strings on, e.g. a tool error", () => {
    expect(after("An internal error occurred while executing the tool.")).toBe(
      "An internal error occurred while executing the tool.",
    );
  });

  it("answers the tool result instead of calling again, and tool_choice none still answers it", () => {
    const messages: ChatMessage[] = [
      system(),
      user("add a task to call the dentist"),
      {
        role: "assistant",
        tool_calls: [{ id: "c", type: "function", function: { name: "NEW_TASK", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c", content: response("ok", "Task added: Call the dentist") },
    ];
    expect(decide(messages, PLANNER)).toEqual({ kind: "text", text: "Done. Task added: Call the dentist." });
    expect(decide(messages, PLANNER, "none")).toEqual({ kind: "text", text: "Done. Task added: Call the dentist." });
  });
});

describe("the stand-in's wire format", () => {
  let provider: DevOpenAI;
  beforeAll(async () => {
    initializeLogger({ pretty: false, level: "error" });
    provider = await startDevOpenAI({ port: 0, log: () => {} });
  });
  afterAll(async () => {
    await provider.close();
  });

  const post = (body: object) =>
    fetch(`${provider.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", ...body }),
    });
  const messages = [system(), user("add a task to call the dentist tomorrow at 9")];

  /** Reads an SSE body the way the plugin's parser does (inference/llm.js `parseChoice`). */
  async function readStream(res: Response) {
    const events = (await res.text()).split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, "")));
    const calls: { id: string; name: string; args: string }[] = [];
    let text = "";
    let finish: string | undefined;
    for (const chunk of chunks) {
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        for (const t of choice.delta.tool_calls ?? []) {
          if (t.function.name) calls[t.index] = { id: t.id, name: t.function.name, args: t.function.arguments ?? "" };
          else calls[t.index]!.args += t.function.arguments;
        }
        finish = choice.finish_reason ?? finish;
      }
    }
    return { chunks, calls, text, finish };
  }

  it("streams a tool call as OpenAI does, with a deterministic id", async () => {
    const res = await post({
      stream: true,
      stream_options: { include_usage: true },
      messages,
      tools: PLANNER,
      parallel_tool_calls: true,
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { chunks, calls, text, finish } = await readStream(res);
    expect(text).toBe("");
    expect(finish).toBe("tool_calls");
    expect(chunks[0].choices[0].delta.tool_calls[0]).toMatchObject({
      index: 0,
      type: "function",
      function: { name: "NEW_TASK", arguments: "" },
    });
    expect(chunks.length).toBeGreaterThan(4); // the arguments arrive in fragments
    expect(chunks.at(-1).usage.completion_tokens).toBeGreaterThan(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(JSON.parse(calls[0]!.args)).toEqual({ title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" });
    const again = await readStream(await post({ stream: true, messages, tools: PLANNER }));
    expect(again.calls[0]!.id).toBe(calls[0]!.id);
  });

  it("answers a tool call without streaming", async () => {
    const res = await post({ messages, tools: PLANNER, tool_choice: "auto" });
    const body = (await res.json()) as {
      choices: {
        finish_reason: string;
        message: { content: null; tool_calls: { id: string; function: { name: string; arguments: string } }[] };
      }[];
    };
    const choice = body.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls[0]!.function.name).toBe("NEW_TASK");
    expect(JSON.parse(choice.message.tool_calls[0]!.function.arguments)).toMatchObject({ title: "Call the dentist" });
  });

  it("answers text with tool_choice none, and with a question for a missing argument", async () => {
    const none = await readStream(await post({ stream: true, messages, tools: PLANNER, tool_choice: "none" }));
    expect(none.calls).toEqual([]);
    expect(none.finish).toBe("stop");
    expect(none.text).toContain("I heard you say: add a task to call the dentist tomorrow at 9.");
    const missing = await readStream(
      await post({ stream: true, messages: [system(), user("move the dentist task")], tools: PLANNER }),
    );
    expect(missing.text).toBe("When should it be due?");
  });

  it("refuses a bad tools or tool_choice with a 400", async () => {
    const cases = [
      { messages, tools: "GOAL" },
      { messages, tools: [{ type: "function", function: {} }] },
      { messages, tool_choice: "required" },
      { messages, tools: PLANNER, tool_choice: { type: "function", function: { name: "NOPE" } } },
      { messages, tools: PLANNER, tool_choice: "sometimes" },
    ];
    for (const body of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe("invalid_request_error");
    }
  });

  it("is read by @livekit/agents-plugin-openai: a function call with parsed arguments, then the reply", async () => {
    const model = new openai.LLM({ apiKey: "sk-local-stand-in", baseURL: provider.baseURL, model: "gpt-4o-mini" });
    const executed: unknown[] = [];
    const toolCtx = Object.fromEntries(
      PLANNER.map((t) => [
        t.function.name,
        llm.tool({
          description: t.function.description!,
          parameters: t.function.parameters as never,
          execute: async (args: unknown) => void executed.push(args),
        }),
      ]),
    );
    const chatCtx = llm.ChatContext.empty();
    chatCtx.addMessage({ role: "system", content: `You are a planner.\n${localTimeLine(NOW, "Europe/Berlin")}` });
    chatCtx.addMessage({ role: "user", content: "add a task to call the dentist tomorrow at 9" });

    const calls: llm.FunctionCall[] = [];
    for await (const chunk of model.chat({ chatCtx, toolCtx })) calls.push(...(chunk.delta?.toolCalls ?? []));
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.name).toBe("NEW_TASK");
    expect(call.callId).toMatch(/^call_/);
    expect(JSON.parse(call.args)).toEqual({ title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" });

    // the agent returns the Worker's ActionResponse; the next request answers it with text
    chatCtx.insert(call);
    chatCtx.insert(
      llm.FunctionCallOutput.create({
        callId: call.callId,
        name: call.name,
        output: JSON.stringify({
          call_id: call.callId,
          intent: "NEW_TASK",
          status: "ok",
          message: "Task added: Call the dentist",
        }),
        isError: false,
      }),
    );
    let text = "";
    for await (const chunk of model.chat({ chatCtx, toolCtx })) text += chunk.delta?.content ?? "";
    expect(text).toBe("Done. Task added: Call the dentist.");
  });
});
