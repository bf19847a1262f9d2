/**
 * Imported first by benchmarks that start the development LiveKit server in their own process (through
 * test/agent/worker-harness.ts): its logger reads `LIVEKIT_DEV_LOG_LEVEL` when dev/livekit/log.ts is first imported
 * (default info: a line per join, track and room), and those lines would bury the figures. Warnings and errors
 * still print. ES modules are evaluated in import order, so this runs before dev/livekit is loaded.
 */
process.env.LIVEKIT_DEV_LOG_LEVEL ??= "warn";
