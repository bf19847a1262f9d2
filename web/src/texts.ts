/**
 * The page script's texts, in the page's language (docs/web.md, "Languages"). No catalog is bundled, not even the
 * English one: every `/chat` page carries its language's `script` texts as a JSON data block,
 * `<script type="application/json" id="texts">` (web/pages/chat.ts; a data block is not run, so the CSP's
 * `script-src 'self'` allows it), read once, when the script starts. So the bundle does not grow with the texts or
 * the languages (docs/web.md, "Budget").
 */
import type { ScriptTexts } from "../i18n/en.ts";

/**
 * The page's texts: its `#texts` block (web/i18n/en.ts `ScriptTexts`, complete: the Worker renders a whole catalog).
 * @throws Error when the page has no block (its markup and this script are out of step, like a missing element)
 */
function rendered(): ScriptTexts {
  const block = document.getElementById("texts");
  if (!block) throw new Error("#texts is missing from the page");
  return JSON.parse(block.textContent!) as ScriptTexts;
}

/** The page's texts. */
export const texts: ScriptTexts = rendered();
