import { defineProject } from "vitest/config";
import { AGENT_UNIT_FILES } from "./unit-files.ts";

/**
 * The agent tests without real time (unit-files.ts): two files at a time, in the light group with contract, workerd
 * and web (vitest.config.ts at the root), so that the `agent` project's one-at-a-time group holds only the tests that
 * need the cores to themselves.
 */
export default defineProject({
  test: {
    name: "agent-unit",
    sequence: { groupOrder: 0 },
    maxWorkers: 2,
    include: AGENT_UNIT_FILES,
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
