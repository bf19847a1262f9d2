/**
 * `npm run screenshots:web`: re-takes the README's screenshots (docs/chat-*.png, and docs/history.png of the
 * `/history` list, taken in chat-page.test.ts) by running the web tests with WEB_SCREENSHOTS=1. A script rather than `VAR=1 cmd` so that it works from any shell, Windows too.
 */
import { spawnSync } from "node:child_process";

const run = spawnSync(process.execPath, ["test/netns.ts", "vitest", "run", "--project", "web"], {
  stdio: "inherit",
  env: { ...process.env, WEB_SCREENSHOTS: "1" },
});
process.exit(run.status ?? 1);
