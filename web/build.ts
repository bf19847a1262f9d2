/**
 * Builds the page script and stylesheet into `web/dist/static/` (served by Workers static assets at
 * `/static/`): `chat.js` (+ map) and `chat.css`; the widget's loader `embed.js` (served at `/embed.js`) and its
 * panel's bridge and stylesheet `embed-panel.js`, `embed-panel.css` (docs/widget.md); and copies the icons and the web app manifest there from
 * `web/icons/`, with `favicon.ico` made from the 32 px icon (served at `/favicon.ico` by the Worker).
 * Usage: `node web/build.ts [--watch] [--metafile]`.
 *
 * livekit-client is bundled from its published TypeScript sources (`livekit-client/src`, shipped in the
 * npm package) rather than its pre-bundled `dist/livekit-client.esm.mjs`: same code, but esbuild can
 * tree-shake it, which keeps the page within its 150 KB gzip budget (the sizes: docs/web.md, "Budget").
 * For the same budget, the contract's `locale.ts` (zod's English issue messages, for the Worker's 400 bodies) is
 * left out: the page never shows a schema message, it only tells a valid frame or body from an invalid one.
 */
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
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
    // Its debug and trace logging: the page never turns it on (livekit-client's default level is info, and the page
    // never calls `setLogLevel`), so the calls and their messages are left out, as pure calls whose result is unused
    // (about 160 calls, 2.4 KB gzip). esbuild still evaluates an argument that has side effects.
    build.onLoad({ filter: /[\\/]livekit-client[\\/]src[\\/].*\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, "utf8")).replace(
        /(?<![\w.])((?:this\.)?log\.(?:debug|trace)\()/g,
        "/* @__PURE__ */ $1",
      ),
      loader: "ts",
    }));
  },
};

/** Resolves `contract/locale.ts` to an empty module (see above): 1.1 KB gzip. */
const withoutLocale: esbuild.Plugin = {
  name: "contract-without-locale",
  setup(build) {
    build.onResolve({ filter: /^\.\/locale\.ts$/ }, (args) =>
      args.importer.endsWith(join("contract", "rest.ts")) ? { path: "locale", namespace: "empty" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "" }));
  },
};

/**
 * Marks the contract's zod calls as pure (`/* @__PURE__ *\/`), so that the schemas the page does not use (the
 * agent's ingest, the dispatch metadata, …) are left out of the bundle like any unused code. zod builds schema
 * objects and changes nothing global, except `z.config`, which only contract/locale.ts calls (left out above).
 */
const pureContract: esbuild.Plugin = {
  name: "contract-pure-schemas",
  setup(build) {
    build.onLoad({ filter: /[\\/]contract[\\/][a-z]+\.ts$/ }, async (args) => {
      // Types and comments gone first, so that only code is annotated.
      const { code } = await esbuild.transform(await readFile(args.path, "utf8"), {
        loader: "ts",
        format: "esm",
        sourcemap: "inline",
        sourcefile: args.path,
      });
      return { contents: code.replace(/\bz\.(?=[\w.]+\()/g, "/* @__PURE__ */ z."), loader: "js" };
    });
  },
};

const options: esbuild.BuildOptions = {
  entryPoints: [`${root}src/chat.ts`, `${root}src/chat.css`, `${root}src/embed-panel.ts`, `${root}src/embed-panel.css`],
  outdir: `${root}dist/static`,
  bundle: true,
  format: "esm",
  target: ["es2022", "chrome111", "firefox115", "safari16.4"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
  plugins: [liveKitFromSource, withoutLocale, pureContract],
};

/**
 * The widget's loader (`/embed.js`, web/src/embed.ts): a classic script (a host page loads it with
 * `<script src async>`, and it reads `document.currentScript`, which a module script has not), so an IIFE, for the
 * browsers the page supports.
 */
const loaderOptions: esbuild.BuildOptions = {
  entryPoints: [`${root}src/embed.ts`],
  outfile: `${root}dist/static/embed.js`,
  bundle: true,
  format: "iife",
  target: options.target,
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
};

/** The icons web/icons/ holds (web/icons/render.ts draws the PNGs from icon.svg), served from `/static/`. */
const ICONS = ["icon.svg", "apple-touch-icon.png", "icon-192.png", "icon-512.png", "manifest.webmanifest"];

/**
 * An ICO file holding one PNG image (the format allows PNG entries since Windows Vista; every current browser reads
 * them): a 6-byte ICONDIR, one 16-byte ICONDIRENTRY, then the PNG.
 * Source: https://learn.microsoft.com/en-us/previous-versions/ms997538(v=msdn.10) ("Icons"), and PNG in ICO:
 * https://devblogs.microsoft.com/oldnewthing/20101022-00/?p=12473
 * @param png a PNG of `size` × `size` pixels (1-256)
 */
function icoOf(png: Buffer, size: number): Buffer {
  const header = Buffer.alloc(22);
  header.writeUInt16LE(0, 0); // reserved
  header.writeUInt16LE(1, 2); // type: icon
  header.writeUInt16LE(1, 4); // one image
  header.writeUInt8(size % 256, 6); // width (0 means 256)
  header.writeUInt8(size % 256, 7); // height
  header.writeUInt8(0, 8); // no palette
  header.writeUInt8(0, 9); // reserved
  header.writeUInt16LE(1, 10); // colour planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(png.length, 14); // image size
  header.writeUInt32LE(22, 18); // image offset
  return Buffer.concat([header, png]);
}

/** Copies the icons and the manifest to `dist/static/`, and writes `favicon.ico` from the 32 px PNG. */
function writeIcons(): void {
  mkdirSync(`${root}dist/static`, { recursive: true });
  for (const name of ICONS) copyFileSync(`${root}icons/${name}`, `${root}dist/static/${name}`);
  writeFileSync(`${root}dist/static/favicon.ico`, icoOf(readFileSync(`${root}icons/icon-32.png`), 32));
}

writeIcons();
if (process.argv.includes("--watch")) {
  const contexts = await Promise.all([esbuild.context(options), esbuild.context(loaderOptions)]);
  await Promise.all(contexts.map((ctx) => ctx.watch()));
} else {
  const [result] = await Promise.all([esbuild.build(options), esbuild.build(loaderOptions)]);
  if (process.argv.includes("--metafile")) writeFileSync(`${root}dist/meta.json`, JSON.stringify(result.metafile));
}
