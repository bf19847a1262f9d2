/**
 * E2E: live mode (issue #16) through the whole stack (`npm run dev` with stand-ins, which turns
 * `ENABLE_VOICE_LIVE_MODE` on): real Chromium with recorded speech as its microphone turns the page's "Live mode"
 * switch on and starts; the agent talks through the OpenAI Realtime API's conversation socket of the local stand-in
 * (dev/openai/realtime-conversation.ts, the one fake: the real API is paid and unreachable from CI) instead of STT → LLM
 * → TTS. The greeting and the reply are heard and the visitor's words are captioned. Then the visitor turns live mode
 * off mid-conversation and talks again: the pipeline answers with the live turn in its context, and the stored
 * transcript is one conversation holding both parts and the mode change between them.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { heardRecording, microphoneWav } from "./audio.ts";
import { launchWithMicrophone, observed, type MicBrowser } from "./browser.ts";
import { waitFor } from "../support/wait.ts";
import { poll, readTranscript } from "./support.ts";

/** Received audio energy that counts as "heard" (silence stays well below). */
const HEARD = 0.0005;

describe.skipIf(!process.env.NETNS_ADDR)("live mode in the browser", () => {
  let b: MicBrowser | undefined;
  afterEach(async () => b?.close());

  it("starts in live mode, talks, leaves live mode mid-conversation, talks again: one conversation", async () => {
    const workerUrl = inject("workerUrl");
    // The words come every 16 s: once in live mode, then again after the switch.
    b = await launchWithMicrophone(microphoneWav(inject("stackDir"), "goforward", 8, 16));
    const { page } = b;
    const errors: string[] = [];
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    await page.goto(`${workerUrl}/chat`);
    const live = page.getByRole("switch", { name: "Live mode" });
    expect(await live.isChecked()).toBe(false);
    await live.check();
    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    await page.getByRole("button", { name: "Start" }).click();
    const res = await created;
    expect(res.status()).toBe(201);
    expect((res.request().postDataJSON() as { mode?: string }).mode).toBe("live");
    const { session_id: sessionId } = (await res.json()) as { session_id: string };

    await waitFor(
      "the greeting caption",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.text.length > 0),
      poll(),
    );
    const userFinal = await waitFor(
      "the visitor's final caption",
      async () => (await observed(page)).captions.find((c) => c.role === "user" && c.final),
      poll(90_000),
    );
    expect(heardRecording(userFinal.text), `heard "${userFinal.text}"`).toBe("goforward");
    const reply = await waitFor(
      "the agent's reply caption",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.t > userFinal.t),
      poll(),
    );
    expect(reply.text).toMatch(/I heard you say/);
    const energy = (await observed(page)).energy.at(-1)?.e ?? 0;
    expect(energy, "the agent's voice reached the page").toBeGreaterThan(HEARD);

    // Live mode off, mid-conversation: the session relays the change and the agent hands over to the pipeline.
    expect(await live.isEnabled(), "the switch works during the conversation").toBe(true);
    const changed = page.waitForResponse((r) => r.url().endsWith(`/session/${sessionId}/mode`));
    await live.uncheck();
    const change = await changed;
    expect(change.status()).toBe(200);
    expect(change.request().postDataJSON()).toEqual({ mode: "pipeline" });
    expect(await change.json()).toMatchObject({ mode: "pipeline", changed: true });
    const switchedAt = Date.now();
    expect(await live.isChecked()).toBe(false);

    const next = await waitFor(
      "the visitor's next final caption, after the switch",
      async () => (await observed(page)).captions.find((c) => c.role === "user" && c.final && c.t > switchedAt),
      poll(90_000),
    );
    expect(heardRecording(next.text), `heard "${next.text}"`).toBe("goforward");
    const pipelineReply = await waitFor(
      "the pipeline's reply caption",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.t > next.t),
      poll(),
    );
    expect(pipelineReply.text, "the pipeline's context holds the live turn").toMatch(/you said \d+ other thing/);

    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("button", { name: "Start" }).waitFor({ state: "visible", timeout: 15_000 });
    const cookie = (await b.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const stored = await readTranscript(workerUrl, sessionId, cookie);
    expect(stored.mode, "the session's mode now").toBe("pipeline");
    // One conversation: the live part, the change, the pipeline part, in seq order.
    const users = stored.events.filter(
      (e) => "text" in e && e.role === "user" && heardRecording(e.text) === "goforward",
    );
    const modeChange = stored.events.find((e) => "type" in e && e.type === "mode");
    expect(modeChange, "the mode change is stored").toMatchObject({ mode: "pipeline", reason: "visitor" });
    expect(users.length).toBeGreaterThanOrEqual(2);
    expect(users[0]!.seq, "a live turn before the change").toBeLessThan(modeChange!.seq);
    expect(users.at(-1)!.seq, "a pipeline turn after it").toBeGreaterThan(modeChange!.seq);

    // The job started in live mode and handed over once, in the same job.
    const log = readFileSync(inject("stackLog"), "utf8").split("\n");
    const started = log.filter((l) => l.includes(sessionId) && l.includes('"msg":"job_started"'));
    expect(started, "one job for the whole conversation").toHaveLength(1);
    expect(started[0], "the job's start line").toMatch(/"mode":"live"/);
    const handoff = log.find(
      (l) => l.startsWith("[agent]") && l.includes(sessionId) && l.includes('"msg":"mode_changed"'),
    );
    expect(handoff, "the agent's handoff").toMatch(/"from":"live","to":"pipeline","reason":"visitor"/);
    expect(errors).toEqual([]);
  });
});
