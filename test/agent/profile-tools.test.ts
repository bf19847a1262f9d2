/**
 * A profile's intents as function tools (agent/profile-tools.ts): the description and schema the LLM gets, the
 * confirmation the agent asks for itself, what is sent to the Worker and what the LLM hears back. The last tests
 * run the tools in a real `AgentSession` with the framework's `voice.testing.FakeLLM` (a fake for the paid LLM
 * API) and the real actions client against the test's Worker (./ingest-server.ts, signatures verified).
 */
import { initializeLogger, llm, voice } from "@livekit/agents";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ActionCaller, ActionOutcome } from "../../agent/actions.ts";
import { ActionsClient } from "../../agent/actions.ts";
import { WebsiteAgent } from "../../agent/agent.ts";
import {
  CONFIRMED_DESCRIPTION,
  intentTools,
  readBackText,
  toolDescription,
  toolParameters,
} from "../../agent/profile-tools.ts";
import { type ActionRequest, type ActionResponse, CallId } from "../../contract/index.ts";
import { createLogger } from "../../contract/log.ts";
import { Intent } from "../../contract/profile.ts";
import { type IngestServer, startIngestServer } from "./ingest-server.ts";

const NEW_TASK = Intent.parse({
  name: "NEW_TASK",
  description: "Add a task for the visitor.",
  parameters: {
    type: "object",
    properties: {
      title: { type: "string", minLength: 1, maxLength: 200 },
      due: { type: "string", format: "date-time", description: "When it is due." },
    },
    required: ["title"],
    additionalProperties: false,
  },
  examples: ["add a task to call the dentist tomorrow at 9", "I need to buy milk"],
  confirm: false,
});

const RESCHEDULE = Intent.parse({
  name: "RESCHEDULE_TASK",
  description: "Move an existing task to a new due time.",
  parameters: {
    type: "object",
    properties: {
      task: { type: "string", minLength: 1 },
      due: { type: "string", format: "date-time" },
      new_title: { type: "string" },
    },
    required: ["task", "due"],
    additionalProperties: false,
  },
  examples: ["move the dentist task to Friday at 10"],
  confirm: true,
});

const quiet = createLogger({ component: "agent", level: "error", write: () => {} });

/** An ActionCaller that records calls and answers `ok` (or what `outcome` says). */
function recordingCaller(outcome?: (req: ActionRequest) => ActionOutcome) {
  const calls: ActionRequest[] = [];
  const caller: ActionCaller = {
    call: async (req) => {
      calls.push(req);
      return (
        outcome?.(req) ?? {
          answered: true,
          response: { call_id: req.call_id, intent: req.intent, status: "ok", message: "Done" },
        }
      );
    },
  };
  return { caller, calls };
}

/** Runs a tool's `execute` as the framework does, with a tool call id. */
const run = (tool: llm.FunctionTool, args: Record<string, unknown>, toolCallId = "call_1") =>
  tool.execute(args as never, {
    ctx: {} as never,
    toolCallId,
    abortSignal: new AbortController().signal,
  });

describe("intent tools", () => {
  it("are named as the intents, with the description and the examples on one line", () => {
    const [task, move] = intentTools([NEW_TASK, RESCHEDULE], recordingCaller().caller, quiet);
    expect(task!.name).toBe("NEW_TASK");
    expect(move!.name).toBe("RESCHEDULE_TASK");
    expect(task!.description).toBe(
      "Add a task for the visitor.\nExamples: add a task to call the dentist tomorrow at 9 | I need to buy milk",
    );
    expect(toolDescription(RESCHEDULE)).toBe(
      "Move an existing task to a new due time.\nExamples: move the dentist task to Friday at 10",
    );
  });

  it("pass the intent's JSON Schema through, adding a required boolean `confirmed` only when it asks for a yes", () => {
    const before = structuredClone(RESCHEDULE.parameters);
    const [task, move] = intentTools([NEW_TASK, RESCHEDULE], recordingCaller().caller, quiet);
    expect(task!.parameters).toEqual(NEW_TASK.parameters);
    expect(move!.parameters).toEqual({
      ...RESCHEDULE.parameters,
      properties: {
        ...RESCHEDULE.parameters.properties,
        confirmed: { type: "boolean", description: CONFIRMED_DESCRIPTION },
      },
      required: ["task", "due", "confirmed"],
    });
    expect(CONFIRMED_DESCRIPTION).toBe("true only after you read the action back to the visitor and they said yes");
    expect(RESCHEDULE.parameters).toEqual(before); // the profile's own schema is not changed
    // The framework sends a JSON Schema to the LLM as it is.
    expect(llm.toJsonSchema(move!.parameters, true, false)).toEqual(move!.parameters);
    const taken = {
      ...RESCHEDULE,
      parameters: { ...RESCHEDULE.parameters, properties: { confirmed: { type: "boolean" as const } } },
    };
    expect(() => toolParameters(taken)).toThrow(/RESCHEDULE_TASK: the parameter "confirmed" is reserved/);
  });

  it("send a call with the LLM's tool call id and return the Worker's answer as it is", async () => {
    const { caller, calls } = recordingCaller();
    const [task] = intentTools([NEW_TASK], caller, quiet);
    const out = await run(task!, { title: "Buy milk" }, "call_XYZ.1");
    expect(calls).toEqual([{ call_id: "call_XYZ.1", intent: "NEW_TASK", arguments: { title: "Buy milk" } }]);
    expect(out).toEqual({ call_id: "call_XYZ.1", intent: "NEW_TASK", status: "ok", message: "Done" });
  });

  it("give a call whose id the contract refuses a fresh id", async () => {
    const { caller, calls } = recordingCaller();
    const [task] = intentTools([NEW_TASK], caller, quiet);
    await run(task!, { title: "Buy milk" }, "call with spaces and ünïcode");
    await run(task!, { title: "Buy eggs" }, "");
    expect(calls.map((c) => CallId.safeParse(c.call_id).success)).toEqual([true, true]);
    expect(calls[0]!.call_id).not.toBe(calls[1]!.call_id);
  });

  it("answer a call that needs a yes themselves, without sending it, until it comes with confirmed: true", async () => {
    const { caller, calls } = recordingCaller();
    const lines: string[] = [];
    const log = createLogger({ component: "agent", write: (l) => void lines.push(l) });
    const [move] = intentTools([RESCHEDULE], caller, log);
    const args = { task: "dentist", due: "2026-12-04T10:00:00+01:00", new_title: "Dentist at 10" };
    for (const confirmed of [undefined, false, "true", 1]) {
      const out = await run(move!, confirmed === undefined ? args : { ...args, confirmed });
      expect(out).toBeInstanceOf(llm.ToolError);
      expect((out as Error).message).toBe(
        "Read it back and ask for a yes: RESCHEDULE_TASK task: dentist, due: 2026-12-04T10:00:00+01:00, new title: Dentist at 10",
      );
    }
    expect(calls).toEqual([]);
    // The read-back is logged without the visitor's words.
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(Array(4).fill("action_unconfirmed"));
    expect(lines.join("\n")).not.toMatch(/dentist/i);

    await run(move!, { ...args, confirmed: true }, "call_2");
    expect(calls).toEqual([{ call_id: "call_2", intent: "RESCHEDULE_TASK", arguments: args }]); // without `confirmed`
    expect(readBackText("GOAL", {})).toBe("Read it back and ask for a yes: GOAL");
  });

  it("tell the LLM in a short sentence when the Worker gave no answer", async () => {
    const { caller } = recordingCaller(() => ({ answered: false, failure: "unreachable" }));
    const [task] = intentTools([NEW_TASK], caller, quiet);
    const out = await run(task!, { title: "Buy milk" });
    expect(out).toBeInstanceOf(llm.ToolError);
    expect((out as Error).message).toBe("The server is not reachable right now; nothing was done.");
  });
});

describe("intent tools in an agent session (FakeLLM, the real actions client and the test's Worker)", () => {
  const SECRET = "test-ingest-secret-0123456789abcdef";
  const SESSION = "AAAAAAAAAAAAAAAAAAAAAA";
  let server: IngestServer;
  let session: voice.AgentSession | null = null;
  beforeAll(() => initializeLogger({ pretty: false, level: "error" }));
  beforeEach(async () => {
    server = await startIngestServer(SECRET);
  });
  afterEach(async () => {
    await session?.close();
    session = null;
    await server.close();
  });

  /** A session whose agent has the two intents as tools, answering with `responses`. */
  async function start(responses: voice.testing.FakeLLMResponse[]) {
    const actions = new ActionsClient({ ingestUrl: server.url, secret: SECRET, sessionId: SESSION, log: quiet });
    const tools = intentTools([NEW_TASK, RESCHEDULE], actions, quiet);
    session = new voice.AgentSession({ llm: new voice.testing.FakeLLM(responses) });
    const agent = new WebsiteAgent("You plan.", { mode: "none" }, { tools });
    await session.start({ agent });
    return agent;
  }

  it("calls the Worker when the LLM calls a tool, and the answer reaches the LLM", async () => {
    const answer: ActionResponse = {
      call_id: "fake_call_0",
      intent: "NEW_TASK",
      status: "ok",
      message: "Task added: Call the dentist",
      result: { task: { id: "task_1" } },
    };
    server.actionAnswer = () => answer;
    const agent = await start([
      {
        input: "add a task to call the dentist",
        toolCalls: [{ name: "NEW_TASK", args: { title: "Call the dentist" } }],
      },
      // FakeLLM answers the tool's output (what the LLM receives) with this text.
      { input: JSON.stringify(answer), content: "I added it." },
    ]);
    expect(Object.keys(agent.toolCtx.functionTools).sort()).toEqual(["NEW_TASK", "RESCHEDULE_TASK"]);
    const result = await session!.run({ userInput: "add a task to call the dentist" }).wait();
    result.expect.nextEvent().isFunctionCall({ name: "NEW_TASK" });
    result.expect.nextEvent().isFunctionCallOutput({ output: JSON.stringify(answer), isError: false });
    result.expect.nextEvent().isMessage({ role: "assistant" });
    result.expect.noMoreEvents();
    expect(server.actions).toHaveLength(1);
    expect(server.actions[0]).toMatchObject({
      sessionId: SESSION,
      verdict: "ok",
      request: { call_id: "fake_call_0", intent: "NEW_TASK", arguments: { title: "Call the dentist" } },
    });
  });

  it("asks for a yes before moving a task, then sends it without `confirmed`", async () => {
    const due = "2026-12-04T10:00:00+01:00";
    const readBack = `Read it back and ask for a yes: RESCHEDULE_TASK task: dentist, due: ${due}`;
    await start([
      {
        input: "move the dentist task to Friday",
        toolCalls: [{ name: "RESCHEDULE_TASK", args: { task: "dentist", due } }],
      },
      { input: readBack, content: "Shall I move the dentist task to Friday at 10?" },
      { input: "yes", toolCalls: [{ name: "RESCHEDULE_TASK", args: { task: "dentist", due, confirmed: true } }] },
    ]);
    const first = await session!.run({ userInput: "move the dentist task to Friday" }).wait();
    first.expect.nextEvent().isFunctionCall({ name: "RESCHEDULE_TASK" });
    first.expect.nextEvent().isFunctionCallOutput({ output: readBack, isError: true });
    first.expect.nextEvent().isMessage({ role: "assistant" });
    expect(server.actions).toHaveLength(0);

    await session!.run({ userInput: "yes" }).wait();
    expect(server.acted).toEqual([
      { call_id: "fake_call_0", intent: "RESCHEDULE_TASK", arguments: { task: "dentist", due } },
    ]);
  });
});
