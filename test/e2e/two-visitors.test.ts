/**
 * E2E 2: two visitors at once, in two browsers with different recordings: each sees only its own words
 * and its own agent. (OpenAI is replaced by the local stand-in provider; everything else is real.)
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { heardRecording, microphoneWav, RECORDINGS } from "./audio.ts";
import { launchWithMicrophone, observed, type MicBrowser } from "./browser.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { poll, words } from "./support.ts";

describe.skipIf(!process.env.NETNS_ADDR)("two visitors at once", () => {
  const browsers: MicBrowser[] = [];
  afterEach(async () => {
    await Promise.all(browsers.splice(0).map((b) => b.close()));
  });

  it("each sees only its own words and its own agent", async () => {
    const workerUrl = inject("workerUrl");
    const dir = inject("stackDir");
    const names = ["goforward", "something"] as const;
    // Both sessions run at once. The second visitor presses Start, and so speaks, 6 s after the first: on the CI
    // host's two cores two job starts (room joins, Silero, the job-process pool's refill) and two stand-in speech
    // decodes at the same moment put the VAD seconds behind realtime (a run that timed out: the second join took 6.5 s).
    for (const name of names) browsers.push(await launchWithMicrophone(microphoneWav(dir, name, 10)));
    const pages = browsers.map((b) => b.page);
    await Promise.all(pages.map((p) => p.goto(`${workerUrl}/chat`)));
    const sessions = await Promise.all(
      pages.map(async (p, i) => {
        await sleep(6000 * i);
        const created = p.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
        await p.getByRole("button", { name: "Start" }).click();
        const res = await created;
        expect(res.status()).toBe(201);
        return ((await res.json()) as { session_id: string }).session_id;
      }),
    );
    expect(sessions[0]).not.toBe(sessions[1]);

    const finals = await Promise.all(
      pages.map((p, i) =>
        waitFor(
          `visitor ${i + 1}'s final caption`,
          async () => (await observed(p)).captions.find((c) => c.role === "user" && c.final),
          poll(120_000),
        ),
      ),
    );
    // Each final is its own visitor's sentence (as the stand-in STT heard it: see heardRecording).
    names.forEach((name, i) => expect(heardRecording(finals[i]!.text), `heard "${finals[i]!.text}"`).toBe(name));

    // Each agent answered its own visitor (the stand-in LLM echoes what it heard).
    for (const [i, p] of pages.entries()) {
      await waitFor(
        `visitor ${i + 1}'s agent reply`,
        async () => (await observed(p)).captions.find((c) => c.role === "agent" && c.final && c.t > finals[i]!.t),
        poll(),
      );
    }
    for (const [i, p] of pages.entries()) {
      const captions = (await observed(p)).captions;
      const heard = captions.map((c) => heardRecording(c.text));
      const all = captions.map((c) => words(c.text)).join(" | ");
      expect(heard, `visitor ${i + 1} must not see the other's words: ${all}`).not.toContain(names[1 - i]);
      expect(all, "nor the other's sentence in any caption").not.toContain(RECORDINGS[names[1 - i]!].words);
      expect(heard).toContain(names[i]);
    }
    await Promise.all(pages.map((p) => p.getByRole("button", { name: "Stop" }).click()));
  });
});
