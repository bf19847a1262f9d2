/**
 * The local OpenAI stand-in's summaries (dev/openai/summary.ts), asked over real HTTP by the edge's own client
 * (edge/summary.ts `summarize`, as the SessionDO asks OpenAI): a request with the edge's summary prompt gets a
 * deterministic summary of its transcript, any other chat request still the echo.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { isSummaryRequest, SUMMARY_MARKER, standInSummary } from "../../dev/openai/summary.ts";
import { SUMMARY_PROMPT, type SummarySettings, type SummaryTurn, summarize } from "../../edge/summary.ts";

let provider: DevOpenAI;
const logs: string[] = [];
const requests: unknown[][] = [];
beforeAll(async () => {
  provider = await startDevOpenAI({ port: 0, log: (line) => logs.push(line), onChatRequest: (m) => requests.push(m) });
});
afterAll(async () => {
  await provider.close();
});

/** The edge's summary settings pointed at the stand-in (any key is accepted). */
const settings = (overrides: Partial<SummarySettings> = {}): { summary: SummarySettings } => ({
  summary: { apiKey: "sk-local-stand-in", baseUrl: provider.baseURL, model: "gpt-4o-mini", ...overrides },
});

const turns: SummaryTurn[] = [
  { role: "agent", text: "Hello! I am the local stand-in voice assistant. How can I help you today?" },
  { role: "user", text: "I would like to book a table for two people on Friday evening at eight please" },
  { role: "agent", text: "Sure, a table for two on Friday at eight. Anything else I should know about?" },
  { role: "user", text: "No thanks" },
  { role: "user", text: "Goodbye" },
];

describe("the stand-in's summaries", () => {
  it("answers the edge's summary request with a deterministic summary", async () => {
    const outcome = await summarize(settings(), turns);
    expect(outcome).toEqual({
      status: "ok",
      summary:
        // The first 12 words of the first visitor line, and of the agent line after it.
        'The visitor said "I would like to book a table for two people on Friday" and the agent ' +
        'answered "Sure, a table for two on Friday at eight. Anything else I". 3 visitor turns in all.',
    });
    // The same request, the same summary.
    expect(await summarize(settings(), turns)).toEqual(outcome);
    const line = logs.map((l) => JSON.parse(l) as Record<string, unknown>).findLast((l) => l.msg === "stand_in_reply");
    expect(line).toMatchObject({ route: "/v1/chat/completions", reply: "summary", stand_in: true });
    expect(logs.join("\n")).not.toContain("book a table");
  });

  it("says when it continued an earlier conversation, and when the agent did not answer", async () => {
    expect(await summarize(settings(), [{ role: "user", text: "Are you there?" }], "An earlier summary.")).toEqual({
      status: "ok",
      summary: 'The visitor said "Are you there?". 1 visitor turn in all. It continued an earlier conversation.',
    });
    const sent = requests.at(-1) as { role: string; content: string }[];
    expect(sent[0]).toEqual({ role: "system", content: SUMMARY_PROMPT });
    expect(sent[1]!.content).toBe("Earlier conversation: An earlier summary.\nVisitor: Are you there?");
  });

  it("summarizes a streamed summary request too", async () => {
    const res = await fetch(`${provider.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        stream: true,
        messages: [
          { role: "system", content: SUMMARY_PROMPT },
          { role: "user", content: "Agent: Hi\nVisitor: go forward ten meters\nAgent: Going forward." },
        ],
      }),
    });
    const text = (await res.text())
      .split("\n\n")
      .filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? "")
      .join("");
    expect(text).toBe(
      'The visitor said "go forward ten meters" and the agent answered "Going forward.". 1 visitor turn in all.',
    );
  });

  it("still echoes any other chat request, transcript-like lines and all", async () => {
    const res = await fetch(`${provider.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-local-stand-in" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [
          { role: "system", content: "You are a helpful voice assistant." },
          { role: "user", content: "Visitor: summarize this conversation" },
        ],
      }),
    });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]!.message.content).toMatch(/^I heard you say: Visitor: summarize this conversation\./);
  });

  it("recognises a summary request by the prompt's first sentence only", () => {
    expect(SUMMARY_MARKER).toBe(
      "Summarize this conversation between a website visitor and an AI voice agent in two or three sentences.",
    );
    const ask = (system: string) => [
      { role: "system", content: system },
      { role: "user", content: "Visitor: hi" },
    ];
    expect(isSummaryRequest(ask(SUMMARY_PROMPT))).toBe(true);
    expect(isSummaryRequest(ask(`${SUMMARY_MARKER} Be brief.`))).toBe(true);
    expect(isSummaryRequest(ask("You are a voice agent. " + SUMMARY_MARKER))).toBe(false);
    expect(isSummaryRequest([{ role: "user", content: SUMMARY_PROMPT }])).toBe(false);
    expect(
      standInSummary([
        { role: "system", content: SUMMARY_PROMPT },
        { role: "user", content: "Agent: Hi" },
      ]),
    ).toBe("The visitor said nothing.");
  });
});

describe("summarize's failures, against real servers", () => {
  it("fails with the status and OpenAI's error type when the model fails (the stand-in's error-<status>)", async () => {
    expect(await summarize(settings({ model: "error-503" }), turns)).toEqual({
      status: "failed",
      error: "chat completions answered HTTP 503 (server_error)",
      retryable: true,
    });
  });

  it("fails, naming neither the conversation nor the key, when nothing listens", async () => {
    // A port that was free a moment ago: connecting to it is refused.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const key = "sk-local-key-that-must-not-show";
    const outcome = await summarize(settings({ apiKey: key, baseUrl: `http://127.0.0.1:${port}/v1` }), turns);
    expect(outcome).toMatchObject({ status: "failed", retryable: true });
    const error = (outcome as { error: string }).error;
    expect(error).toMatch(/^request failed: TypeError: fetch failed/);
    expect(error).not.toContain(key);
    expect(error).not.toContain("book a table");
  });
});
