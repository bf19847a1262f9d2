/**
 * The speech provider settings of agent/config.ts: `STT_PROVIDER`, `TTS_PROVIDER`, `DEEPGRAM_API_KEY` (required when
 * either is deepgram), `DEEPGRAM_BASE_URL`, `DEEPGRAM_STT_MODEL`, `DEEPGRAM_TTS_MODEL`.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_DEEPGRAM_BASE_URL,
  DEFAULT_DEEPGRAM_STT_MODEL,
  DEFAULT_DEEPGRAM_TTS_MODEL,
  readAgentConfig,
} from "../../agent/config.ts";
import { deepgramUrls } from "../../agent/deepgram.ts";
import { ConfigError } from "../../contract/config.ts";
import { REQUIRED_ENV } from "./required-env.ts";

const ENV = REQUIRED_ENV;

describe("speech provider configuration", () => {
  it("defaults to OpenAI for both, with no Deepgram settings", () => {
    expect(readAgentConfig(ENV)).toMatchObject({ sttProvider: "openai", ttsProvider: "openai", deepgram: null });
  });

  it("takes Deepgram for either or both, with the documented defaults", () => {
    for (const [stt, tts] of [
      ["deepgram", "openai"],
      ["openai", "deepgram"],
      ["deepgram", "deepgram"],
    ] as const) {
      const c = readAgentConfig({ ...ENV, STT_PROVIDER: stt, TTS_PROVIDER: tts, DEEPGRAM_API_KEY: "dg-key" });
      expect(c).toMatchObject({ sttProvider: stt, ttsProvider: tts });
      expect(c.deepgram).toEqual({
        apiKey: "dg-key",
        baseUrl: DEFAULT_DEEPGRAM_BASE_URL,
        sttModel: DEFAULT_DEEPGRAM_STT_MODEL,
        ttsModel: DEFAULT_DEEPGRAM_TTS_MODEL,
      });
    }
    expect([DEFAULT_DEEPGRAM_BASE_URL, DEFAULT_DEEPGRAM_STT_MODEL, DEFAULT_DEEPGRAM_TTS_MODEL]).toEqual([
      "https://api.deepgram.com",
      "nova-3",
      "aura-2-thalia-en",
    ]);
  });

  it("refuses Deepgram without DEEPGRAM_API_KEY, naming the variables that ask for it", () => {
    expect(() => readAgentConfig({ ...ENV, STT_PROVIDER: "deepgram" })).toThrow(ConfigError);
    expect(() => readAgentConfig({ ...ENV, STT_PROVIDER: "deepgram", DEEPGRAM_API_KEY: "" })).toThrow(
      "invalid agent configuration: DEEPGRAM_API_KEY is required when STT_PROVIDER=deepgram (see .env.example)",
    );
    expect(() => readAgentConfig({ ...ENV, STT_PROVIDER: "deepgram", TTS_PROVIDER: "deepgram" })).toThrow(
      /DEEPGRAM_API_KEY is required when STT_PROVIDER=deepgram and TTS_PROVIDER=deepgram/,
    );
    // Named with the other faults, in one message.
    expect(() => readAgentConfig({ ...ENV, INGEST_URL: undefined, TTS_PROVIDER: "deepgram" })).toThrow(
      /INGEST_URL is required.*DEEPGRAM_API_KEY is required when TTS_PROVIDER=deepgram/,
    );
  });

  it("a key alone turns nothing on: profiles may then ask for Deepgram", () => {
    const c = readAgentConfig({ ...ENV, DEEPGRAM_API_KEY: "dg-key" });
    expect(c).toMatchObject({ sttProvider: "openai", ttsProvider: "openai", deepgram: { apiKey: "dg-key" } });
  });

  it("reads the base URL and models, and refuses bad values with clear messages", () => {
    const c = readAgentConfig({
      ...ENV,
      DEEPGRAM_API_KEY: "dg-key",
      DEEPGRAM_BASE_URL: "http://127.0.0.1:8791/",
      DEEPGRAM_STT_MODEL: "nova-2-general",
      DEEPGRAM_TTS_MODEL: "aura-2-celeste-es",
    });
    expect(c.deepgram).toMatchObject({
      baseUrl: "http://127.0.0.1:8791",
      sttModel: "nova-2-general",
      ttsModel: "aura-2-celeste-es",
    });
    const bad = (over: Record<string, string>, message: RegExp) =>
      expect(() => readAgentConfig({ ...ENV, DEEPGRAM_API_KEY: "dg-key", ...over })).toThrow(message);
    bad({ STT_PROVIDER: "whisper" }, /STT_PROVIDER must be one of openai, deepgram/);
    bad({ TTS_PROVIDER: "Deepgram" }, /TTS_PROVIDER must be one of openai, deepgram/);
    // The key travels in a header: plain http only to this machine.
    bad(
      { DEEPGRAM_BASE_URL: "http://deepgram.example.com" },
      /DEEPGRAM_BASE_URL must be https \(http only on this machine\)/,
    );
    bad({ DEEPGRAM_BASE_URL: "wss://api.deepgram.com" }, /DEEPGRAM_BASE_URL must be an http\(s\) URL/);
    bad({ DEEPGRAM_STT_MODEL: "Nova 3" }, /DEEPGRAM_STT_MODEL must be a Deepgram model name such as nova-3/);
    bad({ DEEPGRAM_TTS_MODEL: "alloy" }, /DEEPGRAM_TTS_MODEL must be a Deepgram Aura voice such as aura-2-thalia-en/);
  });

  it("gives the plugin ws(s) for the STT socket and http(s) for the TTS", () => {
    expect(deepgramUrls("https://api.deepgram.com")).toEqual({
      stt: "wss://api.deepgram.com",
      tts: "https://api.deepgram.com",
    });
    expect(deepgramUrls("http://127.0.0.1:8791")).toEqual({ stt: "ws://127.0.0.1:8791", tts: "http://127.0.0.1:8791" });
  });
});
