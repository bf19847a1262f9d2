/**
 * The widget panel's bridge (`/embed/chat` loads it after the page script): tells the loader in the host page
 * (web/src/embed.ts) what happens in the panel, through `postMessage` to the host's origin only
 * (`#chat[data-embed-host]`, an origin the Worker allowed), so that no other page that frames the panel hears it:
 * - the page's conversation events (web/src/events.ts), as `voice-agent:started`, `voice-agent:action` and
 *   `voice-agent:ended` (web/src/embed-protocol.ts);
 * - Escape pressed anywhere in the panel, as `voice-agent:escape`: the loader closes the panel (a key pressed in a
 *   frame never reaches the host page's dialog).
 * It takes no message from anyone.
 */
import { PAGE_EVENT, type PageEventDetail } from "./events.ts";
import type { PanelMessage } from "./embed-protocol.ts";

const host = document.getElementById("chat")?.dataset.embedHost;

/** Posts `message` to the host page, when the panel is framed and knows its host. */
function post(message: PanelMessage): void {
  if (host && window.parent !== window) window.parent.postMessage(message, host);
}

document.addEventListener(PAGE_EVENT, (event) => {
  const detail = (event as CustomEvent<PageEventDetail>).detail;
  switch (detail.type) {
    case "started":
      post({ type: "voice-agent:started", sessionId: detail.sessionId });
      break;
    case "action":
      post({ type: "voice-agent:action", sessionId: detail.sessionId, action: detail.action });
      break;
    case "ended":
      post({
        type: "voice-agent:ended",
        sessionId: detail.sessionId,
        reason: detail.reason,
        ...(detail.error ? { error: detail.error } : {}),
      });
      break;
  }
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !event.defaultPrevented) post({ type: "voice-agent:escape" });
});
