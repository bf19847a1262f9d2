/**
 * Live mode, the agent's side (issue #16): a job dispatched with `mode: "live"` runs OpenAI's Realtime API through
 * the plugin's `RealtimeModel` (agent/pipeline.ts `createLiveSession`) instead of STT → LLM → TTS. The real worker
 * (agent/main.ts) in the dev LiveKit server with the planner profile; the Realtime API is the local stand-in
 * (dev/openai/realtime-conversation.ts: energy VAD, pocketsphinx, scripted replies and tool calls, espeak-ng), the
 * one fake, for a paid API. A visitor (rtc-node) hears the greeting, says recorded speech and gets its final
 * transcript and a spoken answer; a typed request becomes a registry intent's action. The chat-completions, speech
 * and transcription endpoints of the pipeline are never called.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signIngest, TOPIC_TYPED_MESSAGE, type TypedRelayPacket } from "../../contract/index.ts";
import { mediaAddress } from "../support/netns.ts";
import { waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";
import { audioMeter, type Visitor } from "./room-visitor.ts";
import { startWorkerHarness, type WorkerHarness } from "./worker-harness.ts";

const addr = mediaAddress();
const ROOM = "room-live-mode";
const SESSION = "sessionLiveMode0000001"; // 22 base64url characters
const VISITOR = "v_live_mode";
const within = (timeoutMs: number) => ({ timeoutMs, intervalMs: 100 });

describe.skipIf(!addr)("live mode: the job talks through the Realtime API", () => {
  let h: WorkerHarness;
  let visitor: (Visitor & { token: string }) | undefined;

  beforeAll(async () => {
    h = await startWorkerHarness(addr!, { REALTIME_SILENCE_MS: "400" });
  }, 90_000);
  afterAll(async () => {
    visitor?.mic.stop();
    await visitor?.room.disconnect().catch(() => {});
    await h?.close();
  });

  const agentFinals = () =>
    h.eventsOf(SESSION).filter((e) => "text" in e && e.role === "agent" && e.final) as Array<{ text: string }>;

  it("greets, hears the visitor, answers by voice, and acts on a typed request, with no pipeline call", async () => {
    visitor = await h.visitor(ROOM, VISITOR);
    await h.dispatchWith(ROOM, { session_id: SESSION, profile: "planner", mode: "live" });
    await waitFor("agent_joined", () => h.types(SESSION).includes("agent_joined"), within(60_000));
    const started = h
      .output()
      .split("\n")
      .find((l) => l.includes('"msg":"job_started"'));
    expect(JSON.parse(started!)).toMatchObject({ profile: "planner", mode: "live" });

    // The greeting, spoken by the speech-to-speech model (no TTS in this mode) and heard in the room.
    const meter = audioMeter(await visitor.agentTrack);
    await waitFor("the greeting's caption", () => agentFinals().length > 0, within(60_000));
    await waitFor("the greeting to end", () => h.types(SESSION).includes("agent speech_ended"), within(60_000));
    expect(meter.peak(), "the visitor heard the greeting").toBeGreaterThan(0.01);

    // The visitor speaks: the API's own turn detection ends the turn; its transcription is the visitor's final.
    const before = h.eventsOf(SESSION).length;
    visitor.mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
    const userFinal = await waitFor(
      "the visitor's final",
      () =>
        h.eventsOf(SESSION).find((e) => "text" in e && e.role === "user" && e.final) as { text: string } | undefined,
      within(60_000),
    );
    expect(userFinal.text).toBe("go forward ten meters");
    const reply = await waitFor(
      "the agent's answer",
      () => agentFinals().find((e) => /I heard you say: go forward ten meters/.test(e.text)),
      within(60_000),
    );
    expect(reply.text).toMatch(/^I heard you say/);
    const spoke = () =>
      h
        .eventsOf(SESSION)
        .slice(before)
        .some((e) => "event" in e && e.role === "agent" && e.event === "speech_ended");
    await waitFor("the answer to be spoken", spoke, within(60_000));
    await meter.stop();

    // A typed request (relayed by the session, signed): the model calls the planner's NEW_TASK.
    const agentSid = [...visitor.room.remoteParticipants.values()].find((p) => p.identity.startsWith("agent"))!.sid!;
    const body = JSON.stringify({
      session_id: SESSION,
      id: "typed_live_1",
      text: "add a task to call the dentist tomorrow at 9",
    });
    const packet: TypedRelayPacket = { body, signature: await signIngest(h.secrets.ingestSecret, SESSION, body) };
    await h.sendServerData(ROOM, agentSid, TOPIC_TYPED_MESSAGE, new TextEncoder().encode(JSON.stringify(packet)));
    const acted = await waitFor(
      "the NEW_TASK action",
      () => h.ingest.acted.find((a) => a.intent === "NEW_TASK"),
      within(60_000),
    );
    expect(String(acted.arguments.title)).toMatch(/dentist/i);

    // The pipeline's endpoints were never asked: no chat completion, no speech, no transcription request.
    expect(h.chatRequests).toEqual([]);
    expect(h.output()).not.toMatch(/"route":"\/v1\/audio\/(speech|transcriptions)"/);
    const sockets = h
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"stand_in_realtime_connected"'))
      .map((l) => (JSON.parse(l) as { intent: string }).intent);
    expect(sockets).toEqual(["conversation"]);
  });
});
