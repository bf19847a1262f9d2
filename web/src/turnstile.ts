/**
 * Cloudflare Turnstile on the `/chat` page, used when the deployment has it on (the page then carries
 * `#chat[data-turnstile-sitekey][data-turnstile-script]` and the container `#turnstile`). The widget is rendered on page load, so
 * that its token is usually ready when Start is pressed and the start waits for nothing; each token goes
 * with one `POST /session` (`turnstile_token`), after which the widget is reset for the next Start.
 *
 * Facts about the third-party widget, from Cloudflare's Turnstile documentation ("Embed the widget",
 * "Widget configurations", "Client-side errors", "Validate the token"): with `api.js?render=explicit` the
 * page calls `turnstile.render(container, params)`, which returns a widget id; `callback(token)` receives
 * each token; a token is valid for 300 s and validates once, and `turnstile.reset(id)` runs a new
 * challenge; `refresh-expired: "auto"` renews an expired token by itself (after `expired-callback`);
 * `appearance: "interaction-only"` shows the widget only when the visitor has to interact; an
 * `error-callback` receives an error code (and keeps Turnstile from throwing); `action` is returned by
 * siteverify, which the Worker checks (worker/turnstile.ts).
 */
import { TURNSTILE_ACTION } from "../../contract/defaults.ts";

/** The part of Turnstile's browser API (`window.turnstile`) the page uses. */
interface TurnstileApi {
  render(container: HTMLElement, params: Record<string, unknown>): string | null | undefined;
  reset(widgetId: string): void;
}

/**
 * The browser check produced no token. `code` is Turnstile's error code (e.g. `110200`), or
 * `script_failed` (api.js did not load: blocked or offline) or `render_failed`.
 */
export class TurnstileError extends Error {
  readonly code: string;

  constructor(code: string) {
    super(`the browser check failed (${code})`);
    this.name = "TurnstileError";
    this.code = code;
  }
}

interface Waiter {
  resolve(token: string): void;
  reject(err: TurnstileError): void;
}

/** One Turnstile widget: loads the script, renders the widget, and hands out its tokens. */
export class TurnstileWidget {
  #api: TurnstileApi | null = null;
  #widgetId: string | null = null;
  /** The current unspent, unexpired token. */
  #token: string | null = null;
  /** The last failure, until the next token; `#fatal` when only a reload can help. */
  #error: TurnstileError | null = null;
  #fatal = false;
  #waiters: Waiter[] = [];

  /**
   * Loads Turnstile's script (the page preloads it) and renders the widget into `container` once it has
   * loaded.
   * @param container the element the widget (an iframe) goes into
   * @param siteKey the deployment's public sitekey
   * @param scriptUrl the widget script with explicit rendering: Cloudflare's (contract `TURNSTILE_SCRIPT_URL`),
   *   or the local stand-in's under `npm run dev -- --turnstile`
   */
  constructor(container: HTMLElement, siteKey: string, scriptUrl: string) {
    const script = document.createElement("script");
    script.async = true;
    // Listeners before `src`: neither outcome can be missed.
    script.addEventListener("load", () => this.#render(container, siteKey));
    script.addEventListener("error", () => this.#fail(new TurnstileError("script_failed"), true));
    script.src = scriptUrl;
    document.head.append(script);
  }

  /** The current unspent, unexpired token, or null when the widget has none yet (then {@link token} waits for it). */
  get current(): string | null {
    return this.#token;
  }

  /**
   * The current token, else the next one the widget produces (it may ask the visitor to interact). The
   * token stays current until {@link spend}: a start that is abandoned before sending it leaves it to the
   * next.
   * @returns a promise of the token
   * @throws TurnstileError (the promise rejects) when the widget fails before it has a token. Calling again
   *   resets the widget and tries anew, unless the script did not load (then every call rejects at once).
   */
  token(): Promise<string> {
    if (this.#token !== null) return Promise.resolve(this.#token);
    if (this.#error) {
      if (this.#fatal) return Promise.reject(this.#error);
      this.#error = null;
      this.#reset();
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Records that `token` was sent (siteverify accepts a token once, whatever the answer): the widget is
   * reset and solves the next challenge while the conversation runs. A token that is no longer current
   * (expired meanwhile) is ignored.
   */
  spend(token: string): void {
    if (token !== this.#token) return;
    this.#token = null;
    this.#reset();
  }

  #render(container: HTMLElement, siteKey: string): void {
    const api = (window as { turnstile?: TurnstileApi }).turnstile;
    try {
      const id = api?.render(container, {
        sitekey: siteKey,
        action: TURNSTILE_ACTION,
        appearance: "interaction-only",
        "refresh-expired": "auto",
        callback: (token: string) => this.#issued(token),
        "expired-callback": () => void (this.#token = null),
        "error-callback": (code: unknown) => {
          this.#fail(new TurnstileError(String(code)), false);
          return true;
        },
      });
      if (!api || !id) throw new Error("turnstile.render returned no widget");
      this.#api = api;
      this.#widgetId = id;
    } catch {
      this.#fail(new TurnstileError("render_failed"), true);
    }
  }

  #issued(token: string): void {
    this.#token = token;
    this.#error = null;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(token);
  }

  #fail(err: TurnstileError, fatal: boolean): void {
    this.#token = null;
    this.#error = err;
    this.#fatal = fatal;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(err);
  }

  #reset(): void {
    if (this.#api && this.#widgetId !== null) this.#api.reset(this.#widgetId);
  }
}
