/**
 * `/chat` in its profile's language on the real Worker (wrangler.toml's `ALLOWED_PROFILES` with the bundled registry):
 * the shipped Spanish profile `asistente` is offered and served with `lang="es"`, Spanish texts and the page script's
 * Spanish texts as a JSON data block; its name step and its notices speak Spanish; a session with it dispatches it.
 * English pages stay English, their English texts in the same data block (the script carries no catalog of its own).
 * See docs/web.md, "Languages".
 */
import { describe, expect, it } from "vitest";
import { DispatchMetadata } from "../../contract/index.ts";
import { script as english } from "../../web/i18n/en.ts";
import { script as spanish } from "../../web/i18n/es.ts";
import { startWith } from "./action-helpers.ts";
import { call, liveKitCalls, newVisitor, ORIGIN } from "./helpers.ts";

/** The page at `path` for the visitor `cookie`: its status and HTML. */
async function page(path: string, cookie: string, init: RequestInit = {}) {
  const res = await call(path, { cookie, redirect: "manual", ...init });
  expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
  return { status: res.status, body: await res.text() };
}

/** The `#texts` data block's JSON, or null when the page has none. */
function textsBlock(html: string): unknown {
  const block = /<script type="application\/json" id="texts">([^<]*)<\/script>/.exec(html);
  return block ? JSON.parse(block[1]!) : null;
}

describe("/chat in the profile's language", () => {
  it("/chat?agent=asistente: lang es, Spanish texts, the script's Spanish texts in a data block", async () => {
    const cookie = await newVisitor();
    const { status, body } = await page("/chat?agent=asistente", cookie);
    expect(status).toBe(200);
    expect(body).toMatch(/^<!doctype html>\n<html lang="es">/);
    expect(body).toContain("<title>Habla con Asistente · Agente de voz</title>");
    expect(body).toContain("<h1>Habla con Asistente</h1>");
    expect(body).toContain('data-profile="asistente" data-profile-name="Asistente"');
    expect(body).toContain('<button class="btn btn--primary" id="start" type="button">Empezar</button>');
    expect(body).toContain('<p class="status" id="status" role="status">Todo listo cuando quieras.</p>');
    expect(body).toContain('<h2 id="captions-title">Subtítulos</h2>');
    expect(body).not.toMatch(/>(Start|Captions|Talk with Asistente)</);
    expect(textsBlock(body)).toEqual(spanish);
  });

  it("English profiles stay English, with the English texts in the data block", async () => {
    const cookie = await newVisitor();
    for (const path of ["/chat", "/chat?agent=planner"]) {
      const { status, body } = await page(path, cookie);
      expect(status).toBe(200);
      expect(body).toMatch(/^<!doctype html>\n<html lang="en">/);
      expect(body).toContain('<button class="btn btn--primary" id="start" type="button">Start</button>');
      expect(textsBlock(body)).toEqual(english);
    }
  });

  it("the home page offers asistente, marked as Spanish", async () => {
    const home = (await page("/", await newVisitor())).body;
    expect(home).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(home).toContain('<a href="/chat?agent=asistente" lang="es" hreflang="es">Asistente</a>');
  });

  it("says a refused name and a conversation that can't be continued in Spanish", async () => {
    const cookie = await newVisitor();
    const refused = await page("/chat/name", cookie, {
      method: "POST",
      headers: { Origin: ORIGIN, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ name: "R2D2", agent: "asistente" }).toString(),
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatch(/<html lang="es">/);
    expect(refused.body).toContain('<h2 id="name-step-title">¿Cómo quieres que te llame Asistente?</h2>');
    expect(refused.body).toContain(
      '<p class="notice" id="name-error" role="alert">Escribe tu nombre con letras (se admiten espacios, guiones y apóstrofos), sin números ni símbolos.</p>',
    );
    const tooLong = await page("/chat/name", cookie, {
      method: "POST",
      headers: { Origin: ORIGIN, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ name: "A".repeat(41), agent: "asistente" }).toString(),
    });
    expect(tooLong.body).toContain("Aquí un nombre tiene como máximo 40 caracteres.");

    const notice = await page(`/chat?agent=asistente&resume=${"Z".repeat(22)}`, cookie);
    expect(notice.body).toContain('<p class="notice" id="notice">Esa conversación no se puede continuar.</p>');
    const english = await page(`/chat?resume=${"Z".repeat(22)}`, cookie);
    expect(english.body).toContain('<p class="notice" id="notice">That conversation can&#39;t be continued.</p>');
  });

  it("starts a session with asistente and dispatches it", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startWith(cookie, { profile: "asistente" });
    const dispatched = (await liveKitCalls(room))
      .filter((c) => c.method === "CreateDispatch")
      .map((c) => DispatchMetadata.parse(JSON.parse(String(c.body.metadata))));
    expect(dispatched).toEqual([{ session_id: sessionId, profile: "asistente" }]);
    // The page then offers it as the last conversation, dated in Spanish (workerd's Intl: "2 dic 2026, 9:30").
    const { body } = await page("/chat?agent=asistente", cookie);
    expect(body).toMatch(
      new RegExp(
        `Tu última conversación: <time datetime="[^"]+">\\d{1,2} [a-z]{3,4} \\d{4}, \\d{1,2}:\\d{2} UTC</time> — <a href="/history/${sessionId}">Leer</a> · <a href="/history">Todas las conversaciones</a>`,
      ),
    );
  });
});
