import { defineConfig } from "vitest/config";

/**
 * One vitest project per layer; each layer owns `test/<layer>/vitest.config.ts`
 * (workerd: real workerd + Durable Object storage; node: contract, agent, dev servers; e2e: real browser).
 */
export default defineConfig({
  test: {
    projects: ["test/*/vitest.config.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
    // The e2e stack's teardown waits up to 20 s for `npm run dev` to stop after Ctrl-C.
    teardownTimeout: 40_000,
  },
});
