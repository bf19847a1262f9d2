/**
 * The reference agent of bench/reference.bench.ts: a minimal LiveKit Agents worker the way LiveKit's own examples
 * write one (agents-js `examples/src/basic_agent.ts`: `defineAgent` with Silero loaded in `prewarm`; the entry
 * connects, waits for the participant, starts a plain `voice.AgentSession` and `say`s a greeting). Nothing of this
 * project's: no ingest forwarder, no Durable Object, no profiles, no greeting prefetch, no framework adaptations.
 *
 * Its providers are this agent's (agent/pipeline.ts): the OpenAI plugin's realtime STT with client-side commits on a
 * Silero VAD, gpt-4o-mini, gpt-4o-mini-tts, VAD turn detection, so that the comparison is between two ways of
 * running the same pipeline, not between two configurations.
 *
 * Usage: `node bench/reference-agent.ts` with LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET, OPENAI_BASE_URL,
 * OPENAI_API_KEY, REFERENCE_AGENT_NAME, REFERENCE_HEALTH_PORT and REFERENCE_GREETING in the environment.
 */
import {
  AgentServer,
  defineAgent,
  initializeLogger,
  type JobContext,
  type JobProcess,
  ServerOptions,
  voice,
} from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import * as silero from "@livekit/agents-plugin-silero";
import { fileURLToPath } from "node:url";

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};

export default defineAgent({
  prewarm: async (proc: JobProcess) => {
    proc.userData.vad = await silero.VAD.load();
  },
  entry: async (ctx: JobContext) => {
    const auth = { apiKey: env("OPENAI_API_KEY"), baseURL: env("OPENAI_BASE_URL") };
    const vad = ctx.proc.userData.vad as silero.VAD;
    await ctx.connect();
    await ctx.waitForParticipant();
    const session = new voice.AgentSession({
      vad,
      stt: new openai.STT({ ...auth, model: "gpt-4o-mini-transcribe", useRealtime: true, turnDetection: null, vad }),
      llm: new openai.LLM({ ...auth, model: "gpt-4o-mini" }),
      tts: new openai.TTS({ ...auth, model: "gpt-4o-mini-tts", voice: "alloy" }),
      turnHandling: { turnDetection: "vad", interruption: { mode: "vad" } },
    });
    await session.start({ agent: new voice.Agent({ instructions: "You are a helpful assistant." }), room: ctx.room });
    session.say(env("REFERENCE_GREETING"));
  },
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  initializeLogger({ pretty: false, level: "info" }); // the bench waits for its "registered worker" line
  const server = new AgentServer(
    new ServerOptions({
      agent: fileURLToPath(import.meta.url),
      agentName: env("REFERENCE_AGENT_NAME"),
      wsURL: env("LIVEKIT_URL"),
      apiKey: env("LIVEKIT_API_KEY"),
      apiSecret: env("LIVEKIT_API_SECRET"),
      port: Number(env("REFERENCE_HEALTH_PORT")),
      loadThreshold: 100, // a benchmark host, not a fleet: never full
      production: true,
    }),
  );
  await server.run();
}
