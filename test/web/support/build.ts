/**
 * vitest globalSetup: builds the page script (what `npm run build:web` does) so that the tests load
 * the same `web/dist/static/chat.{js,css}` the Worker serves, and a DOM test bundle (node_modules/.cache/web-test/, never under the served web/dist) exposing the page's
 * modules (support/dom-entry.ts) to tests running in Chromium.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import * as esbuild from "esbuild";

const root = join(import.meta.dirname, "..", "..", "..");

export default async function setup(): Promise<void> {
  execFileSync(process.execPath, [join(root, "web", "build.ts")], { cwd: root, stdio: "inherit" });
  await esbuild.build({
    entryPoints: [join(import.meta.dirname, "dom-entry.ts")],
    outfile: join(root, "node_modules", ".cache", "web-test", "dom.js"),
    bundle: true,
    format: "iife",
    target: "es2022",
    logLevel: "warning",
  });
}
