import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_SYSTEM_PROMPT, readConfig } from "../../agent/config.ts";

const ENV = {
  LIVEKIT_URL: "ws://localhost:7880",
  LIVEKIT_API_KEY: "devkey",
  LIVEKIT_API_SECRET: "secret",
  AGENT_NAME: "voice-agent",
  INGEST_URL: "http://localhost:8787/",
  AGENT_INGEST_SECRET: "s",
  OPENAI_API_KEY: "sk-test",
};

describe("agent config", () => {
  it("applies the documented defaults", () => {
    const c = readConfig(ENV);
    expect(c).toMatchObject({
      ingestUrl: "http://localhost:8787",
      openaiBaseUrl: "https://api.openai.com/v1",
      sttModel: "gpt-4o-mini-transcribe",
      llmModel: "gpt-4o-mini",
      ttsModel: "gpt-4o-mini-tts",
      ttsVoice: "alloy",
      systemPrompt: DEFAULT_SYSTEM_PROMPT,
      drainTimeoutS: 60,
      healthPort: 8081,
      loadThreshold: 0.7,
    });
  });

  it.each(Object.keys(ENV))("stops with a message naming %s when it is missing or empty", (name) => {
    for (const value of [undefined, ""]) {
      const env = { ...ENV, [name]: value };
      expect(() => readConfig(env)).toThrow(ConfigError);
      expect(() => readConfig(env)).toThrow(new RegExp(`${name} is required`));
    }
  });

  it("names malformed values", () => {
    expect(() => readConfig({ ...ENV, INGEST_URL: "localhost:8787" })).toThrow(/INGEST_URL must be an http\(s\) URL/);
    expect(() => readConfig({ ...ENV, DRAIN_TIMEOUT_S: "soon" })).toThrow(/DRAIN_TIMEOUT_S/);
    expect(() => readConfig({ ...ENV, AGENT_HEALTH_PORT: "99999" })).toThrow(/AGENT_HEALTH_PORT/);
  });
});
