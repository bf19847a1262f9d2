import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";
import { fakeLiveKit, FAKE_LIVEKIT_HOST } from "./fake-livekit.ts";

/**
 * The Worker and its Durable Objects in real workerd with real (SQLite) Durable Object storage,
 * configured from the project's wrangler.toml. Tests get their own secrets, and LiveKit's HTTP API
 * is faked at the fetch level (`outboundService`, see fake-livekit.ts).
 */
export const TEST_SECRETS = {
  LIVEKIT_API_KEY: "test-key",
  LIVEKIT_API_SECRET: "test-livekit-secret-0123456789abcdef",
  AGENT_INGEST_SECRET: "test-ingest-secret",
  COOKIE_SECRET: "test-cookie-secret",
};

export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "../../wrangler.toml" },
      miniflare: {
        bindings: {
          ...TEST_SECRETS,
          LIVEKIT_URL: `ws://${FAKE_LIVEKIT_HOST}`,
          ALLOWED_ORIGINS: "https://partner.example",
        },
        outboundService: fakeLiveKit,
      },
    }),
  ],
  test: {
    name: "workerd",
    include: ["**/*.test.ts"],
    testTimeout: 30_000,
  },
});
