/**
 * `npm run bench`: runs every `bench/*.bench.ts` one after another (each in its own Node 22 process,
 * inside the test network namespace so media benchmarks can run) and prints their figures.
 * Usage: `npm run bench [-- <name-filter> [args…]]`; the args go to every matching benchmark (e.g. a
 * session or turn count). Benchmarks print figures; they assert nothing.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const filter = process.argv[2] ?? "";
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts") && f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${JSON.stringify(filter)}`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(
    process.execPath,
    ["test/netns.ts", process.execPath, `bench/${file}`, ...process.argv.slice(3)],
    {
      stdio: "inherit",
      cwd: fileURLToPath(new URL("..", import.meta.url)),
    },
  );
  if (r.status !== 0) {
    failed++;
    console.error(`✖ ${file} failed (exit ${r.status ?? r.signal})`);
  }
}
process.exit(failed ? 1 : 0);
