/**
 * The widget's loader, served at `/embed.js` (docs/widget.md). A site in `ALLOWED_ORIGINS` adds one tag:
 *
 *     <script src="https://<worker>/embed.js" data-agent="planner" async></script>
 *
 * and gets a floating voice button. Clicking it opens the panel: a modal dialog (WAI-ARIA dialog pattern, the native
 * `<dialog>` opened with `showModal()`: the rest of the page is inert, so focus stays in the dialog; Escape and the
 * close button close it, and focus returns to the button) holding an iframe of `/embed/chat?agent=<id>&host=<origin>`
 * from the Worker's origin (`allow="microphone; autoplay"`): the host page's CSS and scripts cannot reach the panel,
 * and the microphone permission belongs to the Worker's origin. The iframe, and with it the page script, is created
 * on the first click. Closing the panel keeps the conversation running (the button says so); Stop ends it.
 *
 * The button and dialog live in a shadow root with a constructed stylesheet, so that the host page's CSS does not
 * restyle them and a strict host CSP (`style-src` without 'unsafe-inline') does not block their style.
 *
 * Attributes of the script tag: `data-agent` (a profile id; absent: the deployment's default profile), `data-label`
 * (the button's text and the dialog's name; default "Talk with us"), `data-close-label` (default "Close"),
 * `data-live-label` (the button's description while a conversation runs; default "A conversation is on").
 * The host page's API is `postMessage` (web/src/embed-protocol.ts). Loading the script twice adds one widget.
 * Budget: ≤ 5 KB gzip (test/web/bundle.test.ts).
 */
import { messageType, type PanelMessage, type WidgetEvent } from "./embed-protocol.ts";

const CSS = `
:host{all:initial}
*{box-sizing:border-box}
.launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;display:flex;align-items:center;gap:8px;
min-height:48px;padding:0 20px 0 16px;border:0;border-radius:24px;background:#4f46e5;color:#fff;
font:600 15px/1.2 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;cursor:pointer;
box-shadow:0 6px 20px rgb(0 0 0/.25)}
.launcher:hover{background:#4338ca}
.launcher:focus-visible{outline:3px solid #a5b4fc;outline-offset:3px}
.launcher svg{width:22px;height:22px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round}
.live{display:none;width:10px;height:10px;border-radius:50%;background:#4ade80;box-shadow:0 0 0 3px rgb(74 222 128/.35)}
.launcher[data-live] .live{display:block}
dialog{position:fixed;inset:auto 20px 84px auto;margin:0;padding:0;border:0;border-radius:16px;overflow:hidden;
width:min(420px,calc(100vw - 40px));height:min(680px,calc(100vh - 108px));background:#fff;color:#111827;
box-shadow:0 16px 48px rgb(0 0 0/.3);font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
dialog[open]{display:flex;flex-direction:column}
dialog::backdrop{background:rgb(17 24 39/.3)}
.bar{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:6px 6px 6px 16px;
background:#4f46e5;color:#fff;font-weight:600}
.close{width:40px;height:40px;border:0;border-radius:8px;background:transparent;color:inherit;font:inherit;
font-size:24px;line-height:1;cursor:pointer}
.close:hover{background:rgb(255 255 255/.15)}
.close:focus-visible{outline:3px solid #a5b4fc;outline-offset:-3px}
iframe{flex:1;width:100%;border:0;background:#fff}
@media (prefers-color-scheme:dark){dialog,iframe{background:#111827;color:#f9fafb}}
@media (max-width:480px){dialog{inset:0;width:100%;height:100%;max-width:none;max-height:none;border-radius:0}}
`;

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * The microphone icon, built with DOM calls rather than markup: a host page that enforces Trusted Types
 * (`require-trusted-types-for 'script'`) refuses any `innerHTML` assignment, and the loader runs in the host's page.
 */
function micIcon(): SVGSVGElement {
  const el = <K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string>) => {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  };
  const svg = el("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" });
  svg.append(
    el("rect", { x: "9", y: "3", width: "6", height: "11", rx: "3" }),
    el("path", { d: "M5 11a7 7 0 0 0 14 0M12 18v3" }),
  );
  return svg;
}

/** The panel's messages the host page hears. */
const FORWARDED = new Set(["voice-agent:started", "voice-agent:action", "voice-agent:ended"]);

/** Builds the widget for the `<script>` element that loaded this file. */
function mount(script: HTMLScriptElement): void {
  const origin = new URL(script.src).origin;
  const { agent, label = "Talk with us", closeLabel = "Close", liveLabel = "A conversation is on" } = script.dataset;

  const element = document.createElement("voice-agent-widget");
  const root = element.attachShadow({ mode: "open" });
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  root.adoptedStyleSheets = [sheet];

  const button = document.createElement("button");
  button.type = "button";
  button.className = "launcher";
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "panel");
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = label;
  const dot = document.createElement("span");
  dot.className = "live";
  dot.setAttribute("aria-hidden", "true");
  button.append(micIcon(), text, dot);
  // Said by screen readers as the button's description while a conversation runs (the green dot's meaning).
  const liveNote = document.createElement("span");
  liveNote.id = "live-note";
  liveNote.hidden = true;
  liveNote.textContent = liveLabel;
  const setLive = (live: boolean) => {
    button.toggleAttribute("data-live", live);
    if (live) button.setAttribute("aria-describedby", "live-note");
    else button.removeAttribute("aria-describedby");
  };

  const dialog = document.createElement("dialog");
  dialog.id = "panel";
  dialog.setAttribute("aria-labelledby", "panel-title");
  const bar = document.createElement("div");
  bar.className = "bar";
  const title = document.createElement("span");
  title.id = "panel-title";
  title.textContent = label;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.setAttribute("aria-label", closeLabel);
  close.textContent = "×";
  bar.append(title, close);
  dialog.append(bar);
  root.append(button, liveNote, dialog);
  document.body.append(element);

  let frame: HTMLIFrameElement | null = null;

  /** Tells the host page `event`, in its own window and origin. */
  const tell = (event: WidgetEvent) => window.postMessage(event, location.origin);

  const open = () => {
    if (dialog.open) return;
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = label;
      frame.allow = "microphone; autoplay";
      const query = new URLSearchParams(agent ? { agent } : {});
      query.set("host", location.origin);
      frame.src = `${origin}/embed/chat?${query.toString()}`;
      dialog.append(frame);
    }
    dialog.showModal();
    button.setAttribute("aria-expanded", "true");
    tell({ type: "voice-agent:opened" });
  };
  const shut = () => {
    if (dialog.open) dialog.close();
  };

  button.addEventListener("click", open);
  close.addEventListener("click", shut);
  dialog.addEventListener("close", () => {
    button.setAttribute("aria-expanded", "false");
    button.focus();
    tell({ type: "voice-agent:closed" });
  });

  window.addEventListener("message", (event: MessageEvent<unknown>) => {
    const type = messageType(event.data);
    if (!type) return;
    if (event.source === window && event.origin === location.origin) {
      if (type === "voice-agent:open") open();
      else if (type === "voice-agent:close") shut();
      return;
    }
    if (!frame || event.source !== frame.contentWindow || event.origin !== origin) return;
    const message = event.data as PanelMessage;
    if (message.type === "voice-agent:escape") return shut();
    if (!FORWARDED.has(message.type)) return;
    if (message.type === "voice-agent:started") setLive(true);
    if (message.type === "voice-agent:ended") setLive(false);
    tell(message);
  });
}

const current = document.currentScript;
const registry = window as Window & { voiceAgentWidget?: true };
if (current instanceof HTMLScriptElement && current.src && !registry.voiceAgentWidget) {
  registry.voiceAgentWidget = true;
  if (document.body) mount(current);
  else document.addEventListener("DOMContentLoaded", () => mount(current), { once: true });
}
