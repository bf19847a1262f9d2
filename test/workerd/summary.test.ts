/**
 * Conversation summaries from the edge (edge/summary.ts `summarize`, issue #14) inside workerd, and the settings
 * they and retention read (edge/config.ts: `RETENTION_DAYS`, `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
 * `SUMMARY_MODEL`).
 *
 * OpenAI's chat completions are a paid third-party API: they are faked at the fetch level (fake-livekit.ts
 * `fakeOpenAI`, Miniflare's outboundService), which records what the edge sent. Each test tags its transcript
 * with a unique word, so that test files running in parallel see only their own calls and injected failures.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_RETENTION_DAYS, RETENTION_DAYS_MAX, SUMMARY_MAX } from "../../contract/conversations.ts";
import { ConfigError, readEdgeConfig } from "../../edge/config.ts";
import {
  DEFAULT_OPENAI_BASE_URL,
  DEFAULT_SUMMARY_MODEL,
  SUMMARY_INPUT_MAX_CHARS,
  SUMMARY_LINE_MAX_CHARS,
  SUMMARY_MAX_TOKENS,
  SUMMARY_PROMPT,
  SUMMARY_TEMPERATURE,
  type SummaryTurn,
  summarize,
  summaryTranscript,
  TRANSCRIPT_GAP_LINE,
} from "../../edge/summary.ts";
import { FAKE_OPENAI_HOST, FAKE_OPENAI_KEY, type OpenAICall, OPENAI_CONTROL_HOST } from "./fake-livekit.ts";

/** The test environment with `overrides` (a fresh object, so readEdgeConfig's per-env cache does not apply). */
const envWith = (overrides: Record<string, string | undefined>) => ({ ...env, ...overrides }) as Env;

/** The ConfigError message readEdgeConfig throws for `overrides`, or null when the configuration is accepted. */
function fault(overrides: Record<string, string | undefined>): string | null {
  try {
    readEdgeConfig(envWith(overrides));
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
}

let counter = 0;
/** A word no other test's transcript holds. */
const uniqueTag = () => `tag${Date.now().toString(36)}x${++counter}x${Math.random().toString(36).slice(2, 8)}`;

/** The requests the fake OpenAI received whose transcript holds `tag`. */
async function openAICalls(tag: string): Promise<OpenAICall[]> {
  const res = await fetch(`http://${OPENAI_CONTROL_HOST}/calls?tag=${tag}`);
  return (await res.json()) as OpenAICall[];
}

/** Makes the next `times` requests whose transcript holds `tag` fail with `status` (200: an empty answer). */
async function failNext(tag: string, status: number, times = 1): Promise<void> {
  await fetch(`http://${OPENAI_CONTROL_HOST}/fail?tag=${tag}&status=${status}&times=${times}`, { method: "POST" });
}

/** A short conversation whose first visitor turn holds `tag`. */
const conversation = (tag: string): SummaryTurn[] => [
  { role: "agent", text: "Hello! How can I help you today?" },
  { role: "user", text: `I would like to book a table ${tag} for two` },
  { role: "agent", text: "Sure.\nFor which evening?" },
  { role: "user", text: "  Friday   at eight  " },
];

const messagesOf = (call: OpenAICall) => call.body.messages as { role: string; content: string }[];

describe("summarize against the fake OpenAI", () => {
  it("asks the configured model with the key, the summary prompt and the transcript, and returns the answer", async () => {
    const tag = uniqueTag();
    const outcome = await summarize(readEdgeConfig(env), conversation(tag));
    const transcript = [
      "Agent: Hello! How can I help you today?",
      `Visitor: I would like to book a table ${tag} for two`,
      "Agent: Sure. For which evening?",
      "Visitor: Friday at eight",
    ].join("\n");
    expect(outcome).toEqual({ status: "ok", summary: `Summary of 4 lines: Agent: Hello! How can I help you today?` });

    const [call, ...more] = await openAICalls(tag);
    expect(more).toEqual([]);
    expect(call!.path).toBe("/v1/chat/completions");
    expect(call!.authorization).toBe(`Bearer ${FAKE_OPENAI_KEY}`);
    expect(call!.body).toMatchObject({
      model: DEFAULT_SUMMARY_MODEL,
      temperature: SUMMARY_TEMPERATURE,
      max_tokens: SUMMARY_MAX_TOKENS,
    });
    expect(call!.body.stream).toBeUndefined();
    expect(messagesOf(call!)).toEqual([
      { role: "system", content: SUMMARY_PROMPT },
      { role: "user", content: transcript },
    ]);
  });

  it("sends the earlier conversation's summary as the transcript's first line", async () => {
    const tag = uniqueTag();
    const earlier = "The visitor asked about\nopening hours; the agent gave them.";
    const outcome = await summarize(readEdgeConfig(env), conversation(tag), earlier);
    const expected = "Earlier conversation: The visitor asked about opening hours; the agent gave them.";
    expect(outcome).toEqual({ status: "ok", summary: `Summary of 5 lines: ${expected}` });
    const [call] = await openAICalls(tag);
    expect(messagesOf(call!)[1]!.content.split("\n")[0]).toBe(expected);
  });

  it("uses SUMMARY_MODEL and OPENAI_BASE_URL (a trailing slash dropped)", async () => {
    const tag = uniqueTag();
    const config = readEdgeConfig(
      envWith({ SUMMARY_MODEL: "gpt-4.1-mini", OPENAI_BASE_URL: `https://${FAKE_OPENAI_HOST}/v1/` }),
    );
    expect(config.summary).toEqual({
      apiKey: FAKE_OPENAI_KEY,
      baseUrl: `https://${FAKE_OPENAI_HOST}/v1`,
      model: "gpt-4.1-mini",
    });
    expect((await summarize(config, conversation(tag))).status).toBe("ok");
    const [call] = await openAICalls(tag);
    expect(call!.path).toBe("/v1/chat/completions");
    expect(call!.body.model).toBe("gpt-4.1-mini");
  });

  it("bounds a long transcript: the first turns, a […] line, the newest turns", async () => {
    const tag = uniqueTag();
    const turns: SummaryTurn[] = Array.from({ length: 400 }, (_, i) => ({
      role: i % 2 ? "agent" : "user",
      text: `turn number ${i} ${i === 0 ? tag : ""} ${"and some more words ".repeat(4)}`,
    }));
    expect((await summarize(readEdgeConfig(env), turns, "An earlier summary.")).status).toBe("ok");
    const [call] = await openAICalls(tag);
    const content = messagesOf(call!)[1]!.content;
    const lines = content.split("\n");
    expect(content.length).toBeLessThanOrEqual(SUMMARY_INPUT_MAX_CHARS);
    expect(content.length).toBeGreaterThan(SUMMARY_INPUT_MAX_CHARS - 200);
    expect(lines[0]).toBe("Earlier conversation: An earlier summary.");
    expect(lines[1]).toMatch(/^Visitor: turn number 0 /);
    expect(lines.at(-1)).toMatch(/^Agent: turn number 399 /);
    expect(lines.filter((l) => l === TRANSCRIPT_GAP_LINE)).toHaveLength(1);
    expect(content).not.toContain("turn number 200 ");
    // The first turns take at most a third of the room; the newest the rest.
    const gap = lines.indexOf(TRANSCRIPT_GAP_LINE);
    expect(lines.slice(1, gap).join("\n").length).toBeLessThanOrEqual(SUMMARY_INPUT_MAX_CHARS / 3);
    expect(lines.slice(gap + 1).join("\n").length).toBeGreaterThan(SUMMARY_INPUT_MAX_CHARS / 2);
  });

  it("cuts one very long turn, and clips a long answer to SUMMARY_MAX at a word boundary", async () => {
    const tag = uniqueTag();
    const outcome = await summarize(readEdgeConfig(env), [{ role: "user", text: `${tag} ${"word ".repeat(2000)}` }]);
    const [call] = await openAICalls(tag);
    const line = messagesOf(call!)[1]!.content;
    expect(line.length).toBeLessThanOrEqual(SUMMARY_LINE_MAX_CHARS);
    expect(line).toMatch(/word…$/);
    // The fake's answer quotes that 2000-character line.
    expect(outcome.status).toBe("ok");
    const summary = (outcome as { summary: string }).summary;
    expect(summary.length).toBeLessThanOrEqual(SUMMARY_MAX);
    expect(summary).toMatch(/ word…$/);
  });

  it.each([
    [500, "chat completions answered HTTP 500 (server_error)", true],
    [503, "chat completions answered HTTP 503 (server_error)", true],
    [429, "chat completions answered HTTP 429 (rate_limit_exceeded)", true],
    [400, "chat completions answered HTTP 400 (server_error)", false],
    [200, "the answer is empty", true],
  ])("fails on an answer with status %i, naming neither the conversation nor the key", async (status, error, retry) => {
    const tag = uniqueTag();
    await failNext(tag, status);
    const outcome = await summarize(readEdgeConfig(env), conversation(tag));
    expect(outcome).toEqual({ status: "failed", error, retryable: retry });
    // The failure is injected once: the next attempt succeeds (the SessionDO retries).
    expect((await summarize(readEdgeConfig(env), conversation(tag))).status).toBe("ok");
    expect(await openAICalls(tag)).toHaveLength(2);
  });

  it("fails, not to be retried, when the key is refused", async () => {
    const tag = uniqueTag();
    const wrongKey = "sk-wrong-key-0123456789";
    const outcome = await summarize(readEdgeConfig(envWith({ OPENAI_API_KEY: wrongKey })), conversation(tag));
    expect(outcome).toEqual({
      status: "failed",
      error: "chat completions answered HTTP 401 (invalid_api_key)",
      retryable: false,
    });
    const [call] = await openAICalls(tag);
    expect(call!.authorization).toBe(`Bearer ${wrongKey}`);
  });

  it("is off without OPENAI_API_KEY, and asks nothing", async () => {
    const tag = uniqueTag();
    for (const unset of [undefined, ""]) {
      const config = readEdgeConfig(envWith({ OPENAI_API_KEY: unset }));
      expect(config.summary).toBeNull();
      expect(await summarize(config, conversation(tag))).toEqual({ status: "off" });
    }
    expect(await openAICalls(tag)).toEqual([]);
  });
});

describe("summaryTranscript", () => {
  it("leaves out empty turns and stays within SUMMARY_INPUT_MAX_CHARS whatever the turns' sizes", () => {
    expect(
      summaryTranscript([
        { role: "user", text: " \n " },
        { role: "agent", text: "Hi" },
      ]),
    ).toBe("Agent: Hi");
    expect(summaryTranscript([], "Only the earlier one.")).toBe("Earlier conversation: Only the earlier one.");
    for (const size of [1, 50, 999, 1999, 2000, 2001, 5000, 11_990, 12_001]) {
      for (const count of [1, 2, 3, 7, 30, 200]) {
        const turns: SummaryTurn[] = Array.from({ length: count }, (_, i) => ({
          role: i % 2 ? "agent" : "user",
          text: "x".repeat(size),
        }));
        const text = summaryTranscript(turns, "y ".repeat(SUMMARY_MAX));
        expect(text.length, `${count} turns of ${size}`).toBeLessThanOrEqual(SUMMARY_INPUT_MAX_CHARS);
        expect(text.split("\n")[1], `${count} turns of ${size}`).toMatch(/^Visitor: x/);
        expect(text.split("\n").at(-1), `${count} turns of ${size}`).toMatch(/^(Visitor|Agent): x/);
      }
    }
  });
});

describe("RETENTION_DAYS", () => {
  it("defaults to DEFAULT_RETENTION_DAYS (wrangler.toml's value, and when empty)", () => {
    expect(readEdgeConfig(env).retentionDays).toBe(DEFAULT_RETENTION_DAYS);
    expect(readEdgeConfig(envWith({ RETENTION_DAYS: "" })).retentionDays).toBe(DEFAULT_RETENTION_DAYS);
    expect(readEdgeConfig(envWith({ RETENTION_DAYS: undefined })).retentionDays).toBe(DEFAULT_RETENTION_DAYS);
  });

  it.each([
    ["0", 0],
    ["1", 1],
    ["30", 30],
    [String(RETENTION_DAYS_MAX), RETENTION_DAYS_MAX],
  ])("accepts %s (0 keeps conversations forever)", (value, days) => {
    expect(readEdgeConfig(envWith({ RETENTION_DAYS: value })).retentionDays).toBe(days);
  });

  it.each([
    ["-1", "RETENTION_DAYS must be at least 0"],
    ["abc", "RETENTION_DAYS must be a number"],
    ["1.5", "RETENTION_DAYS must be a whole number"],
    [String(RETENTION_DAYS_MAX + 1), `RETENTION_DAYS must be at most ${RETENTION_DAYS_MAX}`],
  ])("refuses %s", (value, message) => {
    expect(fault({ RETENTION_DAYS: value })).toBe(`invalid Worker configuration: ${message}`);
  });
});

describe("OPENAI_BASE_URL, OPENAI_API_KEY and SUMMARY_MODEL", () => {
  it("default to OpenAI's API and gpt-4o-mini", () => {
    const config = readEdgeConfig(envWith({ OPENAI_BASE_URL: "", SUMMARY_MODEL: undefined }));
    expect(config.summary).toEqual({ apiKey: FAKE_OPENAI_KEY, baseUrl: DEFAULT_OPENAI_BASE_URL, model: "gpt-4o-mini" });
    expect(DEFAULT_OPENAI_BASE_URL).toBe("https://api.openai.com/v1");
  });

  it.each([
    ["https://api.openai.com/v1", "https://api.openai.com/v1"],
    ["https://api.openai.com/v1/", "https://api.openai.com/v1"],
    ["https://llm.example:8443/openai/v1", "https://llm.example:8443/openai/v1"],
    ["http://localhost:8788/v1", "http://localhost:8788/v1"],
    ["http://127.0.0.1:8788/v1/", "http://127.0.0.1:8788/v1"],
    ["http://[::1]:8788/v1", "http://[::1]:8788/v1"],
  ])("accepts OPENAI_BASE_URL %s", (value, baseUrl) => {
    expect(readEdgeConfig(envWith({ OPENAI_BASE_URL: value })).summary?.baseUrl).toBe(baseUrl);
  });

  it.each([
    "http://api.openai.com/v1",
    "http://10.0.0.5:8788/v1",
    "ftp://api.openai.com/v1",
    "llm.example/v1",
    "https://user:hunter2@api.openai.com/v1",
    "https://api.openai.com/v1?key=hunter2",
    "https://api.openai.com/v1#x",
  ])("refuses OPENAI_BASE_URL %s, without echoing it", (value) => {
    const message = fault({ OPENAI_BASE_URL: value });
    expect(message).toBe(
      "invalid Worker configuration: OPENAI_BASE_URL must be an https:// URL (http:// only on this machine), e.g. https://api.openai.com/v1",
    );
    expect(message).not.toContain(value);
  });

  it("checks OPENAI_BASE_URL even while summaries are off", () => {
    expect(fault({ OPENAI_API_KEY: undefined, OPENAI_BASE_URL: "http://api.openai.com/v1" })).toContain(
      "OPENAI_BASE_URL must be",
    );
  });

  it("refuses an OPENAI_API_KEY with whitespace, without echoing it", () => {
    const message = fault({ OPENAI_API_KEY: "sk-secret value" });
    expect(message).toBe(
      "invalid Worker configuration: OPENAI_API_KEY must be an API key (no spaces, at most 512 characters)",
    );
  });

  it.each(["gpt-4o-mini", "gpt-4.1-mini", "ft:gpt-4o-mini:acme::abc123", "meta-llama/Llama-3.1-8B-Instruct"])(
    "accepts SUMMARY_MODEL %s",
    (model) => {
      expect(readEdgeConfig(envWith({ SUMMARY_MODEL: model })).summary?.model).toBe(model);
    },
  );

  it.each(["gpt 4o", "-gpt", "gpt\n4o"])("refuses SUMMARY_MODEL %j", (model) => {
    expect(fault({ SUMMARY_MODEL: model })).toBe(
      "invalid Worker configuration: SUMMARY_MODEL must be a model id (letters, digits and . _ : / -)",
    );
  });
});
