import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "agent",
    // Real rooms, Silero and pocketsphinx: one file at a time, after the light projects (vitest.config.ts).
    sequence: { groupOrder: 1 },
    maxWorkers: 1,
    include: ["**/*.test.ts"],
    environment: "node",
    // The pipeline test runs real Silero, pocketsphinx and espeak-ng: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
