import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";
import { FAKE_LIVEKIT_HOST, FAKE_OPENAI_HOST, FAKE_OPENAI_KEY, fakeLiveKit } from "./fake-livekit.ts";
import { fakeTurnstile } from "./fake-turnstile.ts";

/**
 * The Worker and its Durable Objects in real workerd with real (SQLite) Durable Object storage,
 * configured from the project's wrangler.toml. Tests get their own secrets, and LiveKit's HTTP API
 * is faked at the fetch level (`outboundService`, see fake-livekit.ts), and so are OpenAI's chat completions
 * for summaries (fake-livekit.ts `fakeOpenAI`) and Cloudflare Turnstile's siteverify (fake-turnstile.ts).
 */
export const TEST_SECRETS = {
  LIVEKIT_API_KEY: "test-key",
  LIVEKIT_API_SECRET: "test-livekit-secret-0123456789abcdef",
  AGENT_INGEST_SECRET: "test-ingest-secret-0123456789abcdef",
  COOKIE_SECRET: "test-cookie-secret-0123456789abcdef",
  /** A cookie secret "before a rotation": cookies signed with it are accepted and re-signed (hardening.test.ts). */
  COOKIE_SECRET_PREVIOUS: "test-cookie-secret-previous-0123456789",
};

/** The curriculum's D1 migrations, applied to the test database by apply-migrations.ts. */
const migrations = await readD1Migrations(fileURLToPath(new URL("../../migrations", import.meta.url)));

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../../wrangler.toml" },
      miniflare: {
        bindings: {
          ...TEST_SECRETS,
          LIVEKIT_URL: `ws://${FAKE_LIVEKIT_HOST}`,
          ALLOWED_ORIGINS: "https://partner.example",
          // Summaries on, against the fake OpenAI (RETENTION_DAYS and SUMMARY_MODEL keep wrangler.toml's).
          OPENAI_API_KEY: FAKE_OPENAI_KEY,
          OPENAI_BASE_URL: `https://${FAKE_OPENAI_HOST}/v1`,
          TEST_MIGRATIONS: migrations,
        },
        outboundService: (request: Request) => fakeTurnstile(request) ?? fakeLiveKit(request),
      },
    }),
  ],
  test: {
    name: "workerd",
    // With contract and web: two files at a time (vitest.config.ts).
    sequence: { groupOrder: 0 },
    maxWorkers: 2,
    include: ["**/*.test.ts"],
    setupFiles: ["./apply-migrations.ts"],
    // The Worker's and its Durable Objects' log lines go straight to workerd's output, not through vitest's console
    // RPC: a line logged from another I/O context (a Durable Object, a waitUntil) as a file ends is parked by
    // @cloudflare/vitest-plugin until a next message that never comes, and `vitest run` then waits forever (it did,
    // once in 6 runs of 5 files here; cloudflare/workers-sdk#15719 and #15498). Tests that read log lines spy on console.
    disableConsoleIntercept: true,
    testTimeout: 30_000,
  },
});
