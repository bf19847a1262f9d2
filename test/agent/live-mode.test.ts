/**
 * Live mode, the agent's side (issue #16): a job dispatched with `mode: "live"` runs OpenAI's Realtime API through
 * the plugin's `RealtimeModel` (agent/pipeline.ts `createRealtimeModel`, a live `WebsiteAgent`) instead of
 * STT → LLM → TTS, and hands the conversation over between live mode and the pipeline when the session relays a mode
 * change (agent/mode-switch.ts). The real worker (agent/main.ts) in the dev LiveKit server with the planner profile;
 * the Realtime API is the local stand-in (dev/openai/realtime-conversation.ts: energy VAD, pocketsphinx, scripted
 * replies and tool calls, espeak-ng), the one fake, for a paid API. A visitor (rtc-node) hears the profile's greeting,
 * says recorded speech and gets its final transcript and a spoken answer; a typed request becomes a registry intent's
 * action; until the first switch, the pipeline's endpoints are never called. Then the day's live minutes run out: the
 * agent says the profile's notice through the TTS and answers in the pipeline with the earlier turns in its context;
 * the visitor switches back to live mode, and the realtime model answers with all the turns in its context. Changes
 * from the visitor's participant, or repeated, are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ModeRelayBody,
  signIngest,
  TOPIC_MODE_CHANGE,
  TOPIC_TYPED_MESSAGE,
  type TypedRelayPacket,
} from "../../contract/index.ts";
import { DEFAULT_LIVE_LIMIT_NOTICE } from "../../contract/profile.ts";
import { loadProfiles } from "../../profiles/load.ts";
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
  const userFinals = () =>
    h.eventsOf(SESSION).filter((e) => "text" in e && e.role === "user" && e.final) as Array<{ text: string }>;
  const logLines = (msg: string) =>
    h
      .output()
      .split("\n")
      .filter((l) => l.includes(`"msg":"${msg}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const agentSid = () => [...visitor!.room.remoteParticipants.values()].find((p) => p.identity.startsWith("agent"))!;
  /** A mode change as the `SessionDO` relays it: signed, from the server. */
  const modePacket = async (body: ModeRelayBody) => {
    const json = JSON.stringify(body);
    const packet: TypedRelayPacket = { body: json, signature: await signIngest(h.secrets.ingestSecret, SESSION, json) };
    return new TextEncoder().encode(JSON.stringify(packet));
  };
  const sendMode = async (body: ModeRelayBody) =>
    h.sendServerData(ROOM, agentSid().sid!, TOPIC_MODE_CHANGE, await modePacket(body));
  /** Says the recording and waits for its final (the `n`th user final) and the agent's answer to it, spoken. */
  const sayGoForward = async (n: number) => {
    const before = h.eventsOf(SESSION).length;
    visitor!.mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
    const final = await waitFor("the visitor's final", () => userFinals()[n - 1], within(60_000));
    expect(final.text).toBe("go forward ten meters");
    const reply = await waitFor(
      "the agent's answer",
      () =>
        h
          .eventsOf(SESSION)
          .slice(before)
          .find((e) => "text" in e && e.role === "agent" && e.final && /I heard you say: go forward/.test(e.text)) as
          { text: string } | undefined,
      within(60_000),
    );
    const spoke = () =>
      h
        .eventsOf(SESSION)
        .slice(before)
        .some((e) => "event" in e && e.role === "agent" && e.event === "speech_ended");
    await waitFor("the answer to be spoken", spoke, within(60_000));
    return reply.text;
  };
  /** How many earlier user turns the stand-in's answer counts ("Before that, you said N other things"). */
  const earlierTurns = (reply: string) => Number(/you said (\d+) other thing/.exec(reply)?.[1] ?? 0);

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
    const greeting = await waitFor("the greeting's caption", () => agentFinals()[0], within(60_000));
    expect(greeting.text, "the model says the profile's greeting word for word").toBe(
      loadProfiles().get("planner")!.greeting,
    );
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
    // The turn is counted as in the pipeline (the `turn` line, the metrics, the session's usage summary), timed from
    // the end of the visitor's speech as the model's server VAD saw it to the reply's first frame.
    const turn = await waitFor("the turn line", () => logLines("turn")[0], within(30_000));
    expect(turn).toMatchObject({ end_of_utterance_ms: null, transcription_ms: null, tts_ttfb_ms: null });
    expect(turn.speech_end_to_playout_ms).toBeGreaterThan(0);
    expect(turn.llm_ttft_ms, "the response's time to first audio").toBeGreaterThan(0);
    await waitFor(
      "the turn in the session's usage",
      () => h.eventsOf(SESSION).some((e) => "turn_latencies_ms" in e && e.turn_latencies_ms.length > 0),
      within(30_000),
    );

    // A typed request (relayed by the session, signed): the model calls the planner's NEW_TASK.
    const body = JSON.stringify({
      session_id: SESSION,
      id: "typed_live_1",
      text: "add a task to call the dentist tomorrow at 9",
    });
    const packet: TypedRelayPacket = { body, signature: await signIngest(h.secrets.ingestSecret, SESSION, body) };
    await h.sendServerData(
      ROOM,
      agentSid().sid!,
      TOPIC_TYPED_MESSAGE,
      new TextEncoder().encode(JSON.stringify(packet)),
    );
    const acted = await waitFor(
      "the NEW_TASK action",
      () => h.ingest.acted.find((a) => a.intent === "NEW_TASK"),
      within(60_000),
    );
    expect(String(acted.arguments.title)).toMatch(/dentist/i);
    await waitFor(
      "the spoken answer to the action",
      () => agentFinals().find((e) => /NEW_TASK/.test(e.text)),
      within(60_000),
    );

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

  it("falls back to the pipeline when the live minutes run out: says the notice, answers with the earlier turns", async () => {
    await sendMode({ session_id: SESSION, id: "mode_change_0001", mode: "pipeline", reason: "live_limit" });
    // The profile's live_limit_notice (the planner has none of its own: the default).
    await waitFor("the notice", () => agentFinals().find((e) => e.text === DEFAULT_LIVE_LIMIT_NOTICE), within(60_000));
    await waitFor("the TTS to speak it", () => /"route":"\/v1\/audio\/speech"/.test(h.output()), within(30_000));
    expect(logLines("mode_changed")).toEqual([
      expect.objectContaining({ from: "live", to: "pipeline", reason: "live_limit" }),
    ]);

    const reply = await sayGoForward(2);
    expect(h.chatRequests.length, "the pipeline's LLM answered").toBeGreaterThan(0);
    const last = JSON.stringify(h.chatRequests.at(-1));
    expect(last, "the pipeline's context holds the typed request made in live mode").toMatch(/dentist/);
    expect(earlierTurns(reply), `the pipeline counts the live turns: "${reply}"`).toBeGreaterThanOrEqual(2);
  }, 150_000);

  it("hands back to live mode when the visitor asks, and refuses changes not from the server or repeated", async () => {
    // From the visitor's participant, even correctly signed: not the server's.
    await visitor!.room.localParticipant!.publishData(
      await modePacket({ session_id: SESSION, id: "mode_change_0002", mode: "live", reason: "visitor" }),
      { reliable: true, topic: TOPIC_MODE_CHANGE, destination_identities: [agentSid().identity] },
    );
    // The first change again: taken once.
    await sendMode({ session_id: SESSION, id: "mode_change_0001", mode: "pipeline", reason: "live_limit" });
    await waitFor("both refusals", () => logLines("mode_change_refused").length >= 2, within(30_000));
    expect(
      logLines("mode_change_refused")
        .map((l) => l.reason)
        .sort(),
    ).toEqual(["from_participant", "repeated"]);
    expect(logLines("mode_changed"), "nothing changed").toHaveLength(1);

    const chats = h.chatRequests.length;
    await sendMode({ session_id: SESSION, id: "mode_change_0003", mode: "live", reason: "visitor" });
    await waitFor("the handoff to live mode", () => logLines("mode_changed").length === 2, within(30_000));
    expect(logLines("mode_changed")[1]).toMatchObject({ from: "pipeline", to: "live", reason: "visitor" });
    const reply = await sayGoForward(3);
    expect(h.chatRequests.length, "the pipeline's LLM was not asked in live mode").toBe(chats);
    expect(earlierTurns(reply), `the realtime model counts every earlier turn: "${reply}"`).toBeGreaterThanOrEqual(3);
  }, 150_000);
});
