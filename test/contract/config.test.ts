import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConfigError,
  count,
  flag,
  httpUrl,
  isLoopbackUrl,
  isPlaceholderSecret,
  port,
  readEnv,
  requiredString,
  seconds,
  secret,
} from "../../contract/config.ts";
import { SECRET_MIN_CHARS } from "../../contract/defaults.ts";

const Schema = z.object({
  NAME: requiredString(),
  SECRET: requiredString(),
  URL: httpUrl(),
  TIMEOUT_S: seconds(20),
  CAP: count(2, 10),
  PORT: port(8081),
  ENABLED: flag(false),
});
const GOOD = { NAME: "agent", SECRET: "s3cr3t-value", URL: "https://example.com/v1/" };

describe("readEnv", () => {
  it("applies defaults, coerces numbers and flags, and trims a URL's trailing slash", () => {
    expect(readEnv(Schema, GOOD)).toEqual({
      NAME: "agent",
      SECRET: "s3cr3t-value",
      URL: "https://example.com/v1",
      TIMEOUT_S: 20,
      CAP: 2,
      PORT: 8081,
      ENABLED: false,
    });
    expect(readEnv(Schema, { ...GOOD, TIMEOUT_S: "5", CAP: "10", PORT: "9000", ENABLED: "true" })).toMatchObject({
      TIMEOUT_S: 5,
      CAP: 10,
      PORT: 9000,
      ENABLED: true,
    });
  });

  it("treats empty strings as unset, so that defaults apply and required variables are reported", () => {
    expect(readEnv(Schema, { ...GOOD, TIMEOUT_S: "", PORT: "" })).toMatchObject({ TIMEOUT_S: 20, PORT: 8081 });
    expect(() => readEnv(Schema, { ...GOOD, NAME: "" })).toThrow(/NAME is required/);
  });

  it("reads only the schema's keys from a larger environment", () => {
    const config = readEnv(Schema, { ...GOOD, PATH: "/usr/bin", OTHER: "x" });
    expect(Object.keys(config).sort()).toEqual(["CAP", "ENABLED", "NAME", "PORT", "SECRET", "TIMEOUT_S", "URL"]);
  });

  it("names every variable at fault in one ConfigError, and never echoes a value", () => {
    const env = {
      NAME: "agent",
      SECRET: "",
      URL: "ftp://secret-host",
      TIMEOUT_S: "-3",
      CAP: "11",
      PORT: "70000",
      ENABLED: "yes",
    };
    let error: unknown;
    try {
      readEnv(Schema, env, "test configuration");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^invalid test configuration: /);
    for (const name of ["SECRET", "URL", "TIMEOUT_S", "CAP", "PORT", "ENABLED"]) expect(message).toContain(name);
    expect(message).toContain("URL must be an http(s) URL");
    expect(message).toContain("CAP must be at most 10");
    expect(message).not.toContain("secret-host");
    expect(message).not.toContain("70000");
  });

  it("refuses non-numbers and fractions where whole numbers are expected", () => {
    expect(() => readEnv(Schema, { ...GOOD, TIMEOUT_S: "soon" })).toThrow(/TIMEOUT_S must be a number of seconds/);
    expect(() => readEnv(Schema, { ...GOOD, TIMEOUT_S: "1.5" })).toThrow(/TIMEOUT_S must be a whole number/);
    expect(() => readEnv(Schema, { ...GOOD, PORT: "http" })).toThrow(/PORT must be a port number/);
  });
});

describe("secret()", () => {
  const Secrets = z.object({ KEY: secret(), OPTIONAL_KEY: secret().optional() });
  const strong = "0123456789abcdef".repeat(2);

  it("accepts 32 characters or more, and leaves an optional one unset", () => {
    expect(strong).toHaveLength(SECRET_MIN_CHARS);
    expect(readEnv(Secrets, { KEY: strong })).toEqual({ KEY: strong });
    expect(readEnv(Secrets, { KEY: strong, OPTIONAL_KEY: "" })).toEqual({ KEY: strong });
  });

  it("refuses a shorter one, naming the variable and the rule, never the value", () => {
    const short = strong.slice(1);
    expect(() => readEnv(Secrets, { KEY: short })).toThrow(/KEY must be at least 32 characters/);
    expect(() => readEnv(Secrets, { KEY: strong, OPTIONAL_KEY: short })).toThrow(
      /OPTIONAL_KEY must be at least 32 characters/,
    );
    try {
      readEnv(Secrets, { KEY: short });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it("refuses the .env.example placeholders however long", () => {
    for (const placeholder of [
      "change-me-cookie-secret",
      "change-me-ingest-secret-0123456789abcdef",
      "CHANGEME_x".repeat(4),
    ]) {
      expect(isPlaceholderSecret(placeholder), placeholder).toBe(true);
      expect(() => readEnv(Secrets, { KEY: placeholder })).toThrow(
        /KEY (is still the \.env\.example placeholder|must be)/,
      );
    }
    expect(() => readEnv(Secrets, { KEY: "change-me-" + strong })).toThrow(
      /KEY is still the \.env\.example placeholder/,
    );
    expect(isPlaceholderSecret(strong)).toBe(false);
  });
});

describe("isLoopbackUrl", () => {
  it("is true for localhost, 127.0.0.0/8 and [::1] only", () => {
    for (const url of [
      "ws://localhost:7880",
      "ws://127.0.0.1:7880",
      "http://127.1.2.3",
      "ws://[::1]:7880",
      "ws://a.localhost",
    ]) {
      expect(isLoopbackUrl(url), url).toBe(true);
    }
    for (const url of [
      "wss://x.livekit.cloud",
      "ws://10.0.0.1:7880",
      "ws://localhost.example.com",
      "not a url",
      "ws://[::2]",
    ]) {
      expect(isLoopbackUrl(url), url).toBe(false);
    }
  });
});
