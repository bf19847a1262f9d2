/**
 * Renders the page's raster icons from `icon.svg` with Debian's Chromium (test/support/chromium.ts), into this
 * folder: `icon-32.png` (inside /favicon.ico), `apple-touch-icon.png` (180 px, square: iOS rounds the corners
 * itself), `icon-192.png` and `icon-512.png` (the web app manifest's). Run it after changing the SVG and commit the
 * PNGs: `npx node web/icons/render.ts`. The build (web/build.ts) copies them to `/static/` and writes favicon.ico.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { launchChromium } from "../../test/support/chromium.ts";

const dir = fileURLToPath(new URL(".", import.meta.url));
const svg = readFileSync(`${dir}icon.svg`, "utf8");
/** The same mark on a full square, for iOS. */
const square = svg.replace(' rx="14"', "");

const browser = await launchChromium("icons-");
try {
  const page = await browser.context.newPage();
  for (const [name, size, source] of [
    ["icon-32.png", 32, svg],
    ["apple-touch-icon.png", 180, square],
    ["icon-192.png", 192, svg],
    ["icon-512.png", 512, svg],
  ] as const) {
    await page.setViewportSize({ width: size, height: size });
    const url = `data:image/svg+xml;base64,${Buffer.from(source).toString("base64")}`;
    await page.setContent(
      `<style>html,body{margin:0;background:transparent}</style><img src="${url}" width="${size}" height="${size}">`,
    );
    await page.locator("img").screenshot({ path: `${dir}${name}`, omitBackground: true });
    console.log(`✔ ${name} (${size} px)`);
  }
} finally {
  await browser.close();
}
