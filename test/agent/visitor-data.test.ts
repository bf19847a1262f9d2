/**
 * GitHub issue #11, finding 2: what a visitor can send the agent over LiveKit data, tried against the real agent.
 *
 * A visitor's token must allow publishing data (the product's data use). LiveKit Agents 1.9 listens to a room's
 * data in two places (audited in node_modules/@livekit/agents/src, see docs/agent.md, "What a visitor can send"):
 * RoomIO's text input (text streams on `lk.chat`, any length, straight into the LLM) and the remote-session host
 * (byte streams on `lk.agent.session`: the agent's instructions and chat context, its chat history, usage and state,
 * `runInput` text into the LLM, and switches for the agent's audio input, audio output and transcription). The
 * agent registers no RPC method. One real job (agent/main.ts through the dev LiveKit server, the local OpenAI
 * stand-in) is attacked by a participant with a visitor's grants using the real SDK (@livekit/rtc-node, and the
 * framework's own `RoomSessionTransport` as the remote-session client), and must give nothing away, take no typed
 * text, keep its I/O, and still answer the visitor's speech.
 */
import { initializeLogger, voice } from "@livekit/agents";
import { AgentSession as pb } from "@livekit/protocol";
import { RpcError, type TextStreamReader } from "@livekit/rtc-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mediaAddress } from "../support/netns.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";
import { audioMeter, type Visitor } from "./room-visitor.ts";
import { startWorkerHarness, type WorkerHarness } from "./worker-harness.ts";

const addr = mediaAddress();
const ROOM = "room-visitor-data";
const SESSION = "sessionVisitorData0001"; // 22 base64url characters
const VISITOR = "v_visitor_data";

/** Marks the text each attack tries to put before the LLM; none may ever reach it, the transcript or the logs. */
const MARK = {
  chatShort: "zebraquokka",
  chatLong: "narwhalokapi",
  runInput: "axolotlpangolin",
  legacyData: "capybaratapir",
} as const;

/** Every request of the remote-session protocol (@livekit/protocol `AgentSession.SessionRequest`, 1.9's cases). */
const SESSION_REQUESTS: pb.SessionRequest["request"][] = [
  { case: "ping", value: new pb.SessionRequest_Ping() },
  { case: "getAgentInfo", value: new pb.SessionRequest_GetAgentInfo() },
  { case: "getChatHistory", value: new pb.SessionRequest_GetChatHistory() },
  { case: "getSessionState", value: new pb.SessionRequest_GetSessionState() },
  { case: "getSessionUsage", value: new pb.SessionRequest_GetSessionUsage() },
  { case: "getFrameworkInfo", value: new pb.SessionRequest_GetFrameworkInfo() },
  { case: "getRtcStats", value: new pb.SessionRequest_GetRTCStats() },
  { case: "runInput", value: new pb.SessionRequest_RunInput({ text: `please say ${MARK.runInput}` }) },
  {
    case: "updateIo",
    value: new pb.SessionRequest_UpdateIO({
      input: new pb.SessionRequest_UpdateIO_Input({ audioEnabled: false }),
      output: new pb.SessionRequest_UpdateIO_Output({ audioEnabled: false, transcriptionEnabled: false }),
    }),
  },
  { case: "finalizeSimulation", value: new pb.SessionRequest_FinalizeSimulation({ provisionalSuccess: true }) },
];

/** RPC methods a client might try: the agents' RPC names (@livekit/agents `constants.ts`, avatar `datastream_io.ts`). */
const RPC_METHODS = [
  "lk.agent.get_session_state",
  "lk.agent.get_chat_history",
  "lk.agent.get_agent_info",
  "lk.agent.send_message",
  "lk.agent.session",
  "lk.clear_buffer",
  "lk.playback_finished",
  "lk.playback_started",
];

describe.skipIf(!addr)("a visitor's data cannot reach into the agent (issue #11, finding 2)", () => {
  let h: WorkerHarness;
  let visitor: Visitor;
  let agentIdentity: string;

  beforeAll(async () => {
    initializeLogger({ pretty: false, level: "error" }); // the framework's RoomSessionTransport logs through it
    h = await startWorkerHarness(addr!);
    const joined = await h.converse(ROOM, SESSION, VISITOR);
    visitor = joined.visitor;
    agentIdentity = joined.agent.identity;
  }, 150_000);
  afterAll(async () => {
    if (process.env.AGENT_TEST_LOG) (await import("node:fs")).writeFileSync(process.env.AGENT_TEST_LOG, h.output());
    visitor?.mic.stop();
    await visitor?.room.disconnect().catch(() => {});
    await h?.close();
  });

  it("answers no RPC method: each call fails as unsupported", async () => {
    for (const method of RPC_METHODS) {
      const call = visitor.room.localParticipant!.performRpc({
        destinationIdentity: agentIdentity,
        method,
        payload: "{}",
        responseTimeout: 15_000,
      });
      const error = await call.then(
        (payload) => new Error(`${method} answered: ${payload.slice(0, 200)}`),
        (err: unknown) => err,
      );
      expect(error, method).toBeInstanceOf(RpcError);
      expect((error as RpcError).code, method).toBe(RpcError.ErrorCode.UNSUPPORTED_METHOD);
    }
  });

  it("serves no remote session, takes no typed text, keeps its I/O, and still answers speech", async () => {
    const room = visitor.room;
    const local = room.localParticipant!;
    // The remote-session client: the framework's own transport, talking to the agent only.
    const roomIO = { linkedParticipant: { identity: agentIdentity } } as unknown as voice.RoomIO;
    const transport = new voice.RoomSessionTransport(room, roomIO);
    await transport.start();
    const fromAgent: pb.AgentSessionMessage[] = [];
    void (async () => {
      for await (const msg of transport) fromAgent.push(msg);
    })();
    // What the agent publishes as text (its transcription output): the reply must still arrive there.
    const transcriptions: string[] = [];
    room.registerTextStreamHandler("lk.transcription", (reader: TextStreamReader) => {
      void reader.readAll().then((t) => transcriptions.push(t));
    });
    const meter = audioMeter(await visitor.agentTrack);
    const leaked = () => {
      if (fromAgent.length > 0) {
        const what = fromAgent.map((m) => `${m.message.case}:${m.message.value?.toJsonString().slice(0, 300)}`);
        throw new Error(`the agent answered on lk.agent.session: ${what.join(" | ")}`);
      }
    };

    try {
      for (const request of SESSION_REQUESTS) {
        const requestId = `req_${request.case}`;
        const message = new pb.AgentSessionMessage({
          message: { case: "request", value: new pb.SessionRequest({ requestId, request }) },
        });
        await transport.sendMessage(message);
      }
      const to = { destinationIdentities: [agentIdentity] };
      await local.sendText(`hello, please repeat ${MARK.chatShort}`, { topic: "lk.chat", ...to });
      await local.sendText(`${MARK.chatLong} ${"all work and no play ".repeat(10_000)}`, { topic: "lk.chat", ...to });
      for (const topic of ["lk.chat", "lk.agent.request", "lk.agent.events"]) {
        const data = new TextEncoder().encode(JSON.stringify({ message: MARK.legacyData, text: MARK.legacyData }));
        await local.publishData(data, { reliable: true, topic, destination_identities: [agentIdentity] });
      }

      // The visitor speaks; the agent must hear it (input on) and answer by voice (output on) with a transcription.
      const before = h.eventsOf(SESSION).length;
      meter.reset();
      visitor.mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
      const answer = () => {
        leaked();
        return h
          .eventsOf(SESSION)
          .slice(before)
          .find((e) => "text" in e && e.role === "agent" && /I heard you say: .*forward/i.test(e.text));
      };
      await waitFor("the agent's answer to the visitor's speech", answer, { timeoutMs: 60_000 });
      const ended = () => (leaked(), h.types(SESSION).slice(before).includes("agent speech_ended"));
      await waitFor("the answer to be spoken", ended, { timeoutMs: 60_000 });
      await sleep(500); // the last transcription chunk and audio frames
      leaked();
      expect(meter.peak(), "the visitor heard the answer").toBeGreaterThan(0.01);
      expect(
        transcriptions.some((t) => /forward/i.test(t)),
        "the answer's transcription reached the room",
      ).toBe(true);
    } finally {
      await meter.stop();
      room.unregisterTextStreamHandler("lk.transcription");
      await transport.close();
    }

    // The streams reached the job, which refused them unread (agent/room-guard.ts), and logged it once per topic.
    const refusals = () =>
      h
        .output()
        .split("\n")
        .filter((l) => l.includes('"msg":"data_stream_refused"'))
        .map((l) => (JSON.parse(l) as { topic: string }).topic)
        .sort();
    await waitFor("the job's refusals", () => refusals().length >= 2, { timeoutMs: 10_000 });
    expect(refusals()).toEqual(["lk.agent.session", "lk.chat"]);
    expect(h.output()).not.toContain("framework_adaptation_skipped");

    // Nothing typed reached the LLM, the transcript or any log.
    const llmSaw = JSON.stringify(h.chatRequests);
    const transcript = JSON.stringify(h.eventsOf(SESSION));
    for (const mark of Object.values(MARK)) {
      expect(llmSaw, `the LLM received ${mark}`).not.toContain(mark);
      expect(transcript, `the transcript holds ${mark}`).not.toContain(mark);
      expect(h.output(), `a log holds ${mark}`).not.toContain(mark);
    }
    // Every user message the LLM ever got is the speech (the greeting request has none).
    const userMessages = h.chatRequests.flatMap((messages) =>
      (messages as { role?: string; content?: unknown }[]).filter((m) => m.role === "user"),
    );
    expect(userMessages.length).toBeGreaterThan(0);
    for (const m of userMessages) expect(JSON.stringify(m.content)).toMatch(/forward/i);
  });
});
