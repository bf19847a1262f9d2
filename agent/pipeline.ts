/**
 * Builds the voice pipeline of one session: Silero VAD → STT → LLM → TTS in an `AgentSession` (LiveKit Agents 1.9),
 * the STT and the TTS each OpenAI's or Deepgram's (`STT_PROVIDER`, `TTS_PROVIDER`, or the profile's `providers`;
 * Deepgram's adaptations are in deepgram.ts). Every plugin gets its key and base URL explicitly: the realtime
 * transcription socket does not read `OPENAI_BASE_URL` on its own, and the Deepgram plugin would read
 * `DEEPGRAM_API_KEY` from the environment.
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
 * - Deepgram STT streams its own interims and finals; the same Silero VAD decides the turns, and its end of speech
 *   finalizes the Deepgram stream (`Finalize`, deepgram.ts), as it commits the OpenAI socket.
 * - Per session, from its profile ({@link providerConfig}): the LLM model and temperature, the speech providers, the
 *   TTS voice (OpenAI's `voice`, or the Aura model for Deepgram), and the STT language (OpenAI: the primary subtag
 *   of the profile's BCP 47 tag, as its transcription takes ISO 639-1 codes, platform.openai.com/docs/api-reference/
 *   audio, "language"; Deepgram: the tag itself, its `language` parameter taking BCP 47 tags such as `en-GB`). The
 *   models of STT and TTS are deployment settings.
 * - A profile that asks for Deepgram on a deployment without `DEEPGRAM_API_KEY` gets OpenAI instead, and the
 *   settings say so ({@link ProviderConfig.fallbacks}): the conversation goes on, and the job logs it.
 */
import { type VAD, voice } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import type { Profile, SpeechProvider } from "../contract/profile.ts";
import { type AgentConfig, type DeepgramConfig, REALTIME_VOICES, type RealtimeConfig } from "./config.ts";
import { deepgramStt, deepgramTts } from "./deepgram.ts";
import { StreamingOpenAITTS } from "./openai-tts.ts";
import { type FollowerVad, SessionVad } from "./session-vad.ts";

/** A provider a profile asked for that the deployment cannot serve, and what its sessions use instead. */
export interface ProviderFallback {
  /** Which part: speech-to-text or text-to-speech. */
  part: "stt" | "tts";
  /** What the profile's `providers` asked for. */
  asked: SpeechProvider;
  /** What the session uses. */
  used: SpeechProvider;
  /** Why, e.g. "DEEPGRAM_API_KEY is not set". */
  reason: string;
}

/** The deployment settings {@link providerConfig} reads: the OpenAI ones, and the speech providers when given. */
export type ProviderDeployment = Pick<AgentConfig, "openaiApiKey" | "openaiBaseUrl" | "sttModel" | "ttsModel"> &
  Partial<Pick<AgentConfig, "sttProvider" | "ttsProvider" | "deepgram">>;

/** The provider settings of one session: the deployment's (config.ts) and its profile's. */
export interface ProviderConfig extends Pick<AgentConfig, "openaiApiKey" | "openaiBaseUrl" | "sttModel" | "ttsModel"> {
  /** The session's speech-to-text (absent: OpenAI). */
  sttProvider?: SpeechProvider;
  /** The session's text-to-speech (absent: OpenAI). */
  ttsProvider?: SpeechProvider;
  /** The deployment's Deepgram settings, when it has a key. */
  deepgram?: DeepgramConfig | null;
  /** The Aura voice of a Deepgram TTS (profile `providers.deepgram_voice`, else `DEEPGRAM_TTS_MODEL`). */
  deepgramVoice?: string;
  /** The profile's providers the deployment cannot serve (empty when none): each replaced by OpenAI. */
  fallbacks?: ProviderFallback[];
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
 * A session's provider settings: the deployment's models and keys, the profile's LLM, speech providers, voice and
 * language. Each speech provider is the profile's (`providers.stt`, `providers.tts`), else the deployment's
 * (`STT_PROVIDER`, `TTS_PROVIDER`, default OpenAI); Deepgram without a `DEEPGRAM_API_KEY` becomes OpenAI, noted in
 * `fallbacks`. (The configuration refuses a deployment default of Deepgram without a key: config.ts.)
 * @param cfg the worker's configuration (the speech provider fields absent: OpenAI for both)
 * @param profile the session's profile (contract/profile.ts)
 */
export function providerConfig(cfg: ProviderDeployment, profile: Profile): ProviderConfig {
  const deepgram = cfg.deepgram ?? null;
  const fallbacks: ProviderFallback[] = [];
  const choose = (part: "stt" | "tts", deployment: SpeechProvider | undefined): SpeechProvider => {
    const asked = profile.providers?.[part] ?? deployment ?? "openai";
    if (asked === "deepgram" && !deepgram) {
      fallbacks.push({ part, asked, used: "openai", reason: "DEEPGRAM_API_KEY is not set" });
      return "openai";
    }
    return asked;
  };
  const sttProvider = choose("stt", cfg.sttProvider);
  const ttsProvider = choose("tts", cfg.ttsProvider);
  return {
    openaiApiKey: cfg.openaiApiKey,
    openaiBaseUrl: cfg.openaiBaseUrl,
    sttModel: cfg.sttModel,
    ttsModel: cfg.ttsModel,
    sttProvider,
    ttsProvider,
    deepgram,
    ...(deepgram ? { deepgramVoice: profile.providers?.deepgram_voice ?? deepgram.ttsModel } : {}),
    fallbacks,
    llmModel: profile.model.name,
    ...(profile.model.temperature !== undefined ? { llmTemperature: profile.model.temperature } : {}),
    ttsVoice: profile.voice,
    language: profile.language,
  };
}

/**
 * The profiles whose sessions will not get the speech provider they ask for on this deployment (Deepgram without
 * `DEEPGRAM_API_KEY`), for the worker to say so once at start.
 * @returns one entry per profile and part, in the profiles' order
 */
export function profileProviderFallbacks(
  cfg: ProviderDeployment,
  profiles: Iterable<Profile>,
): Array<ProviderFallback & { profile: string }> {
  return [...profiles].flatMap((profile) =>
    (providerConfig(cfg, profile).fallbacks ?? []).map((f) => ({ profile: profile.id, ...f })),
  );
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
 * Creates the agent session of one job (not started), in either mode: a pipeline agent uses its VAD, STT, LLM and
 * TTS; a live agent brings its realtime model and switches them off for itself ({@link createRealtimeModel}), so
 * that the same session, room and transcripts carry a conversation that changes mode (agent handoff, mode-switch.ts).
 * Nothing here connects to a provider until an agent of the session uses it.
 * @param cfg provider settings ({@link providerConfig})
 * @param vad the process's Silero VAD (loaded once in `prewarm`)
 */
export function createAgentSession(cfg: ProviderConfig, vad: VAD): voice.AgentSession {
  const auth = { apiKey: cfg.openaiApiKey, baseURL: cfg.openaiBaseUrl };
  const sessionVad = new SessionVad(vad);
  const deepgram = cfg.deepgram ?? null;
  let stt: openai.STT | ReturnType<typeof deepgramStt>;
  let sttVad: FollowerVad | undefined;
  if (cfg.sttProvider === "deepgram" && deepgram) {
    // Deepgram reports the audio it was sent itself (the framework's `stt_metrics`), so no follower counts it.
    stt = deepgramStt(deepgram, cfg.language ?? "en", sessionVad.follower());
  } else {
    const realtime = usesRealtimeStt(cfg.sttModel);
    sttVad = realtime ? sessionVad.follower() : undefined;
    stt = new openai.STT({
      ...auth,
      model: cfg.sttModel,
      language: sttLanguage(cfg.language),
      useRealtime: realtime,
      ...(sttVad ? { turnDetection: null, vad: sttVad } : {}),
    });
  }
  const tts =
    cfg.ttsProvider === "deepgram" && deepgram
      ? deepgramTts(deepgram, cfg.deepgramVoice ?? deepgram.ttsModel)
      : // Voice names are open-ended (OpenAI adds voices); the plugin types a fixed list.
        new StreamingOpenAITTS({ ...auth, model: cfg.ttsModel, voice: cfg.ttsVoice as openai.TTSVoices });
  const session = new voice.AgentSession({
    vad: sessionVad,
    stt,
    llm: new openai.LLM({
      ...auth,
      model: cfg.llmModel,
      ...(cfg.llmTemperature !== undefined ? { temperature: cfg.llmTemperature } : {}),
    }),
    tts,
    turnHandling: { turnDetection: "vad", interruption: { mode: "vad" } },
    aecWarmupDuration: null,
  });
  if (sttVad) sttAudio.set(session, sttVad);
  return session;
}

/** What live mode needs of the deployment: the OpenAI key and URL, the STT model (its input transcription), `REALTIME_*`. */
export type LiveDeployment = Pick<AgentConfig, "openaiApiKey" | "openaiBaseUrl" | "sttModel" | "realtime">;

/**
 * The voice a live session speaks with: the profile's when the Realtime API has it ({@link REALTIME_VOICES}), else
 * `REALTIME_VOICE`.
 */
export function liveVoice(realtime: RealtimeConfig, profileVoice: string): string {
  return (REALTIME_VOICES as readonly string[]).includes(profileVoice) ? profileVoice : realtime.voice;
}

/**
 * The speech-to-speech model of live mode: OpenAI's Realtime API through the plugin's `RealtimeModel`, one model
 * instead of STT → LLM → TTS (a live agent runs it with the session's own VAD, STT and TTS switched off: agent.ts
 * `WebsiteAgent`, option `live`). The API's server VAD detects the visitor's turns (`REALTIME_VAD_THRESHOLD`,
 * `REALTIME_PREFIX_PADDING_MS`, `REALTIME_SILENCE_MS`), answers at the end of each (`create_response`) and stops the
 * agent's answer when the visitor talks over it (`interrupt_response`: barge-in); it transcribes the visitor's audio
 * with the STT model (`STT_MODEL`) in the profile's language, so the visitor's words reach the captions as in the
 * pipeline. Source: OpenAI API reference, "Realtime sessions" (`turn_detection`, `input_audio_transcription`);
 * @livekit/agents-plugin-openai 1.9 `realtime/realtime_model.ts`.
 * @param cfg the deployment's OpenAI and live settings
 * @param profileVoice the profile's `voice` ({@link liveVoice})
 * @param language the profile's language (BCP 47; absent: `en`)
 */
export function createRealtimeModel(
  cfg: LiveDeployment,
  profileVoice: string,
  language?: string,
): openai.realtime.RealtimeModel {
  const { realtime } = cfg;
  return new openai.realtime.RealtimeModel({
    apiKey: cfg.openaiApiKey,
    baseURL: cfg.openaiBaseUrl,
    model: realtime.model,
    voice: liveVoice(realtime, profileVoice),
    turnDetection: {
      type: "server_vad",
      threshold: realtime.vadThreshold,
      prefix_padding_ms: realtime.prefixPaddingMs,
      silence_duration_ms: realtime.silenceMs,
      create_response: true,
      interrupt_response: true,
    },
    inputAudioTranscription: { model: cfg.sttModel, language: sttLanguage(language) },
  });
}

const sttAudio = new WeakMap<voice.AgentSession, FollowerVad>();

/**
 * The visitor audio a session's realtime STT has sent to the provider so far, ms; null when its STT reports that
 * itself (HTTP transcription, Deepgram: the framework's `stt_metrics`). See {@link FollowerVad.audioMs}.
 */
export function sttAudioSentMs(session: voice.AgentSession): number | null {
  return sttAudio.get(session)?.audioMs ?? null;
}
