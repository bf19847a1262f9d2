import { fileURLToPath } from "node:url";
import { defineProject } from "vitest/config";

/**
 * The dev LiveKit server against the real SDKs (rtc-node, @livekit/agents, livekit-client in Chromium).
 * One file at a time: media tests are CPU-heavy and the machine has 2 cores.
 */
export default defineProject({
  test: {
    name: "livekit",
    root: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    sequence: { groupOrder: 2 },
    testTimeout: 120_000,
    hookTimeout: 60_000,
    env: { LIVEKIT_DEV_LOG_LEVEL: process.env.LIVEKIT_DEV_LOG_LEVEL ?? "warn" },
  },
});
