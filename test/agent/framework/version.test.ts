/**
 * The installed LiveKit Agents packages are exactly the version agent/framework/ was written for. The adaptations
 * there reach into framework internals (and work around framework behaviour) as found in that version's source;
 * on any other version this fails, so that an upgrade re-checks them instead of relying on their shape checks alone.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FRAMEWORK_PACKAGES, FRAMEWORK_VERSION } from "../../../agent/framework/index.ts";

/**
 * The installed version of `name`, from the package.json of its folder in node_modules. The folder is found from
 * the resolved main entry: the package's exports map does not export "./package.json".
 */
function installedVersion(name: string): string {
  for (let dir = dirname(fileURLToPath(import.meta.resolve(name))); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
    if (pkg.name === name) return pkg.version ?? "(no version)";
  }
  throw new Error(`no package.json named ${name} above its main entry`);
}

describe("LiveKit Agents version", () => {
  it(`is ${FRAMEWORK_VERSION} for ${FRAMEWORK_PACKAGES.join(", ")}: the version agent/framework/ adapts`, () => {
    const installed = Object.fromEntries(FRAMEWORK_PACKAGES.map((name) => [name, installedVersion(name)]));
    const wrong = Object.entries(installed).filter(([, version]) => version !== FRAMEWORK_VERSION);
    expect(
      installed,
      `${wrong.map(([name, version]) => `${name} ${version}`).join(", ")} installed, but agent/framework/ adapts ` +
        `${FRAMEWORK_VERSION}: an upgrade must re-check every module in agent/framework/ against the new source ` +
        "(node_modules/@livekit/agents/src and the plugins' src), update or delete each adaptation, then set " +
        "FRAMEWORK_VERSION in agent/framework/index.ts",
    ).toEqual(Object.fromEntries(FRAMEWORK_PACKAGES.map((name) => [name, FRAMEWORK_VERSION])));
  });
});
