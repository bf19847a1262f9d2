/**
 * What the job takes from the visitor over LiveKit data: nothing. A visitor's token may publish data (the product's
 * data use), so the job names the data-stream topics on which LiveKit Agents 1.9 would act on it, and refuses
 * every stream on them without reading it. See docs/agent.md, "What a visitor can send".
 *
 * | topic | kind | what the framework would do with it | closed by |
 * | --- | --- | --- | --- |
 * | `lk.chat` | text stream | RoomIO text input: any length, read whole, then `interrupt()` and an LLM reply (the text never reaches the transcript) | `textEnabled: false` (agent/job.ts) |
 * | `lk.agent.session` | byte stream | the remote-session host: instructions, chat context, usage, `runInput`, I/O switches | agent/framework/remote-session.ts |
 *
 * Any other topic has no handler: @livekit/rtc-node 0.13 drops such a stream at once (`Room.handleTextStreamOpened`
 * and `handleByteStreamOpened`, src/room.ts). No RPC method is registered, so every RPC is answered "unsupported
 * method" (1400) by the SDK (`LocalParticipant.handleRpcMethodInvocation`, src/participant.ts). Plain data packets
 * (`publishData`) reach no listener.
 *
 * The handlers here close each stream unread, so its text is neither buffered nor logged, and they log the first
 * refusal per topic (`data_stream_refused`, warn: a page that follows the product never sends these) with the
 * sender's identity; later ones are only counted (`streams_refused` on `job_ended`), so a visitor cannot flood the log.
 */
import type { ByteStreamReader, Room, TextStreamReader } from "@livekit/rtc-node";
import type { Logger } from "../contract/log.ts";
import { TOPIC_SESSION_MESSAGES } from "./framework/index.ts";

/** The text-stream topic of LiveKit Agents' text input (@livekit/agents 1.9.0 `TOPIC_CHAT`). */
export const TOPIC_CHAT = "lk.chat";

/** The refused topics by stream kind. */
export const REFUSED_TOPICS = { text: [TOPIC_CHAT], bytes: [TOPIC_SESSION_MESSAGES] } as const;

/** The job's refusals in one room. */
export interface RoomGuard {
  /** Streams refused so far, all topics. */
  refused(): number;
  /** Removes the handlers (the room is left anyway when the job ends). */
  close(): void;
}

/**
 * Registers the refusing handlers on `room`: call before the room is joined and before `AgentSession.start`.
 * @param log the job's logger: `data_stream_refused` (warn) with `topic`, `kind` (`text` or `bytes`) and `identity`,
 *   once per topic
 * @throws Error from @livekit/rtc-node when a handler for one of the topics is already registered
 */
export function refuseVisitorStreams(room: Room, log: Logger): RoomGuard {
  let refused = 0;
  const logged = new Set<string>();
  const refuse = (kind: "text" | "bytes", topic: string) => {
    return (reader: TextStreamReader | ByteStreamReader, sender: { identity: string }) => {
      void reader.close();
      refused++;
      if (logged.has(topic)) return;
      logged.add(topic);
      log.warn("data_stream_refused", { topic, kind, identity: sender.identity });
    };
  };
  for (const topic of REFUSED_TOPICS.text) room.registerTextStreamHandler(topic, refuse("text", topic));
  for (const topic of REFUSED_TOPICS.bytes) room.registerByteStreamHandler(topic, refuse("bytes", topic));
  return {
    refused: () => refused,
    close: () => {
      for (const topic of REFUSED_TOPICS.text) room.unregisterTextStreamHandler(topic);
      for (const topic of REFUSED_TOPICS.bytes) room.unregisterByteStreamHandler(topic);
    },
  };
}
