// Where a conversation's mode changed (contract ModeMessage): a separator line in order with the captions, on the
// live captions log (web/src/captions.ts, on a real DOM in Debian's Chromium), on the transcript page /history/<id>
// (server-rendered, no script) and in the earlier conversation of /chat?resume=<id> (in the page's language).
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerMessage, StoredEvent, TranscriptResponse } from "../../contract/index.ts";
import { renderChat, renderHistory } from "../../web/pages/index.ts";
import { domPage, launch, type Browser } from "./support/browser.ts";
import { startPageServer, type PageServer } from "./support/page-server.ts";
import "./support/types.ts";

const t0 = Date.UTC(2026, 10, 21, 9, 30, 0);
const HISTORY_ID = "MoDeSeSsIoNhIsToRy012_";
const EVENTS: StoredEvent[] = [
  { role: "user", text: "Let's talk faster.", final: true, seq: 1, ts: t0 + 3000 },
  { type: "mode", mode: "live", reason: "visitor", seq: 2, ts: t0 + 5000 },
  { role: "agent", text: "Live mode is on.", final: true, seq: 3, ts: t0 + 6000 },
  { role: "agent", text: "What next?", final: true, seq: 4, ts: t0 + 7000 },
  { type: "mode", mode: "pipeline", reason: "live_limit", seq: 5, ts: t0 + 605_000 },
  { role: "agent", text: "Live mode has ended for today.", final: true, seq: 6, ts: t0 + 606_000 },
  { type: "mode", mode: "live", reason: "visitor", seq: 7, ts: t0 + 700_000 },
  { type: "mode", mode: "pipeline", reason: "visitor", seq: 8, ts: t0 + 701_000 },
];
const HISTORY: TranscriptResponse = {
  session_id: HISTORY_ID,
  room: "room-modes",
  mode: "pipeline",
  status: "ended",
  reason: "stopped",
  started_at: t0,
  ended_at: t0 + 720_000,
  events: EVENTS,
};

let browser: Browser;
beforeAll(async () => {
  browser = await launch({ microphone: false });
});
afterAll(() => browser?.close());

describe("the live captions log", () => {
  let page: Page;
  beforeAll(async () => {
    page = await domPage(browser.context, '<div id="log" role="log" aria-live="polite"></div>', true);
  });

  it("shows each mode change as a quiet separator in seq order; a replayed one adds nothing", async () => {
    const frames: ServerMessage[] = [
      ...EVENTS.slice(0, 4),
      // The visitor is speaking as live mode ends: the separator goes before their words still being spoken.
      { role: "user", text: "and then", final: false, seq: 5, ts: t0 + 604_000 },
      { ...EVENTS[4]!, seq: 6 },
    ];
    const shown = await page.evaluate((frames) => {
      const el = document.getElementById("log")!;
      const log = new web.CaptionLog(el);
      const applied = [...frames, frames[1]!].map((f) => log.apply(f));
      const items = [...el.children].map((c) => ({
        className: c.className,
        who: c.querySelector(".caption__who")?.textContent ?? null,
        text: c.querySelector(".caption__text")!.textContent,
        hidden: c.getAttribute("aria-hidden"),
      }));
      const separator = el.querySelector<HTMLElement>(".caption--mode")!;
      const style = getComputedStyle(separator);
      return {
        applied,
        items,
        fontSize: parseFloat(style.fontSize),
        background: getComputedStyle(separator.firstElementChild!).backgroundColor,
      };
    }, frames);
    expect(shown.applied).toEqual([true, true, true, true, true, true, false]);
    expect(shown.items).toEqual([
      { className: "caption caption--user", who: "You", text: "Let's talk faster.", hidden: null },
      { className: "caption caption--mode caption--mode-live", who: null, text: "Live mode on", hidden: null },
      // The agent's first words after the line are labelled again; the next are a continuation.
      { className: "caption caption--agent", who: "Agent", text: "Live mode is on.", hidden: null },
      { className: "caption caption--agent caption--cont", who: "Agent", text: "What next?", hidden: null },
      {
        className: "caption caption--mode caption--mode-pipeline",
        who: null,
        text: "Live mode off (daily live minutes used up)",
        hidden: null,
      },
      { className: "caption caption--user caption--interim", who: "You", text: "and then", hidden: "true" },
    ]);
    // Quiet: smaller than the captions, with no bubble.
    expect(shown.fontSize).toBeLessThan(14);
    expect(shown.background).toBe("rgba(0, 0, 0, 0)");
  });
});

describe("the transcript pages", () => {
  let server: PageServer;
  beforeAll(async () => {
    server = await startPageServer("ws://127.0.0.1:9", { [HISTORY_ID]: HISTORY });
  });
  afterAll(() => server?.close());

  it("/history/<id> shows the mode changes as separators in order, with their times, without a script", async () => {
    const p = await browser.context.newPage();
    try {
      await p.goto(`${server.origin}/history/${HISTORY_ID}`);
      const items = await p
        .locator(".history__list > li")
        .evaluateAll((lis) =>
          lis.map((li) => [
            li.className,
            li.querySelector(".caption__text")!.textContent,
            li.querySelector(".caption__time")!.textContent,
          ]),
        );
      expect(items).toEqual([
        ["caption caption--user", "Let's talk faster.", "0:03"],
        ["caption caption--mode caption--mode-live", "Live mode on", "0:05"],
        ["caption caption--agent", "Live mode is on.", "0:06"],
        ["caption caption--agent", "What next?", "0:07"],
        ["caption caption--mode caption--mode-pipeline", "Live mode off (daily live minutes used up)", "10:05"],
        ["caption caption--agent", "Live mode has ended for today.", "10:06"],
        ["caption caption--mode caption--mode-live", "Live mode on", "11:40"],
        ["caption caption--mode caption--mode-pipeline", "Live mode off", "11:41"],
      ]);
      expect(await p.locator("script").count()).toBe(0);
    } finally {
      await p.close();
    }
  });

  it("the Worker's markup (rendered in Node): each separator an item with its time", () => {
    const html = renderHistory(HISTORY);
    expect(html).toContain(
      `<li class="caption caption--mode caption--mode-live"><p class="caption__text">Live mode on</p><time class="caption__time" datetime="${new Date(t0 + 5000).toISOString()}">0:05</time></li>`,
    );
    expect(html.match(/caption--mode /g)).toHaveLength(4);
  });

  it("/chat?resume=<id> shows them in the earlier conversation, in the page's language", () => {
    const profile = { id: "asistente", name: "Asistente", planner: false, language: "es" };
    const spanish = renderChat({ profile, resume: HISTORY });
    const earlier = spanish.slice(spanish.indexOf('id="earlier"'), spanish.indexOf('id="captions-title"'));
    expect([...earlier.matchAll(/caption--mode-\w+"><p class="caption__text">([^<]*)</g)].map((m) => m[1])).toEqual([
      "Modo en vivo activado",
      "Modo en vivo desactivado (se acabaron los minutos en vivo del día)",
      "Modo en vivo activado",
      "Modo en vivo desactivado",
    ]);
    const english = renderChat({ resume: HISTORY });
    expect(english).toContain('<p class="caption__text">Live mode off (daily live minutes used up)</p>');
  });
});
