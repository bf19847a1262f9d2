/** Every variable the agent's configuration requires (agent/config.ts), with valid values: the config tests' base. */
export const REQUIRED_ENV = {
  LIVEKIT_URL: "ws://localhost:7880",
  LIVEKIT_API_KEY: "devkey",
  LIVEKIT_API_SECRET: "secret",
  INGEST_URL: "http://localhost:8787/",
  AGENT_INGEST_SECRET: "test-ingest-secret-0123456789abcdef",
  OPENAI_API_KEY: "sk-test",
} as const;
