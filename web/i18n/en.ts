/**
 * The English texts of `/chat`: the reference catalog. Every other language's catalog (es.ts, …) has the same keys,
 * typed by {@link PageTexts} and {@link ScriptTexts} (test/web/i18n.test.ts also checks it at run time).
 *
 * Two parts, because they travel differently (docs/web.md, "Languages"):
 * - {@link page}: what the Worker renders into the HTML (web/pages/chat.ts and the shell of layout.ts);
 * - {@link script}: what the page script writes (web/src/view.ts, errors.ts, captions.ts, live-mode.ts). The Worker
 *   renders the page language's `script` texts into every `/chat` page as a JSON data block (`#texts`), which the
 *   script reads at start (web/src/texts.ts). No catalog is bundled into chat.js, not even this one: the page script
 *   is at its size budget.
 *
 * `{name}`-style placeholders are filled by web/i18n/fill.ts `fill` (the page script replaces its one `{s}` itself).
 * Texts are plain text: the templates escape them.
 */
import type { ErrorKind } from "../src/state.ts";

/** A failure's words: its title, and what happened and how to recover in one or two sentences. */
export interface ErrorText {
  title: string;
  message: string;
}

/** The server-rendered texts of `/chat` and of the page shell around it. */
export const page = {
  /** The locale dates on the page are written in (`Intl.DateTimeFormat`), e.g. the last conversation's. */
  dateLocale: "en-GB",
  // The shell (layout.ts)
  brand: "Voice agent",
  skipLink: "Skip to content",
  navLabel: "Main",
  navTalk: "Talk",
  navHistory: "History",
  /** The footer: this, a link to /history reading {@link footerLink}, then {@link footerEnd}. */
  footer: "An open-source voice agent for websites. Conversations are stored so you can read them back, and ",
  footerLink: "you can delete them",
  footerEnd: ".",
  // The chat page (chat.ts)
  /** The page's `<title>` and heading; `{name}` is the agent's display name. */
  talkWith: "Talk with {name}",
  /** The agent's name when the page names no profile. */
  theAgent: "the agent",
  lede: "Press Start, allow the microphone, and speak naturally. You can interrupt the agent at any time.",
  ledeResume: "You're continuing an earlier conversation: press Start, and the agent picks up where you left off.",
  /** `#notice` on `/chat?resume=<id>` when that conversation cannot be continued. */
  cannotResume: "That conversation can't be continued.",
  hiName: "Hi {name}",
  changeName: "Change name",
  addName: "Add your name",
  // The name step
  nameTitle: "What should {agent} call you?",
  nameNote:
    "Your first name is enough: the agent greets you with it, and your conversation history shows it. You can change it later, or skip this.",
  nameLabel: "First name",
  nameContinue: "Continue",
  nameSkip: "Skip",
  nameForget: "Forget my name",
  nameKeep: "Keep my name as it is",
  nameWithout: "Go on without a name",
  /** Why a typed name was refused (`POST /chat/name`). */
  nameEmpty: "Type your first name, or choose Skip.",
  nameTooLong: "A first name here is at most {max} characters.",
  nameInvalid: "Use letters for your first name (spaces, hyphens and apostrophes are fine), without digits or symbols.",
  // The visitor's last conversation
  lastConversation: "Your last conversation:",
  read: "Read",
  continue: "Continue",
  allConversations: "All conversations",
  // The stage and the controls (their changing texts are the script's: Start, Offline, Mic off, …)
  participants: "Participants",
  mute: "Mute",
  stop: "Stop",
  playAudio: "Play agent audio",
  microphone: "Microphone",
  liveMode: "Live mode",
  liveModeNote: "One speech-to-speech model hears you and answers: quicker turns.",
  typeMessage: "Type a message",
  send: "Send",
  // Captions and the earlier conversation
  captions: "Captions",
  captionsScrollable: "Captions, scrollable",
  captionsEmpty: "What you and the agent say appears here as you speak.",
  savedTranscript: "Saved transcript",
  earlier: "Earlier in this conversation",
  earlierScrollable: "Earlier in this conversation, scrollable",
  earlierEmpty: "Nothing was said in that conversation.",
  transcript: "Transcript",
  noScript: "The voice chat needs JavaScript. Past conversations can still be read without it.",
};

/** The texts the page script writes, by the state it shows (web/src/view.ts, errors.ts, captions.ts). */
export const script = {
  /** The agent's state (`#agent-state`). */
  agent: {
    offline: "Offline",
    connecting: "Connecting…",
    listening: "Listening",
    thinking: "Thinking…",
    speaking: "Speaking",
    reconnecting: "Reconnecting the agent…",
  },
  /** The visitor's microphone (`#user-state`). */
  user: { off: "Mic off", muted: "Muted", speaking: "Speaking", on: "Mic on" },
  /** The status line (`#status`). */
  status: {
    ready: "Ready when you are.",
    ended: "The conversation has ended. Press Start to talk again.",
    starting: "Connecting…",
    stopping: "Ending the conversation…",
    reconnecting: "Connection interrupted. Reconnecting…",
    muted: "Your microphone is muted.",
    live: "Connected. Speak or type whenever you like.",
  },
  start: "Start",
  /** Start while a rate limit runs; `{s}`: the seconds left. */
  startIn: "Start ({s} s)",
  /** The typed-message box's placeholder. */
  placeholder: { typing: "Type a message", waiting: "Waiting for the agent…", idle: "Press Start to type" },
  /** A rate limit's alert message; `{s}`: the seconds left. */
  retryIn: "Please wait {s} s before starting another one.",
  retryNow: "You can press Start again now.",
  /** What each failure means to a person (errors.ts `errorText`). */
  errors: {
    browser_unsupported: {
      title: "This browser can't make voice calls",
      message: "Open this page in a recent Chrome, Edge, Firefox or Safari.",
    },
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
    live_limit: {
      title: "Today's live minutes are used up",
      message: "Live mode is now off: press Start to talk in standard mode.",
    },
  } satisfies Record<ErrorKind, ErrorText>,
  /** A typed message the server refused for its rate; `{wait}`: {@link sendWait}, or nothing without Retry-After. */
  sendTooFast: "You're sending messages too fast. Please slow down and try again{wait}.",
  /** `{s}`: whole seconds from Retry-After. */
  sendWait: " in {s} s",
  sendFailed: "Your message couldn't be sent. Press Send to try again.",
  /** Followed by the server's own sentence. */
  sendRefused: "Your message wasn't sent: ",
  /**
   * The separator line where a conversation's mode changed (captions.ts, and the transcript pages' web/pages/history.ts),
   * by the mode it changed to, or `live_limit` when it fell back because the visitor's live minutes ran out.
   */
  mode: {
    live: "Live mode on",
    pipeline: "Live mode off",
    live_limit: "Live mode off (daily live minutes used up)",
  },
  /** The status line when the session left live mode because the visitor's live minutes for today ran out. */
  liveLimit: "Today's live minutes are used up; the conversation continues in standard mode.",
  /** The status line when the Live mode switch could not change the conversation's mode; followed by the server's sentence. */
  modeRefused: "Live mode wasn't switched: ",
  /** The same with no answer from the server. */
  modeFailed: "Live mode couldn't be switched. Check your connection and try again.",
  /** Caption labels (captions.ts); a typed turn's label reads "You · typed". */
  you: "You",
  agentLabel: "Agent",
  typed: "typed",
};

/** The server-rendered texts of `/chat`: {@link page}'s keys, every one a string. */
export type PageTexts = typeof page;
/** The page script's texts: {@link script}'s keys, every one a string. */
export type ScriptTexts = typeof script;
