/**
 * The agent tests that use no real time: no room, no worker process, no Silero, no speech engine, no timer that
 * must fire on time (pure functions, schemas, the framework's classes, fake timers, an in-process HTTP server).
 * They run in the `agent-unit` project (vitest.unit.config.ts), two files at a time beside the other light projects;
 * every other agent test runs in `agent`, one file at a time with the cores to itself. A new test file goes to
 * `agent` unless it is listed here.
 */
export const AGENT_UNIT_FILES = [
  "config.test.ts",
  "framework/http-routes.test.ts",
  "framework/idle-refill.test.ts",
  "framework/version.test.ts",
  "job-limits.test.ts",
  "job-settings.test.ts",
  "live-config.test.ts",
  "metrics.test.ts",
  "openai-dev-summary.test.ts",
  "openai-tts.test.ts",
  "openai-dev-tools.test.ts",
  "profile-tools.test.ts",
  "provider-config.test.ts",
];
