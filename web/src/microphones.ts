/**
 * The microphone choice on `/chat` (`#microphones`, a row with the `<select id="microphone">` labelled
 * "Microphone"): shown only when the browser lists more than one audio input. The list comes from
 * `navigator.mediaDevices.enumerateDevices()`, which names the inputs only once the page may use the microphone
 * (before that they have no id and the row stays hidden), re-read at page load, once the microphone is open and on
 * every `devicechange`. The visitor's choice is remembered in `localStorage` (`voice-agent:microphone`, the
 * deviceId), opened on the next Start, and applied at once to a microphone that is open. A remembered input that is
 * no longer listed is not asked for (`preferred`): the browser's default opens, and the row shows what is in use.
 * (Before the inputs are listed it is asked for, and web/src/livekit.ts opens the default when it is not there.)
 */

/** The `localStorage` key of the remembered input; its value is a `MediaDeviceInfo.deviceId`. */
export const MICROPHONE_KEY = "voice-agent:microphone";

/** `localStorage` can throw (storage disabled, or blocked for the origin): then nothing is remembered. */
function stored(): string | undefined {
  try {
    return localStorage.getItem(MICROPHONE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function store(deviceId: string): void {
  try {
    localStorage.setItem(MICROPHONE_KEY, deviceId);
  } catch {
    // Not remembered; the choice still applies to this page.
  }
}

export class MicrophonePicker {
  readonly #row: HTMLElement;
  readonly #select: HTMLSelectElement;
  /** The inputs' ids as last listed; null until the browser names them (no permission yet, or none at all). */
  #ids: string[] | null = null;
  /** What the open microphone uses (its `MediaTrackSettings.deviceId`); undefined while none is open. */
  #inUse: string | undefined;
  /** Bumped by each `refresh()`: an older listing that resolves late is dropped. */
  #listing = 0;

  /**
   * Wires the select: a change is remembered and passed to `onChange`; `devicechange` re-reads the list. Call
   * `refresh()` to fill it.
   * @param row the element shown when there is a choice (`hidden` otherwise)
   * @param select the `<select>` inside it
   * @param onChange receives the chosen deviceId, e.g. to move an open microphone to it
   */
  constructor(row: HTMLElement, select: HTMLSelectElement, onChange: (deviceId: string) => void) {
    this.#row = row;
    this.#select = select;
    select.addEventListener("change", () => {
      store(select.value);
      onChange(select.value);
    });
    navigator.mediaDevices?.addEventListener("devicechange", () => void this.refresh());
  }

  /**
   * The input to open: the remembered one, unless the inputs are listed and it is not among them. Undefined: the
   * browser's default.
   */
  get preferred(): string | undefined {
    const id = stored();
    return id && (!this.#ids || this.#ids.includes(id)) ? id : undefined;
  }

  /**
   * Notes the input the open microphone uses (`MediaTrackSettings.deviceId`), which the select then shows; undefined
   * once it is closed (the select shows the remembered input again).
   */
  set inUse(deviceId: string | undefined) {
    this.#inUse = deviceId;
    this.#choose();
  }

  /** Re-reads the audio inputs, refills the select (when they changed) and shows it when there are two or more. */
  async refresh(): Promise<void> {
    const mine = ++this.#listing;
    const devices = (await navigator.mediaDevices?.enumerateDevices().catch(() => null)) ?? [];
    if (mine !== this.#listing) return;
    const inputs = devices.filter((d) => d.kind === "audioinput" && d.deviceId);
    this.#ids = inputs.length > 0 ? inputs.map((d) => d.deviceId) : null;
    const labels = inputs.map((d, i) => d.label || `Microphone ${i + 1}`);
    const options = [...this.#select.options];
    if (
      options.length !== inputs.length ||
      options.some((o, i) => o.value !== inputs[i]!.deviceId || o.text !== labels[i])
    ) {
      this.#select.replaceChildren(...inputs.map((d, i) => new Option(labels[i], d.deviceId)));
    }
    this.#row.hidden = inputs.length < 2;
    this.#choose();
  }

  /** Selects the input in use when it is listed, else the remembered one, else the first. */
  #choose(): void {
    const ids = this.#ids ?? [];
    const id = [this.#inUse, stored()].find((i) => i !== undefined && ids.includes(i)) ?? ids[0];
    if (id !== undefined) this.#select.value = id;
  }
}
