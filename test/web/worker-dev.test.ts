// The pages served by the real Worker (`wrangler dev`, real Durable Objects) in Debian's Chromium.
// With the dev LiveKit server (inside the test's network namespace): Start with a fake microphone
// reaches the connected state, captions arrive through the real SessionDO socket, Stop resets the
// page, and the history page shows the stored conversation. The agent is stood in for by signed
// ingest posts (test/support/ingest.ts): the agent has its own tests.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SIGNATURE_HEADER, signIngest } from "../../contract/index.ts";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { IngestClient } from "../support/ingest.ts";
import { mediaAddress } from "../support/netns.ts";
import { startWranglerDev, type WranglerDev } from "../support/wrangler.ts";
import { launch, screenshot, type Browser } from "./support/browser.ts";
import { openChat, problems, shown, waitForPhase } from "./support/chat-page.ts";

const address = mediaAddress();
/** Seconds the SessionDO waits for `agent_joined` before ending with `agent_unavailable`. */
const JOIN_TIMEOUT_S = 6;

let liveKit: DevLiveKit | undefined;
let worker: WranglerDev;
let browser: Browser;

beforeAll(async () => {
  if (address) liveKit = await startDevLiveKit({ port: 0, mediaAddress: address });
  worker = await startWranglerDev({
    LIVEKIT_URL: liveKit?.url ?? "ws://127.0.0.1:9",
    AGENT_JOIN_TIMEOUT_S: String(JOIN_TIMEOUT_S),
  });
  browser = await launch({ viewport: { width: 960, height: 900 } });
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await worker?.close();
  await liveKit?.close();
});

/** Clicks Start and returns the session id the Worker created. */
async function start(page: Page): Promise<string> {
  const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Start" }).click();
  const res = await created;
  expect(res.status()).toBe(201);
  return ((await res.json()) as { session_id: string }).session_id;
}

const SAID = [
  "Hi! I'm the site assistant. What can I do for you?",
  "What's the weather like in Lisbon today?",
  "Sunny and 22 degrees this afternoon, with a light breeze from the Atlantic.",
];

/** Posts agent events for `sessionId` as the agent would (signed ingest). */
function agentFor(sessionId: string): IngestClient {
  return new IngestClient({ origin: worker.origin, secret: worker.ingestSecret, sessionId });
}

async function captions(page: Page): Promise<string[]> {
  return page.locator("#captions .caption__text").allTextContents();
}

/** An action call as the agent posts it (signed like ingest); expects a 200 and returns the answer. */
async function signedAction(sessionId: string, callId: string, intent: string, args: Record<string, unknown>) {
  const body = JSON.stringify({ call_id: callId, intent, arguments: args });
  const res = await fetch(`${worker.origin}/session/${sessionId}/actions`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      [SIGNATURE_HEADER]: await signIngest(worker.ingestSecret, sessionId, body),
    },
    body,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; message: string };
}

describe("pages on wrangler dev", () => {
  it("serves /, /chat and /static with the CSP, and /chat runs under it", async () => {
    const home = await fetch(`${worker.origin}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain('href="/chat"');
    const chat = await fetch(`${worker.origin}/chat`);
    expect(chat.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect((await fetch(`${worker.origin}/static/chat.js`)).status).toBe(200);
    expect((await fetch(`${worker.origin}/static/chat.css`)).headers.get("content-type")).toMatch(/^text\/css/);
    const page = await openChat(browser.context, `${worker.origin}/chat`);
    expect(await shown(page)).toMatchObject({ phase: "idle", buttons: ["Start"] });
    expect(await problems(page)).toEqual([]);
    await screenshot(page, "chat-idle");
    await page.close();
  });

  it("an unknown conversation gets the 404 page", async () => {
    const res = await fetch(`${worker.origin}/history/AAAAAAAAAAAAAAAAAAAAAA`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("Page not found");
  });
});

describe.skipIf(!address)("a conversation on wrangler dev + dev LiveKit", () => {
  it("Start reaches the connected state, captions stream, Stop resets, history shows it", async () => {
    const page = await openChat(browser.context, `${worker.origin}/chat`);
    const sessionId = await start(page);
    await waitForPhase(page, "live", 30_000);
    expect((await shown(page)).buttons).toEqual(["Mute", "Stop"]);

    const agent = agentFor(sessionId);
    await agent.send({ type: "agent_joined" });
    await page.locator("#agent-state", { hasText: "Listening" }).waitFor();
    await agent.send(
      { role: "agent", event: "speech_started" },
      { role: "agent", text: "Hi! I'm the site assistant. What can I do for you?", final: true },
    );
    await agent.send({ role: "agent", event: "speech_ended" }, { role: "user", event: "speech_started" });
    await agent.send({ role: "user", text: "what's the weather", final: false });
    await page.locator(".caption--interim", { hasText: "what's the weather" }).waitFor();
    await agent.send(
      { role: "user", event: "speech_ended" },
      { role: "user", text: "What's the weather like in Lisbon today?", final: true },
    );
    await page.locator("#agent-state", { hasText: "Thinking" }).waitFor();
    await agent.send(
      { role: "agent", event: "speech_started" },
      {
        role: "agent",
        text: "Sunny and 22 degrees this afternoon, with a light breeze from the Atlantic.",
        final: true,
      },
    );
    await page.locator("#party-agent[data-speaking=true]").waitFor();
    await expect.poll(() => captions(page)).toEqual(SAID);
    expect(await page.locator(".caption--interim").count()).toBe(0);
    await screenshot(page, "chat-conversation");
    await page.setViewportSize({ width: 360, height: 760 });
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "chat-mobile-dark");
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 960, height: 900 });

    await page.getByRole("button", { name: "Mute" }).click();
    expect(await page.getAttribute("#mute", "aria-pressed")).toBe("true");
    expect(await page.locator("#user-state").textContent()).toBe("Muted");
    await page.getByRole("button", { name: "Mute" }).click();
    expect(await page.getAttribute("#mute", "aria-pressed")).toBe("false");

    const stopped = page.waitForResponse(
      (r) => r.url().endsWith(`/session/${sessionId}`) && r.request().method() === "DELETE",
    );
    await page.getByRole("button", { name: "Stop" }).click();
    expect((await stopped).status()).toBe(200);
    await waitForPhase(page, "idle");
    expect(await shown(page)).toMatchObject({ alert: null, buttons: ["Start"] });
    expect(await problems(page)).toEqual([]);

    await page.getByRole("link", { name: "Saved transcript" }).click();
    await page.waitForURL(`**/history/${sessionId}`);
    expect(await page.locator(".history__list .caption__text").allTextContents()).toEqual(SAID);
    await page.close();
  });

  it("the planner: Start names the profile, an action shows as a card, the plan panel follows, history keeps it", async () => {
    const page = await openChat(browser.context, `${worker.origin}/chat?agent=planner`);
    // The panel loaded from the real GET /planner (the visitor has no plan yet, or one from an earlier test run).
    await expect.poll(() => page.locator("#plan-note").textContent()).not.toBe("Loading your plan…");
    expect(await page.locator("#plan-note").textContent()).not.toContain("couldn't be loaded");
    const created = page.waitForRequest((r) => r.url().endsWith("/session") && r.method() === "POST");
    const sessionId = await start(page);
    expect((await created).postDataJSON()).toMatchObject({ profile: "planner", timezone: expect.any(String) });
    await waitForPhase(page, "live", 30_000);
    const agent = agentFor(sessionId);
    await agent.send(
      { type: "agent_joined" },
      { role: "user", text: "Remind me to call the dentist the day after tomorrow at nine", final: true },
    );

    // The browser is fresh (a new visitor), so the plan holds only this task.
    const title = "Call the dentist";
    const due = `${new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)}T09:00:00Z`;
    expect(await signedAction(sessionId, "call_1", "NEW_TASK", { title, due })).toMatchObject({
      status: "ok",
      message: `Task added: ${title}`,
    });

    const card = page.locator("#captions .action--ok");
    await card.waitFor();
    expect(await card.locator(".caption__who").textContent()).toBe("Done");
    expect(await card.locator(".caption__text").textContent()).toMatch(
      new RegExp(`^Task added: ${title} · \\w{3} \\d\\d:\\d\\d( [AP]M)?$`),
    );
    expect(await card.locator("time").getAttribute("datetime")).toBe(due);
    // The plan panel re-loads GET /planner after the ok frame.
    await expect.poll(() => page.locator("#plan-tasks .plan__title").allTextContents()).toContain(title);
    await agent.send(
      { role: "agent", event: "speech_started" },
      { role: "agent", text: "Done: it's on your plan.", final: true },
      { role: "agent", event: "speech_ended" },
    );
    // In seq order: the visitor's words, the card, the agent's answer.
    await expect
      .poll(() => page.locator("#captions > *").evaluateAll((items) => items.map((i) => i.className)))
      .toEqual(["caption caption--user", "caption action action--ok", "caption caption--agent"]);
    expect(await problems(page)).toEqual([]);
    await page.setViewportSize({ width: 960, height: 1180 }); // the plan panel in the picture too
    await screenshot(page, "chat-planner");
    await page.setViewportSize({ width: 960, height: 900 });

    await page.getByRole("button", { name: "Stop" }).click();
    await waitForPhase(page, "idle");
    await page.getByRole("link", { name: "Saved transcript" }).click();
    await page.waitForURL(`**/history/${sessionId}`);
    expect(await page.locator(".history__list .action--ok .caption__text").textContent()).toContain(
      `Task added: ${title} · `,
    );
    await page.close();
  });

  it("the tutor: the name step, then the lesson panel follows the tutor's actions on the real D1 curriculum", async () => {
    const page = await openChat(browser.context, `${worker.origin}/chat?agent=tutor`);
    // A fresh visitor: the name step comes first, and Start waits behind it.
    expect(await page.locator("#start").isVisible()).toBe(false);
    await page.getByLabel("First name").fill("Ada");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.waitForURL("**/chat?agent=tutor");
    expect(await page.locator("#visitor-greeting").textContent()).toContain("Hi Ada");
    expect(await page.locator("#tutor-topic").textContent()).toBe("No topic yet: ask the tutor to teach you one.");
    const sessionId = await start(page);
    await waitForPhase(page, "live", 30_000);
    const agent = agentFor(sessionId);
    await agent.send(
      { type: "agent_joined" },
      { role: "agent", text: "Hi Ada! I'm your tutor. Which topic would you like?", final: true },
      { role: "user", text: "Teach me fractions", final: true },
    );
    const act = (callId: string, intent: string, args: Record<string, unknown>) =>
      signedAction(sessionId, callId, intent, args);
    expect(await act("call_1", "START_TOPIC", { topic: "fractions" })).toMatchObject({
      status: "ok",
      message: "Fractions, part 1 of 4: What a fraction is.",
    });
    await page.locator("#tutor-topic", { hasText: "Fractions" }).waitFor();
    await agent.send(
      {
        role: "agent",
        text: "A fraction describes part of a whole. If a pizza is cut into four equal slices and you eat three, you ate three quarters. A chocolate bar has 6 equal pieces and you eat 1: what fraction did you eat?",
        final: true,
      },
      { role: "user", text: "One sixth, and 6 is the denominator", final: true },
    );
    await act("call_2", "CHECK_UNDERSTANDING", { understood: true, note: "One sixth, named the denominator" });
    await act("call_3", "NEXT_SUBTOPIC", {});
    await expect.poll(() => page.locator("#tutor-progress").textContent()).toBe("Part 2 of 4 · 1 understood");
    expect(await page.locator("#tutor-parts li").allTextContents()).toEqual([
      "What a fraction is (understood)",
      "Equivalent fractions",
      "Adding and subtracting fractions",
      "Multiplying and dividing fractions",
    ]);
    expect(await page.locator('#tutor-parts [aria-current="step"]').textContent()).toBe("Equivalent fractions");
    await agent.send({
      role: "agent",
      text: "Right! Next, equivalent fractions look different but stand for the same amount.",
      final: true,
    });
    expect(await problems(page)).toEqual([]);
    await page.setViewportSize({ width: 960, height: 1280 }); // the lesson panel in the picture too
    await screenshot(page, "chat-tutor");
    await page.setViewportSize({ width: 960, height: 900 });

    // After a reload the panel starts where the visitor is.
    await page.getByRole("button", { name: "Stop" }).click();
    await waitForPhase(page, "idle");
    await page.reload();
    expect(await page.locator('#tutor-parts [aria-current="step"]').textContent()).toBe("Equivalent fractions");
    await page.close();
  });

  it("a dropped transcript socket reconnects with ?after= and the SessionDO's replay loses and repeats nothing", async () => {
    const page = await openChat(browser.context, `${worker.origin}/chat`);
    const urls: string[] = [];
    let drop: () => Promise<void> = async () => undefined;
    // Every transcript socket goes through Playwright to the real Worker, so the test can cut one.
    await page.routeWebSocket(/\/ws\/transcript\//, (ws) => {
      urls.push(ws.url());
      const server = ws.connectToServer();
      drop = async () => {
        await ws.close({ code: 4000, reason: "test: network drop" });
        await server.close();
      };
    });
    const sessionId = await start(page);
    await waitForPhase(page, "live", 30_000);
    const agent = agentFor(sessionId);
    await agent.send(
      { type: "agent_joined" },
      { role: "agent", text: "one", final: true },
      { role: "user", text: "two", final: true },
    );
    await expect.poll(() => captions(page)).toEqual(["one", "two"]);
    const lastSeq = Number(await page.locator("#captions .caption").last().getAttribute("data-seq"));

    await drop();
    // Said while the page is disconnected: stored by the SessionDO, replayed on reconnect.
    await agent.send({ role: "agent", text: "three", final: true }, { role: "user", text: "four", final: true });
    await expect.poll(() => captions(page), { timeout: 15_000 }).toEqual(["one", "two", "three", "four"]);
    await agent.send({ role: "agent", text: "five", final: true });
    await expect.poll(() => captions(page)).toEqual(["one", "two", "three", "four", "five"]);
    expect(urls).toHaveLength(2);
    expect(new URL(urls[1]!).searchParams.get("after")).toBe(String(lastSeq));
    expect(await shown(page)).toMatchObject({ phase: "live", alert: null });
    await page.getByRole("button", { name: "Stop" }).click();
    await waitForPhase(page, "idle");
    await page.close();
  });

  it("closing the tab ends the session (pagehide sends DELETE with keepalive)", async () => {
    const page = await openChat(browser.context, `${worker.origin}/chat`);
    const sessionId = await start(page);
    await waitForPhase(page, "live", 30_000);
    await agentFor(sessionId).send({ type: "agent_joined" });
    const request = page.request;
    await page.close({ runBeforeUnload: true });
    // Neither the client grace period (30 s) nor the agent lease (20 s) has passed, and the agent has
    // joined: only the visitor's DELETE ends it now, with reason "stopped".
    const read = async () =>
      (await (await request.get(`${worker.origin}/transcripts/${sessionId}`)).json()) as {
        status: string;
        reason?: string;
      };
    await expect.poll(async () => (await read()).status, { timeout: 8_000 }).toBe("ended");
    expect((await read()).reason).toBe("stopped");
  });

  it("no agent joins: 'The agent did not join in time'", async () => {
    const page = await openChat(browser.context, `${worker.origin}/chat`);
    await start(page);
    await waitForPhase(page, "live", 30_000);
    await waitForPhase(page, "error", (JOIN_TIMEOUT_S + 15) * 1000);
    expect((await shown(page)).alert).toContain("The agent did not join in time");
    await page.close();
  });
});
