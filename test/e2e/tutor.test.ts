/**
 * E2E: the tutor through the whole stack (`npm run dev` with stand-ins): real Chromium with a silent microphone on
 * `/chat?agent=tutor`, the page's name step, the Worker and its D1 curriculum (migrated as `npm run dev` migrates
 * it), the real agent with the tutor profile and its tools, the actions route, the transcript socket and the lesson
 * panel, then `/history` and Continue. The OpenAI APIs are the local stand-in, the one fake (paid, unreachable from
 * CI): its LLM picks a tool by the intents' example utterances, and after a tool result it teaches the first
 * sentences of the `content` it was given, so the agent's words show that the stored content reached the LLM.
 */
import type { Page } from "playwright-core";
import { afterEach, describe, expect, inject, it } from "vitest";
import { TranscriptResponse, type TutorResponse } from "../../contract/index.ts";
import { waitFor } from "../support/wait.ts";
import { silentWav } from "./audio.ts";
import { launchWithMicrophone, type MicBrowser, observed } from "./browser.ts";
import { poll } from "./support.ts";
import { readFileSync } from "node:fs";

/** A name no other test uses, so that finding it in the stack's log would be this test's leak. */
const NAME = "Rosalind";
/** The first sentences of the seed's first two Fractions subtopics (migrations/0002_seed_curriculum.sql). */
const FIRST_PART = "A fraction describes part of a whole.";
const SECOND_PART = "Equivalent fractions";
const SECOND_CONTENT = "Equivalent fractions look different but stand for the same amount.";

/** Types `text` in the message box and sends it with Enter; expects the `POST …/messages` answer's 200. */
async function type(page: Page, text: string): Promise<void> {
  const box = page.getByLabel("Type a message");
  await box.fill(text);
  const sent = page.waitForResponse((r) => r.url().endsWith("/messages") && r.request().method() === "POST");
  await box.press("Enter");
  expect((await sent).status()).toBe(200);
}

/** The agent's first final caption after `after` (epoch ms) that matches `test`. */
function agentSays(page: Page, after: number, what: string, test: (text: string) => boolean) {
  return waitFor(
    what,
    async () =>
      (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.t > after && test(c.text)),
    poll(60_000),
  );
}

/** Clicks Start and waits for `POST /session`'s 201; returns its session id and request body. */
async function start(page: Page): Promise<{ sessionId: string; body: Record<string, unknown> }> {
  const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Start" }).click();
  const res = await created;
  expect(res.status()).toBe(201);
  const { session_id: sessionId } = (await res.json()) as { session_id: string };
  return { sessionId, body: res.request().postDataJSON() as Record<string, unknown> };
}

/** Waits until the message box opens (the agent is in the conversation). */
async function ready(page: Page): Promise<void> {
  await expect.poll(() => page.getByLabel("Type a message").isEnabled(), { timeout: 60_000 }).toBe(true);
}

function tutor(page: Page): Promise<TutorResponse> {
  return page.evaluate(async () => (await (await fetch("/tutor")).json()) as TutorResponse);
}

describe.skipIf(!process.env.NETNS_ADDR)("the tutor", () => {
  let b: MicBrowser | undefined;
  afterEach(async () => b?.close());

  it("asks the name, teaches fractions from the database, records a check, and continues there from history", async () => {
    const workerUrl = inject("workerUrl");
    b = await launchWithMicrophone(silentWav(inject("stackDir")));
    const { page } = b;

    // 1. The name step comes before Start; the name is remembered.
    await page.goto(`${workerUrl}/chat?agent=tutor`);
    await page.getByLabel("First name").fill(NAME);
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL(`**/chat?agent=tutor`);
    await expect.poll(() => page.locator("body").textContent()).toContain(`Hi ${NAME}`);

    const { sessionId, body } = await start(page);
    expect(body.profile).toBe("tutor");
    const greeting = await agentSays(page, 0, "the greeting", (t) => t.startsWith(`Hi ${NAME}!`));
    await ready(page);

    // 2. "teach me fractions": the tutor starts the topic and teaches from its first subtopic's stored content.
    await type(page, "teach me fractions");
    const taught = await agentSays(page, greeting.t, "the first lesson", (t) => t.includes(FIRST_PART));
    expect(taught.text).toMatch(/Here is a question for you: .+\?/);
    await page.locator(".action--ok", { hasText: "Fractions, part 1 of 4" }).waitFor({ timeout: 15_000 });
    await page.locator("#tutor-topic", { hasText: "Fractions" }).waitFor({ timeout: 15_000 });
    await page.locator('#tutor-parts [aria-current="step"]', { hasText: "What a fraction is" }).waitFor();

    // 3. The visitor's answer is checked and stored.
    await type(page, "I understand, the bottom number is the denominator");
    await page.locator(".action--ok", { hasText: "Noted: understood" }).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator("#tutor-progress").textContent()).toContain("1 understood");
    const checked = (await tutor(page)).place!;
    expect(checked.subtopics[0]).toMatchObject({ title: "What a fraction is", status: "understood" });

    // On to the second part.
    const before = Date.now();
    await type(page, "next please");
    await agentSays(page, before, "the second lesson", (t) => t.includes(SECOND_CONTENT));
    await page.locator('#tutor-parts [aria-current="step"]', { hasText: SECOND_PART }).waitFor({ timeout: 15_000 });
    expect((await tutor(page)).place).toMatchObject({ topic: "Fractions", subtopic: { position: 2 } });

    // 4. Stop.
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("button", { name: "Start" }).waitFor({ state: "visible", timeout: 15_000 });
    const stored = TranscriptResponse.parse(
      await page.evaluate(async (id) => (await fetch(`/transcripts/${id}`)).json(), sessionId),
    );
    const actions = stored.events.flatMap((e) => ("call_id" in e ? [`${e.intent}:${e.status}`] : []));
    expect(actions).toEqual(["START_TOPIC:ok", "CHECK_UNDERSTANDING:ok", "NEXT_SUBTOPIC:ok"]);

    // 5. Continue from history: greeted by name, at the second part, and taught it.
    await page.goto(`${workerUrl}/history`);
    const entry = page.locator(`li.conversation[data-session-id="${sessionId}"]`);
    await expect.poll(() => entry.textContent()).toContain(NAME);
    await entry.getByRole("link", { name: /^Continue/ }).click();
    await page.waitForURL(`**/chat?resume=${sessionId}`);
    await page.locator('#tutor-parts [aria-current="step"]', { hasText: SECOND_PART }).waitFor({ timeout: 15_000 });
    const resumedAt = Date.now();
    const resumed = await start(page);
    expect(resumed.body.resume_from).toBe(sessionId);
    const welcome = await agentSays(page, resumedAt, "the resume line", () => true);
    expect(welcome.text).toBe(`Hi ${NAME}, ready to continue with Fractions?`);
    await ready(page);
    await type(page, "yes, let's continue");
    await agentSays(page, welcome.t, "the second lesson again", (t) => t.includes(SECOND_CONTENT));
    await page.getByRole("button", { name: "Stop" }).click();

    // The name is never logged, by any component.
    expect(readFileSync(inject("stackLog"), "utf8")).not.toContain(NAME);
  });
});
