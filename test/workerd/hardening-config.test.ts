// Weak secrets are refused when the Worker reads its configuration (issue #11, finding 5): short or
// placeholder AGENT_INGEST_SECRET / COOKIE_SECRET / COOKIE_SECRET_PREVIOUS, and a short LIVEKIT_API_SECRET
// unless LIVEKIT_URL is on this machine. The message names each variable at fault, never a value, and a
// request answers 500 server_misconfigured with a logged configuration_error.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, readEdgeConfig } from "../../edge/config.ts";
import app from "../../worker/index.ts";
import { ORIGIN, expectError } from "./helpers.ts";

/** The test environment with `overrides` (a fresh object, so readEdgeConfig's per-env cache does not apply). */
function envWith(overrides: Record<string, string | undefined>): Env {
  return { ...env, ...overrides } as Env;
}

/** The ConfigError message readEdgeConfig throws for `overrides`, or null when the configuration is accepted. */
function fault(overrides: Record<string, string | undefined>): string | null {
  try {
    readEdgeConfig(envWith(overrides));
    return null;
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
}

const SHORT = "only-31-characters-long-0123456";
const PLACEHOLDER = "change-me-cookie-secret-but-longer-than-32";

afterEach(() => vi.restoreAllMocks());

describe("secrets the Worker refuses", () => {
  it.each(["AGENT_INGEST_SECRET", "COOKIE_SECRET", "COOKIE_SECRET_PREVIOUS"])(
    "%s shorter than 32 characters, naming the variable and not the value",
    (name) => {
      expect(SHORT).toHaveLength(31);
      const message = fault({ [name]: SHORT });
      expect(message).toContain(`${name} must be at least 32 characters`);
      expect(message).not.toContain(SHORT);
    },
  );

  it.each([
    ["AGENT_INGEST_SECRET", "change-me-ingest-secret"],
    ["COOKIE_SECRET", "change-me-cookie-secret"],
    ["COOKIE_SECRET", PLACEHOLDER],
    ["AGENT_INGEST_SECRET", "CHANGE_ME and then some more characters to pass"],
  ])("%s still the .env.example placeholder (%s)", (name, value) => {
    const message = fault({ [name]: value });
    expect(message).toMatch(
      new RegExp(`${name} (must be at least 32 characters|is still the .env.example placeholder)`),
    );
    expect(message).not.toContain(value);
  });

  it("LIVEKIT_API_SECRET shorter than 32 characters for a LiveKit that is not on this machine", () => {
    for (const url of ["wss://example.livekit.cloud", "wss://livekit.example.com", "ws://10.0.0.5:7880"]) {
      const message = fault({ LIVEKIT_URL: url, LIVEKIT_API_SECRET: "short-livekit-value" });
      expect(message, url).toContain("LIVEKIT_API_SECRET must be at least 32 characters unless LIVEKIT_URL");
      expect(message).not.toContain("short-livekit-value");
    }
  });

  it("names every variable at fault in one message", () => {
    const message = fault({
      LIVEKIT_URL: "wss://example.livekit.cloud",
      LIVEKIT_API_SECRET: "secret",
      COOKIE_SECRET: "x",
    });
    expect(message).toContain("COOKIE_SECRET must be at least 32 characters");
    expect(message).toContain("LIVEKIT_API_SECRET must be at least 32 characters");
  });
});

describe("secrets the Worker accepts", () => {
  it("the dev LiveKit's devkey/secret when LIVEKIT_URL is on this machine", () => {
    for (const url of ["ws://localhost:7880", "ws://127.0.0.1:7880", "ws://[::1]:7880", "ws://lk.localhost:7880"]) {
      expect(fault({ LIVEKIT_URL: url, LIVEKIT_API_KEY: "devkey", LIVEKIT_API_SECRET: "secret" }), url).toBeNull();
    }
  });

  it("32-character secrets, and no COOKIE_SECRET_PREVIOUS at all", () => {
    const ok = "0123456789abcdef0123456789abcdef";
    expect(fault({ AGENT_INGEST_SECRET: ok, COOKIE_SECRET: ok, COOKIE_SECRET_PREVIOUS: undefined })).toBeNull();
    expect(fault({ COOKIE_SECRET_PREVIOUS: "" })).toBeNull(); // empty counts as unset
  });
});

describe("a request to a Worker with a weak secret", () => {
  it("answers 500 server_misconfigured and logs configuration_error naming the variable", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await app.fetch(new Request(`${ORIGIN}/health`), envWith({ COOKIE_SECRET: SHORT }));
    await expectError(res, 500, "server_misconfigured");
    const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, string>);
    const logged = lines.find((l) => l.msg === "configuration_error");
    expect(logged?.error).toContain("COOKIE_SECRET must be at least 32 characters");
    expect(JSON.stringify(lines)).not.toContain(SHORT);
  });
});
