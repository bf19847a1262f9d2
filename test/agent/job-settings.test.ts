/**
 * What a job takes from its session's profile (agent/job-settings.ts): which profile, the instructions with the
 * visitor's local time, the greeting, the LLM, voice and language. With the repository's shipped profiles
 * (profiles/, loaded by profiles/load.ts as the worker does at start) and with profiles written for the test.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkProfiles, conversationStart, jobSettings, type Profiles } from "../../agent/job-settings.ts";
import { parseDispatchMetadata } from "../../agent/job.ts";
import { sttLanguage } from "../../agent/pipeline.ts";
import { DEFAULT_PROFILE_ID } from "../../contract/index.ts";
import { DEFAULT_RESUME_GREETING, LOCAL_TIME_LINE, localTimeLine, type Profile } from "../../contract/profile.ts";
import { loadProfiles } from "../../profiles/load.ts";

const CFG = {
  openaiApiKey: "sk-test",
  openaiBaseUrl: "http://localhost:8788/v1",
  sttModel: "gpt-4o-mini-transcribe",
  ttsModel: "gpt-4o-mini-tts",
  greetingMode: "fixed" as const,
};
const SESSION = "AAAAAAAAAAAAAAAAAAAAAA";
const NOW = new Date("2026-12-01T11:40:05Z");

const shipped: Profiles = loadProfiles();

/** A profile written for the test (not loaded from files). */
function profile(id: string, extra: Partial<Profile> = {}): Profile {
  return {
    id,
    display_name: id,
    greeting: `Hello from ${id}.`,
    resume_greeting: `Welcome back to ${id}.`,
    live_limit_notice: `No more live mode today at ${id}.`,
    voice: "nova",
    language: "en-GB",
    model: { name: "gpt-4.1-mini", temperature: 0.2 },
    intents: [],
    ask_name: false,
    prompt: `You are ${id}.\n`,
    ...extra,
  };
}

const settingsOf = (metadata: Parameters<typeof jobSettings>[1], profiles = shipped, cfg = CFG) => {
  const verdict = jobSettings(cfg, metadata, profiles, NOW);
  if (!verdict.ok) throw new Error(verdict.reason);
  return verdict.settings;
};

describe("a job's profile", () => {
  it("is the default profile when the dispatch names none, with its prompt and the visitor's local time", () => {
    const s = settingsOf({});
    const assistant = shipped.get(DEFAULT_PROFILE_ID)!;
    expect(s.profile.id).toBe(DEFAULT_PROFILE_ID);
    expect(s.instructions).toBe(`${assistant.prompt.trim()}\n\n${localTimeLine(NOW, "UTC")}`);
    expect(LOCAL_TIME_LINE.exec(s.instructions)?.slice(1)).toEqual(["2026-12-01T11:40:05+00:00", "UTC"]);
    expect(s.greeting).toEqual({ mode: "fixed", text: assistant.greeting });
  });

  it("is the one the dispatch names, in the visitor's time zone, with its greeting, model, voice and language", () => {
    const s = settingsOf({ profile: "planner", timezone: "Europe/Berlin" });
    const planner = shipped.get("planner")!;
    expect(s.profile).toBe(planner);
    expect(s.instructions.startsWith(planner.prompt.trim())).toBe(true);
    expect(
      s.instructions.endsWith("\n\nThe visitor's current local time is 2026-12-01T12:40:05+01:00 (Europe/Berlin)."),
    ).toBe(true);
    expect(s.greeting).toEqual({ mode: "fixed", text: planner.greeting });
    expect(s.providers).toEqual({
      openaiApiKey: CFG.openaiApiKey,
      openaiBaseUrl: CFG.openaiBaseUrl,
      sttModel: CFG.sttModel,
      ttsModel: CFG.ttsModel,
      // No provider settings in the configuration: OpenAI for both, no Deepgram.
      sttProvider: "openai",
      ttsProvider: "openai",
      deepgram: null,
      fallbacks: [],
      llmModel: planner.model.name,
      llmTemperature: planner.model.temperature,
      ttsVoice: planner.voice,
      language: planner.language,
    });
  });

  it("takes its settings from the profile, and the models of STT and TTS from the deployment", () => {
    const profiles = new Map([["tutor", profile("tutor")]]);
    const s = settingsOf({ profile: "tutor", timezone: "America/New_York" }, profiles);
    expect(s.instructions).toBe(
      "You are tutor.\n\nThe visitor's current local time is 2026-12-01T06:40:05-05:00 (America/New_York).",
    );
    expect(s.providers).toMatchObject({
      sttModel: CFG.sttModel,
      ttsModel: CFG.ttsModel,
      llmModel: "gpt-4.1-mini",
      llmTemperature: 0.2,
      ttsVoice: "nova",
      language: "en-GB",
    });
    expect(sttLanguage("en-GB")).toBe("en");
    expect(sttLanguage()).toBe("en");
    const noTemperature = new Map([["tutor", profile("tutor", { model: { name: "gpt-4o" } })]]);
    expect(settingsOf({ profile: "tutor" }, noTemperature).providers).not.toHaveProperty("llmTemperature");
  });

  it("gives way to the dispatch's system prompt, which still gets the local time", () => {
    const s = settingsOf({ profile: "planner", system_prompt: "  Speak like a pirate.  ", timezone: "Asia/Tokyo" });
    expect(s.instructions).toBe(
      "Speak like a pirate.\n\nThe visitor's current local time is 2026-12-01T20:40:05+09:00 (Asia/Tokyo).",
    );
    expect(s.profile.id).toBe("planner"); // its intents, voice and greeting stay
    // A blank one counts as none.
    expect(settingsOf({ system_prompt: "   " }).instructions).toBe(settingsOf({}).instructions);
  });

  it("keeps GREETING_MODE as the deployment's choice", () => {
    expect(
      settingsOf({ profile: "planner" }, shipped, { ...CFG, greetingMode: "generated" as never }).greeting,
    ).toEqual({
      mode: "generated",
    });
    expect(settingsOf({}, shipped, { ...CFG, greetingMode: "none" as never }).greeting).toEqual({ mode: "none" });
  });

  it("greets a resumed conversation with the resume line, and a replacement agent not at all", () => {
    const history = [
      { role: "user" as const, text: "Remind me to call Ada." },
      { role: "agent" as const, text: "Done." },
    ];
    const planner = shipped.get("planner")!;
    const resumed = settingsOf({ profile: "planner", history, resumed: { summary: "They planned a call." } });
    expect(resumed.start).toBe("resumed");
    expect(resumed.greeting).toEqual({ mode: "fixed", text: planner.resume_greeting });
    expect(planner.resume_greeting).not.toBe(planner.greeting);
    // Resumed without a summary, or without earlier turns: still resumed.
    expect(settingsOf({ resumed: {} }).greeting).toEqual({
      mode: "fixed",
      text: shipped.get(DEFAULT_PROFILE_ID)!.resume_greeting,
    });
    const generated = { ...CFG, greetingMode: "generated" as never };
    expect(settingsOf({ history, resumed: {} }, shipped, generated).greeting).toEqual({ mode: "generated" });

    const replacement = settingsOf({ profile: "planner", history });
    expect(replacement.start).toBe("replacement");
    expect(replacement.greeting).toEqual({ mode: "none" });
    expect(settingsOf({ history }, shipped, generated).greeting).toEqual({ mode: "none" });

    expect(settingsOf({ history: [] }).start).toBe("new");
    expect(conversationStart({})).toBe("new");
    expect(conversationStart({ history: [], resumed: {} })).toBe("resumed");
    expect(conversationStart({ history })).toBe("replacement");
  });

  it("greets the visitor by name, and a tutor's visitor where they stopped, and tells the LLM both", () => {
    const tutor = shipped.get("tutor")!;
    const place = {
      topic: "Fractions",
      subtopic: { id: 2, title: "Equivalent fractions", position: 2, status: "started" as const },
      subtopics: [
        { id: 1, title: "What a fraction is", position: 1, status: "understood" as const },
        { id: 2, title: "Equivalent fractions", position: 2, status: "started" as const },
        { id: 3, title: "Adding and subtracting fractions", position: 3, status: null },
      ],
    };
    const first = settingsOf({ profile: "tutor", visitor_name: "Alice" });
    expect(first.greeting).toEqual({ mode: "fixed", text: tutor.greeting.replace("{name}", "Alice") });
    expect(first.greeting).toMatchObject({ text: expect.stringMatching(/^Hi Alice! /) });
    expect(first.instructions).toContain("The visitor's first name is Alice.");
    // Without a name, the placeholder goes with the space before it.
    expect(settingsOf({ profile: "tutor" }).greeting).toMatchObject({ text: expect.stringMatching(/^Hi! I'm your/) });

    const back = settingsOf({ profile: "tutor", visitor_name: "Alice", tutor_place: place });
    expect(back.greeting).toEqual({ mode: "fixed", text: "Hi Alice, ready to continue with Fractions?" });
    expect(back.instructions).toContain(
      'Where the visitor stands in the curriculum: Fractions, part 2 of 3, "Equivalent fractions", started',
    );
    // The local time stays the last line (the stand-in LLM and a real one read it there).
    expect(back.instructions.split("\n\n").at(-1)).toMatch(/^The visitor's current local time/);
    const resumed = settingsOf({ profile: "tutor", resumed: {}, tutor_place: place });
    expect(resumed.greeting).toEqual({ mode: "fixed", text: "Hi, ready to continue with Fractions?" });
    expect(settingsOf({ profile: "tutor", resumed: {} }).greeting).toMatchObject({
      text: expect.stringMatching(/^Welcome back! /),
    });
    // A profile without a continue line greets as usual, with or without a place.
    expect(settingsOf({ profile: "planner", tutor_place: place }).greeting).toEqual({
      mode: "fixed",
      text: shipped.get("planner")!.greeting,
    });
    // A generated greeting learns the name from the instructions.
    const generated = { ...CFG, greetingMode: "generated" as never };
    expect(settingsOf({ profile: "tutor", visitor_name: "Alice" }, shipped, generated).greeting).toEqual({
      mode: "generated",
    });
  });

  it("is refused when the worker does not have it, naming it and the ones it has", () => {
    expect(jobSettings(CFG, { profile: "coach" }, shipped, NOW)).toEqual({
      ok: false,
      reason: `unknown profile "coach" (this agent has: ${[...shipped.keys()].sort().join(", ")})`,
    });
    expect(jobSettings(CFG, {}, new Map(), NOW)).toMatchObject({ ok: false, reason: /unknown profile "assistant"/ });
  });

  it("comes from dispatch metadata the contract checks: profile and timezone", () => {
    const ok = parseDispatchMetadata(
      JSON.stringify({ session_id: SESSION, profile: "planner", timezone: "Europe/Berlin" }),
    );
    expect(ok).toMatchObject({ ok: true, metadata: { profile: "planner", timezone: "Europe/Berlin" } });
    const bad = parseDispatchMetadata(JSON.stringify({ session_id: SESSION, profile: "Planner!" }));
    expect(bad).toMatchObject({
      ok: false,
      sessionId: SESSION,
      reason: expect.stringMatching(/^invalid dispatch metadata: profile/),
    });
  });

  it("comes from dispatch metadata the contract checks: resumed, with its summary", () => {
    const history = [{ role: "user", text: "Hello." }];
    const ok = parseDispatchMetadata(JSON.stringify({ session_id: SESSION, history, resumed: { summary: "Hi." } }));
    expect(ok).toMatchObject({ ok: true, metadata: { history, resumed: { summary: "Hi." } } });
    for (const resumed of [{ summary: "" }, { summary: 5 }, { summary: "Hi.", extra: true }, "yes"]) {
      const bad = parseDispatchMetadata(JSON.stringify({ session_id: SESSION, history, resumed }));
      expect(bad, JSON.stringify(resumed)).toMatchObject({
        ok: false,
        sessionId: SESSION,
        reason: expect.stringMatching(/^invalid dispatch metadata: resumed/),
      });
      // The reason names the field, never the text.
      if (!bad.ok) expect(bad.reason).not.toContain("Hello.");
    }
  });
});

describe("profiles at start", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("accepts the shipped profiles: every intent can be a tool", () => {
    expect([...shipped.keys()]).toContain(DEFAULT_PROFILE_ID);
    expect(() => checkProfiles(shipped)).not.toThrow();
  });

  it("loads a profile folder from another PROFILES_DIR", () => {
    const dir = mkdtempSync(join(tmpdir(), "profiles-"));
    dirs.push(dir);
    mkdirSync(join(dir, "assistant"));
    writeFileSync(join(dir, "assistant", "prompt.md"), "You help.\n");
    writeFileSync(
      join(dir, "assistant", "profile.yaml"),
      "display_name: Helper\ngreeting: Hey there.\nvoice: echo\nlanguage: de\nmodel:\n  name: gpt-4o\n",
    );
    const s = settingsOf({}, loadProfiles(dir));
    expect(s.greeting).toEqual({ mode: "fixed", text: "Hey there." });
    // A profile without a resume line gets the default one.
    expect(settingsOf({ resumed: {} }, loadProfiles(dir)).greeting).toEqual({
      mode: "fixed",
      text: DEFAULT_RESUME_GREETING,
    });
    expect(s.providers).toMatchObject({ llmModel: "gpt-4o", ttsVoice: "echo", language: "de" });
  });

  it("refuses an intent that asks for a yes and already has a parameter named confirmed", () => {
    const planner = shipped.get("planner")!;
    const intents = planner.intents.map((i) =>
      i.confirm
        ? {
            ...i,
            parameters: {
              ...i.parameters,
              properties: { ...i.parameters.properties, confirmed: { type: "boolean" as const } },
            },
          }
        : i,
    );
    expect(() => checkProfiles(new Map([["planner", { ...planner, intents }]]))).toThrow(
      /^profile planner: intent RESCHEDULE_TASK: the parameter "confirmed" is reserved/,
    );
  });
});
