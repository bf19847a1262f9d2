import { defineProject } from "vitest/config";

export default defineProject({
  test: {
    name: "contract",
    include: ["**/*.test.ts"],
    environment: "node",
    // With workerd and web: light on CPU, two files at a time (vitest.config.ts).
    sequence: { groupOrder: 0 },
    maxWorkers: 2,
  },
});
