/**
 * What each failure means to a person, and what they can do about it.
 */
import type { RequestError } from "./api.ts";
import type { ChatError, ErrorKind } from "./state.ts";

export interface ErrorText {
  title: string;
  /** What happened and how to recover, in one or two sentences. */
  message: string;
}

const TEXT: Record<ErrorKind, ErrorText> = {
  mic_denied: {
    title: "Microphone access is blocked",
    message: "Allow this site to use your microphone (the icon in the address bar), then press Start again.",
  },
  mic_missing: {
    title: "No microphone found",
    message: "Connect a microphone or headset, then press Start again.",
  },
  mic_busy: {
    title: "Your microphone is busy",
    message: "Another app or tab is using it. Close it, then press Start again.",
  },
  mic_failed: {
    title: "The microphone could not be opened",
    message: "Check your browser's microphone settings, then press Start again.",
  },
  server_unreachable: {
    title: "Can't reach the server",
    message: "Check your internet connection, then press Start again.",
  },
  livekit_unreachable: {
    title: "Can't reach the voice service",
    message: "The audio connection could not be set up. Check your connection or firewall, then press Start again.",
  },
  rate_limited: {
    title: "Too many conversations started",
    message: "Please wait a moment before starting another one.",
  },
  forbidden: {
    title: "This conversation isn't available to you",
    message: "Reload the page to start a new conversation.",
  },
  verification_failed: {
    title: "The browser check didn't go through",
    message:
      "This site checks that a person is starting the conversation (Cloudflare Turnstile), and the check did not complete. Press Start to try again; if it keeps failing, reload the page or allow challenges.cloudflare.com in your blocker.",
  },
  refused: {
    title: "The conversation could not be started",
    message: "Press Start to try again.",
  },
  agent_unavailable: {
    title: "The agent did not join in time",
    message: "All agents may be busy. Press Start to try again in a moment.",
  },
  agent_lost: {
    title: "The agent left the conversation",
    message: "Press Start to begin a new conversation.",
  },
  timeout: {
    title: "The conversation has ended",
    message: "It reached its time limit or was idle for too long. Press Start to begin a new one.",
  },
  connection_lost: {
    title: "Connection lost",
    message: "The connection to the conversation dropped. Check your network, then press Start again.",
  },
  session_error: {
    title: "Something went wrong",
    message: "The conversation stopped because of a server error. Press Start to try again.",
  },
};

/**
 * The title and message for an error (the view replaces a rate limit's message with its countdown).
 */
export function errorText(error: ChatError): ErrorText {
  return TEXT[error.kind];
}

/**
 * What the status line says when a typed message was not sent (`POST /session/{id}/messages`, api.ts
 * `sendMessage`): a rate limit asks to slow down (with `Retry-After`, rounded up to whole seconds, when given), a
 * network failure or 502 `livekit_unavailable` offers Send again (the same message keeps its id, so it is taken
 * once), anything else gives the server's own sentence (e.g. 409 `agent_not_ready`).
 */
export function sendErrorText(err: RequestError): string {
  const wait = err.retryAfterS ? ` in ${Math.ceil(err.retryAfterS)} s` : "";
  if (err.status === 429) return `You're sending messages too fast. Please slow down and try again${wait}.`;
  if (err.status === 0 || err.status === 502) return "Your message couldn't be sent. Press Send to try again.";
  return `Your message wasn't sent: ${err.message}`;
}
