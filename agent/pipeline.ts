/**
 * Builds the voice pipeline of one session: Silero VAD → OpenAI STT → LLM → TTS in an `AgentSession`
 * (LiveKit Agents 1.9). Every OpenAI plugin gets `apiKey` and `baseURL` explicitly: the realtime
 * transcription socket does not read `OPENAI_BASE_URL` on its own.
 *
 * Choices (and why):
 * - STT: the realtime transcription socket (`/v1/realtime?intent=transcription`), which streams
 *   interim transcripts, with `turn_detection: null` and the same Silero VAD committing the audio at
 *   end of speech: one speech detector for the whole pipeline, and no extra server-side silence window
 *   before the final transcript. Models named `whisper*` have no realtime socket and use the HTTP
 *   transcription endpoint (finals only).
 * - Turn detection `vad` and interruption mode `vad`: no LiveKit Cloud inference is needed.
 * - `aecWarmupDuration: null`: the framework's default (3 s) holds back interruptions and feeds the STT
 *   silence during the first 3 s of agent speech, so "barge-in from the first word" would be impossible.
 *   Echo of the agent's voice is removed in the visitor's browser (getUserMedia `echoCancellation`, on
 *   by default in livekit-client), so the warm-up is not needed here.
 * - One Silero inference for both (session-vad.ts): the session's VAD is a {@link SessionVad}, and the STT's is
 *   its follower, whose streams repeat the session's speech events instead of running the model again on the same
 *   frames (and whose `endInput()` does not throw, unlike the framework's).
 * - Per session, from its profile ({@link providerConfig}): the LLM model and temperature, the TTS voice, and the
 *   STT language (the primary subtag of the profile's BCP 47 tag: OpenAI's transcription takes ISO 639-1 codes,
 *   platform.openai.com/docs/api-reference/audio, "language"). The models of STT and TTS are deployment settings.
 */
import { type VAD, voice } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import type { Profile } from "../contract/profile.ts";
import type { AgentConfig } from "./config.ts";
import { type FollowerVad, SessionVad } from "./session-vad.ts";

/** The provider settings of one session: the deployment's (config.ts) and its profile's. */
export interface ProviderConfig extends Pick<AgentConfig, "openaiApiKey" | "openaiBaseUrl" | "sttModel" | "ttsModel"> {
  /** The LLM (profile `model.name`). */
  llmModel: string;
  /** The LLM's sampling temperature (profile `model.temperature`); absent: the provider's default. */
  llmTemperature?: number;
  /** The TTS voice (profile `voice`). */
  ttsVoice: string;
  /** The conversation's language as a BCP 47 tag (profile `language`); absent: `en`. */
  language?: string;
}

/**
 * A session's provider settings: the deployment's models and keys, the profile's LLM, voice and language.
 * @param cfg the worker's configuration
 * @param profile the session's profile (contract/profile.ts)
 */
export function providerConfig(
  cfg: Pick<AgentConfig, "openaiApiKey" | "openaiBaseUrl" | "sttModel" | "ttsModel">,
  profile: Profile,
): ProviderConfig {
  return {
    openaiApiKey: cfg.openaiApiKey,
    openaiBaseUrl: cfg.openaiBaseUrl,
    sttModel: cfg.sttModel,
    ttsModel: cfg.ttsModel,
    llmModel: profile.model.name,
    ...(profile.model.temperature !== undefined ? { llmTemperature: profile.model.temperature } : {}),
    ttsVoice: profile.voice,
    language: profile.language,
  };
}

/** The STT's language: the primary subtag of a BCP 47 tag (`en-GB` → `en`), lower case. */
export function sttLanguage(tag = "en"): string {
  return tag.split("-")[0]!.toLowerCase();
}

/** Whether a model is served over the realtime transcription socket (interim transcripts). */
export function usesRealtimeStt(model: string): boolean {
  return !model.startsWith("whisper");
}

/**
 * Creates the agent session of one job (not started).
 * @param cfg provider settings ({@link providerConfig})
 * @param vad the process's Silero VAD (loaded once in `prewarm`)
 */
export function createAgentSession(cfg: ProviderConfig, vad: VAD): voice.AgentSession {
  const auth = { apiKey: cfg.openaiApiKey, baseURL: cfg.openaiBaseUrl };
  const realtime = usesRealtimeStt(cfg.sttModel);
  const sessionVad = new SessionVad(vad);
  const sttVad = realtime ? sessionVad.follower() : undefined;
  const stt = new openai.STT({
    ...auth,
    model: cfg.sttModel,
    language: sttLanguage(cfg.language),
    useRealtime: realtime,
    ...(sttVad ? { turnDetection: null, vad: sttVad } : {}),
  });
  const session = new voice.AgentSession({
    vad: sessionVad,
    stt,
    llm: new openai.LLM({
      ...auth,
      model: cfg.llmModel,
      ...(cfg.llmTemperature !== undefined ? { temperature: cfg.llmTemperature } : {}),
    }),
    // Voice names are open-ended (OpenAI adds voices); the plugin types a fixed list.
    tts: new openai.TTS({ ...auth, model: cfg.ttsModel, voice: cfg.ttsVoice as openai.TTSVoices }),
    turnHandling: { turnDetection: "vad", interruption: { mode: "vad" } },
    aecWarmupDuration: null,
  });
  if (sttVad) sttAudio.set(session, sttVad);
  return session;
}

const sttAudio = new WeakMap<voice.AgentSession, FollowerVad>();

/**
 * The visitor audio a session's realtime STT has sent to the provider so far, ms; null when its STT reports that
 * itself (HTTP transcription: the framework's `stt_metrics`). See {@link FollowerVad.audioMs}.
 */
export function sttAudioSentMs(session: voice.AgentSession): number | null {
  return sttAudio.get(session)?.audioMs ?? null;
}
