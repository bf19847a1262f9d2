import { defineConfig } from "vitest/config";

/**
 * One vitest project per layer; each layer owns `test/<layer>/vitest.config.ts`
 * (workerd: real workerd + Durable Object storage; node: contract, agent, dev servers; e2e: real browser).
 *
 * Groups (each project's `sequence.groupOrder`), run one after another on the 2-core machine CI uses:
 * 0. contract, workerd, web and agent-unit (the agent tests without real time, test/agent/unit-files.ts), two files
 *    at a time (`maxWorkers: 2`): light on CPU, no real-time media;
 * 1. agent, 2. livekit, 3. e2e, one file at a time: real rooms, real-time audio, Silero and pocketsphinx, whose
 *    tests must not share the cores with anything else.
 */
export default defineConfig({
  test: {
    projects: ["test/*/vitest.config.ts", "test/agent/vitest.unit.config.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // The e2e stack's teardown waits up to 20 s for `npm run dev` to stop after Ctrl-C.
    teardownTimeout: 40_000,
  },
});
