// The page follows its profile's language (web/i18n/, docs/web.md "Languages"): the catalogs' key parity, the
// server-rendered /chat in Spanish (lang, every text, the page script's texts as a JSON data block) and in English
// (English texts, the English block: the script bundles none), and, in Debian's Chromium, the page script's own texts in Spanish: on the view module with
// the Spanish markup, and on the real page and script under the Worker's CSP (the data block is allowed).
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerMessage, TranscriptResponse } from "../../contract/index.ts";
import * as en from "../../web/i18n/en.ts";
import * as es from "../../web/i18n/es.ts";
import { CATALOGS, fill, pageLanguage } from "../../web/i18n/index.ts";
import { renderChat, type ChatProfile } from "../../web/pages/index.ts";
import type { ChatState } from "../../web/src/state.ts";
import { domPage, launch, type Browser } from "./support/browser.ts";
import { interceptApi, openChat, problems, shown, waitForPhase } from "./support/chat-page.ts";
import { startPageServer, TEST_PROFILES, type PageServer } from "./support/page-server.ts";
import "./support/types.ts";

const ASISTENTE: ChatProfile = { id: "asistente", name: "Asistente", planner: false, language: "es" };
const ASSISTANT: ChatProfile = { id: "assistant", name: "Assistant", planner: false, language: "en" };

/** Every string of a catalog part, by its dotted path. */
function leaves(value: unknown, path = ""): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (value && typeof value === "object") {
    for (const [key, v] of Object.entries(value))
      for (const [p, leaf] of leaves(v, path ? `${path}.${key}` : key)) out.set(p, leaf);
  } else out.set(path, value);
  return out;
}

/** The `{placeholders}` of a text, sorted. */
const placeholders = (text: unknown) => [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

/** The `#texts` data block's JSON, or null when the page has none. */
function textsBlock(html: string): unknown {
  const block = /<script type="application\/json" id="texts">([^<]*)<\/script>/.exec(html);
  return block ? JSON.parse(block[1]!) : null;
}

describe("the catalogs", () => {
  it("have the same keys in every language, each a non-empty text with the same placeholders", () => {
    expect(Object.keys(CATALOGS).sort()).toEqual(["en", "es"]);
    for (const part of ["page", "script"] as const) {
      const reference = leaves(en[part]);
      for (const [language, catalog] of Object.entries(CATALOGS)) {
        const texts = leaves(catalog[part]);
        expect([...texts.keys()], `${language}.${part}`).toEqual([...reference.keys()]);
        for (const [path, text] of texts) {
          expect(typeof text, `${language}.${part}.${path}`).toBe("string");
          expect((text as string).trim(), `${language}.${part}.${path}`).not.toBe("");
          expect(placeholders(text), `${language}.${part}.${path}`).toEqual(placeholders(reference.get(path)));
        }
      }
    }
    // Spanish is translated, not copied: no script text reads the same in both.
    const same = [...leaves(es.script)].filter(([path, text]) => leaves(en.script).get(path) === text);
    expect(same).toEqual([]);
  });

  it("are chosen by the profile's primary language; a language without one gets English, lang en", () => {
    expect(pageLanguage()).toMatchObject({ lang: "en", conversation: "en", page: en.page, script: en.script });
    expect(pageLanguage("es")).toMatchObject({ lang: "es", conversation: "es", page: es.page, script: es.script });
    expect(pageLanguage("es-MX")).toMatchObject({ lang: "es-MX", page: es.page });
    expect(pageLanguage("en-GB")).toMatchObject({ lang: "en-GB", page: en.page });
    expect(pageLanguage("de")).toMatchObject({ lang: "en", conversation: "de", page: en.page, script: en.script });
    expect(fill("Talk with {name}", { name: "Ana" })).toBe("Talk with Ana");
    expect(fill("{a} and {b}", { a: 1 })).toBe("1 and {b}");
  });
});

describe("/chat markup in the profile's language", () => {
  it("asistente: lang es, the shell and the page in Spanish, the script's texts as an escaped JSON data block", () => {
    const html = renderChat({ profile: ASISTENTE, visitorName: { name: "Ana", asked: true } });
    expect(html).toMatch(/^<!doctype html>\n<html lang="es">/);
    for (const text of [
      "<title>Habla con Asistente · Agente de voz</title>",
      '<a class="skip-link" href="#main">Saltar al contenido</a>',
      '<nav aria-label="Principal"><a href="/chat">Hablar</a><a href="/history">Historial</a></nav>',
      "<h1>Habla con Asistente</h1>",
      "Hola, Ana · <a",
      '<p class="lede">Pulsa Empezar, permite el micrófono',
      '<section class="stage" aria-label="Participantes">',
      '<p class="party__name">Tú</p><p class="party__state" id="user-state">Micrófono apagado</p>',
      '<p class="party__name">Asistente</p><p class="party__state" id="agent-state">Desconectado</p>',
      '<button class="btn btn--primary" id="start" type="button">Empezar</button>',
      ">Silenciar</button>",
      ">Detener</button>",
      ">Reproducir el audio del agente</button>",
      '<p class="status" id="status" role="status">Todo listo cuando quieras.</p>',
      '<label for="microphone">Micrófono</label>',
      '<label class="visually-hidden" for="message">Escribe un mensaje</label>',
      'placeholder="Pulsa Empezar para escribir"',
      ">Enviar</button>",
      '<h2 id="captions-title">Subtítulos</h2>',
      'aria-label="Subtítulos, desplazable"',
      "El chat de voz necesita JavaScript.",
      '<a href="/history">puedes borrarlas</a>.</p></footer>',
    ])
      expect(html).toContain(text);
    expect(html).not.toMatch(/\b(Start|Talk with|Captions|Ready when you are)\b/);
    // The data block holds the Spanish script texts, and no `<` at all (escaped), so nothing in it can end it.
    expect(textsBlock(html)).toEqual(es.script);
    expect(html.match(/<script\b[^>]*>/g)).toEqual([
      '<script type="module" src="/static/chat.js">',
      '<script type="application/json" id="texts">',
    ]);
  });

  it("English profiles: lang en, English texts, the English script texts as the data block", () => {
    for (const profile of [ASSISTANT, { ...ASSISTANT, language: undefined }, { ...ASSISTANT, language: "en-GB" }]) {
      const html = renderChat({ profile });
      expect(html).toMatch(new RegExp(`^<!doctype html>\\n<html lang="${profile.language ?? "en"}">`));
      expect(html).toContain("<title>Talk with Assistant · Voice agent</title>");
      expect(html).toContain('<button class="btn btn--primary" id="start" type="button">Start</button>');
      expect(html).toContain('<p class="status" id="status" role="status">Ready when you are.</p>');
      expect(textsBlock(html)).toEqual(en.script);
      expect(html.slice(html.indexOf("<body>"))).not.toContain(' lang="');
    }
  });

  it("a language without a catalog: English texts and lang en, the captions in the profile's language", () => {
    const html = renderChat({ profile: { ...ASSISTANT, language: "de" } });
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html).toContain("<h1>Talk with Assistant</h1>");
    expect(html).toContain(
      '<div class="captions__log" id="captions" role="log" aria-live="polite" aria-labelledby="captions-title" lang="de">',
    );
    expect(textsBlock(html)).toEqual(en.script);
  });

  it("the name step, its refusals, the notice and the earlier conversation are in Spanish too", () => {
    const TUTORA: ChatProfile = { ...ASISTENTE, id: "tutora", name: "Tutora", askName: true };
    const step = (problem: "empty" | "too_long" | "invalid") =>
      renderChat({ profile: TUTORA, visitorName: { name: null, asked: false }, nameStep: { value: "", problem } });
    const asking = step("empty");
    for (const text of [
      '<h2 id="name-step-title">¿Cómo quieres que te llame Tutora?</h2>',
      '<label for="name-input">Nombre</label>',
      ">Continuar</button>",
      ">Omitir</button>",
      '<p class="notice" id="name-error" role="alert">Escribe tu nombre, o elige Omitir.</p>',
    ])
      expect(asking).toContain(text);
    expect(step("too_long")).toContain("Aquí un nombre tiene como máximo 40 caracteres.");
    expect(step("invalid")).toContain("Escribe tu nombre con letras");
    // In English, the same problems read as before.
    const english = renderChat({
      profile: { ...TUTORA, language: "en" },
      visitorName: { name: null, asked: false },
      nameStep: { value: "", problem: "too_long" },
    });
    expect(english).toContain(
      '<p class="notice" id="name-error" role="alert">A first name here is at most 40 characters.</p>',
    );

    expect(renderChat({ profile: ASISTENTE, resumeRefused: true })).toContain(
      '<p class="notice" id="notice">Esa conversación no se puede continuar.</p>',
    );
    expect(renderChat({ profile: ASSISTANT, resumeRefused: true })).toContain(
      '<p class="notice" id="notice">That conversation can&#39;t be continued.</p>',
    );

    const t0 = Date.UTC(2026, 11, 1, 9, 30);
    const resume: TranscriptResponse = {
      session_id: "EeAaRrLlIiEeRr0123456_",
      room: "room-1",
      status: "ended",
      reason: "stopped",
      started_at: t0,
      ended_at: t0 + 60_000,
      profile: "asistente",
      events: [
        { role: "agent", text: "¡Hola! ¿En qué puedo ayudarte hoy?", final: true, seq: 1, ts: t0 + 1000 },
        { role: "user", text: "¿Qué hora es?", final: true, seq: 2, ts: t0 + 4000 },
      ],
    } as TranscriptResponse;
    const last = { session_id: "X".repeat(22), started_at: t0, status: "ended" } as never;
    const resumed = renderChat({ profile: ASISTENTE, resume, last });
    expect(resumed).toContain('<h2 id="earlier-title">Antes en esta conversación</h2>');
    expect(resumed).toContain('<span class="caption__who">Agente</span>');
    expect(resumed).toContain('<span class="caption__who">Tú</span>');
    expect(resumed).toContain("Vas a continuar una conversación anterior");
    expect(resumed).toMatch(
      /Tu última conversación: <time datetime="2026-12-01T09:30:00.000Z">1 dic 2026, 9:30 UTC<\/time>/,
    );
    expect(resumed).toContain('>Leer</a> · <a href="/chat?resume=XXXXXXXXXXXXXXXXXXXXXX">Continuar</a>');
  });
});

let browser: Browser;
beforeAll(async () => {
  browser = await launch({ viewport: { width: 400, height: 800 } });
});
afterAll(() => browser?.close());

describe("the page script's texts in Chromium", () => {
  let page: Page;
  beforeAll(async () => {
    const body = /<body>([\s\S]*)<\/body>/.exec(renderChat({ profile: ASISTENTE }))![1]!;
    page = await domPage(browser.context, body, true);
  });

  async function view(patch: Partial<ChatState>, retryInS = 0) {
    return page.evaluate(
      ([patch, retryInS]) => {
        const el = web.findElements();
        web.render(el, { ...web.initialState, ...patch }, retryInS);
        return {
          start: el.start.textContent,
          status: el.status.textContent,
          agent: el.agentState.textContent,
          user: el.userState.textContent,
          placeholder: el.message.placeholder,
          alert: el.alert.hidden ? null : el.alert.innerText.replace(/\s+/g, " ").trim(),
        };
      },
      [patch, retryInS] as const,
    );
  }

  it("shows every state in Spanish", async () => {
    expect(await view({})).toEqual({
      start: "Empezar",
      status: "Todo listo cuando quieras.",
      agent: "Desconectado",
      user: "Micrófono apagado",
      placeholder: "Pulsa Empezar para escribir",
      alert: null,
    });
    expect(await view({ phase: "starting" })).toMatchObject({ status: "Conectando…", agent: "Conectando…" });
    expect(await view({ phase: "live", agent: "listening" })).toMatchObject({
      status: "Conectado. Habla o escribe cuando quieras.",
      agent: "Escuchando",
      user: "Micrófono encendido",
      placeholder: "Escribe un mensaje",
    });
    expect(await view({ phase: "live", agent: "thinking", userSpeaking: true })).toMatchObject({
      agent: "Pensando…",
      user: "Hablando",
    });
    expect(await view({ phase: "live", agent: "speaking", muted: true })).toMatchObject({
      agent: "Hablando",
      user: "Silenciado",
      status: "Tu micrófono está silenciado.",
    });
    expect(await view({ phase: "live", agent: "reconnecting" })).toMatchObject({
      agent: "Reconectando con el agente…",
      placeholder: "Esperando al agente…",
    });
    expect(await view({ phase: "live", agent: "listening", reconnecting: true })).toMatchObject({
      status: "Conexión interrumpida. Reconectando…",
    });
    expect(await view({ phase: "stopping" })).toMatchObject({ status: "Terminando la conversación…" });
    expect(await view({ endedBy: "timeout" })).toMatchObject({
      status: "La conversación ha terminado. Pulsa Empezar para volver a hablar.",
    });
    expect(await view({ phase: "error", error: { kind: "rate_limited" } }, 12)).toMatchObject({
      start: "Empezar (12 s)",
      alert: "Se han iniciado demasiadas conversaciones Espera 12 s antes de empezar otra.",
    });
    expect(await view({ phase: "error", error: { kind: "mic_denied" } })).toMatchObject({
      alert:
        "El acceso al micrófono está bloqueado Permite que este sitio use tu micrófono (el icono de la barra de direcciones) y vuelve a pulsar Empezar.",
    });
  });

  it("labels the captions in Spanish", async () => {
    const frames: ServerMessage[] = [
      { role: "user", text: "hola", final: true, seq: 1, ts: 1 },
      { role: "agent", text: "¡Hola!", final: true, seq: 2, ts: 2 },
    ];
    const labels = await page.evaluate((frames) => {
      const log = new web.CaptionLog(document.getElementById("captions")!);
      for (const f of frames) log.apply(f);
      return [...document.querySelectorAll("#captions .caption__who")].map((e) => e.textContent);
    }, frames);
    expect(labels).toEqual(["Tú", "Agente"]);
  });
});

describe("/chat?agent=asistente under the Worker's CSP", () => {
  let server: PageServer;
  beforeAll(async () => {
    server = await startPageServer("ws://127.0.0.1:9", {}, undefined, { ...TEST_PROFILES, asistente: ASISTENTE });
  });
  afterAll(() => server?.close());

  it("runs the page script with the Spanish texts: a refusal, its alert and Start in Spanish, no CSP violation", async () => {
    const p = await openChat(browser.context, `${server.origin}/chat?agent=asistente`);
    try {
      expect(await p.evaluate(() => document.documentElement.lang)).toBe("es");
      expect(await shown(p)).toEqual({
        phase: "idle",
        alert: null,
        status: "Todo listo cuando quieras.",
        buttons: ["Empezar"],
      });
      // The typed turns' label, which the stylesheet reads from the script's `--typed`.
      await p.evaluate(() => {
        document.getElementById("captions")!.innerHTML =
          '<div class="caption caption--user caption--typed"><span class="caption__who">Tú</span><p class="caption__text">hola</p></div>';
      });
      const typed = p.locator("#captions .caption__who");
      expect(await typed.evaluate((c) => getComputedStyle(c, "::after").content)).toBe('" · escrito"');

      await interceptApi(p, {
        "POST /session": (route) =>
          route.fulfill({ status: 403, json: { error: { code: "forbidden", message: "This room is not yours." } } }),
      });
      await p.getByRole("button", { name: "Empezar" }).click();
      await waitForPhase(p, "error");
      const s = await shown(p);
      expect(s.alert).toBe(
        "Esta conversación no está disponible para ti Recarga la página para empezar una conversación nueva. This room is not yours.",
      );
      expect(s.buttons).toEqual(["Empezar"]);
      expect(await problems(p)).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it("keeps the English page English", async () => {
    const p = await openChat(browser.context, `${server.origin}/chat?agent=assistant`);
    try {
      expect(await p.evaluate(() => document.documentElement.lang)).toBe("en");
      expect(JSON.parse((await p.locator("#texts").textContent())!)).toEqual(en.script);
      expect((await shown(p)).buttons).toEqual(["Start"]);
      expect(
        await p.evaluate(() => getComputedStyle(document.getElementById("chat")!).getPropertyValue("--typed")),
      ).toBe('" · typed"');
      expect(await problems(p)).toEqual([]);
    } finally {
      await p.close();
    }
  });
});
