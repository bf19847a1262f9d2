/**
 * Runs a command (the test suite) inside a fresh network namespace, so that WebRTC media tests have a
 * non-loopback interface and no traffic can leave the machine.
 *
 * Usage: `node test/netns.ts <command> [args…]` (what `npm test` runs).
 *
 * Inside the namespace: `lo` is up, and a veth pair `lan0`/`lan1` (both ends in the namespace) gives
 * `lan0` the private address in `NETNS_ADDR` (10.77.0.1). Chromium and libwebrtc never gather
 * 127.0.0.1 candidates, and werift skips interfaces named `veth*`, hence the names (docs/livekit.md,
 * "Running it" and "werift pitfalls"; docs/architecture.md, "Decisions").
 *
 * Where no namespace can be made (not Linux, no `unshare`, no privilege), the command runs as is without
 * `NETNS_ADDR`; media tests then skip locally and fail under `CI=true` (see test/support/netns.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { WRANGLER_ENV } from "../dev/wrangler.ts";

export const NETNS_ADDR = "10.77.0.1";

const SETUP = [
  "set -e",
  "ip link set lo up",
  "ip link add lan0 type veth peer name lan1",
  `ip addr add ${NETNS_ADDR}/24 dev lan0`,
  "ip link set lan1 up",
  "ip link set lan0 up",
  'exec "$@"',
].join("\n");

/**
 * The suite reads nothing from standard input, so it gets none (as under `< /dev/null`): no tool in it can wait on a
 * terminal or on a CI runner's open pipe. Output goes to the terminal or the runner as is.
 */
const STDIO: ["ignore", "inherit", "inherit"] = ["ignore", "inherit", "inherit"];

function unshareArgs(): string[] | null {
  if (process.platform !== "linux") return null;
  const asRoot = process.getuid?.() === 0;
  const flags = asRoot ? ["-n"] : ["-r", "-n"];
  const probe = spawnSync("unshare", [...flags, "sh", "-c", SETUP.replace('exec "$@"', "true")], { stdio: "ignore" });
  return probe.status === 0 ? flags : null;
}

function main(): void {
  const [cmd, ...args] = process.argv.slice(2);
  if (!cmd) {
    console.error("usage: node test/netns.ts <command> [args…]");
    process.exit(2);
  }
  const flags = process.env.NETNS_ADDR ? null : unshareArgs();
  const child = flags
    ? spawn("unshare", [...flags, "sh", "-c", SETUP, "netns", cmd, ...args], {
        stdio: STDIO,
        env: { ...process.env, NETNS_ADDR, ...WRANGLER_ENV },
      })
    : spawn(cmd, args, { stdio: STDIO, shell: process.platform === "win32" });
  if (!flags && !process.env.NETNS_ADDR) {
    console.warn("[netns] no network namespace could be created: media tests will be skipped");
  }
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main();
