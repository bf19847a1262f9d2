/**
 * A small process supervisor for `npm run dev`: starts child processes with prefixed output, waits for
 * each to become ready, reports any that dies, and stops them all on Ctrl-C.
 * Cross-platform: children are spawned without a shell (Node is `process.execPath`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

/** One component to run. */
export interface Component {
  /** Short name used as the output prefix, e.g. "worker". */
  name: string;
  /** Executable and arguments (no shell). */
  command: string;
  args: string[];
  /** Extra environment variables on top of the parent's. */
  env?: Record<string, string | undefined>;
  /** The URL printed for this component once it is ready. */
  url: string;
  /** Resolves once the component serves; polled until `readyTimeoutMs`. */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

const COLORS = [36, 35, 33, 32, 34, 31];

/** Runs components; the first that exits unexpectedly brings the rest down. */
export class Supervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  /** Resolves with the exit code the whole run should end with. */
  readonly done: Promise<number>;
  private finish!: (code: number) => void;

  constructor() {
    this.done = new Promise((resolve) => (this.finish = resolve));
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => void this.stop(0));
  }

  /**
   * Starts a component and waits until it is ready.
   * @throws Error when it exits before it is ready or is not ready within its timeout (default 60 s)
   */
  async start(c: Component): Promise<void> {
    const color = COLORS[this.children.size % COLORS.length];
    const prefix = process.stdout.isTTY ? `\x1b[${color}m[${c.name}]\x1b[0m ` : `[${c.name}] `;
    const child = spawn(c.command, c.args, {
      env: { ...process.env, ...c.env },
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
    });
    this.children.set(c.name, child);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => process.stdout.write(prefix + line + "\n"));
    }
    let exited = false;
    child.on("exit", (code, signal) => {
      exited = true;
      this.children.delete(c.name);
      if (this.stopping) return;
      console.error(`\n✖ ${c.name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything.`);
      void this.stop(1);
    });
    child.on("error", (err) => console.error(`✖ ${c.name} could not start: ${err.message}`));

    const deadline = Date.now() + (c.readyTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${c.name} exited before it was ready`);
      if (await c.ready().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${c.name} was not ready within ${(c.readyTimeoutMs ?? 60_000) / 1000} s`);
  }

  /** Stops every child (SIGTERM, then SIGKILL after 5 s) and resolves `done` with `code`. */
  async stop(code: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const waits = [...this.children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          const kill = setTimeout(() => child.kill("SIGKILL"), 5_000);
          child.once("exit", () => (clearTimeout(kill), resolve()));
          child.kill("SIGTERM");
        }),
    );
    await Promise.all(waits);
    this.finish(code);
  }
}

/** True when an HTTP GET of `url` answers with any status below 500. */
export async function httpReady(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.status < 500;
}
