/**
 * The document shell shared by every page: head, skip link, header, footer. No inline script or
 * style (the Worker's CSP is `script-src 'self'; style-src 'self'`): the stylesheet, the optional
 * module script, the icons and the web app manifest come from `/static/` (built by `npm run build:web` from
 * web/src/ and web/icons/), and `/favicon.ico` from the Worker. The shell's words and the document's `lang` are
 * English unless a page passes its own (`/chat` follows its profile's language: web/i18n/).
 */
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { page as english, type PageTexts } from "../i18n/en.ts";

/** HTML produced by `html```; turned into a string with `toHtml`. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * Resolves `html```'s result to a string. Our templates never interpolate promises, so the result
 * is always synchronous.
 * @throws Error if a template interpolated a promise (a programming error)
 */
export function toHtml(value: Html): string {
  if (value instanceof Promise) throw new Error("page templates must be synchronous");
  return value.toString();
}

export interface LayoutOptions {
  /** The document's `<title>`, whole. */
  title: string;
  /** The `<main>` class, e.g. `page--chat`. */
  pageClass: string;
  /** The module script to load from `/static/`, e.g. `chat.js`. */
  script?: string;
  /**
   * The widget's panel (`/embed/chat`, framed by another site's page): no skip link, header or footer (the host page
   * has its own; the panel is a dialog's content), and the panel's own stylesheet and bridge script
   * (`/static/embed-panel.css`, `/static/embed-panel.js`) after the page's. Default false.
   */
  embedded?: boolean;
  /** More `<head>` content (no inline script or style), e.g. a third-party script's preload. */
  head?: Html;
  body: Html;
  /** The document's language (`<html lang>`), a BCP 47 tag; default `en`. */
  lang?: string;
  /** The shell's words (skip link, brand, navigation, footer) in that language; default English. */
  texts?: Pick<
    PageTexts,
    "brand" | "skipLink" | "navLabel" | "navTalk" | "navHistory" | "footer" | "footerLink" | "footerEnd"
  >;
}

const MARK = raw(
  '<svg class="brand__mark" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M4 10v4M8 7v10M12 4v16M16 8v8M20 11v2"/></svg>',
);

/** A complete HTML document. */
export function layout(options: LayoutOptions): Html {
  const t = options.texts ?? english;
  return html`<!doctype html>
<html lang="${options.lang ?? "en"}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${options.title}</title>
<link rel="icon" href="/favicon.ico" sizes="32x32">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/static/apple-touch-icon.png">
<link rel="manifest" href="/static/manifest.webmanifest">
<meta name="theme-color" content="#4f46e5">
<link rel="stylesheet" href="/static/chat.css">
${
  options.embedded
    ? html`<link rel="stylesheet" href="/static/embed-panel.css">
`
    : ""
}${options.script ? html`<script type="module" src="/static/${options.script}"></script>` : ""}${
    options.embedded
      ? html`
<script type="module" src="/static/embed-panel.js"></script>`
      : ""
  }${options.head ?? ""}
</head>
<body${options.embedded ? html` class="embedded"` : ""}>
${
  options.embedded
    ? ""
    : html`<a class="skip-link" href="#main">${t.skipLink}</a>
<header class="site-header">
<a class="brand" href="/">${MARK}<span>${t.brand}</span></a>
<nav aria-label="${t.navLabel}"><a href="/chat">${t.navTalk}</a><a href="/history">${t.navHistory}</a></nav>
</header>
`
}<main id="main" class="page ${options.pageClass}">
${options.body}
</main>
${
  options.embedded
    ? ""
    : html`<footer class="site-footer"><p>${t.footer}<a href="/history">${t.footerLink}</a>${t.footerEnd}</p></footer>
`
}</body>
</html>
`;
}
