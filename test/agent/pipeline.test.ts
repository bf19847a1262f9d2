/**
 * The voice pipeline without a room: REAL Silero VAD on REAL recorded speech (pocketsphinx-testdata
 * goforward.raw, "go forward ten meters"), the real OpenAI plugins, and the session events mapped to
 * contract events by agent/session-events.ts. The OpenAI plugins talk to the local OpenAI-compatible
 * provider (dev/openai/): a stand-in only in the sense that it replaces the paid OpenAI API
 * (pocketsphinx STT over the realtime transcription socket, espeak-ng TTS, scripted chat replies).
 */
import { initializeLogger, type VAD } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Greeting, WebsiteAgent } from "../../agent/agent.ts";
import type { PendingEvent } from "../../agent/ingest-forwarder.ts";
import { createAgentSession, sttAudioSentMs } from "../../agent/pipeline.ts";
import { forwardSessionEvents } from "../../agent/session-events.ts";
import { observeJob } from "../../agent/job-metrics.ts";
import type { JobMetric } from "../../agent/metrics.ts";
import { createLogger, type Logger } from "../../contract/log.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { goForward } from "./audio.ts";
import { ClockedAudioInput, PlayoutAudioOutput } from "./pipeline-io.ts";

type Seen = PendingEvent & { at: number };

let provider: DevOpenAI;
let vad: VAD;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  [provider, vad] = await Promise.all([startDevOpenAI({ log: () => {} }), silero.VAD.load()]);
});
afterAll(async () => {
  await provider?.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function runSession(greeting: Greeting, llmModel = "gpt-4o-mini") {
  const logLines: Array<Record<string, unknown>> = [];
  const write = (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>);
  const log: Logger = createLogger({ component: "agent", write });
  const providers = {
    openaiApiKey: "sk-local-stand-in",
    openaiBaseUrl: provider.baseURL,
    sttModel: "gpt-4o-mini-transcribe",
    llmModel,
    ttsModel: "gpt-4o-mini-tts",
    ttsVoice: "alloy",
  };
  const session = createAgentSession(providers, vad);
  const events: Seen[] = [];
  forwardSessionEvents(session, (e) => events.push({ ...e, at: Date.now() }));
  const reported: JobMetric[] = [];
  const observed = observeJob(session, {
    profile: "assistant",
    log,
    send: (e) => events.push({ ...e, at: Date.now() }),
    report: (m) => reported.push(m),
    sttAudioMs: () => sttAudioSentMs(session),
  });
  const input = new ClockedAudioInput();
  const output = new PlayoutAudioOutput();
  session.input.audio = input;
  session.output.audio = output;
  await session.start({ agent: new WebsiteAgent("You are a test assistant.", greeting) });
  cleanups.push(async () => {
    input.stop();
    await session.close();
  });
  return { session, events, input, output, logLines, reported, observed };
}

/** Wait options: give up after `timeoutMs`, probing every 20 ms. */
const within = (timeoutMs: number) => ({ timeoutMs, intervalMs: 20 });

const label = (e: PendingEvent) =>
  "event" in e ? `${e.role} ${e.event}` : "final" in e ? `${e.role} ${e.final ? "final" : "interim"}` : e.type;

/** Index of the first event at or after `from` matching `label`, or -1. */
const indexOf = (events: Seen[], name: string, from = 0) => events.findIndex((e, i) => i >= from && label(e) === name);

describe("voice pipeline (real Silero VAD, real speech, local OpenAI-compatible provider)", () => {
  it("hears the user, transcribes interim and final, answers by voice", async () => {
    const { events, input, output, logLines, reported, observed } = await runSession({ mode: "none" }); // latency figures: bench/agent-latency.bench.ts
    await sleep(500); // a little silence first, as from a real microphone
    await input.say(goForward());
    await waitFor("agent speech_ended", () => indexOf(events, "agent speech_ended") >= 0, within(30_000));

    const names = events.map(label);
    const started = indexOf(events, "user speech_started");
    const final = indexOf(events, "user final");
    const interim = indexOf(events, "user interim", started);
    const agentStarted = indexOf(events, "agent speech_started", final);
    const agentText = indexOf(events, "agent final", agentStarted);
    const agentEnded = indexOf(events, "agent speech_ended", agentText);
    expect(started, names.join(" → ")).toBeGreaterThanOrEqual(0);
    expect(interim, names.join(" → ")).toBeGreaterThan(started);
    expect(final).toBeGreaterThan(interim);
    expect(agentStarted).toBeGreaterThan(final);
    expect(agentText).toBeGreaterThan(agentStarted);
    expect(agentEnded).toBeGreaterThan(agentText);
    expect(indexOf(events, "user speech_ended")).toBeGreaterThan(started);

    expect(events[final]).toMatchObject({ role: "user", text: "go forward ten meters", final: true });
    expect((events[agentText] as { text: string }).text).toContain("go forward ten meters");
    expect(output.seconds).toBeGreaterThan(1); // the agent's answer was spoken, not just written

    // One `turn` log line for the answered turn, with where the wait went and no transcript text.
    const turns = logLines.filter((l) => l.msg === "turn");
    expect(turns).toHaveLength(1);
    const turn = turns[0] as Record<string, number>;
    for (const k of [
      "speech_end_to_playout_ms",
      "end_of_utterance_ms",
      "transcription_ms",
      "llm_ttft_ms",
      "tts_ttfb_ms",
    ]) {
      expect(turn[k], k).toBeTypeOf("number");
      expect(turn[k], k).toBeGreaterThanOrEqual(0);
    }
    expect(turn.end_of_utterance_ms).toBeGreaterThanOrEqual(550); // Silero's silence window at least
    expect(turn.speech_end_to_playout_ms).toBeGreaterThan(turn.end_of_utterance_ms!);
    // The VAD reports the end of speech once the silence window has passed: the turn's clock starts that much
    // before the user's speech_ended event, and stops at the agent's speech_started.
    const userEnded = events[indexOf(events, "user speech_ended", started)]!.ts!;
    const sinceUserEnded = events[agentStarted]!.ts! - userEnded;
    expect(turn.speech_end_to_playout_ms! - sinceUserEnded).toBeGreaterThanOrEqual(500);
    expect(turn.speech_end_to_playout_ms! - sinceUserEnded).toBeLessThanOrEqual(1000);
    expect(JSON.stringify(turns)).not.toMatch(/forward|meters/);

    // The same turn, as the worker's metrics (job-metrics.ts → metrics.ts) and as the session's usage summary:
    // one `usage` event with the turn's latency and what the framework counted (the stand-in reports tokens).
    const turnMetrics = reported.filter((m) => m.kind === "turn");
    expect(turnMetrics).toEqual([
      {
        kind: "turn",
        profile: "assistant",
        seconds: {
          total: turn.speech_end_to_playout_ms! / 1000,
          end_of_utterance: turn.end_of_utterance_ms! / 1000,
          transcription: turn.transcription_ms! / 1000,
          llm_ttft: turn.llm_ttft_ms! / 1000,
          tts_ttfb: turn.tts_ttfb_ms! / 1000,
        },
      },
    ]);
    const usageEvents = events.filter((e) => "type" in e && e.type === "usage");
    expect(usageEvents).toHaveLength(1);
    const usage = usageEvents[0] as unknown as { turn_latencies_ms: number[]; usage: Record<string, number> };
    expect(usage.turn_latencies_ms).toEqual([turn.speech_end_to_playout_ms]);
    expect(usage.usage.llm_input_tokens).toBeGreaterThan(0);
    expect(usage.usage.llm_output_tokens).toBeGreaterThan(0);
    expect(usage.usage.stt_audio_ms).toBeGreaterThan(1000); // at least the recording's voiced part
    expect(usage.usage.tts_characters).toBeGreaterThan("go forward ten meters".length);
    expect(usage.usage.tts_audio_ms).toBeGreaterThan(1000);
    expect(reported.filter((m) => m.kind === "usage")).toEqual([
      { kind: "usage", profile: "assistant", usage: usage.usage },
    ]);
    expect(observed.turns).toBe(1);
    // A flush sends what was counted since the turn (the STT goes on hearing the input's silence, so there may be
    // some), and one right after it, with nothing new, sends nothing.
    observed.flush();
    const before = events.length;
    observed.flush();
    expect(events.length).toBe(before);
    // No framework adaptation was skipped on the way.
    expect(logLines.filter((l) => l.msg === "framework_adaptation_skipped")).toEqual([]);
  });

  it("greets first, and speech injected while the agent talks interrupts it (barge-in)", async () => {
    // A fixed greeting (the default mode), long enough to talk over.
    const text =
      "Hello, and thanks for stopping by. I can answer questions about this website, its products and its opening hours.";
    const { events, input, output } = await runSession({ mode: "fixed", text });
    const greetingHeard = () => output.segments.length > 0 && indexOf(events, "agent speech_started") >= 0;
    await waitFor("greeting audio", greetingHeard, within(20_000));
    const greetingStarted = indexOf(events, "agent speech_started");
    expect(indexOf(events, "user speech_started")).toBe(-1); // the agent spoke first
    await sleep(300); // barge in early in the greeting
    void input.say(goForward());

    await waitFor("interruption", () => output.interruptions > 0, within(10_000));
    const cutAt = indexOf(events, "agent speech_ended", greetingStarted);
    expect(cutAt).toBeGreaterThan(greetingStarted);
    // Cut off before the greeting's audio could have played out.
    const greetingSeconds = output.segments[0]! / 24_000;
    expect(greetingSeconds).toBeGreaterThan((events[cutAt]!.at - events[greetingStarted]!.at) / 1000);

    // The interrupted turn is followed by an answer to what the user said.
    const answer = () =>
      events.find((e) => "text" in e && e.role === "agent" && e.text.includes("go forward ten meters"));
    await waitFor("answer after barge-in", answer, within(30_000));
  });

  it("reports a provider error as agent_error and keeps listening", async () => {
    const { events, input, reported } = await runSession({ mode: "generated" }, "error-503"); // the stand-in's LLM answers 503
    const agentError = () => events.find((e) => "type" in e && e.type === "agent_error");
    const error = await waitFor("agent_error", agentError, within(30_000));
    expect((error as { detail: string }).detail).toMatch(/llm_error/);
    // …and as the worker's provider error counter (job-metrics.ts), labelled with its provider.
    expect(reported.filter((m) => m.kind === "provider_error")[0]).toMatchObject({
      kind: "provider_error",
      profile: "assistant",
      provider: "llm",
    });
    await input.say(goForward());
    const userFinal = () => events.find((e) => "final" in e && e.final);
    const final = await waitFor("a final transcript after the error", userFinal, within(30_000));
    expect(final).toMatchObject({ role: "user", text: "go forward ten meters" });
  });
});
