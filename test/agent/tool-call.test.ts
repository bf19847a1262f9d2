/**
 * A spoken request becomes an action: REAL Silero VAD on REAL recorded speech (pocketsphinx-testdata goforward.raw,
 * "go forward ten meters"), the real OpenAI plugins against the local OpenAI-compatible provider (dev/openai/:
 * pocketsphinx STT, espeak-ng TTS, and an LLM stand-in that calls a tool whose "Examples:" line matches what the
 * visitor said), a profile folder loaded by profiles/load.ts, its intent as a tool (agent/profile-tools.ts), and the
 * actions client (agent/actions.ts) posting to the test's Worker (./ingest-server.ts, signature verified).
 */
import { initializeLogger, type VAD } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActionsClient } from "../../agent/actions.ts";
import { WebsiteAgent } from "../../agent/agent.ts";
import type { PendingEvent } from "../../agent/ingest-forwarder.ts";
import { jobSettings } from "../../agent/job-settings.ts";
import { createAgentSession } from "../../agent/pipeline.ts";
import { intentTools } from "../../agent/profile-tools.ts";
import { forwardSessionEvents } from "../../agent/session-events.ts";
import type { ActionResponse } from "../../contract/index.ts";
import { createLogger } from "../../contract/log.ts";
import { LOCAL_TIME_LINE } from "../../contract/profile.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { loadProfiles } from "../../profiles/load.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { goForward } from "./audio.ts";
import { type IngestServer, startIngestServer } from "./ingest-server.ts";
import { ClockedAudioInput, PlayoutAudioOutput } from "./pipeline-io.ts";

const SECRET = "test-ingest-secret-0123456789abcdef";
const SESSION = "AAAAAAAAAAAAAAAAAAAAAA";

/** A profile whose one intent has the recording's words among its examples. */
const ROBOT_YAML = `display_name: Robot planner
greeting: Hello.
voice: alloy
language: en-US
model:
  name: gpt-4o-mini
intents:
  - name: NEW_TASK
    description: Add a task for the visitor.
    parameters:
      type: object
      properties:
        title:
          type: string
          minLength: 1
          maxLength: 200
      required: [title]
      additionalProperties: false
    examples:
      - go forward ten meters
      - add a task to call the dentist
    confirm: false
`;

type ChatMessage = {
  role: string;
  content?: unknown;
  tool_call_id?: string;
  tool_calls?: Array<{ id: string; function: { name: string } }>;
};

let provider: DevOpenAI;
let vad: VAD;
let server: IngestServer;
let dir: string;
const chatRequests: ChatMessage[][] = [];

beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  dir = mkdtempSync(join(tmpdir(), "profiles-"));
  for (const [id, yaml, prompt] of [
    ["assistant", "display_name: A\ngreeting: Hi.\nvoice: alloy\nlanguage: en\nmodel:\n  name: gpt-4o-mini\n", "Help."],
    ["robot", ROBOT_YAML, "You keep the visitor's task list. Add what they ask for."],
  ] as const) {
    mkdirSync(join(dir, id));
    writeFileSync(join(dir, id, "profile.yaml"), yaml);
    writeFileSync(join(dir, id, "prompt.md"), prompt);
  }
  [provider, vad, server] = await Promise.all([
    startDevOpenAI({ log: () => {}, onChatRequest: (m) => void chatRequests.push(m as ChatMessage[]) }),
    silero.VAD.load(),
    startIngestServer(SECRET),
  ]);
});
afterAll(async () => {
  await Promise.all([provider?.close(), server?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("a spoken request calls the profile's intent (real Silero VAD, real speech, local provider)", () => {
  it("hears the request, calls the tool, posts the action, and the result reaches the LLM and is spoken", async () => {
    server.actionAnswer = (req): ActionResponse => ({
      call_id: req.call_id,
      intent: req.intent,
      status: "ok",
      message: `Task added: ${String(req.arguments.title)}`,
      result: { task: { id: "task_1", title: req.arguments.title, due: null, done: false } },
    });
    const log = createLogger({ component: "agent", level: "error", write: () => {} });
    const chosen = jobSettings(
      {
        openaiApiKey: "sk-local-stand-in",
        openaiBaseUrl: provider.baseURL,
        sttModel: "gpt-4o-mini-transcribe",
        ttsModel: "gpt-4o-mini-tts",
        greetingMode: "none",
      },
      { profile: "robot", timezone: "Europe/Berlin" },
      loadProfiles(dir),
    );
    if (!chosen.ok) throw new Error(chosen.reason);
    const { settings } = chosen;
    const session = createAgentSession(settings.providers, vad);
    const events: PendingEvent[] = [];
    forwardSessionEvents(session, (e) => events.push(e));
    const input = new ClockedAudioInput();
    const output = new PlayoutAudioOutput();
    session.input.audio = input;
    session.output.audio = output;
    const actions = new ActionsClient({ ingestUrl: server.url, secret: SECRET, sessionId: SESSION, log });
    const tools = intentTools(settings.profile.intents, actions, log);
    try {
      await session.start({ agent: new WebsiteAgent(settings.instructions, settings.greeting, { tools }) });
      await sleep(500); // a little silence first, as from a real microphone
      await input.say(goForward());
      const agentFinal = () =>
        events.find((e): e is PendingEvent & { text: string } => "final" in e && e.final && e.role === "agent");
      const spoken = await waitFor("the agent's answer", agentFinal, { timeoutMs: 45_000, intervalMs: 20 });

      // The visitor's words, heard by pocketsphinx, picked the tool; the action went to the Worker, signed.
      expect(events.find((e) => "final" in e && e.final && e.role === "user")).toMatchObject({
        text: "go forward ten meters",
      });
      expect(server.actions).toHaveLength(1);
      const [call] = server.actions;
      expect(call).toMatchObject({
        sessionId: SESSION,
        verdict: "ok",
        request: { intent: "NEW_TASK", arguments: { title: "Go forward ten meters" } },
      });
      // The call_id is the LLM's tool call id, and the Worker's answer went back to the LLM as the tool's output.
      const first = chatRequests[0]!;
      expect(first[0]!.role).toBe("system");
      expect(LOCAL_TIME_LINE.exec(JSON.stringify(first[0]!.content))?.[2]).toBe("Europe/Berlin");
      const withResult = chatRequests.find((m) => m.some((x) => x.role === "tool"));
      expect(withResult, "a chat request with the tool's result").toBeDefined();
      const assistantCall = withResult!.find((m) => m.role === "assistant" && m.tool_calls?.length)!;
      expect(assistantCall.tool_calls![0]!).toMatchObject({
        id: call!.request!.call_id,
        function: { name: "NEW_TASK" },
      });
      const result = withResult!.find((m) => m.role === "tool")!;
      expect(result.tool_call_id).toBe(call!.request!.call_id);
      expect(JSON.parse(result.content as string)).toEqual(server.actionAnswer(call!.request!));
      // The stand-in turns the answer into a sentence, and the agent says it.
      expect(spoken.text).toContain("Task added: Go forward ten meters");
      await waitFor("the answer's audio", () => output.seconds > 1, { timeoutMs: 20_000, intervalMs: 20 });
    } finally {
      input.stop();
      await session.close();
    }
  });
});
