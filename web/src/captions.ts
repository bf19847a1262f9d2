/**
 * Live captions in a `role="log"` element: the user's interim transcript is shown in place and
 * replaced by its final; the agent's finals are appended; frames already seen (same `seq`, e.g. the
 * replay after a socket reconnect with `?after=`) are ignored.
 *
 * Screen readers: interims are `aria-hidden` (they change several times a second); the final replaces
 * the interim's node, so the log announces each final once.
 *
 * A turn the visitor typed (`typed: true`, contract/messages.ts) is shown like a spoken one, marked
 * `caption--typed` (the stylesheet adds " · typed" to its label: `--typed`, which chat.ts sets in the page's
 * language), and never replaces the words still being spoken. The labels ("You", "Agent") are the page's language's
 * (texts.ts).
 *
 * Actions (contract `ActionMessage`) appear in the same list, in `seq` order with the captions, as cards
 * (actions.ts says what they show): appended whole, so the log announces each card's text once. A change of the
 * session's mode (contract `ModeMessage`) is a quiet separator line in its place, "Live mode on" / "Live mode off"
 * ("… (daily live minutes used up)" when they ran out; web/pages/history.ts writes the same), announced once too.
 */
import type { ActionMessage, ModeMessage, ServerMessage, TranscriptMessage } from "../../contract/index.ts";
import { actionCard, when } from "./actions.ts";
import { el, time } from "./dom.ts";
import { texts } from "./texts.ts";

const LABEL = { user: texts.you, agent: texts.agentLabel } as const;
/** Distance from the bottom, in CSS px, within which the log keeps following new captions. */
const FOLLOW_PX = 48;

export class CaptionLog {
  readonly #log: HTMLElement;
  readonly #scroller: HTMLElement;
  #interim: HTMLElement | null = null;
  #lastSeq = 0;
  #lastFinalRole: string | null = null;

  /**
   * @param log the `role="log"` element captions are appended to
   * @param scroller the scrolling ancestor that follows new captions (default: `log` itself)
   */
  constructor(log: HTMLElement, scroller: HTMLElement = log) {
    this.#log = log;
    this.#scroller = scroller;
  }

  /** Highest `seq` applied so far (0 before any): the `?after=` of a reconnect. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Number of captions shown, interim included. */
  get size(): number {
    return this.#log.childElementCount;
  }

  /**
   * Applies one server frame. Session and speech frames only advance `lastSeq`.
   * @returns false when the frame was a duplicate (its `seq` was not above `lastSeq`) and was ignored
   */
  apply(message: ServerMessage): boolean {
    if (message.seq <= this.#lastSeq) return false;
    this.#lastSeq = message.seq;
    const follow = this.#nearBottom();
    if ("text" in message) this.#transcript(message);
    else if ("call_id" in message) this.#action(message);
    else if ("mode" in message) this.#mode(message);
    if (follow) this.#scroller.scrollTop = this.#scroller.scrollHeight;
    return true;
  }

  /** Removes every caption and forgets the seen `seq`s (a new session numbers from 1 again). */
  clear(): void {
    this.#log.replaceChildren();
    this.#interim = null;
    this.#lastSeq = 0;
    this.#lastFinalRole = null;
  }

  #transcript(message: TranscriptMessage): void {
    const text = message.text.trim();
    if (!message.final) {
      if (!text) return;
      if (this.#interim) {
        this.#interim.querySelector(".caption__text")!.textContent = text;
      } else {
        this.#interim = this.#caption(message, text);
        this.#log.append(this.#interim);
      }
    } else if (message.role === "user" && this.#interim && !message.typed) {
      const interim = this.#interim;
      this.#interim = null;
      if (text) interim.replaceWith(this.#caption(message, text));
      else interim.remove();
    } else if (text) {
      this.#add(this.#caption(message, text));
    }
  }

  /** Adds a final caption or a card: after the user's words still being spoken only once those are final. */
  #add(item: HTMLElement): void {
    if (this.#interim) this.#interim.before(item);
    else this.#log.append(item);
  }

  #action(message: ActionMessage): void {
    const card = actionCard(message);
    const item = this.#item(`action action--${message.status}`, message.seq, card.label, card.text);
    /** Appends " · <time>" to `parent` when `iso` reads as a date. */
    const at = (parent: HTMLElement, iso = "") => {
      const text = when(iso);
      if (text) parent.append(" · ", time(iso, text));
    };
    at(item.lastChild as HTMLElement, card.when);
    if (card.choices.length) {
      const list = item.appendChild(el("ul", "action__choices"));
      for (const choice of card.choices) at(list.appendChild(el("li", "", choice.title)), choice.when);
    }
    this.#lastFinalRole = null;
    this.#add(item);
  }

  #mode(message: ModeMessage): void {
    const item = el("div", `caption caption--mode caption--mode-${message.mode}`);
    item.dataset.seq = String(message.seq);
    item.append(el("p", "caption__text", texts.mode[message.reason === "live_limit" ? "live_limit" : message.mode]));
    this.#lastFinalRole = null;
    this.#add(item);
  }

  #item(className: string, seq: number, label: string, text: string): HTMLElement {
    const item = el("div", `caption ${className}`);
    item.dataset.seq = String(seq);
    item.append(el("span", "caption__who", label), el("p", "caption__text", text));
    return item;
  }

  #caption(message: TranscriptMessage, text: string): HTMLElement {
    const item = this.#item(`caption--${message.role}`, message.seq, LABEL[message.role], text);
    if (message.typed) item.classList.add("caption--typed");
    if (message.final) {
      if (this.#lastFinalRole === message.role) item.classList.add("caption--cont");
      this.#lastFinalRole = message.role;
    } else {
      item.classList.add("caption--interim");
      item.setAttribute("aria-hidden", "true");
    }
    return item;
  }

  #nearBottom(): boolean {
    const s = this.#scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= FOLLOW_PX;
  }
}
