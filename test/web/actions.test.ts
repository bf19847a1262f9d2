// Action cards and the plan panel on a real DOM (Debian's Chromium, locale en-GB, time zone Asia/Tokyo): what a
// card says for each status, where it goes among the captions, how due times read in the visitor's locale and
// zone, and the plan panel loading from GET /planner (routed) and re-loading after `ok` action frames; the tutor's
// lesson panel from the place the page was rendered with and from `ok` action frames.
import type { Page, Route } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ActionMessage, PlannerResponse, ServerMessage, TutorPlace, TutorSubtopic } from "../../contract/index.ts";
import { renderChat } from "../../web/pages/index.ts";
import { PLAN_REFRESH_MS } from "../../web/src/plan.ts";
import { domPage, launch, type Browser } from "./support/browser.ts";
import { startPageServer, TEST_PROFILES, type PageServer } from "./support/page-server.ts";
import "./support/types.ts";

const ZONE = "Asia/Tokyo"; // +09:00 all year: no daylight saving to reckon with
const LOCALE = "en-GB";

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  server = await startPageServer("ws://127.0.0.1:9");
  browser = await launch({ microphone: false, locale: LOCALE, timezoneId: ZONE });
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** `YYYY-MM-DD` in Tokyo, `days` from now. */
function tokyoDate(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toLocaleDateString("en-CA", { timeZone: ZONE });
}

/** The short weekday of a Tokyo date, as en-GB writes it ("Tue"). */
function weekday(date: string): string {
  return new Date(`${date}T12:00:00+09:00`).toLocaleDateString(LOCALE, { weekday: "short", timeZone: ZONE });
}

const task = (title: string, due: string | null, extra: Partial<PlannerResponse["tasks"][number]> = {}) => ({
  id: `task_${title.replace(/\W/g, "").toLowerCase()}`,
  title,
  due,
  goal_id: null,
  done: false,
  created_at: "2026-01-01T00:00:00.000Z",
  ...extra,
});

function action(seq: number, fields: Partial<ActionMessage>): ActionMessage {
  return {
    type: "action",
    call_id: `call_${seq}`,
    intent: "NEW_TASK",
    arguments: {},
    status: "ok",
    message: "",
    seq,
    ts: Date.now(),
    ...fields,
  };
}

describe("when (due times in the visitor's locale and zone)", () => {
  let page: Page;
  beforeAll(async () => {
    page = await domPage(browser.context);
  });
  afterAll(() => page?.close());

  it("reads a due time within the coming days as weekday and time, a later one with its date", async () => {
    const now = Date.parse("2030-03-04T12:00:00+09:00"); // a Monday
    const read = (iso: string, locale?: string) =>
      page.evaluate(([iso, now, locale]) => web.when(iso, now, undefined, locale), [iso, now, locale] as const);
    expect(await read("2030-03-05T09:00:00+09:00")).toBe("Tue 09:00");
    // The same instant given in another offset reads in the visitor's zone.
    expect(await read("2030-03-05T00:00:00Z")).toBe("Tue 09:00");
    expect(await read("2030-03-20T18:30:00+09:00")).toBe("Wed 20 Mar, 18:30");
    expect(await read("2031-04-01T09:00:00+09:00")).toBe("Tue, 1 Apr 2031, 09:00");
    expect(await read("2030-03-05T09:00:00+09:00", "en-US")).toBe("Tue 09:00 AM");
    // A date (a goal's target date) is that day, whatever the zone.
    expect(await read("2030-06-01")).toBe("Sat 1 Jun");
    expect(await read("not a date")).toBe("");
  });
});

describe("action cards in the captions", () => {
  let page: Page;
  beforeAll(async () => {
    page = await domPage(browser.context, '<div id="log" role="log" aria-live="polite"></div>', true);
  });
  afterAll(() => page?.close());

  /** Applies `messages` to a fresh CaptionLog; returns each item's classes, label, text and times. */
  function show(messages: ServerMessage[]) {
    return page.evaluate((messages) => {
      const el = document.getElementById("log")!;
      el.replaceChildren();
      const log = new web.CaptionLog(el);
      for (const m of messages) log.apply(m);
      return [...el.children].map((c) => ({
        className: c.className,
        label: c.querySelector(".caption__who")!.textContent,
        text: c.querySelector(".caption__text")!.textContent,
        times: [...c.querySelectorAll("time")].map((t) => t.dateTime),
        choices: [...c.querySelectorAll(".action__choices li")].map((li) => li.textContent),
        hidden: c.getAttribute("aria-hidden"),
      }));
    }, messages);
  }

  it("ok: the Worker's sentence and the due time in the visitor's locale and zone", async () => {
    const date = tokyoDate(2);
    const due = `${date}T09:00:00+09:00`;
    const shown = await show([
      action(1, {
        message: "Task added: Call the dentist",
        arguments: { title: "Call the dentist", due },
        result: { task: task("Call the dentist", due) },
      }),
    ]);
    expect(shown).toEqual([
      {
        className: "caption action action--ok",
        label: "Done",
        text: `Task added: Call the dentist · ${weekday(date)} 09:00`,
        times: [due],
        choices: [],
        hidden: null,
      },
    ]);
  });

  it("ok without a due, and a goal with its target date", async () => {
    const shown = await show([
      action(1, { message: "Task added: Buy milk", result: { task: task("Buy milk", null) } }),
      action(2, {
        intent: "GOAL",
        message: "Goal set: Run a marathon",
        result: { goal: { id: "goal_1", title: "Run a marathon", description: null, target_date: "2030-06-01" } },
      }),
    ]);
    expect(shown.map((s) => s.text)).toEqual(["Task added: Buy milk", "Goal set: Run a marathon · Sat, 1 Jun 2030"]);
  });

  it("ambiguous: the question and the candidates, each with its due", async () => {
    const date = tokyoDate(3);
    const shown = await show([
      action(1, {
        intent: "RESCHEDULE_TASK",
        status: "ambiguous",
        message: 'Which task: "Call the dentist" or "Call mum"?',
        result: {
          candidates: [task("Call the dentist", `${date}T09:00:00+09:00`), task("Call mum", null)],
        },
      }),
    ]);
    expect(shown).toEqual([
      expect.objectContaining({
        className: "caption action action--ambiguous",
        label: "Which one?",
        text: 'Which task: "Call the dentist" or "Call mum"?',
        choices: [`Call the dentist · ${weekday(date)} 09:00`, "Call mum"],
      }),
    ]);
  });

  it("refused and invalid: the message, as a soft warning", async () => {
    const shown = await show([
      action(1, { intent: "RESCHEDULE_TASK", status: "refused", message: 'No task matches "gym".' }),
      action(2, {
        status: "invalid",
        message: "The arguments do not match NEW_TASK.",
        errors: [{ path: "/due", message: "must be a date and time with its UTC offset" }],
      }),
    ]);
    expect(shown.map((s) => [s.className, s.label, s.text])).toEqual([
      ["caption action action--refused", "Not done", 'No task matches "gym".'],
      ["caption action action--invalid", "Not done", "The arguments do not match NEW_TASK."],
    ]);
    const colours = await page.evaluate(() => {
      const [refused] = document.querySelectorAll<HTMLElement>("#log .caption__text");
      return getComputedStyle(refused!).backgroundColor;
    });
    expect(colours).toBe("rgb(255, 243, 220)"); // --warn-soft
  });

  it("goes in seq order with the captions, before the user's words still being spoken, once", async () => {
    const t = Date.now();
    const card = action(3, {
      message: "Task added: Water the plants",
      result: { task: task("Water the plants", null) },
    });
    const shown = await show([
      { role: "user", text: "add water the plants", final: true, seq: 1, ts: t },
      { role: "agent", text: "Adding it.", final: true, seq: 2, ts: t },
      card,
      { role: "user", text: "and then", final: false, seq: 4, ts: t },
      action(5, { status: "refused", message: "Nothing to move." }),
      card, // replayed after a reconnect: its seq was applied already
      { role: "agent", text: "Done.", final: true, seq: 6, ts: t },
    ]);
    expect(shown.map((s) => [s.label, s.text, s.hidden])).toEqual([
      ["You", "add water the plants", null],
      ["Agent", "Adding it.", null],
      ["Done", "Task added: Water the plants", null],
      ["Not done", "Nothing to move.", null],
      ["Agent", "Done.", null],
      ["You", "and then", "true"],
    ]);
    // The agent's words after a card carry their label again (no continuation of the earlier agent caption).
    expect(shown[4]!.className).toBe("caption caption--agent");
  });

  it("is one node of the live log, read as its label and text", async () => {
    await show([
      action(1, { message: "Task added: Call the dentist", result: { task: task("Call the dentist", null) } }),
    ]);
    const snapshot = await page.locator("#log").ariaSnapshot();
    expect(snapshot).toContain("Done");
    expect(snapshot).toContain("Task added: Call the dentist");
    expect(snapshot.match(/Call the dentist/g)).toHaveLength(1);
  });
});

describe("the plan panel", () => {
  let page: Page;
  let plan: PlannerResponse = { goals: [], tasks: [] };
  let status = 200;
  let fetches = 0;

  beforeAll(async () => {
    const body = /<body>([\s\S]*)<\/body>/.exec(renderChat({ profile: TEST_PROFILES.planner }))![1]!;
    page = await domPage(browser.context, body, true, server.origin);
    await page.route("**/planner", (route: Route) => {
      fetches++;
      return status === 200
        ? route.fulfill({ json: plan })
        : route.fulfill({ status, json: { error: { code: "internal", message: "boom" } } });
    });
    await page.evaluate(() => {
      (window as unknown as { panel: InstanceType<typeof web.PlanPanel> }).panel = new web.PlanPanel(
        document.getElementById("plan")!,
      );
    });
  });
  afterEach(() => {
    status = 200;
    fetches = 0;
  });
  afterAll(() => page?.close());

  type Panel = { load(): Promise<void>; onFrame(m: ServerMessage): void };
  const load = () => page.evaluate(() => (window as unknown as { panel: Panel }).panel.load());
  const frame = (m: ServerMessage) => page.evaluate((m) => (window as unknown as { panel: Panel }).panel.onFrame(m), m);

  /** What the panel shows: the note (when visible), and each visible list's lines. */
  function shown() {
    return page.evaluate(() => {
      const note = document.getElementById("plan-note")!;
      const list = (id: string) => {
        const ul = document.getElementById(id)!;
        if (ul.parentElement!.hidden) return null;
        return [...ul.children].map((li) => [
          li.querySelector(".plan__title")!.textContent,
          li.querySelector(".plan__meta")!.textContent,
        ]);
      };
      return {
        heading: document.getElementById("plan-title")!.textContent,
        note: note.hidden ? null : note.textContent,
        goals: list("plan-goals"),
        tasks: list("plan-tasks"),
      };
    });
  }

  it("shows goals and the tasks not done, soonest first, with due times and goal names", async () => {
    const soon = tokyoDate(1);
    plan = {
      goals: [
        { id: "goal_m", title: "Run a marathon", description: null, target_date: "2030-06-01", created_at: "x" },
        { id: "goal_s", title: "Learn Spanish", description: "a bit", target_date: null, created_at: "x" },
      ],
      tasks: [
        task("Undated", null),
        task("Long run", "2030-03-20T07:00:00+09:00", { goal_id: "goal_m" }),
        task("Already done", `${soon}T08:00:00+09:00`, { done: true }),
        task("Buy shoes", `${soon}T10:00:00+01:00`, { goal_id: "goal_m" }),
      ],
    };
    await load();
    expect(await shown()).toEqual({
      heading: "Your plan",
      note: null,
      goals: [
        ["Run a marathon", "by Sat, 1 Jun 2030"],
        ["Learn Spanish", ""],
      ],
      tasks: [
        // 10:00 at +01:00 is 18:00 in Tokyo.
        ["Buy shoes", `${weekday(soon)} 18:00 · Run a marathon`],
        ["Long run", "Wed, 20 Mar 2030, 07:00 · Run a marathon"],
        ["Undated", ""],
      ],
    });
  });

  it("says so when there is nothing planned, and when the plan cannot be loaded", async () => {
    plan = { goals: [], tasks: [task("Old", null, { done: true })] };
    await load();
    expect(await shown()).toMatchObject({
      note: "Nothing planned yet: ask the agent to set a goal or add a task.",
      goals: null,
      tasks: null,
    });
    status = 500;
    await load();
    expect((await shown()).note).toBe("Your plan couldn't be loaded just now.");
  });

  it("re-loads once after a burst of ok action frames, and not after other frames", async () => {
    plan = { goals: [], tasks: [] };
    await load();
    fetches = 0;
    plan = { goals: [], tasks: [task("Call the dentist", null)] };
    await frame(action(1, { status: "refused", message: "No." }));
    await frame(action(2, { status: "ambiguous", message: "Which?" }));
    await frame({ role: "agent", text: "Done.", final: true, seq: 3, ts: 1 });
    await page.waitForTimeout(PLAN_REFRESH_MS + 300);
    expect(fetches).toBe(0);
    await frame(action(4, { message: "Task added: Call the dentist" }));
    await frame(action(5, { message: "Task added: Call the dentist" }));
    await expect.poll(() => shown().then((s) => s.tasks)).toEqual([["Call the dentist", ""]]);
    await page.waitForTimeout(PLAN_REFRESH_MS + 300);
    expect(fetches).toBe(1);
  });
});

describe("the lesson panel", () => {
  const part = (id: number, title: string, status: TutorSubtopic["status"]): TutorSubtopic => ({
    id,
    title,
    position: id,
    status,
  });
  const parts = (...statuses: TutorSubtopic["status"][]) =>
    ["What a fraction is", "Equivalent fractions", "Adding and subtracting fractions"].map((t, i) =>
      part(i + 1, t, statuses[i] ?? null),
    );
  const place = (current: number, ...statuses: TutorSubtopic["status"][]): TutorPlace => {
    const subtopics = parts(...statuses);
    return { topic: "Fractions", subtopic: subtopics[current - 1]!, subtopics };
  };

  /** A page with the tutor's chat markup rendered for `initial`, and a `TutorPanel` on it. */
  async function panelPage(initial: TutorPlace | null): Promise<Page> {
    const html = renderChat({
      profile: TEST_PROFILES.tutor,
      tutorPlace: initial,
      visitorName: { name: "Ada", asked: true },
    });
    const page = await domPage(browser.context, /<body>([\s\S]*)<\/body>/.exec(html)![1]!, true, server.origin);
    await page.evaluate(() => {
      (window as unknown as { panel: InstanceType<typeof web.TutorPanel> }).panel = new web.TutorPanel(
        document.getElementById("tutor")!,
      );
    });
    return page;
  }
  const frame = (page: Page, m: ServerMessage) =>
    page.evaluate((m) => (window as unknown as { panel: { onFrame(m: ServerMessage): void } }).panel.onFrame(m), m);
  const shown = (page: Page) =>
    page.evaluate(() => ({
      heading: document.getElementById("tutor-title")!.textContent,
      topic: document.getElementById("tutor-topic")!.textContent,
      parts: [...document.querySelectorAll("#tutor-parts li")].map(
        (li) => `${li.getAttribute("aria-current") === "step" ? "> " : ""}${li.textContent}`,
      ),
      progress: document.getElementById("tutor-progress")!.textContent,
    }));

  it("starts empty before any topic, then follows the tutor's ok actions with a place", async () => {
    const page = await panelPage(null);
    try {
      expect(await shown(page)).toEqual({
        heading: "Your lesson",
        topic: "No topic yet: ask the tutor to teach you one.",
        parts: [],
        progress: "",
      });
      await frame(page, action(1, { intent: "START_TOPIC", result: { place: place(1, "started") } }));
      expect(await shown(page)).toMatchObject({
        topic: "Fractions",
        parts: ["> What a fraction is", "Equivalent fractions", "Adding and subtracting fractions"],
        progress: "Part 1 of 3 · 0 understood",
      });
      await frame(page, action(2, { intent: "CHECK_UNDERSTANDING", result: { place: place(1, "understood") } }));
      await frame(page, action(3, { intent: "NEXT_SUBTOPIC", result: { place: place(2, "understood", "started") } }));
      expect(await shown(page)).toMatchObject({
        parts: ["What a fraction is (understood)", "> Equivalent fractions", "Adding and subtracting fractions"],
        progress: "Part 2 of 3 · 1 understood",
      });
      // Refused calls, results without a place, malformed places and other frames change nothing.
      const before = await shown(page);
      await frame(page, action(4, { intent: "NEXT_SUBTOPIC", status: "refused", result: { place: place(3) } }));
      await frame(page, action(5, { intent: "TUTOR_PROGRESS", result: { topics: [] } }));
      await frame(page, action(6, { intent: "CURRENT_SUBTOPIC", result: { place: { topic: "X" } } }));
      expect(await shown(page)).toEqual(before);
      await frame(
        page,
        action(7, { intent: "CHECK_UNDERSTANDING", result: { place: place(2, "understood", "not_understood") } }),
      );
      expect((await shown(page)).parts[1]).toBe("> Equivalent fractions (not yet)");
    } finally {
      await page.close();
    }
  });

  it("shows the place the page was rendered with (a returning visitor)", async () => {
    const page = await panelPage(place(2, "understood", "started"));
    try {
      expect(await shown(page)).toMatchObject({
        topic: "Fractions",
        parts: ["What a fraction is (understood)", "> Equivalent fractions", "Adding and subtracting fractions"],
        progress: "Part 2 of 3 · 1 understood",
      });
      expect(await page.getByRole("region", { name: "Your lesson" }).count()).toBe(1);
    } finally {
      await page.close();
    }
  });
});
