// The visitor's first name on the pages (#15, the name form): the /chat name step's markup (a labelled first-name
// form posting to /chat/name, Continue and Skip, Start hidden meanwhile, the refused name kept and explained), the
// "Hi <name> · Change name" line, and the name on /history and the transcript page; then the page in Debian's
// Chromium under the Worker's CSP: the page script runs with the name step shown and Start stays hidden. The Worker
// side (storage, the form route, the token, the dispatch) is tested in test/workerd/visitor-name.test.ts.
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationEntry, TranscriptResponse } from "../../contract/index.ts";
import { renderChat, renderConversations, renderHistory, type ChatPageOptions } from "../../web/pages/index.ts";
import { launch, ROOT, type Browser } from "./support/browser.ts";
import { openChat, problems } from "./support/chat-page.ts";
import { workerCsp } from "./support/page-server.ts";

const TUTOR = { id: "tutor", name: "Tutor", planner: false, askName: true };
const ASSISTANT = { id: "assistant", name: "Assistant", planner: false };
const t0 = Date.UTC(2026, 10, 21, 9, 30, 0);
const RESUMED: TranscriptResponse = {
  session_id: "AbCdEfGhIjKlMnOpQrStUv",
  room: "room-1",
  profile: "tutor",
  status: "ended",
  reason: "stopped",
  started_at: t0,
  ended_at: t0 + 60_000,
  events: [
    { role: "user", text: "teach me fractions", final: true, seq: 3, ts: t0 + 4000 },
    { role: "agent", text: "A fraction is a part of a whole.", final: true, seq: 4, ts: t0 + 9000 },
  ],
};

/** The ids the page script looks up (web/src/view.ts `findElements`): the name step must leave them all there. */
const SCRIPT_IDS = [
  "chat",
  "start",
  "stop",
  "mute",
  "play-audio",
  "status",
  "party-user",
  "party-agent",
  "user-state",
  "agent-state",
  "alert",
  "alert-title",
  "alert-message",
  "alert-detail",
  "meter",
  "visualizer",
  "microphones",
  "microphone",
  "captions-empty",
  "captions",
  "captions-box",
  "history-link",
  "typed",
  "message",
  "send",
];

/** Markup the CSP (`script-src 'self'; style-src 'self'`) would block (as in pages.test.ts). */
function cspViolations(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/<script\b([^>]*)>/gi)) {
    // The page's texts are a data block (`#texts`), which is never run.
    const attrs = m[1] ?? "";
    if (!/\bsrc="\/static\//.test(attrs) && !/type="application\/json"/.test(attrs))
      found.push(`inline script: ${m[0]}`);
  }
  for (const [tag] of html.matchAll(/<[a-z][^>]*>/gi)) {
    // Attribute names only: a quoted value holds no `"` (it is escaped), so whatever it says is not an attribute.
    const names = tag.replace(/"[^"]*"/g, '""');
    if (/^<style\b/i.test(tag)) found.push("<style> element");
    if (/\sstyle\s*=/i.test(names)) found.push(`style attribute: ${tag}`);
    if (/\son[a-z]+\s*=/i.test(names)) found.push(`event handler attribute: ${tag}`);
  }
  return found;
}

/** The `<form id="name-step">…</form>` of a page, or null. */
const nameStep = (html: string) => /<form class="name-step" id="name-step"[\s\S]*?<\/form>/.exec(html)?.[0] ?? null;

describe("the name step", () => {
  const asking = renderChat({ profile: TUTOR, visitorName: { name: null, asked: false }, nameStep: { value: "" } });

  it("is a labelled first-name form posting to /chat/name, with Continue and Skip, before the controls", () => {
    const form = nameStep(asking)!;
    expect(form).not.toBeNull();
    expect(form).toMatch(/^<form class="name-step" id="name-step" method="post" action="\/chat\/name"/);
    expect(form).toContain('<h2 id="name-step-title">What should Tutor call you?</h2>');
    expect(form).toContain('<input type="hidden" name="agent" value="tutor">');
    expect(form).not.toContain('name="resume"');
    expect(form).toContain('<label for="name-input">First name</label>');
    const input = /<input class="typed__text" id="name-input"[^>]*>/.exec(form)![0];
    for (const attr of [
      'name="name"',
      'type="text"',
      'value=""',
      'maxlength="40"',
      'autocomplete="given-name"',
      "required",
    ]) {
      expect(input).toContain(attr);
    }
    expect(input).not.toContain("aria-invalid");
    expect(input).not.toContain("autofocus"); // the first ask does not take the focus from the page
    expect(form).toContain('<button class="btn btn--primary" id="name-continue" type="submit">Continue</button>');
    expect(form).toContain(
      '<button class="btn" id="name-skip" type="submit" name="skip" value="1" formnovalidate>Skip</button>',
    );
    expect(form).not.toContain('id="name-error"');
    expect(asking.indexOf('id="name-step"')).toBeLessThan(asking.indexOf('id="start"'));
    expect(cspViolations(asking)).toEqual([]);
  });

  it("hides the controls with Start, and keeps every id the page script needs", () => {
    expect(asking).toContain('<div class="controls" hidden>\n<button class="btn btn--primary" id="start"');
    for (const id of SCRIPT_IDS) expect(asking, id).toContain(`id="${id}"`);
    const without = renderChat({ profile: TUTOR, visitorName: { name: "Alice", asked: true } });
    expect(without).toContain('<div class="controls">');
    expect(nameStep(without)).toBeNull();
  });

  it("a refused name: the typed value (escaped), why (role=alert), the input marked invalid and focused", () => {
    const html = renderChat({
      profile: TUTOR,
      visitorName: { name: null, asked: false },
      nameStep: { value: '<img src=x onerror="alert(1)">', error: "Use letters for your first name." },
    });
    const form = nameStep(html)!;
    expect(form).toContain('value="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"');
    expect(form).toContain('aria-invalid="true" aria-describedby="name-error" autofocus>');
    expect(form).toContain('<p class="notice" id="name-error" role="alert">Use letters for your first name.</p>');
    expect(cspViolations(html)).toEqual([]);
  });

  it("changing a name: the current one filled in, Forget my name, and a way back without a change", () => {
    const form = nameStep(
      renderChat({ profile: TUTOR, visitorName: { name: "Alice", asked: true }, nameStep: { value: "Alice" } }),
    )!;
    expect(form).toMatch(/id="name-input" name="name" type="text" value="Alice"/);
    expect(form).toContain(" autofocus>");
    expect(form).toContain(">Forget my name</button>");
    expect(form).toContain('<p><a href="/chat?agent=tutor">Keep my name as it is</a></p>');
    const skipped = nameStep(
      renderChat({ profile: TUTOR, visitorName: { name: null, asked: true }, nameStep: { value: "" } }),
    )!;
    expect(skipped).toContain(">Skip</button>");
    expect(skipped).toContain('<a href="/chat?agent=tutor">Go on without a name</a>');
  });

  it("on a resumed conversation, it carries the conversation's id and comes back to it", () => {
    const html = renderChat({
      profile: TUTOR,
      resume: RESUMED,
      visitorName: { name: "Alice", asked: true },
      nameStep: { value: "Alice" },
    });
    expect(nameStep(html)).toContain(`<input type="hidden" name="resume" value="${RESUMED.session_id}">`);
    expect(nameStep(html)).toContain(`<a href="/chat?resume=${RESUMED.session_id}">Keep my name as it is</a>`);
  });
});

describe("the visitor's name on the pages", () => {
  it("/chat: 'Hi <name> · Change name' under the heading, on any profile; the name escaped", () => {
    const html = renderChat({ profile: ASSISTANT, visitorName: { name: "Zoë O'Brien", asked: true } });
    expect(html).toContain(
      '<h1>Talk with Assistant</h1>\n<p class="visitor-greeting" id="visitor-greeting">Hi Zoë O&#39;Brien · <a href="/chat?agent=assistant&amp;name=edit">Change name</a></p>',
    );
    const resumed = renderChat({ profile: TUTOR, resume: RESUMED, visitorName: { name: "Alice", asked: true } });
    expect(resumed).toContain(`<a href="/chat?resume=${RESUMED.session_id}&amp;name=edit">Change name</a>`);
  });

  it("/chat after a skip: 'Add your name' on a profile that asks, nothing on others or before any answer", () => {
    const skipped = { name: null, asked: true };
    expect(renderChat({ profile: TUTOR, visitorName: skipped })).toContain(
      '<p class="visitor-greeting" id="visitor-greeting"><a href="/chat?agent=tutor&amp;name=edit">Add your name</a></p>',
    );
    expect(renderChat({ profile: ASSISTANT, visitorName: skipped })).not.toContain("visitor-greeting");
    expect(renderChat({ profile: ASSISTANT, visitorName: { name: null, asked: false } })).not.toContain(
      "visitor-greeting",
    );
    expect(renderChat({ profile: ASSISTANT })).not.toContain("visitor-greeting");
    // While the step is shown, the line is not.
    const both: ChatPageOptions = {
      profile: TUTOR,
      visitorName: { name: "Alice", asked: true },
      nameStep: { value: "" },
    };
    expect(renderChat(both)).not.toContain("visitor-greeting");
  });

  it("the transcript page labels the visitor's captions with their name, the agent's as Agent", () => {
    const named = renderHistory(RESUMED, "Alice");
    expect(named).toMatch(/<span class="caption__who">Alice<\/span>[\s\S]*teach me fractions/);
    expect(named).toContain('<span class="caption__who">Agent</span>');
    expect(named).not.toContain('<span class="caption__who">You</span>');
    expect(renderHistory(RESUMED)).toContain('<span class="caption__who">You</span>');
  });

  it("/history names the visitor with the profile when the conversation has a name", () => {
    const entry: ConversationEntry = {
      session_id: RESUMED.session_id,
      profile: "tutor",
      status: "ended",
      reason: "stopped",
      started_at: t0,
      ended_at: t0 + 60_000,
      summary: null,
      preview: "You: teach me fractions",
      resumed_from: null,
    };
    const list = (e: ConversationEntry) =>
      renderConversations({
        conversations: [e],
        nextCursor: null,
        retentionDays: 30,
        profileNames: { tutor: "Tutor" },
      });
    expect(list({ ...entry, visitor_name: "Alice" })).toContain(
      '<p class="conversation__meta"><span>Tutor with Alice</span><span>1 min 00 s</span>',
    );
    expect(list(entry)).toContain('<p class="conversation__meta"><span>Tutor</span><span>1 min 00 s</span>');
  });
});

const STATIC = join(ROOT, "web", "dist", "static");
const TYPES: Record<string, string> = { ".js": "text/javascript", ".css": "text/css", ".map": "application/json" };

describe("the name step in Chromium, with the page script", () => {
  let browser: Browser;
  let server: Server;
  let origin = "";

  beforeAll(async () => {
    const csp = workerCsp("ws://127.0.0.1:9");
    const pages: Record<string, string> = {
      "/asking": renderChat({ profile: TUTOR, visitorName: { name: null, asked: false }, nameStep: { value: "" } }),
      "/named": renderChat({ profile: TUTOR, visitorName: { name: "Alice", asked: true } }),
    };
    server = createServer(async (req, res) => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      const page = pages[path];
      if (page) {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": csp });
        return res.end(page);
      }
      const file = normalize(join(STATIC, path.slice("/static/".length)));
      const body =
        path.startsWith("/static/") && file.startsWith(STATIC) ? await readFile(file).catch(() => null) : null;
      if (!body) {
        res.writeHead(404, { "Content-Type": "application/json" });
        return res.end("{}");
      }
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  it("Start stays hidden while the step is shown, whatever the script sets; the name box takes typing", async () => {
    const page = await openChat(browser.context, `${origin}/asking`);
    expect(await page.locator("#start").isVisible()).toBe(false);
    expect(await page.locator("#start").evaluate((b: HTMLButtonElement) => b.hidden)).toBe(false); // the script's own
    expect(await page.getByLabel("First name").isVisible()).toBe(true);
    await page.getByLabel("First name").fill("Alice");
    expect(await page.getByRole("button", { name: "Continue" }).isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: "Skip" }).isVisible()).toBe(true);
    // The browser's own check: Continue with an empty box does not submit (Skip may).
    await page.getByLabel("First name").fill("");
    expect(await page.locator("#name-input").evaluate((i: HTMLInputElement) => i.checkValidity())).toBe(false);
    expect(await problems(page)).toEqual([]);
    await page.close();
  });

  it("once answered, Start is there and the greeting links to the name step", async () => {
    const page = await openChat(browser.context, `${origin}/named`);
    expect(await page.locator("#start").isVisible()).toBe(true);
    expect(await page.locator("#visitor-greeting").innerText()).toBe("Hi Alice · Change name");
    expect(await page.getByRole("link", { name: "Change name" }).getAttribute("href")).toBe(
      "/chat?agent=tutor&name=edit",
    );
    expect(await problems(page)).toEqual([]);
    await page.close();
  });
});
