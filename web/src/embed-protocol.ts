/**
 * The embeddable widget's `postMessage` API (docs/widget.md, "The host page's API"). Three parties: the host page
 * (a site in `ALLOWED_ORIGINS`), the loader (`/embed.js`, web/src/embed.ts, running in the host page's window) and the
 * panel (`/embed/chat` in an iframe from the Worker's origin, its bridge web/src/embed-panel.ts).
 *
 * - Host page → loader, in the host page's own window: `window.postMessage({type: "voice-agent:open"},
 *   location.origin)` (or `voice-agent:close`). The loader takes only messages its own window posted to itself.
 * - Panel → loader: the panel's events, posted to the host's origin only; the loader takes only messages from its
 *   iframe's window with the Worker's origin.
 * - Loader → host page: the widget's events ({@link WidgetEvent}), posted to the host page's window and origin; the
 *   host page should check `event.origin === location.origin` and `event.source === window`.
 */
import type { PageAction } from "./events.ts";

/** The prefix of every message type of the API. */
export const PREFIX = "voice-agent:";

/** What the host page may ask of the widget. */
export type HostCommand = { type: "voice-agent:open" } | { type: "voice-agent:close" };

/**
 * What the widget tells the host page: the panel opened or closed (by the visitor or a {@link HostCommand}), and the
 * panel's conversation events (web/src/events.ts: started, an action the agent took, ended).
 */
export type WidgetEvent =
  | { type: "voice-agent:opened" }
  | { type: "voice-agent:closed" }
  | { type: "voice-agent:started"; sessionId: string }
  | { type: "voice-agent:action"; sessionId: string; action: PageAction }
  | { type: "voice-agent:ended"; sessionId: string; reason: string; error?: string };

/**
 * What the panel tells the loader: the conversation's events, and `escape` (the visitor pressed Escape inside the
 * panel, where the host page's dialog cannot see the key).
 */
export type PanelMessage =
  | Extract<WidgetEvent, { type: "voice-agent:started" | "voice-agent:action" | "voice-agent:ended" }>
  | { type: "voice-agent:escape" };

/** The message's `type` when `data` is an object whose `type` is a string starting with {@link PREFIX}, else null. */
export function messageType(data: unknown): string | null {
  if (typeof data !== "object" || data === null) return null;
  const type = (data as { type?: unknown }).type;
  return typeof type === "string" && type.startsWith(PREFIX) ? type : null;
}
