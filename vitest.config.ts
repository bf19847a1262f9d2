import { defineConfig } from "vitest/config";

/**
 * One vitest project per layer; each layer owns `test/<layer>/vitest.config.ts`
 * (workerd: real workerd + Durable Object storage; node: contract, agent, dev servers; e2e: real browser).
 */
export default defineConfig({
  test: {
    projects: ["test/*/vitest.config.ts"],
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
