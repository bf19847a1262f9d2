// The page JavaScript budget (docs/web.md, "Budget": ≤ 150 KB gzip), measured on the
// bundle the Worker serves. Size, not time: deterministic for a given build.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/browser.ts";

const BUDGET_BYTES = 150_000;
const read = (name: string) => readFileSync(join(ROOT, "web", "dist", "static", name));

describe("page bundle", () => {
  it(`chat.js is at most ${BUDGET_BYTES} bytes gzipped`, () => {
    const js = read("chat.js");
    const gz = gzipSync(js, { level: 9 }).length;
    const cssGzip = gzipSync(read("chat.css"), { level: 9 }).length;
    const figures = { js_bytes: js.length, js_gzip_bytes: gz, css_gzip_bytes: cssGzip };
    console.log(JSON.stringify({ level: "info", msg: "page_bundle", ...figures }));
    expect(gz).toBeLessThanOrEqual(BUDGET_BYTES);
  });

  it("the widget's loader (/embed.js) is at most 5 KB gzipped, and its panel bridge 1 KB", () => {
    const loader = gzipSync(read("embed.js"), { level: 9 }).length;
    const bridge = gzipSync(read("embed-panel.js"), { level: 9 }).length;
    console.log(
      JSON.stringify({ level: "info", msg: "widget_bundle", loader_gzip_bytes: loader, bridge_gzip_bytes: bridge }),
    );
    expect(loader).toBeLessThanOrEqual(5 * 1024);
    expect(bridge).toBeLessThanOrEqual(1024);
  });

  it("bundles livekit-client (no CDN) and loads nothing from another origin", () => {
    const js = read("chat.js").toString();
    expect(js).toContain("livekit");
    expect(js).not.toMatch(/https:\/\/(cdn|unpkg|esm\.sh|cdnjs)/);
  });
});
