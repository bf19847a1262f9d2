/**
 * Reading what a worker harness (test/agent/worker-harness.ts) collected, `output()`: the worker's, its job
 * processes' and the local provider's log lines (one JSON object per line: the project's shape, contract/log.ts, and
 * LiveKit Agents' pino lines), for benchmarks that print where the time went and what went wrong.
 */

/** The `decode_ms` of every `stand_in_transcription` line the provider logged in `output`. */
export const decodes = (output: string): number[] =>
  output
    .split("\n")
    .filter((l) => l.includes('"msg":"stand_in_transcription"'))
    .map((l) => Number(/"decode_ms":([\d.]+)/.exec(l)?.[1]))
    .filter((ms) => Number.isFinite(ms));

/**
 * The `msg` (its first 80 characters) of every warning and error line that the worker, its jobs and the provider
 * wrote in `output`, with counts: `warn <msg>` or `error <msg>`, then ` ×<n>` when more than once. Messages only:
 * never a line's other fields (the framework's own redaction aside, they may hold what a visitor said).
 */
export const complaints = (output: string): string[] => {
  const counts = new Map<string, number>();
  for (const l of output.split("\n")) {
    // The project's lines say "warn" and "error"; LiveKit Agents' (pino) say 40 and 50.
    const m = /"level":("warn"|"error"|40\b|50\b).*?"msg":"([^"]{1,80})/.exec(l);
    if (!m) continue;
    const key = `${/error|50/.test(m[1]!) ? "error" : "warn"} ${m[2]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
};
