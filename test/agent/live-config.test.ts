/**
 * Live mode's settings (agent/config.ts `REALTIME_*`) and what a live session is made of (agent/pipeline.ts
 * `liveVoice`, `createRealtimeModel`, a live `WebsiteAgent`): the defaults, the clear errors for bad values, and the voice a profile gets.
 */
import { initializeLogger } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_REALTIME_MODEL, readAgentConfig } from "../../agent/config.ts";
import { WebsiteAgent } from "../../agent/agent.ts";
import { createRealtimeModel, liveVoice } from "../../agent/pipeline.ts";
import { ConfigError } from "../../contract/config.ts";
import { REQUIRED_ENV } from "./required-env.ts";

const ENV = REQUIRED_ENV;

/** The message `readAgentConfig` throws for `env`, or null when it does not throw. */
function configError(env: Record<string, string>): string | null {
  try {
    readAgentConfig({ ...ENV, ...env });
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
}

beforeAll(() => initializeLogger({ pretty: false, level: "error" }));

describe("live mode configuration", () => {
  it("has the documented defaults", () => {
    expect(readAgentConfig(ENV).realtime).toEqual({
      model: DEFAULT_REALTIME_MODEL,
      voice: "alloy",
      vadThreshold: 0.5,
      prefixPaddingMs: 300,
      silenceMs: 500,
    });
    expect(DEFAULT_REALTIME_MODEL).toBe("gpt-realtime");
  });

  it("takes valid values", () => {
    const c = readAgentConfig({
      ...ENV,
      REALTIME_MODEL: "gpt-realtime-mini",
      REALTIME_VOICE: "marin",
      REALTIME_VAD_THRESHOLD: "0.7",
      REALTIME_PREFIX_PADDING_MS: "0",
      REALTIME_SILENCE_MS: "1200",
    });
    expect(c.realtime).toEqual({
      model: "gpt-realtime-mini",
      voice: "marin",
      vadThreshold: 0.7,
      prefixPaddingMs: 0,
      silenceMs: 1200,
    });
  });

  it.each([
    [{ REALTIME_MODEL: "GPT Realtime" }, "REALTIME_MODEL must be a model name such as gpt-realtime"],
    [{ REALTIME_VOICE: "nova" }, "REALTIME_VOICE must be one of alloy, ash, ballad, coral, echo, sage, shimmer"],
    [{ REALTIME_VAD_THRESHOLD: "1.5" }, "REALTIME_VAD_THRESHOLD must be from 0 to 1"],
    [{ REALTIME_VAD_THRESHOLD: "loud" }, "REALTIME_VAD_THRESHOLD must be a number from 0 to 1"],
    [{ REALTIME_PREFIX_PADDING_MS: "-1" }, "REALTIME_PREFIX_PADDING_MS must be at least 0 ms"],
    [{ REALTIME_SILENCE_MS: "50" }, "REALTIME_SILENCE_MS must be at least 100 ms"],
    [{ REALTIME_SILENCE_MS: "9000" }, "REALTIME_SILENCE_MS must be at most 5000 ms"],
    [{ REALTIME_SILENCE_MS: "250.5" }, "REALTIME_SILENCE_MS must be a whole number of milliseconds"],
  ])("refuses %o with a clear error", (env, message) => {
    expect(configError(env)).toContain(message);
  });

  it("speaks with the profile's voice when the Realtime API has it, else REALTIME_VOICE", () => {
    const { realtime } = readAgentConfig({ ...ENV, REALTIME_VOICE: "sage" });
    expect(liveVoice(realtime, "alloy")).toBe("alloy");
    expect(liveVoice(realtime, "cedar")).toBe("cedar");
    // nova (the tutor's) is a TTS voice the Realtime API does not have.
    expect(liveVoice(realtime, "nova")).toBe("sage");
  });

  it("makes the realtime model with server VAD, and a live agent that switches the session's VAD, STT and TTS off", () => {
    const cfg = readAgentConfig({ ...ENV, REALTIME_SILENCE_MS: "700" });
    const model = createRealtimeModel(cfg, "nova", "es-AR");
    expect(model).toBeInstanceOf(openai.realtime.RealtimeModel);
    expect(model.model).toBe("gpt-realtime");
    expect(model.capabilities.turnDetection).toBe(true);
    const agent = new WebsiteAgent("Be brief.", { mode: "none" }, { live: model });
    expect(agent.live).toBe(true);
    expect(agent.llm).toBe(model);
    expect(agent.stt).toBeUndefined();
    expect(agent.tts).toBeUndefined();
    expect(agent.vad).toBeUndefined();
    expect(agent.turnHandling?.turnDetection).toBe("realtime_llm");
    const pipeline = new WebsiteAgent("Be brief.", { mode: "none" });
    expect(pipeline.live).toBe(false);
    expect(pipeline.llm, "a pipeline agent uses the session's LLM").toBeUndefined();
  });
});
