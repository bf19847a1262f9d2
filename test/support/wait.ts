/**
 * Polling for tests and benchmarks: the one `waitFor`, which throws on timeout (a test that waits for
 * something that never happens must fail, not go on).
 */

/** A value `waitFor` accepts as "not yet". */
type NotYet = false | null | undefined;

/** Options of {@link waitFor}. */
export interface WaitOptions {
  /** Give up after this long, ms. Default 30 000. */
  timeoutMs?: number;
  /** Pause between probes, ms. Default 100. */
  intervalMs?: number;
}

/**
 * Probes until `probe` returns a truthy value (or a promise of one).
 * @param what names what is awaited, for the error message ("the agent's final transcript")
 * @returns the first truthy value
 * @throws Error "timed out after N ms waiting for <what>" after `timeoutMs`; an error thrown by `probe` ends the
 *   wait at once
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | NotYet | Promise<T | NotYet>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
