/**
 * Agent turn latency with the local OpenAI-compatible provider: real Silero VAD on real speech
 * (goforward.raw), the real OpenAI plugins, pocketsphinx STT and espeak-ng TTS behind the provider.
 *
 * Prints, per turn and as medians: end of voice → final transcript, and end of voice → first agent
 * audio frame, plus the provider's own share (pocketsphinx decode, chat, TTS) so that the agent's
 * share can be read off. "End of voice" is the last 20 ms frame of the recording louder than
 * -40 dBFS, not the end of the file (the file ends in silence).
 * Usage: `node bench/agent-latency.bench.ts [turns=5]` (or `npm run bench -- agent-latency`).
 */
import { initializeLogger } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { WebsiteAgent } from "../agent/agent.ts";
import type { PendingEvent } from "../agent/ingest-forwarder.ts";
import { createAgentSession } from "../agent/pipeline.ts";
import { forwardSessionEvents } from "../agent/session-events.ts";
import { startDevOpenAI } from "../dev/openai/server.ts";
import { GOFORWARD_RATE, goForward, trailingSilenceMs } from "../test/agent/audio.ts";
import { ClockedAudioInput, PlayoutAudioOutput } from "../test/agent/pipeline-io.ts";
import { sleep, waitFor } from "../test/support/wait.ts";

const TURNS = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5)));
initializeLogger({ pretty: false, level: "error" });

const providerMs: Record<string, number[]> = { stt: [], chat: [], tts: [] };
const provider = await startDevOpenAI({
  log: (line) => {
    const l = JSON.parse(line) as { msg: string; decode_ms?: number; route?: string; ms?: number };
    if (l.msg === "stand_in_transcription") providerMs.stt!.push(l.decode_ms!);
    if (l.route === "/v1/chat/completions") providerMs.chat!.push(l.ms!);
    if (l.route === "/v1/audio/speech") providerMs.tts!.push(l.ms!);
  },
});
const vad = await silero.VAD.load();
const providers = {
  openaiApiKey: "sk-local-stand-in",
  openaiBaseUrl: provider.baseURL,
  sttModel: "gpt-4o-mini-transcribe",
  llmModel: "gpt-4o-mini",
  ttsModel: "gpt-4o-mini-tts",
  ttsVoice: "alloy",
};
const session = createAgentSession(providers, vad);
const events: Array<PendingEvent & { at: number }> = [];
forwardSessionEvents(session, (e) => events.push({ ...e, at: Date.now() }));
const input = new ClockedAudioInput();
const output = new PlayoutAudioOutput();
session.input.audio = input;
session.output.audio = output;
await session.start({ agent: new WebsiteAgent("You are a benchmark assistant.", { mode: "none" }) });

const speech = goForward();
const tail = trailingSilenceMs(speech, GOFORWARD_RATE);
const rows: Array<{ final: number; audio: number; decode: number }> = [];
/** Probes every 10 ms for at most 30 s; a turn that never completes fails the benchmark. */
const TURN_WAIT = { timeoutMs: 30_000, intervalMs: 10 };

await sleep(500);
for (let turn = 0; turn < TURNS; turn++) {
  const from = events.length;
  const segments = output.segments.length;
  await input.say(speech);
  const voiceEnd = input.speechEndedAt - tail;
  const userFinal = () => events.slice(from).some((e) => "final" in e && e.final && e.role === "user");
  const answered = () => output.segments.length > segments && userFinal();
  await waitFor("the final transcript and the answer's audio", answered, TURN_WAIT);
  const final = events.slice(from).find((e) => "final" in e && e.final && e.role === "user")!;
  rows.push({
    final: final.at - voiceEnd,
    audio: output.startedAt[segments]! - voiceEnd,
    decode: providerMs.stt!.at(-1) ?? NaN,
  });
  const agentDone = () =>
    events.slice(from).some((e) => "event" in e && e.role === "agent" && e.event === "speech_ended");
  await waitFor("the agent's speech_ended", agentDone, TURN_WAIT);
  await sleep(300);
}

input.stop();
await session.close();
await provider.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
for (const [i, r] of rows.entries()) {
  console.log(
    `turn ${i + 1}: end of voice → final ${r.final} ms (of which pocketsphinx ${r.decode} ms), → first agent audio ${r.audio} ms`,
  );
}
console.log(
  JSON.stringify({
    turns: TURNS,
    trailing_silence_in_file_ms: Math.round(tail),
    end_of_voice_to_final_transcript_ms_p50: median(rows.map((r) => r.final)),
    end_of_voice_to_first_agent_audio_ms_p50: median(rows.map((r) => r.audio)),
    provider_stt_decode_ms_p50: median(rows.map((r) => r.decode)),
    agent_share_to_final_ms_p50: median(rows.map((r) => r.final - r.decode)),
    final_to_first_agent_audio_ms_p50: median(rows.map((r) => r.audio - r.final)),
    provider_chat_ms_p50: median(providerMs.chat!),
    provider_tts_first_sentence_ms_p50: median(providerMs.tts!),
  }),
);
process.exit(0);
