import { defineProject } from "vitest/config";
import { AGENT_UNIT_FILES } from "./unit-files.ts";

export default defineProject({
  test: {
    name: "agent",
    // Real rooms, Silero and pocketsphinx: one file at a time, after the light projects (vitest.config.ts).
    sequence: { groupOrder: 1 },
    maxWorkers: 1,
    include: ["**/*.test.ts"],
    // The tests without real time run in `agent-unit` (vitest.unit.config.ts).
    exclude: AGENT_UNIT_FILES,
    environment: "node",
    // The pipeline test runs real Silero, pocketsphinx and espeak-ng: seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
