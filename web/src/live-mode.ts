/**
 * The Live mode switch (`#live-mode`, a checkbox with `role="switch"`, web/pages/chat.ts; only where the deployment
 * offers live mode). Before Start it is the visitor's choice: on, `POST /session` carries `mode: "live"`. During a
 * conversation, while the agent is in the room, toggling it asks the server to switch the session
 * (`POST /session/{id}/mode`, contract/mode.ts): the switch is busy meanwhile (`aria-busy`, `aria-disabled`, clicks
 * ignored), then shows the mode the server answered; a refusal or a failure puts it back and says why in the status
 * line (the conversation goes on). A mode change the server made (contract `ModeMessage` on the transcript socket,
 * e.g. live mode ending when the visitor's live minutes run out) sets it too. See docs/web.md, "Live mode".
 */
import type { ServerMessage, SessionMode } from "../../contract/index.ts";
import { changeMode, type RequestError } from "./api.ts";
import { modeErrorText } from "./errors.ts";

export class LiveModeSwitch {
  readonly #input: HTMLInputElement;
  readonly #notice: (text: string | null) => void;
  /** The running session whose mode the switch shows; null before Start and after the end. */
  #sessionId: string | null = null;
  /** The session's mode as the server last said it (the mode it started with, a 200 answer, a `ModeMessage`). */
  #mode: SessionMode = "pipeline";
  /** A `POST /session/{id}/mode` is on its way. */
  #busy = false;

  /**
   * @param input the `#live-mode` checkbox
   * @param notice shows a sentence in the status line (null clears it): why a switch went back
   */
  constructor(input: HTMLInputElement, notice: (text: string | null) => void) {
    this.#input = input;
    this.#notice = notice;
    // Busy: neither a click nor Space toggles it (it keeps the keyboard focus, which `disabled` would drop).
    input.addEventListener("click", (e) => this.#busy && e.preventDefault());
    input.addEventListener("change", () => void this.#change());
  }

  /** What `POST /session` asks for: `live` when the switch is on, else nothing (the pipeline). */
  get startMode(): "live" | undefined {
    return this.#input.checked ? "live" : undefined;
  }

  /** Whether the visitor may use the switch: before and after a conversation, and while its agent is in the room. */
  set enabled(enabled: boolean) {
    this.#input.disabled = !enabled;
  }

  /** A conversation started, in the mode the switch shows: from now on, toggling it switches session `sessionId`. */
  begin(sessionId: string): void {
    this.#sessionId = sessionId;
    this.#mode = this.#input.checked ? "live" : "pipeline";
  }

  /** The conversation is over: the switch chooses the next one's mode again (an answer still due is ignored). */
  end(): void {
    this.#sessionId = null;
    this.#setBusy(false);
  }

  /** Turns the switch off (Start refused live mode: 429 `live_limit_reached`). */
  off(): void {
    this.#input.checked = false;
  }

  /** A transcript frame: a `ModeMessage` (live or replayed) sets the switch to the session's mode. */
  onFrame(message: ServerMessage): void {
    if (!("mode" in message) || !this.#sessionId) return;
    this.#mode = message.mode;
    this.#show();
  }

  async #change(): Promise<void> {
    const sessionId = this.#sessionId;
    // Before Start (or after the end) it is only the next conversation's choice.
    if (!sessionId) return;
    this.#setBusy(true);
    this.#notice(null);
    let notice: string | null = null;
    try {
      const answer = await changeMode(sessionId, this.#input.checked ? "live" : "pipeline");
      if (sessionId === this.#sessionId) this.#mode = answer.mode;
    } catch (err) {
      notice = modeErrorText(err as RequestError);
    }
    // Ended (or another conversation began) meanwhile: the answer is not this switch's any more.
    if (sessionId !== this.#sessionId) return;
    this.#setBusy(false);
    this.#show();
    if (notice) this.#notice(notice);
  }

  #show(): void {
    this.#input.checked = this.#mode === "live";
  }

  #setBusy(busy: boolean): void {
    this.#busy = busy;
    for (const name of ["aria-busy", "aria-disabled"]) {
      if (busy) this.#input.setAttribute(name, "true");
      else this.#input.removeAttribute(name);
    }
  }
}
