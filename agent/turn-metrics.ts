/**
 * Each answered turn's timings, built from LiveKit Agents' `metrics_collected` events: how long the visitor
 * waited from the end of their speech to the first audio of the reply, and where that time went. No transcript
 * text. agent/job-metrics.ts logs them (the `turn` line), reports them as metrics and sums them per session.
 *
 * Fields of a {@link TurnTiming}, all in ms (meanings from @livekit/agents 1.9.0 `metrics/base.ts`):
 * - `speech_end_to_playout_ms`: the visitor's last speaking time (`EOUMetrics.lastSpeakingTimeMs`) → the
 *   first frame of the reply handed to the room (`agent_state_changed` → `speaking`);
 * - `end_of_utterance_ms`: last speaking time → the turn was committed (`endOfUtteranceDelayMs`; includes the
 *   VAD's silence window and waiting for the final transcript);
 * - `transcription_ms`: last speaking time → the final transcript (`transcriptionDelayMs`);
 * - `llm_ttft_ms`: the reply's time to first token (`LLMMetrics.ttftMs`);
 * - `tts_ttfb_ms`: the first sentence's time to first audio byte (`TTSMetrics.ttfbMs`).
 * A field whose metric did not arrive (e.g. a reply interrupted before its audio) is null.
 *
 * In live mode (the running agent talks through a realtime model, agent.ts `WebsiteAgent` option `live`) the
 * framework sends no `eou_metrics`: the turn is the model's server VAD's. Such a turn starts at the visitor's end of
 * speech as the session saw it (`user_state_changed` from `speaking`, on the API's `speech_stopped`) and ends at the
 * reply's first frame as above; `end_of_utterance_ms` and `transcription_ms` are null (the API reports neither), and
 * `llm_ttft_ms` is the response's time to first audio (`RealtimeModelMetrics.ttftMs`); `tts_ttfb_ms` is null (no TTS).
 */
import { llm, type metrics, voice } from "@livekit/agents";

interface Turn {
  speechId: string;
  lastSpeakingAt: number;
  endOfUtterance: number | null;
  transcription: number | null;
  llmTtft: number | null;
  ttsTtfb: number | null;
  playoutAt: number | null;
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms));

/** One answered turn's timings, ms: see the module comment for each field. */
export interface TurnTiming {
  speech_id: string;
  speech_end_to_playout_ms: number;
  end_of_utterance_ms: number | null;
  transcription_ms: number | null;
  llm_ttft_ms: number | null;
  tts_ttfb_ms: number | null;
}

/**
 * Calls `onTurn` for each user turn the agent answered, when the reply's playout ends or is interrupted (so that
 * the reply's LLM and TTS metrics have arrived).
 * @param session an `AgentSession` (before or after `start`)
 * @returns a function that unsubscribes
 */
export function watchTurns(session: voice.AgentSession, onTurn: (turn: TurnTiming) => void): () => void {
  const E = voice.AgentSessionEventTypes;
  const turns = new Map<string, Turn>();
  /** The latest committed turn, whose reply's playout has not started yet. */
  let awaitingPlayout: Turn | undefined;
  /** Live mode: when the visitor last stopped speaking, until a reply starts playing (epoch ms). */
  let speechEndedAt: number | null = null;
  /** Live mode: the newest turn, which takes the next response's time to first audio. */
  let liveTurn: Turn | undefined;
  let liveTurns = 0;
  const live = () => {
    try {
      return session.currentAgent.llm instanceof llm.RealtimeModel;
    } catch {
      return false; // not running
    }
  };

  const onMetrics = (ev: voice.MetricsCollectedEvent) => {
    const m: metrics.AgentMetrics = ev.metrics;
    if (m.type === "eou_metrics") {
      if (!m.speechId || !m.lastSpeakingTimeMs) return;
      const turn: Turn = {
        speechId: m.speechId,
        lastSpeakingAt: m.lastSpeakingTimeMs,
        endOfUtterance: m.endOfUtteranceDelayMs,
        transcription: m.transcriptionDelayMs,
        llmTtft: null,
        ttsTtfb: null,
        playoutAt: null,
      };
      turns.set(m.speechId, turn);
      awaitingPlayout = turn;
      if (turns.size > 16) turns.delete(turns.keys().next().value!); // replies that never played
    } else if (m.type === "llm_metrics" && m.speechId) {
      const turn = turns.get(m.speechId);
      if (turn && turn.llmTtft === null) turn.llmTtft = m.ttftMs;
    } else if (m.type === "tts_metrics" && m.speechId) {
      const turn = turns.get(m.speechId);
      if (turn && turn.ttsTtfb === null) turn.ttsTtfb = m.ttfbMs;
    } else if (m.type === "realtime_model_metrics" && liveTurn && liveTurn.llmTtft === null && m.ttftMs >= 0) {
      liveTurn.llmTtft = m.ttftMs;
    }
  };

  const onUserState = (ev: voice.UserStateChangedEvent) => {
    if (ev.oldState === "speaking" && ev.newState !== "speaking") speechEndedAt = ev.createdAt;
  };

  const onAgentState = (ev: voice.AgentStateChangedEvent) => {
    if (ev.newState === "speaking" && awaitingPlayout) {
      awaitingPlayout.playoutAt = ev.createdAt;
      awaitingPlayout = undefined;
      speechEndedAt = null;
    } else if (ev.newState === "speaking" && speechEndedAt !== null && live()) {
      liveTurn = {
        speechId: `live_${++liveTurns}`,
        lastSpeakingAt: speechEndedAt,
        endOfUtterance: null,
        transcription: null,
        llmTtft: null,
        ttsTtfb: null,
        playoutAt: ev.createdAt,
      };
      turns.set(liveTurn.speechId, liveTurn);
      speechEndedAt = null;
    } else if (ev.oldState === "speaking") {
      for (const turn of turns.values()) {
        if (turn.playoutAt === null) continue;
        turns.delete(turn.speechId);
        onTurn({
          speech_id: turn.speechId,
          speech_end_to_playout_ms: Math.max(0, Math.round(turn.playoutAt - turn.lastSpeakingAt)),
          end_of_utterance_ms: round(turn.endOfUtterance),
          transcription_ms: round(turn.transcription),
          llm_ttft_ms: round(turn.llmTtft),
          tts_ttfb_ms: round(turn.ttsTtfb),
        });
      }
    }
  };

  session.on(E.MetricsCollected, onMetrics);
  session.on(E.AgentStateChanged, onAgentState);
  session.on(E.UserStateChanged, onUserState);
  return () => {
    session.off(E.MetricsCollected, onMetrics);
    session.off(E.AgentStateChanged, onAgentState);
    session.off(E.UserStateChanged, onUserState);
  };
}
