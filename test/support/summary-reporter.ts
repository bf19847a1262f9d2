/**
 * Prints, after a vitest run, each project's summed file time and the slowest test files (a second or more), so
 * that a CI log shows where `npm test`'s time goes (it must stay well under 30 minutes on a 2-core machine), and
 * the plain closing line `tests: N passed, N failed, N skipped`, so that CI reads the counts whatever vitest's own
 * summary looks like.
 */
import type { Reporter, TestModule } from "vitest/node";

/** How many of the slowest files are listed. */
const SLOWEST = 15;

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
      if (mod.state() === "failed" && mod.children.size === 0) failed++;
    }
    const slowest = [...testModules]
      .map((mod) => ({ name: `${mod.project.name} ${mod.relativeModuleId}`, ms: mod.diagnostic().duration }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SLOWEST)
      .filter((file) => file.ms >= 1000);
    const byProject = new Map<string, { files: number; ms: number }>();
    for (const mod of testModules) {
      const entry = byProject.get(mod.project.name) ?? { files: 0, ms: 0 };
      entry.files++;
      entry.ms += mod.diagnostic().duration;
      byProject.set(mod.project.name, entry);
    }
    if (byProject.size > 1) {
      process.stdout.write(`\ntest files' time by project (sum of files, s):\n`);
      for (const [name, { files, ms }] of [...byProject].sort((a, b) => b[1].ms - a[1].ms)) {
        process.stdout.write(`  ${(ms / 1000).toFixed(1).padStart(7)}  ${name} (${files} files)\n`);
      }
    }
    if (slowest.length > 0) {
      process.stdout.write(`\nslowest test files (tests and hooks, s):\n`);
      for (const file of slowest) process.stdout.write(`  ${(file.ms / 1000).toFixed(1).padStart(7)}  ${file.name}\n`);
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
