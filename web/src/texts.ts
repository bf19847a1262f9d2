/**
 * The page script's texts, in the page's language (docs/web.md, "Languages"). Only the English catalog is bundled:
 * a page in another language carries its texts as a JSON data block, `<script type="application/json" id="texts">`
 * (web/pages/chat.ts; a data block is not run, so the CSP's `script-src 'self'` allows it), read once, when the
 * script starts, over the English ones (an English page has no block; a text the block lacks stays English). So the
 * bundle does not grow with the languages.
 */
import { script as english, type ScriptTexts } from "../i18n/en.ts";

/** `over`'s strings where `base` has a string at the same path, `base`'s elsewhere: the same shape as `base`. */
function merge<T>(base: T, over: unknown): T {
  if (typeof base === "string") return (typeof over === "string" ? over : base) as T;
  const out: Record<string, unknown> = {};
  for (const key in base) out[key] = merge(base[key], (over as Record<string, unknown> | null)?.[key]);
  return out as T;
}

/** The `#texts` block's JSON, or null when the page has none (or it is not JSON). */
function rendered(): unknown {
  try {
    return JSON.parse(globalThis.document?.getElementById("texts")?.textContent ?? "null");
  } catch {
    return null;
  }
}

/** The page's texts: the rendered block's, and English for any it lacks. */
export const texts: ScriptTexts = merge(english, rendered());
