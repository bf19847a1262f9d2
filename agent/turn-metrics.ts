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
 */
import { type metrics, voice } from "@livekit/agents";

interface Turn {
  speechId: string;
  lastSpeakingAt: number;
  endOfUtterance: number;
  transcription: number;
  llmTtft: number | null;
  ttsTtfb: number | null;
  playoutAt: number | null;
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms));

/** One answered turn's timings, ms: see the module comment for each field. */
export interface TurnTiming {
  speech_id: string;
  speech_end_to_playout_ms: number;
  end_of_utterance_ms: number;
  transcription_ms: number;
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
    }
  };

  const onAgentState = (ev: voice.AgentStateChangedEvent) => {
    if (ev.newState === "speaking" && awaitingPlayout) {
      awaitingPlayout.playoutAt = ev.createdAt;
      awaitingPlayout = undefined;
    } else if (ev.oldState === "speaking") {
      for (const turn of turns.values()) {
        if (turn.playoutAt === null) continue;
        turns.delete(turn.speechId);
        onTurn({
          speech_id: turn.speechId,
          speech_end_to_playout_ms: Math.max(0, Math.round(turn.playoutAt - turn.lastSpeakingAt)),
          end_of_utterance_ms: Math.round(turn.endOfUtterance),
          transcription_ms: Math.round(turn.transcription),
          llm_ttft_ms: round(turn.llmTtft),
          tts_ttfb_ms: round(turn.ttsTtfb),
        });
      }
    }
  };

  session.on(E.MetricsCollected, onMetrics);
  session.on(E.AgentStateChanged, onAgentState);
  return () => {
    session.off(E.MetricsCollected, onMetrics);
    session.off(E.AgentStateChanged, onAgentState);
  };
}
