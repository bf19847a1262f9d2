/**
 * The languages `/chat` speaks, and which one a profile's page gets (docs/web.md, "Languages").
 *
 * A catalog per language (en.ts, the reference, and es.ts), chosen by the primary subtag of the profile's `language`
 * (BCP 47: `es-MX` → `es`). A language without a catalog gets the English texts, and then the page's `lang` is `en`:
 * the attribute says what language the page's own texts are in, so that a screen reader pronounces them right. The
 * conversation itself (the captions, the earlier conversation) is in the profile's language whatever the texts are:
 * the page marks those regions with the profile's tag when it differs (web/pages/chat.ts).
 */
import * as en from "./en.ts";
import * as es from "./es.ts";
import type { PageTexts, ScriptTexts } from "./en.ts";

export type { ErrorText, PageTexts, ScriptTexts } from "./en.ts";
export { fill } from "./fill.ts";

/** A language's catalog: the server-rendered texts and the page script's. */
export interface Catalog {
  page: PageTexts;
  script: ScriptTexts;
}

/** Every catalog, by primary language subtag. */
export const CATALOGS: Readonly<Record<string, Catalog>> = {
  en: { page: en.page, script: en.script },
  es: { page: es.page, script: es.script },
};

/** The texts of a page, and the language they are in. */
export interface PageLanguage extends Catalog {
  /**
   * The page's `lang`: the profile's tag (e.g. `es`, `es-MX`, `en-GB`) when there is a catalog for its language, else
   * `en`.
   */
  lang: string;
  /** The profile's own tag (`en` when none was given): the conversation's language. */
  conversation: string;
}

/** The primary subtag of a BCP 47 tag, lower case (`es-MX` → `es`). */
export function primaryLanguage(tag: string): string {
  return tag.split("-")[0]!.toLowerCase();
}

/**
 * The texts a page in `language` shows.
 * @param language the profile's `language` (BCP 47); absent: `en`
 */
export function pageLanguage(language = "en"): PageLanguage {
  const primary = primaryLanguage(language);
  const catalog = Object.hasOwn(CATALOGS, primary) ? CATALOGS[primary] : undefined;
  return catalog
    ? { ...catalog, lang: language, conversation: language }
    : { ...CATALOGS.en!, lang: "en", conversation: language };
}
