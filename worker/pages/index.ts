/**
 * HTML pages rendered by the Worker. Owned by the web part; the Worker's routes call these.
 * Pure functions: data in, HTML string out. No inline scripts or styles (the CSP forbids them);
 * the page script and stylesheet are served from `/static/` (built by `npm run build:web`).
 *
 * PLACEHOLDER until the web part lands.
 */
import type { TranscriptResponse } from "../../contract/index.ts";

/** `GET /`: what this is and a way into `/chat`. */
export function renderHome(): string {
  return "<!doctype html><title>Voice agent</title><a href=\"/chat\">Talk to the agent</a>";
}

/** `GET /chat`: the voice chat page. */
export function renderChat(): string {
  return "<!doctype html><title>Voice chat</title><script type=\"module\" src=\"/static/chat.js\"></script>";
}

/** `GET /history/:session_id`: one stored conversation, readable without JavaScript. */
export function renderHistory(transcript: TranscriptResponse): string {
  return `<!doctype html><title>Conversation</title><pre>${transcript.events.length} events</pre>`;
}

/** An error page for browser routes (404, 403): status and a human sentence. */
export function renderErrorPage(status: number, message: string): string {
  return `<!doctype html><title>${status}</title><p>${message.replace(/[<>&"]/g, "")}</p>`;
}
