/**
 * The tutor teaches from the database: the real agent session with the shipped `tutor` profile, its intents as tools
 * and the actions client posting to the real Worker under `wrangler dev` (workerd, the D1 curriculum migrated as
 * `npm run dev` migrates it), the OpenAI plugins against the local stand-in (dev/openai/). The visitor's turn is
 * typed (`generateReply({userInput})`, as agent/typed-input.ts does), so no speech decoding is involved.
 *
 * Checked: the subtopic's content as D1 stores it reached the LLM request (the tool message of the chat request
 * that follows the call), the greeting and the instructions carry the visitor's name, and the reply teaches the
 * content's first words. LiveKit's HTTP API is a local stub (the session's dispatch answers 200); the stand-in LLM
 * is the one fake (the real one is paid and unreachable here).
 */
import { initializeLogger } from "@livekit/agents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionsClient } from "../../agent/actions.ts";
import { WebsiteAgent } from "../../agent/agent.ts";
import type { PendingEvent } from "../../agent/ingest-forwarder.ts";
import { jobSettings } from "../../agent/job-settings.ts";
import { createAgentSession } from "../../agent/pipeline.ts";
import { intentTools } from "../../agent/profile-tools.ts";
import { forwardSessionEvents } from "../../agent/session-events.ts";
import { SubtopicResponse } from "../../contract/index.ts";
import { createLogger } from "../../contract/log.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { loadProfiles } from "../../profiles/load.ts";
import { type LiveKitApiStub, startLiveKitApiStub } from "../support/livekit-api-stub.ts";
import { waitFor } from "../support/wait.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler.ts";
import { ClockedAudioInput, PlayoutAudioOutput } from "./pipeline-io.ts";

type ChatMessage = { role: string; content?: unknown; tool_call_id?: string };

let provider: DevOpenAI;
let liveKit: LiveKitApiStub;
let worker: WranglerDev;
const chatRequests: ChatMessage[][] = [];

beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  liveKit = await startLiveKitApiStub();
  [provider, worker] = await Promise.all([
    startDevOpenAI({ log: () => {}, onChatRequest: (m) => void chatRequests.push(m as ChatMessage[]) }),
    // No agent joins through LiveKit here: the session's join timers are pushed past the test.
    startWranglerDev(
      { LIVEKIT_URL: liveKit.url, AGENT_JOIN_TIMEOUT_S: "300", CLIENT_JOIN_TIMEOUT_S: "300" },
      { logLevel: "error", timeoutMs: 90_000 },
    ),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([provider?.close(), worker?.close()]);
  liveKit?.close();
});

describe("the tutor agent (real Worker and D1, local provider)", () => {
  it("teaches fractions from the stored content, which reaches the LLM request, and greets by name", async () => {
    const base = worker.origin;
    const cookie = (await fetch(`${base}/health`)).headers.get("set-cookie")!.split(";")[0]!;
    const created = await fetch(`${base}/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: cookie },
      body: JSON.stringify({ room: "tutor-lesson", identity: "visitor", profile: "tutor" }),
    });
    expect(created.status).toBe(201);
    const { session_id: sessionId } = (await created.json()) as { session_id: string };
    const stored = SubtopicResponse.parse(
      await (await fetch(`${base}/tutor/subtopics/1`, { headers: { Cookie: cookie } })).json(),
    );
    expect(stored).toMatchObject({ topic: "Fractions", position: 1 });
    const taught = stored.content.split("\n\n")[0]!; // the first paragraph, as stored

    const log = createLogger({ component: "agent", level: "error", write: () => {} });
    const chosen = jobSettings(
      {
        openaiApiKey: "sk-local-stand-in",
        openaiBaseUrl: provider.baseURL,
        sttModel: "gpt-4o-mini-transcribe",
        ttsModel: "gpt-4o-mini-tts",
        greetingMode: "fixed",
      },
      { profile: "tutor", visitor_name: "Ada" },
      loadProfiles(),
    );
    if (!chosen.ok) throw new Error(chosen.reason);
    const { settings } = chosen;
    expect(settings.greeting).toMatchObject({ mode: "fixed", text: expect.stringMatching(/^Hi Ada! /) });
    const session = createAgentSession(settings.providers, await loadVad());
    const events: PendingEvent[] = [];
    forwardSessionEvents(session, (e) => events.push(e));
    const input = new ClockedAudioInput();
    session.input.audio = input;
    session.output.audio = new PlayoutAudioOutput();
    const actions = new ActionsClient({ ingestUrl: base, secret: worker.ingestSecret, sessionId, log });
    const tools = intentTools(settings.profile.intents, actions, log);
    const agentFinals = () =>
      events.filter((e): e is PendingEvent & { text: string } => "final" in e && e.final && e.role === "agent");
    try {
      await session.start({ agent: new WebsiteAgent(settings.instructions, settings.greeting, { tools }) });
      await waitFor("the greeting", () => agentFinals()[0], { timeoutMs: 30_000, intervalMs: 20 });
      session.generateReply({ userInput: "teach me fractions" });
      const reply = await waitFor("the lesson", () => agentFinals().find((e) => e.text.includes("part 1 of 4")), {
        timeoutMs: 45_000,
        intervalMs: 20,
      });

      // The chat request after the call carries the Worker's answer with the stored content, and the system
      // prompt says who the visitor is.
      const withResult = chatRequests.find((m) => m.some((x) => x.role === "tool"));
      expect(withResult, "a chat request with the tool's result").toBeDefined();
      expect(JSON.stringify(withResult![0]!.content)).toContain("The visitor's first name is Ada.");
      const output = JSON.parse(withResult!.find((m) => m.role === "tool")!.content as string) as {
        intent: string;
        status: string;
        result: { content: string; check_question: string };
      };
      expect(output).toMatchObject({ intent: "START_TOPIC", status: "ok" });
      expect(output.result.content.startsWith(taught)).toBe(true);
      expect(stored.content).toContain(`A good check question: ${output.result.check_question}`);
      // The stand-in teaches the first sentences of what it was given: the words come from the database.
      expect(reply.text).toContain("A fraction describes part of a whole.");
      expect(reply.text).toContain(`Here is a question for you: ${output.result.check_question}`);
    } finally {
      input.stop();
      await session.close();
    }
  });
});

/** Silero VAD (the session needs one; no speech is sent). */
async function loadVad() {
  const silero = await import("@livekit/agents-plugin-silero");
  return silero.VAD.load();
}
