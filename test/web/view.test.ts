// The /chat markup (worker/pages) with the page stylesheet and the view/captions modules, on a real
// DOM: what each state shows, and no layout jump while captions stream.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatState } from "../../web/src/state.ts";
import { renderChat } from "../../web/pages/index.ts";
import { domPage, launch, type Browser } from "./support/browser.ts";
import "./support/types.ts";

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await launch({ microphone: false, viewport: { width: 400, height: 800 } });
  const body = /<body>([\s\S]*)<\/body>/.exec(renderChat())![1]!;
  page = await domPage(browser.context, body, true);
});
afterAll(() => browser?.close());

async function view(patch: Partial<ChatState>, retryInS = 0) {
  return page.evaluate(
    ([patch, retryInS]) => {
      const el = web.findElements();
      web.render(el, { ...web.initialState, ...patch }, retryInS);
      const visible = (e: HTMLElement) => !e.hidden;
      return {
        buttons: [el.start, el.mute, el.stop, el.playAudio].filter(visible).map((b) => b.textContent),
        startDisabled: el.start.disabled,
        status: el.status.textContent,
        alert: el.alert.hidden ? null : el.alert.innerText.replace(/\s+/g, " ").trim(),
        agent: el.agentState.textContent,
        user: el.userState.textContent,
        agentSpeaking: el.agentParty.dataset.speaking,
        userSpeaking: el.userParty.dataset.speaking,
        mutePressed: el.mute.getAttribute("aria-pressed"),
        typing: { text: !el.message.disabled, send: !el.send.disabled, placeholder: el.message.placeholder },
      };
    },
    [patch, retryInS] as const,
  );
}

describe("view", () => {
  it("idle: Start only, ready", async () => {
    expect(await view({})).toMatchObject({
      buttons: ["Start"],
      status: "Ready when you are.",
      alert: null,
      agent: "Offline",
    });
  });

  it("live: Mute and Stop, the agent's state and the speaking indicators", async () => {
    const s = await view({ phase: "live", agent: "speaking", agentSpeaking: true });
    expect(s).toMatchObject({
      buttons: ["Mute", "Stop"],
      agent: "Speaking",
      agentSpeaking: "true",
      userSpeaking: "false",
      mutePressed: "false",
    });
    const muted = await view({ phase: "live", agent: "listening", muted: true, userSpeaking: true });
    expect(muted).toMatchObject({
      mutePressed: "true",
      user: "Muted",
      userSpeaking: "false",
      status: "Your microphone is muted.",
    });
  });

  it("typed input: enabled while the session is active, Send held while a message is on its way", async () => {
    expect((await view({})).typing).toEqual({ text: false, send: false, placeholder: "Press Start to type" });
    expect((await view({ phase: "starting" })).typing.text).toBe(false);
    const waiting = await view({ phase: "live", agent: "connecting" });
    expect(waiting.typing).toEqual({ text: false, send: false, placeholder: "Waiting for the agent…" });
    expect((await view({ phase: "live", agent: "reconnecting" })).typing.text).toBe(false);
    const active = await view({ phase: "live", agent: "speaking" });
    expect(active.typing).toEqual({ text: true, send: true, placeholder: "Type a message" });
    expect(active.status).toBe("Connected. Speak or type whenever you like.");
    expect((await view({ phase: "live", agent: "listening", sending: true })).typing).toMatchObject({
      text: true,
      send: false,
    });
    const refused = await view({ phase: "live", agent: "listening", notice: "Please slow down." });
    expect(refused).toMatchObject({ status: "Please slow down.", typing: { text: true, send: true } });
    expect((await view({ phase: "stopping" })).typing.text).toBe(false);
    const label = await page.evaluate(() => {
      const input = document.getElementById("message") as HTMLInputElement;
      return { label: input.labels?.[0]?.textContent, max: input.maxLength, form: input.form?.id };
    });
    expect(label).toEqual({ label: "Type a message", max: 500, form: "typed" });
  });

  it("live with autoplay blocked offers to play the agent's audio", async () => {
    expect((await view({ phase: "live", audioBlocked: true })).buttons).toEqual(["Mute", "Stop", "Play agent audio"]);
  });

  it("error: the alert with title, advice and the server's detail; a rate limit counts down on Start", async () => {
    const s = await view({ phase: "error", error: { kind: "agent_unavailable" } });
    expect(s.alert).toBe(
      "The agent did not join in time All agents may be busy. Press Start to try again in a moment.",
    );
    const limited = await view(
      { phase: "error", error: { kind: "rate_limited", retryAfterS: 12, detail: "slow down" } },
      12,
    );
    expect(limited).toMatchObject({ buttons: ["Start (12 s)"], startDisabled: true });
    expect(limited.alert).toContain("Please wait 12 s");
    expect(limited.alert).toContain("slow down");
    const waited = await view({ phase: "error", error: { kind: "rate_limited", retryAfterS: 12 } }, 0);
    expect(waited).toMatchObject({ buttons: ["Start"], startDisabled: false });
    expect(waited.alert).toContain("You can press Start again now.");
  });

  it("a browser without WebRTC: the alert, Start shown but disabled, no typing", async () => {
    expect(await view({ phase: "error", error: { kind: "browser_unsupported" } })).toMatchObject({
      buttons: ["Start"],
      startDisabled: true,
      status: "",
      alert: "This browser can't make voice calls Open this page in a recent Chrome, Edge, Firefox or Safari.",
      agent: "Offline",
      typing: { text: false, send: false, placeholder: "Press Start to type" },
    });
  });

  it("streaming captions move nothing else on the page", async () => {
    const moved = await page.evaluate(async () => {
      const el = web.findElements();
      web.render(el, { ...web.initialState, phase: "live", agent: "listening" });
      const boxes = () =>
        ["party-user", "party-agent", "start", "stop", "status", "captions-box"].map((id) => {
          const r = document.getElementById(id)!.getBoundingClientRect();
          return [id, Math.round(r.top), Math.round(r.height), Math.round(r.width)].join(":");
        });
      const before = boxes();
      const log = new web.CaptionLog(el.log, el.captionsBox);
      let seq = 0;
      for (let turn = 0; turn < 15; turn++) {
        for (const words of ["so", "so what is", "so what is the weather like"]) {
          log.apply({ role: "user", text: words, final: false, seq: ++seq, ts: seq });
        }
        log.apply({ role: "user", text: "So, what is the weather like today?", final: true, seq: ++seq, ts: seq });
        log.apply({
          role: "agent",
          text: "It is sunny and warm, with a light breeze from the west.",
          final: true,
          seq: ++seq,
          ts: seq,
        });
        web.render(el, {
          ...web.initialState,
          phase: "live",
          agent: turn % 2 ? "speaking" : "thinking",
          agentSpeaking: turn % 2 === 1,
        });
        await new Promise((r) => requestAnimationFrame(r));
      }
      const box = el.captionsBox;
      return {
        before,
        after: boxes(),
        overflowing: box.scrollHeight > box.clientHeight,
        atBottom: box.scrollHeight - box.scrollTop - box.clientHeight <= 2,
      };
    });
    expect(moved.after).toEqual(moved.before);
    expect(moved.overflowing).toBe(true);
    expect(moved.atBottom).toBe(true);
  });
});
