/**
 * Builds the page script(s) into `web/dist/static/` (served by Workers static assets at `/static/`).
 * Usage: `node web/build.ts [--watch]`.
 */
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL(".", import.meta.url));
const options: esbuild.BuildOptions = {
  entryPoints: [`${root}src/chat.ts`],
  outdir: `${root}dist/static`,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  logLevel: "warning",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
