/**
 * Resuming a conversation, the agent's side (issue #14): the real agent job (agent/main.ts, through
 * ./worker-harness.ts: the dev LiveKit server, the local OpenAI stand-in for the paid API, a real ingest server) is
 * dispatched with the metadata the Worker sends for `POST /session {resume_from}`: `resumed` with the earlier
 * conversation's summary and `history` with its newest finals, a full budget of them (`RESUME_HISTORY_MAX_ITEMS`,
 * `RESUME_HISTORY_MAX_CHARS`). The agent greets with the profile's resume line (not its first greeting), and the
 * first chat request once the visitor speaks (the recorded "go forward ten meters") holds the summary message, every
 * earlier turn in order, the resume line, then the new turn. None of that text reaches a log. A replacement agent
 * (the same history without `resumed`) still does not greet.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resumedContextText, SUMMARY_PREFIX } from "../../agent/agent.ts";
import { DEFAULT_PROFILE_ID, type HistoryItem } from "../../contract/index.ts";
import { RESUME_HISTORY_MAX_CHARS, RESUME_HISTORY_MAX_ITEMS } from "../../contract/conversations.ts";
import { loadProfiles } from "../../profiles/load.ts";
import { mediaAddress } from "../support/netns.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";
import { audioMeter } from "./room-visitor.ts";
import { startWorkerHarness, type WorkerHarness } from "./worker-harness.ts";

const addr = mediaAddress();
const ROOM = "room-resume";
const SESSION = "sessionResume000000001"; // 22 base64url characters
const REPLACEMENT_ROOM = "room-resume-replacement";
const REPLACEMENT_SESSION = "sessionResume000000002";

/** Marks the summary: it must reach the LLM, and no log. */
const SUMMARY_MARK = "marzipanotter";
/** Marks the earliest user turn of the earlier conversation. */
const EARLIEST_MARK = "bassoonheron";
const SUMMARY = `The visitor asked about their sister's ${SUMMARY_MARK} recital and wanted a reminder for it.`;

/**
 * The earlier conversation's newest finals, a full budget: {@link RESUME_HISTORY_MAX_ITEMS} items (user first,
 * alternating) of at most {@link RESUME_HISTORY_MAX_CHARS} characters together; the first user turn carries
 * {@link EARLIEST_MARK}.
 */
function fullHistory(): HistoryItem[] {
  const first = `My sister plays the ${EARLIEST_MARK} in the town orchestra.`;
  const each = Math.floor((RESUME_HISTORY_MAX_CHARS - first.length) / (RESUME_HISTORY_MAX_ITEMS - 1));
  const items: HistoryItem[] = [{ role: "user", text: first }];
  for (let i = 1; i < RESUME_HISTORY_MAX_ITEMS; i++) {
    const role = i % 2 === 0 ? "user" : "agent";
    items.push({ role, text: `Earlier ${role} turn ${i}: ${"and the rehearsal went on ".repeat(20)}`.slice(0, each) });
  }
  return items;
}

type ChatMessage = { role?: string; content?: unknown };
const textOf = (content: unknown) =>
  typeof content === "string" ? content : (content as { text?: string }[]).map((p) => p.text ?? "").join("");

describe.skipIf(!addr)("a resumed conversation's agent", () => {
  let h: WorkerHarness;
  const assistant = loadProfiles().get(DEFAULT_PROFILE_ID)!;
  const history = fullHistory();

  const jobStarted = (sessionId: string) =>
    h
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"job_started"') && l.includes(sessionId))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    h = await startWorkerHarness(addr!);
  }, 90_000);
  afterAll(async () => {
    if (process.env.AGENT_TEST_LOG) (await import("node:fs")).writeFileSync(process.env.AGENT_TEST_LOG, h.output());
    await h?.close();
  });

  it(
    "greets with the resume line and answers with the summary and the earlier turns in its context",
    { timeout: 180_000 },
    async () => {
      expect(history).toHaveLength(RESUME_HISTORY_MAX_ITEMS);
      expect(history.reduce((n, i) => n + i.text.length, 0)).toBeLessThanOrEqual(RESUME_HISTORY_MAX_CHARS);
      expect(assistant.resume_greeting).not.toBe(assistant.greeting);
      const visitor = await h.visitor(ROOM, "v_resume");
      let meter: ReturnType<typeof audioMeter> | undefined;
      try {
        await h.dispatchWith(ROOM, { session_id: SESSION, history, resumed: { summary: SUMMARY } });
        const track = await Promise.race([visitor.agentTrack, sleep(60_000).then(() => null)]);
        if (!track) throw new Error("the agent published no audio track within 60 s");
        meter = audioMeter(track); // subscribed as the agent joins, before it greets
        await waitFor("agent_joined", () => h.types(SESSION).includes("agent_joined"), { timeoutMs: 60_000 });
        const [started] = jobStarted(SESSION);
        expect(started).toMatchObject({
          profile: DEFAULT_PROFILE_ID,
          resumed: true,
          history_items: RESUME_HISTORY_MAX_ITEMS,
          history_chars: history.reduce((n, i) => n + i.text.length, 0),
          summary_chars: SUMMARY.length,
        });

        // (a) The greeting: the profile's resume line, spoken (the visitor hears it) and forwarded as the agent's final.
        await waitFor("the greeting to end", () => h.types(SESSION).includes("agent speech_ended"), {
          timeoutMs: 60_000,
        });
        await sleep(300);
        const agentFinals = () =>
          h
            .eventsOf(SESSION)
            .filter((e) => "text" in e && e.role === "agent" && e.final)
            .map((e) => (e as { text: string }).text);
        expect(agentFinals()).toEqual([assistant.resume_greeting]);
        expect(meter.peak(), "the visitor heard the greeting").toBeGreaterThan(0.01);
        expect(h.chatRequests, "the fixed resume line needs no LLM").toEqual([]);

        // (b) The visitor speaks: the first chat request holds the summary, the earlier turns, the greeting, the turn.
        visitor.mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
        const answer = () =>
          h.eventsOf(SESSION).find((e) => "text" in e && e.role === "agent" && /I heard you say/.test(e.text));
        const reply = (await waitFor("the agent's answer", answer, { timeoutMs: 60_000 })) as { text: string };
        const sent = (h.chatRequests[0] as ChatMessage[]).map((m) => ({ role: m.role, text: textOf(m.content) }));
        expect(sent[0]!.role).toBe("system");
        expect(sent[0]!.text).toContain(assistant.prompt.trim());
        expect(sent[1]).toEqual({ role: "system", text: resumedContextText({ summary: SUMMARY }, history.length) });
        expect(sent[1]!.text.split("\n").at(-1)).toBe(`${SUMMARY_PREFIX}${SUMMARY}`);
        expect(sent.slice(2, 2 + history.length)).toEqual(
          history.map((i) => ({ role: i.role === "user" ? "user" : "assistant", text: i.text })),
        );
        expect(sent.slice(2 + history.length, -1)).toEqual([{ role: "assistant", text: assistant.resume_greeting }]);
        expect(sent.at(-1)!.role).toBe("user");
        expect(sent.at(-1)!.text).toMatch(/forward/i);
        // The stand-in counts the earlier user messages it got and repeats the first one's first words
        // (dev/openai/chat.ts): the history's, earliest turn included.
        const earlierUsers = history.filter((i) => i.role === "user").length;
        expect(reply.text).toContain(
          `Before that, you said ${earlierUsers} other things, first "My sister plays the ${EARLIEST_MARK} in the town".`,
        );

        // The earlier conversation is context, not new transcript (only the stand-in's reply quotes it), and its
        // text reaches no log.
        const posted = h.eventsOf(SESSION).filter((e) => "text" in e && e !== reply);
        expect(JSON.stringify(posted)).not.toContain(EARLIEST_MARK);
        expect(JSON.stringify(h.eventsOf(SESSION))).not.toContain(SUMMARY_MARK);
        expect(h.output()).not.toContain(EARLIEST_MARK);
        expect(h.output()).not.toContain(SUMMARY_MARK);
      } finally {
        await meter?.stop();
        visitor.mic.stop();
        await visitor.room.disconnect().catch(() => {});
        await h.deleteRoom(ROOM);
      }
    },
  );

  it("as a replacement (the same history without resumed) does not greet", { timeout: 90_000 }, async () => {
    const visitor = await h.visitor(REPLACEMENT_ROOM, "v_resume_replacement");
    try {
      await h.dispatchWith(REPLACEMENT_ROOM, { session_id: REPLACEMENT_SESSION, history });
      await waitFor("agent_joined", () => h.types(REPLACEMENT_SESSION).includes("agent_joined"), {
        timeoutMs: 60_000,
      });
      const [started] = jobStarted(REPLACEMENT_SESSION);
      expect(started).toMatchObject({ history_items: RESUME_HISTORY_MAX_ITEMS });
      expect(started).not.toHaveProperty("resumed");
      await sleep(4000); // a greeting starts within a second or two of agent_joined
      expect(h.types(REPLACEMENT_SESSION).filter((t) => t.startsWith("agent "))).toEqual([]);
    } finally {
      visitor.mic.stop();
      await visitor.room.disconnect().catch(() => {});
      await h.deleteRoom(REPLACEMENT_ROOM);
    }
  });
});
