/**
 * A non-English profile end to end with the local OpenAI-compatible provider (dev/openai/, the stand-in for the paid
 * API), as far as the stand-in goes: the shipped `asistente` profile (language `es`) taken by the job's own settings
 * (job-settings.ts), its pipeline (pipeline.ts, real Silero VAD, the real OpenAI plugins) and its fixed greeting
 * synthesized ahead (greeting.ts) and spoken by a real `AgentSession`.
 *
 * - TTS: OpenAI's speech API has no language field; the stand-in picks espeak-ng's voice from the text (engines.ts
 *   `speechLanguage`), so the Spanish greeting is spoken with the Spanish voice, and its English scripted reply with
 *   the English one.
 * - STT: the realtime transcription session asks for `language: "es"` (and an HTTP transcription may too);
 *   pocketsphinx has only its English model, so the stand-in says so once (`stand_in_unsupported_language`) and
 *   decodes as English: English speech is still transcribed. (The real API transcribes Spanish.)
 */
import { initializeLogger, type VAD, voice } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebsiteAgent } from "../../agent/agent.ts";
import { SpeechPrefetch } from "../../agent/greeting.ts";
import { jobSettings } from "../../agent/job-settings.ts";
import { createAgentSession, sttLanguage } from "../../agent/pipeline.ts";
import { speechLanguage } from "../../dev/openai/engines.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { loadProfiles } from "../../profiles/load.ts";
import { waitFor } from "../support/wait.ts";
import { wav } from "../support/wav.ts";
import { GOFORWARD_RATE, goForward } from "./audio.ts";
import { ClockedAudioInput, PlayoutAudioOutput } from "./pipeline-io.ts";

type Line = Record<string, unknown>;

let provider: DevOpenAI;
let vad: VAD;
/** Every line the stand-in logged. */
const lines: Line[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
const profiles = loadProfiles();

beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  [provider, vad] = await Promise.all([
    startDevOpenAI({ log: (line) => void lines.push(JSON.parse(line) as Line) }),
    silero.VAD.load(),
  ]);
});
afterAll(async () => provider?.close());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Wait options: give up after `timeoutMs`, probing every 20 ms. */
const within = (timeoutMs: number) => ({ timeoutMs, intervalMs: 20 });
const speechLines = () => lines.filter((l) => l.msg === "stand_in_reply" && l.route === "/v1/audio/speech");

/** A job's session for profile `id` as agent/job.ts makes it (without a room): settings, pipeline, greeting. */
async function startJob(id: string) {
  const cfg = {
    openaiApiKey: "sk-local-stand-in",
    openaiBaseUrl: provider.baseURL,
    sttModel: "gpt-4o-mini-transcribe",
    ttsModel: "gpt-4o-mini-tts",
    greetingMode: "fixed" as const,
  };
  const verdict = jobSettings(cfg, { profile: id }, profiles);
  if (!verdict.ok) throw new Error(verdict.reason);
  const { settings } = verdict;
  const session = createAgentSession(settings.providers, vad);
  const greeting = settings.greeting;
  if (greeting.mode !== "fixed") throw new Error("expected a fixed greeting");
  const prefetched = new SpeechPrefetch(session.tts!, greeting.text);
  const said: Array<{ role: string; text: string }> = [];
  session.on(voice.AgentSessionEventTypes.ConversationItemAdded, (ev) => {
    if (ev.item.type === "message") said.push({ role: ev.item.role, text: ev.item.textContent ?? "" });
  });
  const input = new ClockedAudioInput();
  const output = new PlayoutAudioOutput();
  session.input.audio = input;
  session.output.audio = output;
  await session.start({ agent: new WebsiteAgent(settings.instructions, greeting, { prefetched }) });
  cleanups.push(async () => {
    input.stop();
    await session.close();
  });
  return { settings, greeting, said, input, output };
}

describe("a Spanish profile with the local stand-in", () => {
  it("speaks asistente's greeting with the Spanish voice, asks the STT for Spanish, still hears English", async () => {
    const before = speechLines().length;
    const { settings, greeting, said, input, output } = await startJob("asistente");
    expect(settings.providers).toMatchObject({ language: "es", ttsVoice: "alloy" });
    expect(sttLanguage(settings.providers.language)).toBe("es");
    expect(greeting.text).toBe("¡Hola! ¿En qué puedo ayudarte hoy?");

    // The greeting: one speech request (the prefetch), spoken in Spanish, and played.
    await waitFor("the greeting played", () => output.segments.length > 0 && said.length > 0, within(20_000));
    expect(said[0]).toEqual({ role: "assistant", text: greeting.text });
    expect(speechLines().slice(before)[0]).toMatchObject({ language: "es", espeak_voice: "es" });

    // The realtime transcription session asked for Spanish: the stand-in says (once per socket) that it decodes it
    // as English.
    const unsupported = () => lines.filter((l) => l.msg === "stand_in_unsupported_language");
    await waitFor("the STT session's language", () => unsupported().length > 0, within(20_000));
    const note = { level: "warn", language: "es", decoded_as: "en", route: "/v1/realtime" };
    expect(unsupported()[0]).toMatchObject(note);

    // English speech is still transcribed (with the English model), and the stand-in's English reply is spoken with
    // the English voice: the voice follows each text.
    await input.say(goForward());
    const reply = () => said.find((m) => m.role === "assistant" && m.text.includes("go forward ten meters"));
    await waitFor("the reply", reply, within(40_000));
    expect(said.find((m) => m.role === "user")).toEqual({ role: "user", text: "go forward ten meters" });
    await waitFor("the reply's speech", () => speechLines().length > before + 1, within(20_000));
    expect(speechLines().slice(before + 1)[0]).toMatchObject({ language: "en", espeak_voice: "en" });
    for (const line of unsupported()) expect(line).toMatchObject(note);
  });

  it("keeps English profiles in English: the English voice, and no language note", async () => {
    const notes = () => lines.filter((l) => l.msg === "stand_in_unsupported_language");
    const before = { speech: speechLines().length, notes: notes().length };
    const { greeting, output } = await startJob("assistant");
    await waitFor("the greeting played", () => output.segments.length > 0, within(20_000));
    expect(speechLines().slice(before.speech)[0]).toMatchObject({ language: "en", espeak_voice: "en" });
    expect(speechLanguage(greeting.text)).toBe("en");
    expect(notes()).toHaveLength(before.notes);
  });

  it("HTTP transcriptions (whisper-1) with language es: decoded as English, noted once", async () => {
    const post = async () => {
      const form = new FormData();
      const file = new Uint8Array(wav(goForward(), GOFORWARD_RATE));
      form.set("file", new File([file], "audio.wav", { type: "audio/wav" }));
      form.set("model", "whisper-1");
      form.set("language", "es");
      const res = await fetch(`${provider.baseURL}/audio/transcriptions`, { method: "POST", body: form });
      expect(res.status).toBe(200);
      return res.json();
    };
    expect(await post()).toEqual({ text: "go forward ten meters" });
    expect(await post()).toEqual({ text: "go forward ten meters" });
    const http = (l: Line) => l.route === "/v1/audio/transcriptions";
    expect(lines.filter((l) => l.msg === "stand_in_unsupported_language" && http(l))).toEqual([
      expect.objectContaining({ level: "warn", language: "es", decoded_as: "en" }),
    ]);
    expect(lines.filter((l) => l.msg === "stand_in_reply" && http(l)).map((l) => l.language)).toEqual(["es", "es"]);
  });

  it("guesses the language of what it speaks from the text (the stand-in's heuristic)", () => {
    for (const profile of profiles.values()) {
      const expected = profile.language === "es" ? "es" : "en";
      expect(speechLanguage(profile.greeting), profile.id).toBe(expected);
      expect(speechLanguage(profile.resume_greeting), profile.id).toBe(expected);
    }
    expect(speechLanguage("La casa es grande")).toBe("es");
    expect(speechLanguage("I heard you say: hola, qué tal. This answer comes from the local stand-in.")).toBe("en");
    expect(speechLanguage("go forward ten meters")).toBe("en");
  });
});
