/**
 * agent/session-vad.ts on real Silero and real speech (goforward.raw): the STT's follower VAD repeats the session
 * VAD's speech events, runs no inference of its own, counts the audio pushed into it, and ends and closes cleanly.
 */
import { initializeLogger, type VAD, VADEventType, type VADEvent, type VADStream } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { AudioFrame } from "@livekit/rtc-node";
import { beforeAll, describe, expect, it } from "vitest";
import { SessionVad } from "../../agent/session-vad.ts";
import { waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward } from "./audio.ts";

let vad: VAD;
beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  vad = await silero.VAD.load();
});

/** Reads `stream` until it ends, keeping every event. */
function collect(stream: VADStream): { events: VADEvent[]; done: Promise<void> } {
  const events: VADEvent[] = [];
  const done = (async () => {
    for await (const e of stream) events.push(e);
  })();
  return { events, done };
}

/** 10 ms frames of `samples` (16 kHz mono), then `silenceMs` of silence. */
function frames(samples: Int16Array, silenceMs: number): AudioFrame[] {
  const all = new Int16Array(samples.length + (GOFORWARD_RATE * silenceMs) / 1000);
  all.set(samples);
  const out: AudioFrame[] = [];
  for (let i = 0; i + 160 <= all.length; i += 160)
    out.push(new AudioFrame(all.slice(i, i + 160), GOFORWARD_RATE, 1, 160));
  return out;
}

const speechEvents = (events: VADEvent[]) =>
  events
    .filter((e) => e.type === VADEventType.START_OF_SPEECH || e.type === VADEventType.END_OF_SPEECH)
    .map((e) => VADEventType[e.type]);

describe("SessionVad and its follower", () => {
  it("gives the STT the session VAD's speech events, at once, without running the model again", async () => {
    const session = new SessionVad(vad);
    const follower = session.follower();
    const [leaderStream, followerStream] = [session.stream(), follower.stream()];
    const leader = collect(leaderStream);
    const repeated = collect(followerStream);
    const audio = frames(goForward(), 1500);
    for (const frame of audio) {
      leaderStream.pushFrame(frame);
      followerStream.pushFrame(frame);
    }
    await waitFor("the end of speech", () => speechEvents(leader.events).includes("END_OF_SPEECH"), {
      timeoutMs: 20_000,
    });
    await waitFor("the follower's end of speech", () => speechEvents(repeated.events).includes("END_OF_SPEECH"), {
      timeoutMs: 1000,
      intervalMs: 5,
    });
    expect(speechEvents(leader.events)).toEqual(["START_OF_SPEECH", "END_OF_SPEECH"]);
    // The same events (the very objects), and nothing else: no INFERENCE_DONE, as no inference ran.
    expect(repeated.events).toEqual(
      leader.events.filter((e) => e.type === VADEventType.START_OF_SPEECH || e.type === VADEventType.END_OF_SPEECH),
    );
    expect(leader.events.some((e) => e.type === VADEventType.INFERENCE_DONE)).toBe(true);
    // The audio the STT sent, counted from the frames pushed into the follower.
    expect(follower.audioMs).toBeCloseTo(audio.length * 10, 0);

    // Ending the input (what the OpenAI plugin does at every session close) neither throws nor leaves a rejection.
    expect(() => followerStream.endInput()).not.toThrow();
    expect(() => followerStream.endInput()).not.toThrow();
    expect(() => followerStream.pushFrame(audio[0]!)).toThrow(/Input is closed/);
    followerStream.close();
    followerStream.close();
    await repeated.done; // iteration ends with the stream
    leaderStream.close();
    await leader.done;
  });

  it("stops repeating to a closed follower stream, and keeps repeating to the others", async () => {
    const session = new SessionVad(vad);
    const follower = session.follower();
    const leaderStream = session.stream();
    const [closed, open] = [follower.stream(), follower.stream()];
    const leader = collect(leaderStream);
    const heard = collect(open);
    closed.close();
    for (const frame of frames(goForward(), 1500)) leaderStream.pushFrame(frame);
    await waitFor("the end of speech", () => speechEvents(heard.events).includes("END_OF_SPEECH"), {
      timeoutMs: 20_000,
    });
    expect(speechEvents(heard.events)).toEqual(["START_OF_SPEECH", "END_OF_SPEECH"]);
    open.close();
    leaderStream.close();
    await Promise.all([heard.done, leader.done]);
  });
});
