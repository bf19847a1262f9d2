/**
 * Builds the page script and stylesheet into `web/dist/static/` (served by Workers static assets at
 * `/static/`): `chat.js` (+ map) and `chat.css`.
 * Usage: `node web/build.ts [--watch] [--metafile]`.
 *
 * livekit-client is bundled from its published TypeScript sources (`livekit-client/src`, shipped in the
 * npm package) rather than its pre-bundled `dist/livekit-client.esm.mjs`: same code, but esbuild can
 * tree-shake it, which keeps the page within its 150 KB gzip budget (the sizes: docs/web.md, "Budget").
 */
import * as esbuild from "esbuild";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const require = createRequire(import.meta.url);
// The package exports neither `./package.json` nor `./src`: locate it from its main entry (dist/…).
const liveKitSource = join(dirname(require.resolve("livekit-client")), "..", "src", "index.ts");

/** Resolves `livekit-client` to its TypeScript sources (see above). */
const liveKitFromSource: esbuild.Plugin = {
  name: "livekit-client-source",
  setup(build) {
    build.onResolve({ filter: /^livekit-client$/ }, () => ({ path: liveKitSource }));
  },
};

const options: esbuild.BuildOptions = {
  entryPoints: [`${root}src/chat.ts`, `${root}src/chat.css`],
  outdir: `${root}dist/static`,
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome111", "firefox115", "safari16.4"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
  plugins: [liveKitFromSource],
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  const result = await esbuild.build(options);
  if (process.argv.includes("--metafile")) writeFileSync(`${root}dist/meta.json`, JSON.stringify(result.metafile));
}
