/**
 * The lesson panel of `/chat` for profiles with tutor intents (web/pages/chat.ts renders `#tutor` only for them):
 * the topic the visitor is on, its parts in order with the current one marked and what they understood, and how
 * many they understood. It starts from the place the page was rendered with (`#tutor[data-place]`, contract
 * `TutorPlace` as JSON, absent before any topic) and follows each `ok` action frame whose `result.place` is one, so
 * it moves as the tutor starts a topic, checks understanding and moves on.
 */
import type { ServerMessage, TutorPlace } from "../../contract/index.ts";
import { el } from "./dom.ts";

/** What each status adds after a part's title (for screen readers too: the mark alone is decoration). */
const STATUS_WORDS = { started: "", understood: " (understood)", not_understood: " (not yet)" } as const;

export class TutorPanel {
  readonly #root: HTMLElement;

  /** @param root the `#tutor` section (holding `#tutor-topic`, `#tutor-parts` and `#tutor-progress`) */
  constructor(root: HTMLElement) {
    this.#root = root;
    this.#show(root.dataset.place);
  }

  /** Shows `result.place` of an `ok` action frame; other frames are ignored. */
  onFrame(message: ServerMessage): void {
    if ("call_id" in message && message.status === "ok") this.#show(message.result?.place);
  }

  /**
   * Shows a place (JSON text or a value). The Worker wrote it (contract `TutorPlace`); anything without a topic, a
   * current part and a list of parts changes nothing.
   */
  #show(raw: unknown): void {
    let place: Partial<TutorPlace> | undefined;
    try {
      place = (typeof raw === "string" ? JSON.parse(raw) : raw) as Partial<TutorPlace> | undefined;
    } catch {
      return;
    }
    if (!place?.topic || !place.subtopic || !Array.isArray(place.subtopics)) return;
    const { topic, subtopic, subtopics } = place;
    const part = (id: string) => this.#root.querySelector<HTMLElement>(`#tutor-${id}`)!;
    part("topic").textContent = topic;
    part("parts").replaceChildren(
      ...subtopics.map((s) => {
        const li = el(
          "li",
          `tutor__part tutor__part--${s.status ?? "new"}`,
          s.title + STATUS_WORDS[s.status ?? "started"],
        );
        if (s.id === subtopic.id) li.setAttribute("aria-current", "step");
        return li;
      }),
    );
    const understood = subtopics.filter((s) => s.status === "understood").length;
    part("progress").textContent = `Part ${subtopic.position} of ${subtopics.length} · ${understood} understood`;
  }
}
