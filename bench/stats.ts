/**
 * Summaries of latency samples for the benchmarks' tables: nearest-rank percentiles, the ratio of two medians, and a
 * plain-text table with aligned columns (also valid Markdown).
 */

/** The fewest samples for which a p95 is printed: below that, the nearest-rank p95 is only the maximum again. */
export const MIN_SAMPLES_FOR_P95 = 20;

/** Summary of one set of samples, ms (`null` where there is none). */
export interface Summary {
  p50: number | null;
  /** `null` below {@link MIN_SAMPLES_FOR_P95} samples. */
  p95: number | null;
  max: number | null;
  n: number;
}

/**
 * The nearest-rank quantile `q` (0 < q ≤ 1) of `xs`: the smallest sample with at least `q` of the samples at or
 * below it (so p50 of an even count is the lower middle one).
 * @returns `null` for no samples
 */
export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** p50, p95 (from {@link MIN_SAMPLES_FOR_P95} samples), max and count of `xs` (ms). */
export function summarize(xs: readonly number[]): Summary {
  return {
    p50: quantile(xs, 0.5),
    p95: xs.length >= MIN_SAMPLES_FOR_P95 ? quantile(xs, 0.95) : null,
    max: xs.length ? Math.max(...xs) : null,
    n: xs.length,
  };
}

/** `a / b` to two decimals, or `null` when either is missing or `b` is 0. */
export function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : Math.round((a / b) * 100) / 100;
}

/** A cell: a number with thousands separators, "–" for `null`. */
export function cell(v: number | string | null): string {
  if (v === null) return "–";
  return typeof v === "number" ? Math.round(v).toLocaleString("en-US") : v;
}

/**
 * A Markdown table whose columns are padded to line up in a terminal.
 * @param header the column titles
 * @param rows one array of cells per row, as many as `header`
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}
