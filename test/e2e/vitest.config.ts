import { defineProject } from "vitest/config";

// End-to-end: the whole stack (`npm run dev` with stand-ins) and real Chromium, inside the network
// namespace. One stack for all files, so files run one at a time.
export default defineProject({
  test: {
    name: "e2e",
    include: ["**/*.test.ts"],
    // `expect.poll` waits 1 s by default: on a busy 2-core host a browser's next step can take longer than that.
    expect: { poll: { timeout: 10_000 } },
    environment: "node",
    globalSetup: ["./stack.ts"],
    fileParallelism: false,
    sequence: { groupOrder: 3 },
    testTimeout: 180_000,
    hookTimeout: 300_000,
  },
});
