/**
 * Live captions in a `role="log"` element: the user's interim transcript is shown in place and
 * replaced by its final; the agent's finals are appended; frames already seen (same `seq`, e.g. the
 * replay after a socket reconnect with `?after=`) are ignored.
 *
 * Screen readers: interims are `aria-hidden` (they change several times a second); the final replaces
 * the interim's node, so the log announces each final once.
 */
import type { ServerMessage, TranscriptMessage } from "../../contract/index.ts";

const LABEL = { user: "You", agent: "Agent" } as const;
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
    if ("text" in message) this.#transcript(message);
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
    const follow = this.#nearBottom();
    const text = message.text.trim();
    if (!message.final) {
      if (!text) return;
      if (this.#interim) {
        this.#interim.querySelector(".caption__text")!.textContent = text;
      } else {
        this.#interim = this.#item(message, text);
        this.#log.append(this.#interim);
      }
    } else if (message.role === "user" && this.#interim) {
      const interim = this.#interim;
      this.#interim = null;
      if (text) interim.replaceWith(this.#item(message, text));
      else interim.remove();
    } else if (text) {
      const item = this.#item(message, text);
      // The agent's reply goes after the user's words still being spoken only once those are final.
      if (this.#interim) this.#interim.before(item);
      else this.#log.append(item);
    }
    if (follow) this.#scroller.scrollTop = this.#scroller.scrollHeight;
  }

  #item(message: TranscriptMessage, text: string): HTMLElement {
    const item = document.createElement("div");
    item.className = `caption caption--${message.role}`;
    item.dataset.seq = String(message.seq);
    const who = document.createElement("span");
    who.className = "caption__who";
    who.textContent = LABEL[message.role];
    const body = document.createElement("p");
    body.className = "caption__text";
    body.textContent = text;
    item.append(who, body);
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
