/**
 * E2E: a visitor who types instead of speaking gets things done with the planner profile, through the whole stack
 * (`npm run dev` with stand-ins): real Chromium with a silent microphone, the page's message box, the Worker's
 * `POST /session/{id}/messages`, the `SessionDO`, LiveKit `SendData` from the server (dev LiveKit), the real agent
 * with the planner profile and its tools, the actions route and the planner's Durable Object storage. The OpenAI APIs
 * are the local stand-in (its LLM picks a tool by the intents' example utterances), the one fake, because the real
 * ones are paid and unreachable from CI.
 */
import { afterEach, describe, expect, inject, it } from "vitest";
import { type PlannerResponse, TranscriptResponse } from "../../contract/index.ts";
import { silentWav } from "./audio.ts";
import { launchWithMicrophone, observed, type MicBrowser } from "./browser.ts";
import { waitFor } from "../support/wait.ts";
import { poll } from "./support.ts";
import type { Page } from "playwright-core";

const ADD = "add a task to call the dentist tomorrow at 9";
const MOVE = "move the dentist task to Friday at 10";

/** Types `text` in the message box and sends it with Enter; returns the `POST …/messages` answer's status. */
async function type(page: Page, text: string): Promise<number> {
  const box = page.getByLabel("Type a message");
  await box.fill(text);
  const sent = page.waitForResponse((r) => r.url().endsWith("/messages") && r.request().method() === "POST");
  await box.press("Enter");
  const res = await sent;
  expect((res.request().postDataJSON() as { text: string }).text).toBe(text);
  return res.status();
}

/** The visitor's plan as the page's own `GET /planner` returns it (the page's cookie and origin). */
function planner(page: Page): Promise<PlannerResponse> {
  return page.evaluate(async () => (await (await fetch("/planner")).json()) as PlannerResponse);
}

/** A due time's local weekday (0 = Sunday), date and hour in the page's time zone (the visitor's). */
function local(page: Page, iso: string) {
  return page.evaluate((s) => {
    const d = new Date(s);
    return { weekday: d.getDay(), date: d.toDateString(), hour: d.getHours(), minute: d.getMinutes() };
  }, iso);
}

describe.skipIf(!process.env.NETNS_ADDR)("typing to the planner", () => {
  let b: MicBrowser | undefined;
  afterEach(async () => b?.close());

  it("adds a task from a typed request, shows its card and the plan, stores it, and moves it", async () => {
    b = await launchWithMicrophone(silentWav(inject("stackDir")));
    const { page } = b;
    await page.goto(`${inject("workerUrl")}/chat?agent=planner`);
    const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
    await page.getByRole("button", { name: "Start" }).click();
    const res = await created;
    expect(res.status()).toBe(201);
    expect((res.request().postDataJSON() as { profile?: string }).profile).toBe("planner");
    const { session_id: sessionId } = (await res.json()) as { session_id: string };

    // The box opens once the agent is in the conversation.
    const box = page.getByLabel("Type a message");
    await expect.poll(() => box.isEnabled(), { timeout: 60_000 }).toBe(true);
    const typedAt = Date.now();
    expect(await type(page, ADD)).toBe(200);
    await expect.poll(() => box.inputValue()).toBe("");

    // The typed turn is a caption; the action is a card; the panel lists the task.
    await waitFor(
      "the typed caption",
      async () => (await observed(page)).captions.find((c) => c.role === "user" && c.final && c.text === ADD),
      poll(),
    );
    const card = page.locator(".action--ok", { hasText: "Task added: Call the dentist" });
    await card.waitFor({ state: "visible", timeout: 60_000 });
    await page.locator("#plan-tasks", { hasText: "Call the dentist" }).waitFor({ timeout: 15_000 });
    await waitFor(
      "the agent's answer caption",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && c.t > typedAt),
      poll(),
    );
    const added = (await planner(page)).tasks.find((t) => /dentist/i.test(t.title));
    expect(added, "the planner stored the task").toBeDefined();
    const tomorrow = await page.evaluate(() => new Date(Date.now() + 86_400_000).toDateString());
    expect(await local(page, added!.due!)).toEqual({ weekday: expect.any(Number), date: tomorrow, hour: 9, minute: 0 });

    // Rescheduling asks first (the intent has `confirm: true`), then moves the task.
    expect(await type(page, MOVE)).toBe(200);
    await waitFor(
      "the agent's read-back question",
      async () => (await observed(page)).captions.find((c) => c.role === "agent" && c.final && /^Shall I/.test(c.text)),
      poll(),
    );
    expect(await type(page, "yes")).toBe(200);
    await page.locator(".action--ok", { hasText: "Task moved: Call the dentist" }).waitFor({ timeout: 60_000 });
    const moved = await waitFor(
      "the task to move",
      async () => {
        const task = (await planner(page)).tasks.find((t) => t.id === added!.id);
        return task?.due && task.due !== added!.due ? task : undefined;
      },
      poll(15_000),
    );
    expect(await local(page, moved.due!)).toMatchObject({ weekday: 5, hour: 10, minute: 0 });

    // The conversation holds the typed turns and both actions.
    const stored = TranscriptResponse.parse(
      await page.evaluate(async (id) => (await fetch(`/transcripts/${id}`)).json(), sessionId),
    );
    const typed = stored.events
      .filter((e) => "text" in e && e.role === "user" && e.typed)
      .map((e) => "text" in e && e.text);
    expect(typed).toEqual([ADD, MOVE, "yes"]);
    const actions = stored.events.flatMap((e) => ("call_id" in e ? [`${e.intent}:${e.status}`] : []));
    expect(actions).toEqual(["NEW_TASK:ok", "RESCHEDULE_TASK:ok"]);

    await page.getByRole("button", { name: "Stop" }).click();
    await expect.poll(() => box.isDisabled(), { timeout: 15_000 }).toBe(true);
  });
});
