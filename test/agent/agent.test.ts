/**
 * Prompt and turn behaviour of the agent with the framework's `voice.testing` tools: `FakeLLM`
 * (a fake for the paid LLM API) and `session.run`.
 */
import { initializeLogger, llm, voice } from "@livekit/agents";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { GREETING_INSTRUCTIONS, WebsiteAgent, resolveInstructions } from "../../agent/agent.ts";
import { LOCAL_TIME_LINE } from "../../contract/profile.ts";
import { waitFor } from "../support/wait.ts";

const GREETING = "Hi! How can I help you today?";

/** FakeLLM that also keeps every chat context it was asked to complete. */
class RecordingLLM extends voice.testing.FakeLLM {
  contexts: llm.ChatContext[] = [];
  override chat(args: Parameters<voice.testing.FakeLLM["chat"]>[0]) {
    this.contexts.push(args.chatCtx.copy());
    return super.chat(args);
  }
}

const systemText = (ctx: llm.ChatContext) =>
  ctx.items
    .filter((i): i is llm.ChatMessage => i.type === "message" && i.role === "system")
    .map((m) => m.textContent)
    .join("\n");

let session: voice.AgentSession | null = null;
beforeAll(() => initializeLogger({ pretty: false, level: "warn" }));
afterEach(async () => {
  await session?.close();
  session = null;
});

describe("agent prompt and turns", () => {
  it("takes the dispatch's system prompt, else the profile's, and adds the visitor's local time", () => {
    const now = new Date("2026-12-01T11:40:05Z");
    const line = "The visitor's current local time is 2026-12-01T12:40:05+01:00 (Europe/Berlin).";
    expect(resolveInstructions("Speak like a pirate.", "profile", now, "Europe/Berlin")).toBe(
      `Speak like a pirate.\n\n${line}`,
    );
    expect(resolveInstructions(undefined, "profile\n", now, "Europe/Berlin")).toBe(`profile\n\n${line}`);
    expect(resolveInstructions("   ", "profile", now)).toBe(
      "profile\n\nThe visitor's current local time is 2026-12-01T11:40:05+00:00 (UTC).",
    );
    // An unknown zone counts as UTC (the contract checks the name; this is the last line of defence).
    expect(LOCAL_TIME_LINE.exec(resolveInstructions(undefined, "p", now, "Mars/Olympus"))?.[2]).toBe("UTC");
  });

  it("answers a user turn with the instructions it was given", async () => {
    const fake = new RecordingLLM([{ input: "go forward ten meters", content: "Moving forward ten meters." }]);
    session = new voice.AgentSession({ llm: fake });
    await session.start({ agent: new WebsiteAgent("You are a robot that answers in metres.", { mode: "none" }) });
    const result = await session.run({ userInput: "go forward ten meters" }).wait();
    result.expect.nextEvent().isMessage({ role: "assistant" });
    result.expect.noMoreEvents();
    const reply = result.events.find((e) => e.type === "message")!;
    expect((reply as { item: llm.ChatMessage }).item.textContent).toBe("Moving forward ten meters.");
    expect(systemText(fake.contexts.at(-1)!)).toContain("You are a robot that answers in metres.");
  });

  it("with GREETING_MODE=fixed (the default), says the profile's greeting first without asking the LLM", async () => {
    const fake = new RecordingLLM();
    session = new voice.AgentSession({ llm: fake });
    const speeches: voice.SpeechCreatedEvent[] = [];
    const said: string[] = [];
    session.on(voice.AgentSessionEventTypes.SpeechCreated, (ev) => speeches.push(ev));
    session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => {
      if (ev.item.type === "message" && ev.item.role === "assistant") said.push(ev.item.textContent ?? "");
    });
    await session.start({ agent: new WebsiteAgent("Be brief.", { mode: "fixed", text: GREETING }) });
    await waitFor("the greeting", () => said.length > 0, { timeoutMs: 2000, intervalMs: 20 });
    expect(speeches.map((s) => s.source)).toEqual(["say"]);
    expect(said).toEqual([GREETING]);
    expect(fake.contexts).toHaveLength(0);
  });

  it("with GREETING_MODE=generated, asks the LLM for a greeting on entering the session", async () => {
    const fake = new RecordingLLM();
    session = new voice.AgentSession({ llm: fake });
    const speeches: voice.SpeechCreatedEvent[] = [];
    session.on(voice.AgentSessionEventTypes.SpeechCreated, (ev) => speeches.push(ev));
    await session.start({ agent: new WebsiteAgent("Be brief.", { mode: "generated" }) });
    await waitFor("a chat request", () => fake.contexts.length > 0, { timeoutMs: 2000, intervalMs: 20 });
    expect(speeches.map((s) => [s.source, s.userInitiated])).toEqual([["generate_reply", true]]);
    const system = systemText(fake.contexts[0]!);
    expect(system).toContain("Be brief.");
    expect(system).toContain(GREETING_INSTRUCTIONS);
    expect(fake.contexts[0]!.items.some((i) => i.type === "message" && i.role === "user")).toBe(false);
  });

  it("keeps the conversation across turns", async () => {
    const fake = new RecordingLLM([
      { input: "my name is Ada", content: "Nice to meet you, Ada." },
      { input: "what is my name", content: "Your name is Ada." },
    ]);
    session = new voice.AgentSession({ llm: fake });
    await session.start({ agent: new WebsiteAgent("Remember names.", { mode: "none" }) });
    await session.run({ userInput: "my name is Ada" }).wait();
    const second = await session.run({ userInput: "what is my name" }).wait();
    second.expect.nextEvent().isMessage({ role: "assistant" });
    const last = fake.contexts.at(-1)!;
    const texts = last.items
      .filter((i): i is llm.ChatMessage => i.type === "message" && i.role !== "system")
      .map((m) => `${m.role}: ${m.textContent}`);
    expect(texts).toEqual(["user: my name is Ada", "assistant: Nice to meet you, Ada.", "user: what is my name"]);
  });
});
