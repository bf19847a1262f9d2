/**
 * E2E 1: one visitor talks with the agent through the whole stack (`npm run dev` with stand-ins):
 * real Chromium with recorded human speech as its microphone, livekit-client, the dev LiveKit server,
 * the real @livekit/agents worker with Silero VAD, the Worker and Durable Objects under wrangler dev.
 * The OpenAI APIs are replaced by the local stand-in provider (pocketsphinx / scripted LLM / espeak-ng),
 * the one fake here, because the real ones are paid and unreachable from CI.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { goForwardVoiceEndMs } from "../agent/audio.ts";
import { heardRecording, microphoneWav } from "./audio.ts";
import { audioOnset, launchWithMicrophone, observed, type MicBrowser } from "./browser.ts";
import { waitFor } from "../support/wait.ts";
import { openRooms, poll, readTranscript, words } from "./support.ts";

/** Received audio energy that counts as "heard" (silence stays well below). */
const HEARD = 0.0005;
const LEAD_S = 10;

describe.skipIf(!process.env.NETNS_ADDR)("a conversation in the browser", () => {
  let b: MicBrowser | undefined;
  afterEach(async () => b?.close());

  it("greets, hears the visitor, answers by voice, stores the transcript, and stops cleanly", async () => {
    const workerUrl = inject("workerUrl");
    b = await launchWithMicrophone(microphoneWav(inject("stackDir"), "goforward", LEAD_S));
    const { page } = b;
    await page.goto(`${workerUrl}/chat`);
    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    const clickAt = Date.now();
    await page.getByRole("button", { name: "Start" }).click();
    const res = await created;
    expect(res.status()).toBe(201);
    // The e2e stack has Turnstile on (its local stand-in): the page sent the widget's token, and the Worker
    // accepted it after siteverify (it fails closed).
    expect((res.request().postDataJSON() as { turnstile_token?: string }).turnstile_token).toMatch(/^stand-in\./);
    const { session_id: sessionId } = (await res.json()) as { session_id: string };

    // The greeting: a caption, and audio that reaches the page.
    await waitFor(
      "the agent's greeting caption",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.text.length > 0),
      poll(),
    );
    const greetingAt = async () => audioOnset((await observed(page)).energy, clickAt, HEARD);
    const greetingAudioAt = await waitFor("the greeting's audio", greetingAt, poll());

    // The visitor's words: interim, then final, matching the recording.
    const userFinal = await waitFor(
      "the visitor's final caption",
      async () => (await observed(page)).captions.find((c) => c.role === "user" && c.final),
      poll(90_000),
    );
    expect(heardRecording(userFinal.text), `the visitor's words (heard "${userFinal.text}")`).toBe("goforward");
    const seen = await observed(page);
    expect(seen.captions.some((c) => c.role === "user" && !c.final && c.t <= userFinal.t)).toBe(true);

    // The agent's reply: a caption after the visitor's final, and its audio after the words ended.
    await waitFor(
      "the agent's reply caption",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.t > userFinal.t),
      poll(),
    );
    const { microphoneAt } = await observed(page);
    expect(microphoneAt).not.toBeNull();
    // The fake microphone plays the file from when capture starts: the words end the lead plus the voice later.
    const speechEnd = microphoneAt! + LEAD_S * 1000 + goForwardVoiceEndMs();
    const replyAt = async () => audioOnset((await observed(page)).energy, speechEnd, HEARD);
    const replyAudioAt = await waitFor("the reply's audio", replyAt, poll());

    // Speaking indicators went on and off for both sides.
    const { speaking } = await observed(page);
    for (const who of ["user", "agent"] as const) {
      expect(
        speaking.some((s) => s.who === who && s.speaking),
        `${who} speaking on`,
      ).toBe(true);
      expect(
        speaking.some((s) => s.who === who && !s.speaking),
        `${who} speaking off`,
      ).toBe(true);
    }

    // The conversation is stored.
    const cookie = (await b.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const stored = await readTranscript(workerUrl, sessionId, cookie);
    const texts = stored.events.flatMap((e) => ("text" in e ? [`${e.role}:${words(e.text)}`] : []));
    expect(texts, "the stored visitor final is the caption's").toContain(`user:${words(userFinal.text)}`);
    expect(texts.filter((t) => t.startsWith("agent:")).length).toBeGreaterThanOrEqual(2);

    // Stop: socket closed with 1000, LiveKit room gone, agent job ended, page back to start.
    await page.getByRole("button", { name: "Stop" }).click();
    const socketClosed = async () => (await observed(page)).socketCloses.includes(1000);
    await waitFor("the transcript socket to close with 1000", socketClosed, poll(15_000));
    const roomGone = async () => !(await openRooms(inject("liveKitUrl"))).includes(stored.room);
    await waitFor("the LiveKit room to be deleted", roomGone, poll(15_000));
    await waitFor("the agent's job to end", () => jobEnded(sessionId), poll(20_000));
    await page.getByRole("button", { name: "Start" }).waitFor({ state: "visible", timeout: 10_000 });
    const ended = await readTranscript(workerUrl, sessionId, cookie);
    expect(ended.status).toBe("ended");
    expect(ended.reason).toBe("stopped");

    console.log(
      `[e2e figures] click → greeting audio: ${greetingAudioAt - clickAt} ms; ` +
        `end of user speech → first reply audio: ${replyAudioAt - speechEnd} ms (audio sampled every 50 ms)`,
    );
  });
});

/** True once the agent logged `job_ended` for this session (stack log, JSON lines). */
function jobEnded(sessionId: string): boolean {
  return readFileSync(inject("stackLog"), "utf8")
    .split("\n")
    .some((line) => line.includes(sessionId) && line.includes('"msg":"job_ended"'));
}
