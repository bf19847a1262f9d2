import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "agent",
    include: ["**/*.test.ts"],
    environment: "node",
    // The pipeline test runs real Silero, pocketsphinx and espeak-ng: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
