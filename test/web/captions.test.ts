// The caption list on a real DOM (Debian's Chromium): interim replaced by final, agent finals,
// replay de-duplicated by seq, and following the newest caption.
import fc from "fast-check";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerMessage } from "../../contract/index.ts";
import { domPage, launch, type Browser } from "./support/browser.ts";
import "./support/types.ts";

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await launch({ microphone: false });
  page = await domPage(browser.context, '<div id="log" role="log"></div>');
});
afterAll(() => browser?.close());

interface Shown {
  role: string;
  text: string;
  interim: boolean;
  hidden: boolean;
}

/** Applies `messages` to a fresh CaptionLog and returns what the log shows, top to bottom. */
function show(
  messages: ServerMessage[],
  replays: ServerMessage[][] = [],
): Promise<{ shown: Shown[]; applied: boolean[] }> {
  return page.evaluate(
    ([messages, replays]) => {
      const el = document.getElementById("log")!;
      el.replaceChildren();
      const log = new web.CaptionLog(el);
      const applied = messages.map((m) => log.apply(m));
      for (const replay of replays) for (const m of replay) log.apply(m);
      const shown = [...el.children].map((c) => ({
        role: c.classList.contains("caption--user") ? "user" : "agent",
        text: c.querySelector(".caption__text")!.textContent!,
        interim: c.classList.contains("caption--interim"),
        hidden: c.getAttribute("aria-hidden") === "true",
      }));
      return { shown, applied };
    },
    [messages, replays] as const,
  );
}

const t0 = 1_700_000_000_000;
const interim = (seq: number, text: string): ServerMessage => ({ role: "user", text, final: false, seq, ts: t0 + seq });
const final = (seq: number, role: "user" | "agent", text: string): ServerMessage => ({
  role,
  text,
  final: true,
  seq,
  ts: t0 + seq,
});
const speech = (seq: number, role: "user" | "agent", event: "speech_started" | "speech_ended"): ServerMessage => ({
  role,
  event,
  seq,
  ts: t0 + seq,
});

describe("CaptionLog", () => {
  it("shows the user's interim in place, updates it, and replaces it with the final", async () => {
    const { shown } = await show([
      speech(1, "user", "speech_started"),
      interim(2, "go for"),
      interim(3, "go forward ten"),
    ]);
    expect(shown).toEqual([{ role: "user", text: "go forward ten", interim: true, hidden: true }]);

    const done = await show([
      interim(1, "go for"),
      interim(2, "go forward ten"),
      final(3, "user", "go forward ten meters"),
    ]);
    expect(done.shown).toEqual([{ role: "user", text: "go forward ten meters", interim: false, hidden: false }]);
  });

  it("appends the agent's finals after the user's, in order", async () => {
    const { shown } = await show([
      interim(1, "hello"),
      final(2, "user", "hello there"),
      speech(3, "agent", "speech_started"),
      final(4, "agent", "Hi! How can I help?"),
      final(5, "agent", "Ask me anything."),
    ]);
    expect(shown.map((s) => [s.role, s.text])).toEqual([
      ["user", "hello there"],
      ["agent", "Hi! How can I help?"],
      ["agent", "Ask me anything."],
    ]);
  });

  it("keeps the user's words being spoken last when an agent final arrives meanwhile (barge-in)", async () => {
    const { shown } = await show([
      final(1, "agent", "Let me expl"),
      interim(2, "wait"),
      final(3, "agent", "Sure."),
      final(4, "user", "wait a moment"),
    ]);
    expect(shown.map((s) => s.text)).toEqual(["Let me expl", "Sure.", "wait a moment"]);
  });

  it("shows a typed turn like a spoken one, marked typed, without replacing the words being spoken", async () => {
    const typed = (seq: number, text: string): ServerMessage => ({ ...final(seq, "user", text), typed: true });
    const { shown } = await show([
      final(1, "agent", "Hello!"),
      interim(2, "so I"),
      typed(3, "book a table for two"),
      final(4, "user", "so I was thinking"),
      typed(5, "at eight"),
    ]);
    expect(shown.map((s) => [s.role, s.text, s.interim])).toEqual([
      ["agent", "Hello!", false],
      ["user", "book a table for two", false],
      ["user", "so I was thinking", false],
      ["user", "at eight", false],
    ]);
    const marked = await page.evaluate(() =>
      [...document.getElementById("log")!.children].map((c) => c.classList.contains("caption--typed")),
    );
    expect(marked).toEqual([false, true, false, true]);
  });

  it("drops an interim whose final is empty, and ignores empty interims", async () => {
    const { shown } = await show([interim(1, "uh"), final(2, "user", "  "), interim(3, "   ")]);
    expect(shown).toEqual([]);
  });

  it("ignores frames whose seq was already applied (a replay after reconnecting)", async () => {
    const messages = [interim(1, "go"), final(2, "user", "go forward"), final(3, "agent", "Going.")];
    const { shown, applied } = await show(messages, [messages.slice(1)]);
    expect(applied).toEqual([true, true, true]);
    expect(shown.map((s) => s.text)).toEqual(["go forward", "Going."]);
  });

  it("shows the same captions however much of the stream is replayed (property)", async () => {
    const event = fc.oneof(
      fc.record({ kind: fc.constant("interim" as const), text: fc.string({ minLength: 1, maxLength: 12 }) }),
      fc.record({
        kind: fc.constant("final" as const),
        role: fc.constantFrom("user" as const, "agent" as const),
        text: fc.string({ maxLength: 12 }),
      }),
      fc.record({ kind: fc.constant("speech" as const), role: fc.constantFrom("user" as const, "agent" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 1, maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (events, cuts) => {
          const messages = events.map((e, i): ServerMessage => {
            const seq = i + 1;
            if (e.kind === "interim") return interim(seq, e.text);
            if (e.kind === "final") return final(seq, e.role, e.text);
            return speech(seq, e.role, "speech_started");
          });
          // A reconnect with ?after=k replays the stored frames (finals and speech) after k.
          const replays = cuts.map((c) =>
            messages.slice(c % messages.length).filter((m) => !("final" in m) || m.final),
          );
          const once = await show(messages);
          const replayed = await show(messages, replays);
          expect(replayed.shown).toEqual(once.shown);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("follows new captions only while scrolled to the bottom", async () => {
    const result = await page.evaluate(() => {
      const el = document.getElementById("log")!;
      el.replaceChildren();
      el.style.cssText = "height: 100px; overflow-y: auto";
      const log = new web.CaptionLog(el);
      let seq = 0;
      const add = () => log.apply({ role: "agent", text: "line\nline\nline", final: true, seq: ++seq, ts: 1 });
      for (let i = 0; i < 10; i++) add();
      const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight;
      el.scrollTop = 0; // the reader scrolls up to re-read
      add();
      const stayed = el.scrollTop;
      el.style.cssText = "";
      return { atBottom, stayed };
    });
    expect(result.atBottom).toBeLessThanOrEqual(1);
    expect(result.stayed).toBe(0);
  });

  it("starts over after clear(): a new session numbers seq from 1 again", async () => {
    const { shown } = await page.evaluate(() => {
      const el = document.getElementById("log")!;
      el.replaceChildren();
      const log = new web.CaptionLog(el);
      log.apply({ role: "agent", text: "first session", final: true, seq: 5, ts: 1 });
      log.clear();
      const accepted = log.apply({ role: "agent", text: "second session", final: true, seq: 1, ts: 2 });
      return { shown: [...el.children].map((c) => c.textContent), accepted };
    });
    expect(shown).toEqual(["Agentsecond session"]);
  });
});
