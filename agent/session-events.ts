/**
 * Maps `AgentSession` events (LiveKit Agents 1.9, `voice/events.ts`) to contract events
 * (docs/architecture.md, "Transcript socket" and "Agent ingest"):
 *
 * | session event | contract event |
 * | --- | --- |
 * | `user_input_transcribed` | user transcript, interim or final |
 * | `conversation_item_added`, assistant message | agent final transcript |
 * | `user_state_changed` into / out of `speaking` | user `speech_started` / `speech_ended` |
 * | `agent_state_changed` into / out of `speaking` | agent `speech_started` / `speech_ended` |
 * | `error` | `agent_error` (detail: source, recoverable, message) |
 */
import { TEXT_MAX } from "../contract/index.ts";
import { voice } from "@livekit/agents";
import type { PendingEvent } from "./ingest-forwarder.ts";

/** Where mapped events go: the ingest forwarder's `push`, or a test's array. */
export type EventSink = (event: PendingEvent) => void;

const clip = (text: string) => (text.length > TEXT_MAX ? text.slice(0, TEXT_MAX) : text);

/** One line describing a provider error; the message is clipped so that a detail stays short. */
export function describeProviderError(ev: voice.ErrorEvent): string {
  const err = ev.error as { type?: string; label?: string; recoverable?: boolean; error?: unknown };
  const inner = err.error instanceof Error ? err.error.message : String(err.error ?? "unknown error");
  const what = err.type ?? "error";
  const label = err.label ? ` (${err.label})` : "";
  return `${what}${label}, ${err.recoverable ? "recoverable" : "not recoverable"}: ${inner}`.slice(0, 1000);
}

/**
 * Subscribes to a session and emits contract events into `sink`.
 * @param session an `AgentSession` (before or after `start`)
 * @param sink receives each event without `id` (the ingest forwarder numbers them); `ts` is the session
 *   event's `createdAt` (epoch ms)
 * @returns a function that unsubscribes
 */
export function forwardSessionEvents(session: voice.AgentSession, sink: EventSink): () => void {
  const E = voice.AgentSessionEventTypes;
  const onTranscript = (ev: voice.UserInputTranscribedEvent) => {
    const text = ev.transcript.trim();
    if (text) sink({ role: "user", text: clip(text), final: ev.isFinal, ts: ev.createdAt });
  };
  const onItem = (ev: voice.ConversationItemAddedEvent) => {
    const item = ev.item;
    if (item.type !== "message" || item.role !== "assistant") return;
    const text = item.textContent?.trim();
    if (text) sink({ role: "agent", text: clip(text), final: true, ts: ev.createdAt });
  };
  const onUserState = (ev: voice.UserStateChangedEvent) => {
    if (ev.newState === "speaking") sink({ role: "user", event: "speech_started", ts: ev.createdAt });
    else if (ev.oldState === "speaking") sink({ role: "user", event: "speech_ended", ts: ev.createdAt });
  };
  const onAgentState = (ev: voice.AgentStateChangedEvent) => {
    if (ev.newState === "speaking") sink({ role: "agent", event: "speech_started", ts: ev.createdAt });
    else if (ev.oldState === "speaking") sink({ role: "agent", event: "speech_ended", ts: ev.createdAt });
  };
  const onError = (ev: voice.ErrorEvent) => {
    sink({ type: "agent_error", detail: describeProviderError(ev), ts: ev.createdAt });
  };
  session.on(E.UserInputTranscribed, onTranscript);
  session.on(E.ConversationItemAdded, onItem);
  session.on(E.UserStateChanged, onUserState);
  session.on(E.AgentStateChanged, onAgentState);
  session.on(E.Error, onError);
  return () => {
    session.off(E.UserInputTranscribed, onTranscript);
    session.off(E.ConversationItemAdded, onItem);
    session.off(E.UserStateChanged, onUserState);
    session.off(E.AgentStateChanged, onAgentState);
    session.off(E.Error, onError);
  };
}
