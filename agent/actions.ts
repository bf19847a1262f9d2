/**
 * The actions client: sends one function call of the LLM (an intent of the session's profile) to the Worker's
 * backend, `POST ${INGEST_URL}/session/{session_id}/actions` with an `ActionRequest` body, signed exactly as ingest
 * batches are (signed-post.ts, contract/signature.ts), and reads the `ActionResponse` (contract/actions.ts;
 * docs/actions.md).
 *
 * - **Bounded wait**: the whole call, retry included, has {@link ACTION_TIMEOUT_MS} (the visitor is waiting in
 *   silence); a call still unanswered then counts as `timeout`, and the LLM is told that it is not known whether
 *   it was done.
 * - **One retry, same `call_id`**: a network error or a 5xx is retried once after {@link ACTION_RETRY_DELAY_MS},
 *   with the same body. The Worker acts once per `call_id` and answers a repeat with the first answer, so a retry
 *   after an answer that was lost on the way back never acts twice.
 * - **No other retry**: a 4xx (bad request, signature, session over or replaced, too large) is answered at once.
 * - **Logs**: one `action_called` line per call: `intent`, `call_id`, `status` (the answer's status, or what went
 *   wrong), `ms`, `attempts` and the last HTTP status; never the arguments or the answer's text (they carry what
 *   the visitor said, e.g. a task's title).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ACTION_ARGUMENTS_MAX_BYTES, ActionRequest, ActionResponse } from "../contract/index.ts";
import type { Logger } from "../contract/log.ts";
import { errorCode, jsonBody, postSigned } from "./signed-post.ts";

/** Longest wait for one call, retry included, in ms. */
export const ACTION_TIMEOUT_MS = 8000;
/** Pause before the one retry, in ms. */
export const ACTION_RETRY_DELAY_MS = 250;

/** Why a call has no answer from the backend. */
export type ActionFailure =
  /** No answer within {@link ACTION_TIMEOUT_MS}: it may or may not have been done. */
  | "timeout"
  /** A network error or a 5xx, twice: nothing was done (as far as the agent can tell). */
  | "unreachable"
  /** A 4xx: the Worker refused the request itself (signature, session over, malformed, too large). */
  | "refused"
  /** A 200 whose body is not the call's `ActionResponse`. */
  | "bad_response"
  /** The request breaks the contract (`ActionRequest`, `ACTION_ARGUMENTS_MAX_BYTES`): not sent. */
  | "invalid_request";

/** What became of a call: the backend's answer (any `status`), or why there is none. */
export type ActionOutcome =
  | { answered: true; response: ActionResponse }
  | { answered: false; failure: ActionFailure; httpStatus?: number; code?: string };

/** Sends calls; the tools (profile-tools.ts) depend on this, tests may pass their own. */
export interface ActionCaller {
  /**
   * Sends one call and waits for its outcome. Never throws.
   * @param request the call; `call_id` identifies it to the Worker (the same id acts once)
   */
  call(request: ActionRequest): Promise<ActionOutcome>;
}

/** Options of {@link ActionsClient}. */
export interface ActionsClientOptions {
  /** The Worker's base URL (`INGEST_URL`, no trailing slash). */
  ingestUrl: string;
  /** `AGENT_INGEST_SECRET`. */
  secret: string;
  sessionId: string;
  /** The job's logger (receives `action_called`). */
  log: Logger;
  /** Whole-call timeout in ms. Default {@link ACTION_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Pause before the retry in ms. Default {@link ACTION_RETRY_DELAY_MS}. */
  retryDelayMs?: number;
}

/** Posts a job's function calls to `POST /session/{id}/actions`; see the module comment. */
export class ActionsClient implements ActionCaller {
  readonly #opts: Required<ActionsClientOptions>;
  readonly #url: string;

  constructor(opts: ActionsClientOptions) {
    this.#opts = {
      ...opts,
      timeoutMs: opts.timeoutMs ?? ACTION_TIMEOUT_MS,
      retryDelayMs: opts.retryDelayMs ?? ACTION_RETRY_DELAY_MS,
    };
    this.#url = `${opts.ingestUrl}/session/${encodeURIComponent(opts.sessionId)}/actions`;
  }

  async call(request: ActionRequest): Promise<ActionOutcome> {
    const started = performance.now();
    let attempts = 0;
    let httpStatus: number | undefined;
    const done = (outcome: ActionOutcome): ActionOutcome => {
      this.#opts.log.info("action_called", {
        intent: request.intent,
        call_id: request.call_id,
        status: outcome.answered ? outcome.response.status : outcome.failure,
        ms: Math.round(performance.now() - started),
        attempts,
        ...(httpStatus !== undefined ? { http_status: httpStatus } : {}),
      });
      return outcome;
    };

    const checked = ActionRequest.safeParse(request);
    if (!checked.success || Buffer.byteLength(JSON.stringify(checked.data.arguments)) > ACTION_ARGUMENTS_MAX_BYTES) {
      return done({ answered: false, failure: "invalid_request" });
    }
    const body = JSON.stringify(checked.data);

    const deadline = AbortSignal.timeout(this.#opts.timeoutMs);
    for (;;) {
      attempts++;
      try {
        const res = await postSigned({
          url: this.#url,
          secret: this.#opts.secret,
          sessionId: this.#opts.sessionId,
          body,
          signal: deadline,
        });
        httpStatus = res.status;
        const text = await res.text();
        if (res.ok) {
          const parsed = ActionResponse.safeParse(jsonBody(text));
          if (!parsed.success || parsed.data.call_id !== request.call_id || parsed.data.intent !== request.intent) {
            return done({ answered: false, failure: "bad_response", httpStatus: res.status });
          }
          return done({ answered: true, response: parsed.data });
        }
        if (res.status < 500) {
          const code = errorCode(text);
          return done({ answered: false, failure: "refused", httpStatus: res.status, ...(code ? { code } : {}) });
        }
        // A 5xx: retried once.
      } catch {
        if (deadline.aborted) return done({ answered: false, failure: "timeout" });
        // A network error: retried once.
      }
      if (attempts >= 2) {
        return done({ answered: false, failure: "unreachable", ...(httpStatus ? { httpStatus } : {}) });
      }
      try {
        await sleep(this.#opts.retryDelayMs, undefined, { signal: deadline });
      } catch {
        return done({ answered: false, failure: "timeout" });
      }
    }
  }
}

/**
 * What the LLM is told when a call has no answer: short, speakable, and honest about whether it was done.
 * @returns one sentence (no arguments in it)
 */
export function failureText(outcome: Extract<ActionOutcome, { answered: false }>): string {
  switch (outcome.failure) {
    case "timeout":
      return "The server did not answer in time, so it is not known whether this was done.";
    case "unreachable":
      return "The server is not reachable right now; nothing was done.";
    case "refused":
      return `The server refused the request${outcome.code ? ` (${outcome.code})` : ""}; nothing was done.`;
    case "bad_response":
      return "The server's answer could not be read, so it is not known whether this was done.";
    case "invalid_request":
      return `The arguments are malformed or longer than ${ACTION_ARGUMENTS_MAX_BYTES} bytes; nothing was done.`;
  }
}
