/**
 * E2E: live mode (issue #16) through the whole stack (`npm run dev` with stand-ins, which turns
 * `ENABLE_VOICE_LIVE_MODE` on): real Chromium with recorded speech as its microphone turns the page's "Live mode"
 * switch on and starts; the agent talks through the OpenAI Realtime API's conversation socket of the local stand-in
 * (dev/openai/realtime-conversation.ts, the one fake: the real API is paid and unreachable from CI) instead of STT → LLM
 * → TTS. The greeting and the reply are heard, the visitor's words are captioned, the session records its mode, and the
 * stand-in's pipeline endpoints are never asked.
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

  it("starts in live mode: greets, hears the visitor, answers by voice, records the mode", async () => {
    const workerUrl = inject("workerUrl");
    b = await launchWithMicrophone(microphoneWav(inject("stackDir"), "goforward", 8));
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
    // The mode is chosen before Start: the switch waits during the conversation.
    await expect.poll(() => live.isDisabled(), { timeout: 30_000 }).toBe(true);

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

    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("button", { name: "Start" }).waitFor({ state: "visible", timeout: 15_000 });
    expect(await live.isDisabled()).toBe(false);
    const cookie = (await b.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const stored = await readTranscript(workerUrl, sessionId, cookie);
    expect(stored.mode).toBe("live");
    expect(stored.events.some((e) => "text" in e && e.role === "user" && heardRecording(e.text) === "goforward")).toBe(
      true,
    );

    // The agent's job talked through the realtime socket only.
    const log = readFileSync(inject("stackLog"), "utf8").split("\n");
    const started = log.find((l) => l.includes(sessionId) && l.includes('"msg":"job_started"'));
    expect(started, "the job's start line").toMatch(/"mode":"live"/);
    expect(errors).toEqual([]);
  });
});
