/**
 * Renders a `ChatState` into the `/chat` page's markup (web/pages/chat.ts). Only toggles
 * attributes, `hidden` and text: no element is created here, so nothing moves while captions stream.
 * The words are the page's language's (texts.ts: the `#texts` block, English by default).
 */
import { errorText } from "./errors.ts";
import { canStart, canType, isActive, type ChatState } from "./state.ts";
import { texts } from "./texts.ts";

export interface ChatElements {
  root: HTMLElement;
  start: HTMLButtonElement;
  stop: HTMLButtonElement;
  mute: HTMLButtonElement;
  playAudio: HTMLButtonElement;
  status: HTMLElement;
  userParty: HTMLElement;
  agentParty: HTMLElement;
  userState: HTMLElement;
  agentState: HTMLElement;
  alert: HTMLElement;
  alertTitle: HTMLElement;
  alertMessage: HTMLElement;
  alertDetail: HTMLElement;
  meter: HTMLElement;
  /** The agent's voice visualizer (web/src/visualizer.ts writes its `--bar-i`). */
  visualizer: HTMLElement;
  /** The microphone choice: its row (shown by web/src/microphones.ts when there is a choice) and its select. */
  microphones: HTMLElement;
  microphone: HTMLSelectElement;
  captionsEmpty: HTMLElement;
  log: HTMLElement;
  captionsBox: HTMLElement;
  historyLink: HTMLAnchorElement;
  /** Typed input: the form, its text box and its Send button. */
  typed: HTMLFormElement;
  message: HTMLInputElement;
  send: HTMLButtonElement;
}

/**
 * Finds the page's elements by id.
 * @throws Error naming the first missing id (the markup and the script are out of step)
 */
export function findElements(doc: Document = document): ChatElements {
  const get = <T extends HTMLElement>(id: string): T => {
    const el = doc.getElementById(id);
    if (!el) throw new Error(`#${id} is missing from the page`);
    return el as T;
  };
  return {
    root: get("chat"),
    start: get("start"),
    stop: get("stop"),
    mute: get("mute"),
    playAudio: get("play-audio"),
    status: get("status"),
    userParty: get("party-user"),
    agentParty: get("party-agent"),
    userState: get("user-state"),
    agentState: get("agent-state"),
    alert: get("alert"),
    alertTitle: get("alert-title"),
    alertMessage: get("alert-message"),
    alertDetail: get("alert-detail"),
    meter: get("meter"),
    visualizer: get("visualizer"),
    microphones: get("microphones"),
    microphone: get("microphone"),
    captionsEmpty: get("captions-empty"),
    log: get("captions"),
    captionsBox: get("captions-box"),
    historyLink: get("history-link"),
    typed: get("typed"),
    message: get("message"),
    send: get("send"),
  };
}

function statusText(state: ChatState): string {
  const status = texts.status;
  switch (state.phase) {
    case "idle":
      return state.endedBy ? status.ended : status.ready;
    case "starting":
      return status.starting;
    case "stopping":
      return status.stopping;
    case "error":
      return "";
    case "live":
      if (state.reconnecting) return status.reconnecting;
      if (state.notice) return state.notice;
      if (state.muted) return status.muted;
      return status.live;
  }
}

/** `template` with its `{s}` replaced by `seconds`. */
const seconds = (template: string, s: number) => template.replace("{s}", String(s));

function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Writes `state` into the page.
 * @param retryInS seconds left before Start may be pressed again (rate limit), 0 when it may
 */
export function render(el: ChatElements, state: ChatState, retryInS = 0): void {
  const active = isActive(state);
  const live = state.phase === "live";
  el.root.dataset.phase = state.phase;
  el.start.hidden = active || state.phase === "stopping";
  el.start.disabled = retryInS > 0 || !canStart(state);
  setText(el.start, retryInS > 0 ? seconds(texts.startIn, retryInS) : texts.start);
  el.stop.hidden = !active;
  el.mute.hidden = !live;
  el.mute.setAttribute("aria-pressed", String(state.muted));
  el.playAudio.hidden = !(live && state.audioBlocked);
  setText(el.status, statusText(state));

  el.userParty.dataset.speaking = String(live && state.userSpeaking && !state.muted);
  el.agentParty.dataset.speaking = String(live && state.agentSpeaking);
  el.userParty.dataset.muted = String(state.muted);
  el.agentParty.dataset.state = active ? state.agent : "offline";
  const { agent, user, placeholder } = texts;
  setText(el.agentState, agent[active ? state.agent : "offline"]);
  setText(el.userState, !live ? user.off : state.muted ? user.muted : state.userSpeaking ? user.speaking : user.on);

  const typing = canType(state);
  el.message.disabled = !typing;
  el.send.disabled = !typing || state.sending;
  el.message.placeholder = typing ? placeholder.typing : live ? placeholder.waiting : placeholder.idle;

  const error = state.phase === "error" ? state.error : null;
  el.alert.hidden = !error;
  if (error) {
    const text = errorText(error);
    setText(el.alertTitle, text.title);
    const wait = retryInS > 0 ? seconds(texts.retryIn, retryInS) : texts.retryNow;
    setText(el.alertMessage, error.kind === "rate_limited" ? wait : text.message);
    setText(el.alertDetail, error.detail ?? "");
    el.alertDetail.hidden = !error.detail;
  }

  el.captionsEmpty.hidden = el.log.childElementCount > 0;
  const showHistory = !active && state.phase !== "stopping" && state.sessionId !== null && el.log.childElementCount > 0;
  el.historyLink.hidden = !showHistory;
  if (showHistory) el.historyLink.href = `/history/${encodeURIComponent(state.sessionId!)}`;
}
