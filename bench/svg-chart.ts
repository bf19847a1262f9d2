/**
 * Line charts as standalone SVG, for figures the benchmarks write under docs/ (people would rather look than read).
 * Categorical x axis (the values are shown evenly spaced, e.g. N = 1, 2, 4, 8, 16), linear y axis from 0, one
 * polyline with dots per series, a legend, and light and dark colours that read on GitHub's both themes.
 */

/** One line of a panel. `values[i]` belongs to the panel's `x[i]`; null leaves a gap. */
export interface Series {
  name: string;
  values: Array<number | null>;
  /** Stroke colour; default from the palette. */
  color?: string;
  /** Dashed line. */
  dashed?: boolean;
}

/** One chart panel. */
export interface Panel {
  title: string;
  /** x axis label, e.g. "visitors at once (N)". */
  xLabel: string;
  /** y axis label with its unit, e.g. "turn latency (ms)". */
  yLabel: string;
  x: Array<string | number>;
  series: Series[];
  /** A horizontal reference line (e.g. a target), with its label. */
  reference?: { value: number; label: string };
}

const PALETTE = ["#2f6fdb", "#d9480f", "#2b8a3e", "#862e9c", "#e8590c"];
const W = 460;
const H = 300;
const M = { top: 40, right: 20, bottom: 52, left: 64 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** A tick label: as many decimals as the axis step has (0 for 1000, 1 for 0.5, 2 for 0.25). */
const fmt = (v: number, step: number) => v.toFixed(Math.max(0, Math.min(3, -Math.floor(Math.log10(step) + 1e-9))));

/** A "nice" axis maximum and step for values up to `max` (1, 2 or 5 times a power of ten, about 5 steps). */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

function panel(p: Panel, dx: number): string {
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const all = p.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const { top, step } = niceScale(Math.max(...all, p.reference?.value ?? 0));
  const xAt = (i: number) => M.left + (p.x.length === 1 ? iw / 2 : (i * iw) / (p.x.length - 1));
  const yAt = (v: number) => M.top + ih - (v / top) * ih;
  const out: string[] = [`<g transform="translate(${dx},0)">`];
  out.push(`<text x="${M.left}" y="22" class="title">${esc(p.title)}</text>`);
  for (let v = 0; v <= top + step / 2; v += step) {
    out.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${yAt(v)}" y2="${yAt(v)}" class="grid"/>`);
    out.push(`<text x="${M.left - 6}" y="${yAt(v) + 4}" class="tick" text-anchor="end">${fmt(v, step)}</text>`);
  }
  p.x.forEach((x, i) => {
    out.push(`<text x="${xAt(i)}" y="${M.top + ih + 18}" class="tick" text-anchor="middle">${esc(String(x))}</text>`);
  });
  out.push(`<text x="${M.left + iw / 2}" y="${H - 10}" class="label" text-anchor="middle">${esc(p.xLabel)}</text>`);
  out.push(
    `<text transform="translate(16,${M.top + ih / 2}) rotate(-90)" class="label" text-anchor="middle">${esc(p.yLabel)}</text>`,
  );
  if (p.reference) {
    const y = yAt(p.reference.value);
    out.push(`<line x1="${M.left}" x2="${M.left + iw}" y1="${y}" y2="${y}" class="ref"/>`);
    out.push(`<text x="${M.left + iw}" y="${y - 5}" class="tick" text-anchor="end">${esc(p.reference.label)}</text>`);
  }
  p.series.forEach((s, k) => {
    const color = s.color ?? PALETTE[k % PALETTE.length]!;
    const pts = s.values.map((v, i) => (v === null ? null : `${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`));
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1)
        out.push(`<polyline points="${run.join(" ")}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      run = [];
    };
    for (const pt of pts) {
      if (pt === null) flush();
      else {
        run.push(pt);
        out.push(`<circle cx="${pt.split(",")[0]}" cy="${pt.split(",")[1]}" r="3" fill="${color}"/>`);
      }
    }
    flush();
    const ly = M.top + 4 + k * 16;
    out.push(
      `<line x1="${M.left + 10}" x2="${M.left + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${M.left + 34}" y="${ly + 4}" class="tick">${esc(s.name)}</text>`);
  });
  out.push("</g>");
  return out.join("\n");
}

/**
 * An SVG document with `panels` side by side.
 * @param caption a line under the panels (what was measured, where, when)
 */
export function lineChartSvg(panels: Panel[], caption: string): string {
  const width = W * panels.length;
  const height = H + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(panels.map((p) => p.title).join("; "))}">`,
    `<style>
  text { font: 12px system-ui, sans-serif; fill: #24292f; }
  .title { font-weight: 600; font-size: 13px; }
  .grid { stroke: #d0d7de; stroke-width: 1; }
  .ref { stroke: #868e96; stroke-width: 1; stroke-dasharray: 2 3; }
  rect.bg { fill: #ffffff; }
  @media (prefers-color-scheme: dark) {
    text { fill: #e6edf3; }
    .grid { stroke: #30363d; }
    rect.bg { fill: #0d1117; }
  }
</style>`,
    `<rect class="bg" width="100%" height="100%"/>`,
    ...panels.map((p, i) => panel(p, i * W)),
    `<text x="${M.left}" y="${H + 14}" class="tick">${esc(caption)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
