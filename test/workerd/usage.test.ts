/**
 * Each conversation's usage and latency summary (#18, operations) through the real Worker and Durable Object storage:
 * the agent's `usage` ingest events summed across its jobs (a replacement's included), de-duplicated, the median over
 * the newest `SESSION_LATENCIES_MAX` latencies, taken during the closing window, never broadcast nor stored as a
 * transcript event, refused whole when malformed; the summary in `GET /conversations`, `GET /transcripts/{id}` and on
 * `/history` with the cost from the configured `PRICE_*` (edge/config.ts), and storage written before it existed.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import {
  type AgentEvent,
  ConversationsResponse,
  DEFAULT_USAGE_PRICES,
  IngestResponse,
  NO_USAGE,
  SESSION_LATENCIES_MAX,
  type SessionUsage,
  TranscriptResponse,
  type UsageCounts,
  USAGE_TURNS_MAX,
} from "../../contract/index.ts";
import { ConversationsStore } from "../../durable-objects/conversations-store.ts";
import { SessionStore } from "../../durable-objects/session-store.ts";
import { ConfigError, readEdgeConfig } from "../../edge/config.ts";
import { costText, latencyText } from "../../web/pages/usage.ts";
import worker from "../../worker/index.ts";
import {
  call,
  expectError,
  finalEvent,
  ingest,
  lifecycle,
  newVisitor,
  openSocket,
  ORIGIN,
  randomIp,
  startSession,
  writeFirstReleaseSession,
} from "./helpers.ts";

const sessions = (id: string) => env.SESSIONS.get(env.SESSIONS.idFromName(id));

let counter = 0;
/** A `usage` event with a unique id: `latencies` answered turns and `counts` (the rest 0). */
function usageEvent(latencies: number[], counts: Partial<UsageCounts> = {}): AgentEvent {
  return {
    id: `usage:${++counter}`,
    ts: Date.now(),
    type: "usage",
    turn_latencies_ms: latencies,
    usage: { ...NO_USAGE, ...counts },
  };
}

async function transcript(cookie: string, sessionId: string) {
  const res = await call(`/transcripts/${sessionId}`, { cookie });
  expect(res.status).toBe(200);
  return TranscriptResponse.parse(await res.json());
}

/** The visitor's listed conversation `sessionId`, as `GET /conversations` returns it. */
async function listed(cookie: string, sessionId: string) {
  const res = await call("/conversations", { cookie });
  expect(res.status).toBe(200);
  const entry = ConversationsResponse.parse(await res.json()).conversations.find((c) => c.session_id === sessionId);
  expect(entry, `conversation ${sessionId} listed`).toBeDefined();
  return entry!;
}

/** Posts `events` as job `jobId` and expects 200 with the given counts. */
async function post(sessionId: string, events: AgentEvent[], jobId: string, expected?: IngestResponse) {
  const res = await ingest(sessionId, events, { jobId });
  expect(res.status, await res.clone().text()).toBe(200);
  const body = IngestResponse.parse(await res.json());
  if (expected) expect(body).toEqual(expected);
}

/** A session with agent job `job` joined (state `active`). */
async function activeSession(job = "AJ_first") {
  const cookie = await newVisitor();
  const { room, sessionId } = await startSession(cookie);
  await post(sessionId, [lifecycle("agent_joined")], job);
  return { cookie, room, sessionId };
}

const A: UsageCounts = {
  llm_input_tokens: 1200,
  llm_cached_input_tokens: 200,
  llm_output_tokens: 80,
  stt_audio_ms: 4000,
  tts_characters: 150,
  tts_audio_ms: 9000,
};
const B: UsageCounts = {
  llm_input_tokens: 3400,
  llm_cached_input_tokens: 1000,
  llm_output_tokens: 120,
  stt_audio_ms: 2500,
  tts_characters: 210,
  tts_audio_ms: 12_000,
};

describe("usage events on ingest", () => {
  it("sum across the session's agent jobs (a replacement's included) and count a re-sent event once", async () => {
    const { cookie, sessionId } = await activeSession("AJ_first");
    await post(sessionId, [usageEvent([900, 1500], A)], "AJ_first", { accepted: 1, duplicates: 0 });
    // The first agent is lost (it left while the conversation ran): a replacement takes over and reports its own.
    await post(sessionId, [usageEvent([], NO_USAGE), lifecycle("agent_left")], "AJ_first");
    expect((await transcript(cookie, sessionId)).status).toBe("reconnecting");
    await post(sessionId, [lifecycle("agent_joined")], "AJ_second");
    const second = usageEvent([2100], B);
    await post(sessionId, [second], "AJ_second", { accepted: 1, duplicates: 0 });
    // The forwarder re-sends a batch whose answer it lost: nothing is added twice.
    await post(sessionId, [second], "AJ_second", { accepted: 0, duplicates: 1 });

    const expected: SessionUsage = {
      turns: 3,
      median_latency_ms: 1500,
      llm_input_tokens: 4600,
      llm_cached_input_tokens: 1200,
      llm_output_tokens: 200,
      stt_audio_ms: 6500,
      tts_characters: 360,
      tts_audio_ms: 21_000,
    };
    // Live in the list while the conversation runs, and in its transcript.
    expect((await listed(cookie, sessionId)).usage).toEqual(expected);
    expect((await transcript(cookie, sessionId)).usage).toEqual(expected);
  });

  it("take the median over the newest 500 turn latencies only, while counting every turn", async () => {
    const { cookie, sessionId } = await activeSession();
    const slow = Array.from({ length: USAGE_TURNS_MAX }, () => 50_000);
    const fast = Array.from({ length: USAGE_TURNS_MAX }, () => 1000);
    // 500 slow turns, then 300 fast ones: the newest 500 are 200 slow and 300 fast (median fast); all 800 would be
    // mostly slow (median 50 s).
    for (let i = 0; i < 5; i++) await post(sessionId, [usageEvent(slow)], "AJ_first");
    await post(sessionId, [usageEvent(fast), usageEvent(fast), usageEvent(fast)], "AJ_first");
    const usage = (await transcript(cookie, sessionId)).usage!;
    expect(usage.turns).toBe(800);
    expect(usage.median_latency_ms).toBe(1000);
    const kept = await runInDurableObject(sessions(sessionId), (_instance, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM turn_latencies").one(),
    );
    expect(kept.n).toBe(SESSION_LATENCIES_MAX);
  });

  it("are taken after Stop during the closing window, and go into the list; refused once the agent left", async () => {
    const { cookie, sessionId } = await activeSession();
    await post(sessionId, [usageEvent([1200], A)], "AJ_first");
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    expect((await listed(cookie, sessionId)).status).toBe("ended");
    // The job's last usage comes just before its agent_left, after the end.
    await post(sessionId, [usageEvent([800], B), lifecycle("agent_left")], "AJ_first");
    const entry = await listed(cookie, sessionId);
    expect(entry).toMatchObject({ status: "ended", usage: { turns: 2, median_latency_ms: 1000 } });
    expect(entry.usage!.llm_input_tokens).toBe(A.llm_input_tokens + B.llm_input_tokens);
    // The window is closed: a later usage event is refused and changes nothing.
    await expectError(await ingest(sessionId, [usageEvent([5000], A)], { jobId: "AJ_first" }), 409, "session_ended");
    expect((await transcript(cookie, sessionId)).usage).toEqual(entry.usage);
  });

  it("are never sent on the transcript socket, take no seq and are not transcript events", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const socket = await openSocket(cookie, sessionId);
    await post(sessionId, [lifecycle("agent_joined")], "AJ_first");
    await socket.waitFor(2); // starting, active
    await post(sessionId, [finalEvent("hello"), usageEvent([700], A), finalEvent("hi there", "agent")], "AJ_first");
    await post(sessionId, [usageEvent([650], B)], "AJ_first");
    await post(sessionId, [finalEvent("bye")], "AJ_first");
    await socket.waitFor(5);
    // Give a stray frame time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(socket.messages.map((m) => ("text" in m ? m.text : "type" in m ? m.type : m.event))).toEqual([
      "session",
      "session",
      "hello",
      "hi there",
      "bye",
    ]);
    expect(socket.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(JSON.stringify(socket.messages)).not.toContain("usage");
    const t = await transcript(cookie, sessionId);
    expect(t.events.map((e) => ("text" in e ? e.text : "?"))).toEqual(["hello", "hi there", "bye"]);
    expect(t.usage).toMatchObject({ turns: 2, median_latency_ms: 675 });
    socket.ws.close();
  });

  it.each([
    ["a negative count", { ...usageEvent([]), usage: { ...NO_USAGE, llm_output_tokens: -1 } }],
    ["a fractional count", { ...usageEvent([]), usage: { ...NO_USAGE, stt_audio_ms: 1.5 } }],
    ["an unknown usage key", { ...usageEvent([]), usage: { ...NO_USAGE, video_frames: 3 } }],
    ["a missing usage key", { ...usageEvent([]), usage: { llm_input_tokens: 1 } }],
    ["an unknown field", { ...usageEvent([]), cost_usd: 0.01 }],
    ["too many latencies", usageEvent(Array.from({ length: USAGE_TURNS_MAX + 1 }, () => 1000))],
    ["a negative latency", usageEvent([-5])],
    ["a latency over 10 minutes", usageEvent([600_001])],
  ])("with %s are a 400 invalid_batch, and nothing of the batch is applied", async (_, bad) => {
    const { cookie, sessionId } = await activeSession();
    const batch = [finalEvent("before"), usageEvent([1000], A), bad, finalEvent("after")];
    await expectError(await ingest(sessionId, batch, { jobId: "AJ_first" }), 400, "invalid_batch");
    const t = await transcript(cookie, sessionId);
    expect(t.events).toEqual([]);
    expect(t).not.toHaveProperty("usage");
    expect(await listed(cookie, sessionId)).not.toHaveProperty("usage");
  });
});

describe("the usage summary in the list", () => {
  it("is absent from a conversation whose agent reported none", async () => {
    const { cookie, sessionId } = await activeSession();
    await post(sessionId, [finalEvent("hello")], "AJ_first");
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    expect(await listed(cookie, sessionId)).not.toHaveProperty("usage");
    expect(await transcript(cookie, sessionId)).not.toHaveProperty("usage");
  });
});

/** The test environment with `overrides` (a fresh object, so that readEdgeConfig's per-env cache does not apply). */
function envWith(overrides: Record<string, string | undefined>): Env {
  return { ...env, ...overrides } as Env;
}

/** A page of the Worker as the visitor gets it, with `overrides` in its environment. */
async function pageWith(path: string, cookie: string, overrides: Record<string, string> = {}) {
  const headers = { Cookie: cookie, "CF-Connecting-IP": randomIp() };
  const res = await worker.fetch(
    new Request(`${ORIGIN}${path}`, { headers }),
    envWith(overrides),
    createExecutionContext(),
  );
  expect(res.status).toBe(200);
  return res.text();
}

/** The usage line of conversation `sessionId` on `/history`, or null when it has none. */
function usageLine(html: string, sessionId: string): string | null {
  const entry = new RegExp(`<li class="conversation" data-session-id="${sessionId}"[\\s\\S]*?</li>`).exec(html);
  expect(entry, `entry of ${sessionId}`).not.toBeNull();
  return /<p class="conversation__meta conversation__usage">([\s\S]*?)<\/p>/.exec(entry![0])?.[1] ?? null;
}

/** What the text reads: tags as spaces, runs of white space as one. */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim();

/** Non-default prices, every one of them set. */
const PRICES = {
  PRICE_LLM_INPUT_USD_PER_MTOK: "2.5",
  PRICE_LLM_CACHED_INPUT_USD_PER_MTOK: "1.25",
  PRICE_LLM_OUTPUT_USD_PER_MTOK: "10",
  PRICE_STT_USD_PER_MINUTE: "0.006",
  PRICE_TTS_USD_PER_MINUTE: "0.015",
  PRICE_TTS_USD_PER_MCHARS: "15",
};
/** Usage whose cost is $0.056 at {@link PRICES} and $0.014 at the defaults (worked out in the test). */
const PRICED: UsageCounts = {
  llm_input_tokens: 12_000,
  llm_cached_input_tokens: 2000,
  llm_output_tokens: 730,
  stt_audio_ms: 60_000,
  tts_characters: 400,
  tts_audio_ms: 36_000,
};

describe("/history", () => {
  it("shows turns, median reply and the cost estimated from the configured prices; nothing without usage", async () => {
    const { cookie, sessionId } = await activeSession();
    await post(sessionId, [usageEvent([1100, 1200, 1200, 3000], PRICED)], "AJ_first");
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    const { sessionId: without } = await startSession(cookie);

    // LLM (10 000 × 2.5 + 2000 × 1.25 + 730 × 10) / 10^6 = 0.0348, STT 1 min × 0.006, TTS 0.6 min × 0.015 +
    // 400 / 10^6 × 15 = 0.015: 0.0558 in all.
    const configured = await pageWith("/history", cookie, PRICES);
    const line = usageLine(configured, sessionId)!;
    expect(text(line)).toBe("4 turns median reply 1.2 s ≈ $0.056 estimated");
    expect(line).toMatch(/<span class="usage__cost" title="Estimated cost from the configured prices\. LLM \$0\.035 /);
    expect(line).toContain("(12,000 input tokens, 2,000 of them cached; 730 output tokens)");
    expect(line).toContain("speech-to-text $0.006 (1 min)");
    expect(line).toContain("text-to-speech $0.015 (0.6 min, 400 characters)");
    expect(usageLine(configured, without)).toBeNull();

    // wrangler.toml leaves the prices empty: the defaults, (10 000 × 0.15 + 2000 × 0.075 + 730 × 0.6) / 10^6 +
    // 1 min × 0.003 + 0.6 min × 0.015 = 0.014088.
    expect(env.PRICE_LLM_INPUT_USD_PER_MTOK).toBe("");
    expect(text(usageLine(await pageWith("/history", cookie), sessionId)!)).toBe(
      "4 turns median reply 1.2 s ≈ $0.014 estimated",
    );

    // The transcript page says the same.
    const one = await pageWith(`/history/${sessionId}`, cookie, PRICES);
    const usage = /<div><dt>Usage<\/dt><dd>([\s\S]*?)<\/dd><\/div>/.exec(one)?.[1];
    expect(text(usage ?? "")).toBe("4 turns · median reply 1.2 s · ≈ $0.056 estimated");
    expect(await pageWith(`/history/${without}`, cookie)).not.toContain("<dt>Usage</dt>");
  });

  it("leaves the cost out when every price is 0, and the median before the first answered turn", async () => {
    const { cookie, sessionId } = await activeSession();
    await post(sessionId, [usageEvent([], PRICED)], "AJ_first");
    const zero = Object.fromEntries(Object.keys(PRICES).map((k) => [k, "0"]));
    expect(text(usageLine(await pageWith("/history", cookie, zero), sessionId)!)).toBe("0 turns");
  });
});

describe("cost and latency in words", () => {
  it.each([
    [0, "$0.00"],
    [0.00004, "< $0.0001"],
    [0.0031, "$0.0031"],
    [0.00314, "$0.0031"],
    [0.003, "$0.003"],
    [0.03, "$0.03"],
    [0.0426, "$0.043"],
    [0.3, "$0.30"],
    [0.0999, "$0.10"],
    [0.99999, "$1.00"],
    [1.234, "$1.23"],
    [1250, "$1,250.00"],
  ])("costText(%d) is %s", (usd, words) => {
    expect(costText(usd)).toBe(words);
  });

  it.each([
    [30, "< 0.1 s"],
    [870, "0.9 s"],
    [1234, "1.2 s"],
    [9960, "10 s"],
    [12_400, "12 s"],
  ])("latencyText(%d) is %s", (ms, words) => {
    expect(latencyText(ms)).toBe(words);
  });
});

describe("PRICE_* variables", () => {
  /** The ConfigError message for `overrides`, or null when the configuration is accepted. */
  function fault(overrides: Record<string, string>): string | null {
    try {
      readEdgeConfig(envWith(overrides));
      return null;
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    }
  }

  it("default to DEFAULT_USAGE_PRICES, and take non-negative decimals", () => {
    expect(readEdgeConfig(envWith({})).usagePrices).toEqual(DEFAULT_USAGE_PRICES);
    expect(readEdgeConfig(envWith(PRICES)).usagePrices).toEqual({
      llmInputPerMTok: 2.5,
      llmCachedInputPerMTok: 1.25,
      llmOutputPerMTok: 10,
      sttPerMinute: 0.006,
      ttsPerMinute: 0.015,
      ttsPerMChars: 15,
    });
    expect(readEdgeConfig(envWith({ PRICE_STT_USD_PER_MINUTE: "0" })).usagePrices.sttPerMinute).toBe(0);
  });

  it.each(["-0.5", "abc", "1e3", "0,15", " 0.15", "$0.15", "Infinity", "1234567"])(
    "refuse %j, naming the variable and not the value",
    (value) => {
      for (const name of Object.keys(PRICES)) {
        const message = fault({ [name]: value });
        expect(message).toBe(
          `invalid Worker configuration: ${name} must be a price in US dollars: a non-negative decimal number, e.g. 0.15`,
        );
      }
    },
  );

  it("make a request answer 500 server_misconfigured, logging configuration_error", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const res = await worker.fetch(
        new Request(`${ORIGIN}/health`),
        envWith({ PRICE_TTS_USD_PER_MINUTE: "-1" }),
        createExecutionContext(),
      );
      await expectError(res, 500, "server_misconfigured");
      const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, string>);
      expect(lines.find((l) => l.msg === "configuration_error")?.error).toContain("PRICE_TTS_USD_PER_MINUTE must be");
    } finally {
      errors.mockRestore();
    }
  });
});

describe("storage written before usage summaries", () => {
  it("a session gains the usage tables: no summary, then one from the next usage event", async () => {
    const id = env.SESSIONS.newUniqueId();
    const result = await runInDurableObject(env.SESSIONS.get(id), (_instance, state) => {
      writeFirstReleaseSession(state.storage.sql, false);
      const store = new SessionStore(state.storage.sql);
      const before = store.usage();
      store.addUsage([400, 600], A);
      return { before, after: store.usage() };
    });
    expect(result.before).toBeNull();
    expect(result.after).toEqual({ turns: 2, median_latency_ms: 500, ...A });
  });

  it("a conversation list gains the usage column: old rows read without it, and take one", async () => {
    const stub = env.VISITORS.get(env.VISITORS.newUniqueId());
    const read = await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(`
        CREATE TABLE conversations (
          session_id TEXT PRIMARY KEY, profile TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
          started_at INTEGER NOT NULL, ended_at INTEGER, summary TEXT, preview TEXT, resumed_from TEXT,
          visitor_name TEXT
        );
        INSERT INTO conversations (session_id, profile, status, reason, started_at, ended_at)
          VALUES ('AAAAAAAAAAAAAAAAAAAAAA', 'assistant', 'ended', 'stopped', 1, 2);`);
      const store = new ConversationsStore(state.storage.sql);
      const before = store.get("AAAAAAAAAAAAAAAAAAAAAA");
      const usage = { turns: 1, median_latency_ms: 900, ...B };
      const updated = store.update("AAAAAAAAAAAAAAAAAAAAAA", { usage });
      return { before, updated, after: store.get("AAAAAAAAAAAAAAAAAAAAAA") };
    });
    expect(read.before).toMatchObject({ session_id: "AAAAAAAAAAAAAAAAAAAAAA", status: "ended" });
    expect(read.before).not.toHaveProperty("usage");
    expect(read.updated).toBe(true);
    expect(read.after?.usage).toEqual({ turns: 1, median_latency_ms: 900, ...B });
  });
});
