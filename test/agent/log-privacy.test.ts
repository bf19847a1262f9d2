/**
 * GitHub issue #11, finding 4: no conversation text and no secret in the agent's logs, at `LOG_LEVEL=debug` too,
 * unless the operator opts in with `LOG_TRANSCRIPT_TEXT=true` (then the framework's text fields appear at debug).
 *
 * Two real workers (agent/main.ts, through ./worker-harness.ts: the dev LiveKit server, the local OpenAI stand-in,
 * a real ingest server) each hold one whole conversation at debug level, one without and one with the opt-in: a
 * visitor (real @livekit/rtc-node participant) joins, the agent is dispatched with a client system prompt, greets,
 * hears recorded speech ("go forward ten meters"), answers, and its room is deleted. Then every line the worker, its
 * job process and the stand-in wrote is searched for the words said (as ingest received them), the prompt, and the
 * run's secrets and tokens. The default level through the whole stack is test/e2e/privacy.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mediaAddress } from "../support/netns.ts";
import { waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";
import { JWT, linesWith, SIGNATURE } from "./log-search.ts";
import { startWorkerHarness, type WorkerHarness } from "./worker-harness.ts";

const addr = mediaAddress();
const PROMPT = "You are the lighthouse keeper of Okapi Bay. Answer in one short sentence.";
/** What one conversation left behind. */
interface Run {
  h: WorkerHarness;
  sessionId: string;
  /** The visitor's join token. */
  token: string;
  /** The final transcripts ingest received (the visitor's words as heard, the agent's greeting and answer). */
  finals: string[];
}

/** One whole conversation through `h` (see the module comment); resolves once the job has logged `job_ended`. */
async function converse(h: WorkerHarness, n: number): Promise<Run> {
  const room = `room-log-privacy-${n}`;
  const sessionId = `sessionLogPrivacy${String(n).padStart(5, "0")}`;
  const visitor = await h.visitor(room, `v_log_privacy_${n}`);
  try {
    await h.dispatch(room, sessionId, PROMPT);
    await waitFor("the greeting to end", () => h.types(sessionId).includes("agent speech_ended"), {
      timeoutMs: 90_000,
    });
    visitor.mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
    const answered = () =>
      h.eventsOf(sessionId).some((e) => "text" in e && e.role === "agent" && /I heard you say/.test(e.text));
    await waitFor("the agent's answer", answered, { timeoutMs: 90_000 });
  } finally {
    visitor.mic.stop();
    await visitor.room.disconnect().catch(() => {});
    await h.deleteRoom(room); // the session's end
  }
  const ended = () => h.output().includes('"msg":"job_ended"');
  await waitFor("the job to end", ended, { timeoutMs: 30_000 });
  const finals = h
    .eventsOf(sessionId)
    .flatMap((e) => ("text" in e && e.final ? [e.text] : []))
    .filter((t) => t.length >= 8);
  return { h, sessionId, token: visitor.token, finals };
}

/** Every secret and token of a run, by name. */
function secretsOf(run: Run): Record<string, string> {
  return { ...run.h.secrets, visitorToken: run.token };
}

describe.skipIf(!addr)("conversation text and secrets in the agent's logs (issue #11, finding 4)", () => {
  let plain: Run;
  let optedIn: Run;
  const harnesses: WorkerHarness[] = [];

  beforeAll(async () => {
    const started = await Promise.allSettled([
      startWorkerHarness(addr!, { LOG_LEVEL: "debug" }),
      startWorkerHarness(addr!, { LOG_LEVEL: "debug", LOG_TRANSCRIPT_TEXT: "true" }),
    ]);
    for (const s of started) if (s.status === "fulfilled") harnesses.push(s.value);
    for (const s of started) if (s.status === "rejected") throw s.reason;
    [plain, optedIn] = (await Promise.all(harnesses.map((h, i) => converse(h, i + 1)))) as [Run, Run];
  }, 240_000);
  afterAll(async () => {
    if (process.env.AGENT_TEST_LOG) {
      const { writeFileSync } = await import("node:fs");
      harnesses.forEach((h, i) => writeFileSync(`${process.env.AGENT_TEST_LOG}.${i + 1}`, h.output()));
    }
    await Promise.all(harnesses.map((h) => h.close()));
  });

  it("at debug, logs no word of the conversation and not the prompt", () => {
    const output = plain.h.output();
    expect(plain.finals.length).toBeGreaterThanOrEqual(3); // greeting, the visitor's words, the answer
    for (const text of [...plain.finals, PROMPT, "I heard you say"]) expect(linesWith(output, text)).toEqual([]);
    expect(linesWith(output, /lk\.pii\./)).toEqual([]);
    expect(output).toMatch(/"level":20/); // the framework's debug lines are there
  });

  it("at debug with LOG_TRANSCRIPT_TEXT=true, the framework's lines carry the conversation", () => {
    const output = optedIn.h.output();
    const userFinals = optedIn.h
      .eventsOf(optedIn.sessionId)
      .flatMap((e) => ("text" in e && e.final && e.role === "user" ? [e.text] : []));
    expect(userFinals.length).toBeGreaterThan(0);
    for (const text of userFinals) expect(output).toContain(text);
    expect(output).toMatch(/"lk\.pii\.[a-z_]+":"I heard you say/);
    expect(output).toContain('"msg":"transcript_text_logged"');
  });

  it("logs no secret, token or signature, with or without the opt-in", () => {
    for (const run of [plain, optedIn]) {
      const output = run.h.output();
      for (const [name, value] of Object.entries(secretsOf(run))) {
        expect(linesWith(output, value), `the ${name} in a log line`).toEqual([]);
      }
      expect(linesWith(output, JWT)).toEqual([]);
      expect(linesWith(output, SIGNATURE)).toEqual([]);
    }
  });
});
