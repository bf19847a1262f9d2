/**
 * Live mode's speech-to-speech path without an account: the REAL `@livekit/agents` AgentSession with the REAL
 * `openai.realtime.RealtimeModel` (plugin 1.9) pointed at the local provider's realtime conversation socket
 * (dev/openai/realtime-conversation.ts: energy VAD, pocketsphinx, scripted replies and tool calls, espeak-ng),
 * given REAL recorded speech (pocketsphinx-testdata goforward.raw, "go forward ten meters") through a clocked
 * microphone (./pipeline-io.ts), without a room.
 */
import { initializeLogger, llm, voice } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import type { JSONSchema7 } from "json-schema";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";
import { ClockedAudioInput, PlayoutAudioOutput } from "./pipeline-io.ts";

const RATE = 24_000; // the realtime model's input rate: the plugin does not resample
let provider: DevOpenAI;
const logLines: Array<Record<string, unknown>> = [];
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  provider = await startDevOpenAI({ log: (line) => logLines.push(JSON.parse(line)) });
});
afterAll(async () => {
  await provider?.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A tool whose examples hold the recording's words, so that the stand-in calls it (tools.ts `pickTool`). */
function newTaskTool(calls: Array<Record<string, unknown>>) {
  return llm.tool({
    name: "NEW_TASK",
    description: "Add a task for the visitor.\nExamples: go forward ten meters | add a task to call the dentist",
    parameters: {
      type: "object",
      properties: { title: { type: "string", minLength: 1, maxLength: 200 } },
      required: ["title"],
      additionalProperties: false,
    } as JSONSchema7,
    execute: async (args: Record<string, unknown> | null) => {
      calls.push(args ?? {});
      return "The task is on your list.";
    },
  });
}

async function runSession(tools: llm.FunctionTool[] = []) {
  const model = new openai.realtime.RealtimeModel({
    apiKey: "sk-local-stand-in",
    baseURL: provider.baseURL,
    model: "gpt-realtime",
    voice: "alloy",
    turnDetection: {
      type: "server_vad",
      threshold: 0.5,
      prefix_padding_ms: 300,
      silence_duration_ms: 500,
      create_response: true,
      interrupt_response: true,
    },
    inputAudioTranscription: { model: "gpt-4o-mini-transcribe" },
  });
  // No echo-cancellation warm-up (as agent/pipeline.ts): it would replace the visitor's audio with silence for the
  // first seconds of every reply, and the barge-in below would go unheard.
  const session = new voice.AgentSession({ llm: model, aecWarmupDuration: null });
  const E = voice.AgentSessionEventTypes;
  const transcripts: Array<{ text: string; final: boolean }> = [];
  const items: Array<{ role: string; text: string; interrupted: boolean }> = [];
  const executed: string[] = [];
  const errors: unknown[] = [];
  session.on(E.UserInputTranscribed, (e) => transcripts.push({ text: e.transcript, final: e.isFinal }));
  session.on(E.ConversationItemAdded, (e) => {
    if (e.item.type === "message")
      items.push({ role: e.item.role, text: e.item.textContent ?? "", interrupted: e.item.interrupted });
  });
  session.on(E.FunctionToolsExecuted, (e) => executed.push(...e.functionCalls.map((c) => c.name)));
  session.on(E.Error, (e) => errors.push(e.error));
  const input = new ClockedAudioInput(RATE);
  const output = new PlayoutAudioOutput();
  session.input.audio = input;
  session.output.audio = output;
  await session.start({ agent: new voice.Agent({ instructions: "You are a test assistant.", tools }) });
  cleanups.push(async () => {
    input.stop();
    await session.close();
  });
  return { session, input, output, transcripts, items, executed, errors };
}

const speech = () => resampleLinear(goForward(), GOFORWARD_RATE, RATE);
const within = (timeoutMs: number) => ({ timeoutMs, intervalMs: 50 });

describe("AgentSession with openai.realtime.RealtimeModel on the local provider", () => {
  it("hears the visitor, transcribes the turn and answers by voice", async () => {
    const s = await runSession();
    await sleep(500);
    await s.input.say(speech());
    const reply = await waitFor(
      "the agent's reply",
      () => s.items.find((i) => i.role === "assistant" && i.text),
      within(30_000),
    );
    expect(s.transcripts.filter((t) => t.final).map((t) => t.text)).toEqual(["go forward ten meters"]);
    expect(s.items.find((i) => i.role === "user")?.text).toBe("go forward ten meters");
    expect(reply.text).toContain("I heard you say: go forward ten meters.");
    await waitFor("the reply's audio to play", () => s.output.seconds > 2, within(10_000));
    expect(s.errors).toEqual([]);
  });

  it("stops speaking when the visitor talks over the reply, and answers the new turn", async () => {
    const s = await runSession();
    await sleep(500);
    await s.input.say(speech());
    await waitFor("the reply to play for a second", () => s.output.seconds > 1, within(30_000));
    const before = logLines.length;
    await s.input.say(speech());
    const replies = await waitFor(
      "the reply to the second turn",
      () => {
        const r = s.items.filter((i) => i.role === "assistant");
        return r.length >= 2 && r;
      },
      within(30_000),
    );
    expect(s.output.interruptions).toBe(1);
    expect(replies[0]!.interrupted).toBe(true);
    expect(replies[1]!.text).toContain("go forward ten meters");
    expect(s.transcripts.filter((t) => t.final).map((t) => t.text)).toEqual([
      "go forward ten meters",
      "go forward ten meters",
    ]);
    // The plugin truncated the interrupted item where playout stopped, and nothing was refused but, at most, its
    // cancel of a response the server had already ended (the API's "Cancellation failed", which the plugin ignores).
    const truncated = logLines.slice(before).filter((l) => l.msg === "stand_in_truncated");
    expect(truncated).toHaveLength(1);
    expect(truncated[0]!.audio_end_ms).toBeGreaterThan(0);
    expect(truncated[0]!.audio_end_ms).toBeLessThan(truncated[0]!.audio_ms as number);
    const refused = logLines.slice(before).filter((l) => l.msg === "stand_in_error");
    expect(refused.filter((l) => l.code !== "response_cancel_not_active")).toEqual([]);
    expect(s.errors).toEqual([]);
  });

  it("calls a function tool for the visitor's request and speaks the answer after its output", async () => {
    const calls: Array<Record<string, unknown>> = [];
    const s = await runSession([newTaskTool(calls)]);
    await sleep(500);
    await s.input.say(speech());
    await waitFor("the tool call", () => s.executed.length > 0, within(30_000));
    expect(s.executed).toEqual(["NEW_TASK"]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.title).toMatch(/go forward ten meters/i);
    const reply = await waitFor(
      "the agent's reply after the tool",
      () => s.items.find((i) => i.role === "assistant" && i.text),
      within(30_000),
    );
    expect(reply.text).toBe("The task is on your list.");
    expect(s.transcripts.filter((t) => t.final).map((t) => t.text)).toEqual(["go forward ten meters"]);
    await waitFor("the reply's audio to play", () => s.output.seconds > 0.5, within(10_000));
    expect(logLines.some((l) => l.msg === "stand_in_reply" && l.tool === "NEW_TASK")).toBe(true);
    expect(s.errors).toEqual([]);
  });
});
