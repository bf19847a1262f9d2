/**
 * E2E (#14): conversations that last, through the whole stack (`npm run dev` with stand-ins) and real Chromium.
 * A visitor talks and stops; after a reload the page still offers the conversation, and `/history` lists it with
 * its summary (made by the edge with the local OpenAI stand-in, deterministic); the visitor continues it from
 * another browser with the same cookie (a different recording as the microphone), sees the earlier captions, hears
 * the resume line, and the agent's reply shows it has the earlier turn in its context; then the visitor deletes the
 * first conversation, which is gone from the list and from `/transcripts`. OpenAI is the local stand-in, the one
 * fake (paid, unreachable from CI).
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { heardRecording, microphoneWav } from "./audio.ts";
import { launchWithMicrophone, observed, type MicBrowser } from "./browser.ts";
import { waitFor } from "../support/wait.ts";
import { poll } from "./support.ts";
import type { Page } from "playwright-core";

const RESUME_GREETING = (parse(readFileSync("profiles/assistant/profile.yaml", "utf8")) as { resume_greeting: string })
  .resume_greeting;

/** Clicks Start and returns the new session's id and `POST /session` body. */
async function start(page: Page): Promise<{ sessionId: string; body: Record<string, unknown> }> {
  const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Start" }).click();
  const res = await created;
  expect(res.status(), "POST /session creates the session").toBe(201);
  const { session_id: sessionId } = (await res.json()) as { session_id: string };
  return { sessionId, body: res.request().postDataJSON() as Record<string, unknown> };
}

/**
 * Waits for the visitor's final caption (the recording) and the agent's reply after it.
 * @returns both captions' texts: what the stand-in STT heard, and the reply
 */
async function exchange(
  page: Page,
  recording: "goforward" | "something",
  after: number,
): Promise<{ heard: string; reply: string }> {
  const user = await waitFor(
    "the visitor's final caption",
    async () => (await observed(page)).captions.find((c) => c.role === "user" && c.final && c.t > after),
    poll(90_000),
  );
  expect(heardRecording(user.text), `the visitor's words (heard "${user.text}")`).toBe(recording);
  const reply = await waitFor(
    "the agent's reply",
    async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.t > user.t),
    poll(),
  );
  return { heard: user.text, reply: reply.text };
}

/** The first `n` words of `text`, as the stand-in quotes them. */
const firstWords = (text: string, n: number) => text.trim().split(/\s+/).slice(0, n).join(" ");

async function stop(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Stop" }).click();
  await page.getByRole("button", { name: "Start" }).waitFor({ state: "visible", timeout: 15_000 });
}

describe.skipIf(!process.env.NETNS_ADDR)("conversations that last", () => {
  const browsers: MicBrowser[] = [];
  afterEach(async () => {
    await Promise.all(browsers.splice(0).map((b) => b.close()));
  });

  it("survives a reload, is listed with its summary, continues with its context, and can be deleted", async () => {
    const workerUrl = inject("workerUrl");
    const dir = inject("stackDir");
    const first = await launchWithMicrophone(microphoneWav(dir, "goforward", 10));
    browsers.push(first);
    await first.page.goto(`${workerUrl}/chat`);
    const startedAt = Date.now();
    const { sessionId: earlier } = await start(first.page);
    // What the stand-in STT heard (it may mishear a word under load): the later checks look for these words.
    const { heard } = await exchange(first.page, "goforward", startedAt);
    await stop(first.page);

    // After a reload the page still offers the conversation.
    await first.page.reload();
    await first.page.locator(`#last-conversation a[href="/history/${earlier}"]`).first().waitFor({ timeout: 10_000 });

    // The history lists it; its summary arrives once the session has ended.
    const entry = (page: Page, id: string) => page.locator(`li.conversation[data-session-id="${id}"]`);
    const summary = await waitFor(
      "the summary in /history",
      async () => {
        await first.page.goto(`${workerUrl}/history`);
        const summary = entry(first.page, earlier).locator(".conversation__summary");
        return (await summary.count()) > 0 ? (await summary.textContent())?.trim() || undefined : undefined;
      },
      poll(60_000),
    ).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${await first.page.content()}`);
    });
    // The stand-in's summary quotes the visitor's first line (dev/openai/summary.ts).
    expect(summary).toContain(firstWords(heard, 4));

    // Continue from another browser with the same visitor cookie, whose microphone says something else.
    const second = await launchWithMicrophone(microphoneWav(dir, "something", 12));
    browsers.push(second);
    await second.context.addCookies(await first.context.cookies());
    await first.close();
    const page = second.page;
    await page.goto(`${workerUrl}/history`);
    await entry(page, earlier)
      .getByRole("link", { name: /^Continue/ })
      .click();
    await page.waitForURL(`**/chat?resume=${earlier}`);
    await expect.poll(() => page.locator("#earlier").textContent()).toContain(heard);
    const resumedAt = Date.now();
    const { sessionId: later, body } = await start(page);
    expect(body.resume_from).toBe(earlier);
    const greeting = await waitFor(
      "the resume line",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.t > resumedAt),
      poll(),
    );
    expect(greeting.text).toBe(RESUME_GREETING);
    const { reply } = await exchange(page, "something", greeting.t);
    // The stand-in quotes the first user turn in the context it got: the earlier conversation reached the agent.
    expect(reply).toMatch(/Before that, you said \d+ other things?, first "/);
    expect(reply).toContain(`first "${firstWords(heard, 8)}"`);
    await stop(page);

    // The list has both, the new one linked to the earlier; deleting the earlier one removes it everywhere.
    await page.goto(`${workerUrl}/history`);
    await expect.poll(() => entry(page, later).textContent()).toMatch(/continues/);
    await entry(page, earlier)
      .getByRole("button", { name: /^Delete/ })
      .click();
    await page.waitForURL(`${workerUrl}/history`);
    expect(await entry(page, earlier).count()).toBe(0);
    expect(await entry(page, later).count()).toBe(1);
    const gone = await page.evaluate(async (id) => (await fetch(`/transcripts/${id}`)).status, earlier);
    expect(gone).toBe(404);
  });
});
