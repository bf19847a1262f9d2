import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, count, flag, httpUrl, port, readEnv, requiredString, seconds } from "../../contract/config.ts";

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
