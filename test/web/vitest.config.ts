import { defineProject } from "vitest/config";

// The web part: page rendering (node), the page script's modules on a real DOM (Debian's Chromium via
// playwright-core), the /chat page under the Worker's CSP, and the pages served by `wrangler dev`.
export default defineProject({
  test: {
    name: "web",
    // With contract and workerd: two files at a time (vitest.config.ts).
    sequence: { groupOrder: 0 },
    maxWorkers: 2,
    include: ["**/*.test.ts"],
    // `expect.poll` waits 1 s by default: on a busy 2-core host a browser's next step can take longer than that.
    expect: { poll: { timeout: 10_000 } },
    environment: "node",
    globalSetup: ["./support/build.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
