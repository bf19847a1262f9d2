/**
 * Closes LiveKit Agents' remote-session endpoint in the room (`lk.agent.session`), which would let the visitor read
 * the agent's instructions and conversation, put text before the LLM, and switch the agent's audio and
 * transcription off. See docs/architecture.md, "Security model", and docs/agent.md, "What a visitor can send".
 *
 * Upstream behaviour (@livekit/agents 1.9.0):
 * - `src/voice/agent_session.ts`, `AgentSession._startImpl`: whenever the session is started with a room (and no
 *   console), it builds `new SessionHost(new RoomSessionTransport(room, roomIO))` and starts it after the
 *   activity. No option of `AgentSession`, `start()` or `RoomInputOptions` turns it off.
 * - `src/voice/remote_session.ts`, `RoomSessionTransport.start`: registers a byte-stream handler for the topic
 *   `lk.agent.session` (`TOPIC_SESSION_MESSAGES`, `src/constants.ts`) that accepts protobuf `AgentSessionMessage`
 *   requests of any size from the linked participant (the visitor); `sendMessage` streams bytes back to it.
 * - `SessionHost.handleRequest` answers every request case: `getAgentInfo` (the instructions, tool names and the
 *   agent's chat context), `getChatHistory` (the whole conversation), `getSessionState` (turn-handling options),
 *   `getSessionUsage` (models and provider hosts), `getFrameworkInfo`, `getRtcStats`, `ping`, `runInput` (text
 *   into `session.run()`: an LLM turn that never passes the transcript), `updateIo` (the agent's audio input, audio
 *   output and transcription output on or off) and `finalizeSimulation`. `registerSession` also streams every
 *   session event (transcripts, chat items, usage, errors) to that participant.
 *
 * The adaptation `no_remote_session` makes `RoomSessionTransport.prototype.start` register nothing and
 * `sendMessage` send nothing, before the session starts: the host then never receives a request (a byte stream on
 * `lk.agent.session` has no handler in the framework; the job refuses it, agent/room-guard.ts) and never sends an
 * event. Everything else of the session is untouched. The remote session is LiveKit's tooling protocol
 * (simulations, the agents playground); this product offers none of it to visitors.
 *
 * It closes a security hole, so a job whose framework has another shape does not run the session at all
 * (agent/job.ts): {@link adapt} returns false and the job ends with `start_failed`.
 */
import { type Adaptation, expectType } from "./adaptation.ts";

/** The byte-stream topic of the remote-session protocol (@livekit/agents 1.9.0 `TOPIC_SESSION_MESSAGES`). */
export const TOPIC_SESSION_MESSAGES = "lk.agent.session";

/** The methods of @livekit/agents 1.9.0's `RoomSessionTransport.prototype` this replaces. */
interface TransportPrototype {
  start(): Promise<void>;
  sendMessage(message: unknown): Promise<void>;
}

/** Marks a closed prototype, so that applying twice changes nothing more. */
const CLOSED = Symbol.for("voice-agent:remote-session-closed");

/** `start` of a closed transport: registers no handler, so no request is ever read. */
async function startNothing(): Promise<void> {}

/** `sendMessage` of a closed transport: the visitor receives no event and no response. */
async function sendNothing(): Promise<void> {}

/**
 * The adaptation `no_remote_session`, applied to the framework's exported class `voice.RoomSessionTransport`
 * (in the job process, before `AgentSession.start`).
 */
export function closeRemoteSession(): Adaptation<unknown> {
  return {
    name: "no_remote_session",
    missing(transportClass) {
      const proto = (transportClass as { prototype?: Partial<TransportPrototype> } | undefined)?.prototype;
      return [
        ...expectType(proto?.start, "function", "RoomSessionTransport.prototype.start"),
        ...expectType(proto?.sendMessage, "function", "RoomSessionTransport.prototype.sendMessage"),
      ];
    },
    apply(transportClass) {
      const proto = (transportClass as { prototype: TransportPrototype & { [CLOSED]?: true } }).prototype;
      if (proto[CLOSED]) return;
      proto.start = startNothing;
      proto.sendMessage = sendNothing;
      proto[CLOSED] = true;
    },
  };
}
