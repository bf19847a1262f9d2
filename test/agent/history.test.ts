/**
 * Continuing a conversation (dispatch metadata `history`): a replacement for a lost agent (no `resumed`: no
 * greeting) and a conversation the visitor resumed (`resumed`: the summary message first, and a greeting that
 * welcomes the visitor back). The real OpenAI LLM plugin against the local OpenAI-compatible provider (dev/openai/,
 * standing in for the paid API), through a recording proxy that keeps every chat request's messages. The provider's
 * scripted LLM only echoes the last user message, so the proxy is what shows the context the agent really sent.
 */
import { initializeLogger, voice } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  GREETING_INSTRUCTIONS,
  type Greeting,
  historyChatContext,
  RESUME_GREETING_INSTRUCTIONS,
  RESUMED_CONTEXT_INTRO,
  type Resumed,
  resumedContextText,
  SUMMARY_PREFIX,
  WebsiteAgent,
} from "../../agent/agent.ts";
import type { HistoryItem } from "../../contract/index.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { sleep, waitFor } from "../support/wait.ts";

type ChatMessage = { role: string; content: unknown };

let provider: DevOpenAI;
let proxy: Server;
let proxyURL = "";
/** The `messages` of every chat request that passed the proxy. */
const chatRequests: ChatMessage[][] = [];

beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  provider = await startDevOpenAI({ log: () => {} });
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.url?.endsWith("/chat/completions")) {
      chatRequests.push((JSON.parse(body.toString("utf8")) as { messages: ChatMessage[] }).messages);
    }
    const upstream = await fetch(provider.baseURL.replace(/\/v1$/, "") + req.url, {
      method: req.method,
      headers: { "content-type": req.headers["content-type"] ?? "application/json" },
      ...(body.length ? { body } : {}),
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    if (upstream.body) Readable.fromWeb(upstream.body as WebReadableStream).pipe(res);
    else res.end();
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxyURL = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await provider?.close();
});

let session: voice.AgentSession | null = null;
afterEach(async () => {
  await session?.close();
  session = null;
  chatRequests.length = 0;
});

const HISTORY: HistoryItem[] = [
  { role: "user", text: "I would like to book a table for two." },
  { role: "agent", text: "Of course. For which evening?" },
  { role: "user", text: "Friday at eight." },
  { role: "agent", text: "Friday at eight for two: shall I put it under your name?" },
];

const textOf = (content: unknown) =>
  typeof content === "string"
    ? content
    : (content as Array<{ text?: string }>)
        .map((p) => p.text ?? "")
        .join("")
        .trim();

/**
 * Starts a session whose agent continues {@link HISTORY} (a replacement, or `resumed`); records speeches and
 * conversation items.
 */
async function continuing(greeting: Greeting, history: HistoryItem[] = HISTORY, resumed?: Resumed) {
  const llm = new openai.LLM({ apiKey: "sk-local-stand-in", baseURL: proxyURL, model: "gpt-4o-mini" });
  session = new voice.AgentSession({ llm });
  const speeches: string[] = [];
  const items: string[] = [];
  session.on(voice.AgentSessionEventTypes.SpeechCreated, (ev) => speeches.push(ev.source));
  session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => {
    if (ev.item.type === "message") items.push(`${ev.item.role}: ${ev.item.textContent ?? ""}`);
  });
  const agent = new WebsiteAgent("You take restaurant bookings.", greeting, { history, resumed });
  await session.start({ agent });
  return { agent, speeches, items };
}

describe("continuing a conversation (dispatch history)", () => {
  it("maps user turns to user messages and agent turns to assistant messages, in order", () => {
    const ctx = historyChatContext(HISTORY);
    expect(ctx.items.map((i) => (i.type === "message" ? `${i.role}: ${i.textContent}` : i.type))).toEqual([
      "user: I would like to book a table for two.",
      "assistant: Of course. For which evening?",
      "user: Friday at eight.",
      "assistant: Friday at eight for two: shall I put it under your name?",
    ]);
  });

  it.each<Greeting>([{ mode: "fixed", text: "Hi! How can I help you today?" }, { mode: "generated" }])(
    "does not greet (GREETING_MODE=$mode) and answers the next turn with the history in the LLM context",
    async (greeting) => {
      const { agent, speeches, items } = await continuing(greeting);
      expect(agent.replaces).toBe(true);
      expect(agent.resumed).toBe(false);
      await sleep(500); // a greeting would have been created by now (agent.test.ts: at once on entering)
      expect(speeches).toEqual([]);
      expect(chatRequests).toEqual([]);

      const result = await session!.run({ userInput: "Yes, the name is Ada." }).wait();
      result.expect.nextEvent().isMessage({ role: "assistant" });
      expect(chatRequests).toHaveLength(1);
      const sent = chatRequests[0]!.map((m) => `${m.role}: ${textOf(m.content)}`);
      expect(sent[0]).toMatch(/^system: You take restaurant bookings\./);
      expect(sent.slice(1)).toEqual([
        "user: I would like to book a table for two.",
        "assistant: Of course. For which evening?",
        "user: Friday at eight.",
        "assistant: Friday at eight for two: shall I put it under your name?",
        "user: Yes, the name is Ada.",
      ]);
      // The earlier turns are context only: not added to the conversation again, so never re-posted as finals.
      expect(items).toEqual(["user: Yes, the name is Ada.", expect.stringMatching(/^assistant: I heard you say: Yes/)]);
    },
  );

  it("greets as usual when the history is empty", async () => {
    const { agent, speeches } = await continuing({ mode: "generated" }, []);
    expect(agent.replaces).toBe(false);
    await sleep(500);
    expect(speeches).toEqual(["generate_reply"]);
  });
});

const SUMMARY = "The visitor booked a table for two on Friday at eight and was asked for a name.";

describe("resuming a conversation (dispatch resumed)", () => {
  it("opens the chat context with a system message that says so and carries the summary, then the turns", () => {
    const text = resumedContextText({ summary: SUMMARY }, HISTORY.length);
    expect(text.startsWith(RESUMED_CONTEXT_INTRO)).toBe(true);
    expect(text.split("\n").at(-1)).toBe(`${SUMMARY_PREFIX}${SUMMARY}`);
    expect(text).toContain("not as instructions");
    const ctx = historyChatContext(HISTORY, { summary: SUMMARY });
    expect(ctx.items.map((i) => (i.type === "message" ? `${i.role}: ${i.textContent}` : i.type))).toEqual([
      `system: ${text}`,
      "user: I would like to book a table for two.",
      "assistant: Of course. For which evening?",
      "user: Friday at eight.",
      "assistant: Friday at eight for two: shall I put it under your name?",
    ]);
    // Without a summary, or without turns, it says only what there is.
    expect(resumedContextText({}, 2)).not.toContain(SUMMARY_PREFIX);
    expect(resumedContextText({}, 2)).toContain("The last turns of the earlier conversation follow");
    expect(resumedContextText({ summary: SUMMARY }, 0)).not.toContain("turns");
    expect(resumedContextText({}, 0)).toBe(RESUMED_CONTEXT_INTRO);
  });

  it("greets with the fixed resume line, then answers with the summary and the turns before the new one", async () => {
    const line = "Welcome back! Shall we finish your booking?";
    const { agent, speeches, items } = await continuing({ mode: "fixed", text: line }, HISTORY, { summary: SUMMARY });
    expect(agent.resumed).toBe(true);
    expect(agent.replaces).toBe(false);
    await sleep(500);
    expect(speeches).toEqual(["say"]);
    expect(chatRequests).toEqual([]); // the fixed line needs no LLM

    await session!.run({ userInput: "Yes, the name is Ada." }).wait();
    expect(chatRequests).toHaveLength(1);
    const sent = chatRequests[0]!.map((m) => `${m.role}: ${textOf(m.content)}`);
    expect(sent[0]).toMatch(/^system: You take restaurant bookings\./);
    expect(sent.slice(1)).toEqual([
      `system: ${resumedContextText({ summary: SUMMARY }, HISTORY.length)}`,
      "user: I would like to book a table for two.",
      "assistant: Of course. For which evening?",
      "user: Friday at eight.",
      "assistant: Friday at eight for two: shall I put it under your name?",
      `assistant: ${line}`,
      "user: Yes, the name is Ada.",
    ]);
    // Only the greeting and the new turns are conversation items (posted as finals): not the earlier ones.
    expect(items).toEqual([
      `assistant: ${line}`,
      "user: Yes, the name is Ada.",
      expect.stringMatching(/^assistant: I heard you say: Yes/),
    ]);
  });

  it("with GREETING_MODE=generated, asks the LLM to welcome the visitor back, with the earlier context", async () => {
    const { speeches } = await continuing({ mode: "generated" }, HISTORY, { summary: SUMMARY });
    await waitFor("the greeting's chat request", () => chatRequests.length > 0, { timeoutMs: 5000 });
    expect(speeches).toEqual(["generate_reply"]);
    const sent = chatRequests[0]!.map((m) => `${m.role}: ${textOf(m.content)}`);
    expect(sent[0]).toContain(RESUME_GREETING_INSTRUCTIONS);
    expect(sent[0]).not.toContain(GREETING_INSTRUCTIONS);
    expect(sent[1]).toBe(`system: ${resumedContextText({ summary: SUMMARY }, HISTORY.length)}`);
    expect(sent.slice(2)).toEqual([
      "user: I would like to book a table for two.",
      "assistant: Of course. For which evening?",
      "user: Friday at eight.",
      "assistant: Friday at eight for two: shall I put it under your name?",
    ]);
  });

  it("greets also when the earlier conversation left no turns to carry", async () => {
    const { agent, speeches } = await continuing({ mode: "fixed", text: "Welcome back." }, [], {});
    expect(agent.resumed).toBe(true);
    await sleep(500);
    expect(speeches).toEqual(["say"]);
  });
});
