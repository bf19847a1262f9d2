/**
 * A private PulseAudio daemon for a browser test: a virtual microphone into which the test plays recorded speech,
 * and a virtual loudspeaker for the page's own audio, so that a browser with no fake-microphone file option
 * (Firefox) hears a WAV as its microphone.
 *
 * Layout: `speakers`, a null sink, is the default output (the page's audio plays into it, in real time, and is
 * never heard again); `voice`, a second null sink, takes what {@link PulseDaemon.play} plays; `mic`, a remap of
 * `voice.monitor`, is the default input, so the browser lists one ordinary microphone (not a monitor) and it is
 * silent between plays. Keeping the two sinks apart means the agent's voice never leaks into the microphone.
 *
 * The daemon is a user daemon started by the test (`pulseaudio -n`, no default script, no D-Bus, no device
 * modules), with its socket, state and cookie in a temporary folder, so it works as root (PulseAudio only warns),
 * on a machine with no sound card, and inside the test's network namespace (clients reach it by a unix socket).
 * Clients find it by the environment of {@link PulseDaemon.env} (`PULSE_SERVER`).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "./wait.ts";

const run = promisify(execFile);

/** The PulseAudio daemon (`PULSEAUDIO_PATH`, else Debian's `pulseaudio`, apt: pulseaudio). */
export const PULSEAUDIO = process.env.PULSEAUDIO_PATH ?? "pulseaudio";

/** A running daemon started by {@link startPulse}. */
export interface PulseDaemon {
  /** The server address clients connect to, `unix:<dir>/native`. */
  server: string;
  /** The daemon's process id. */
  pid: number;
  /** Environment for a client process: `PULSE_SERVER` and a private `PULSE_RUNTIME_PATH` and cookie. */
  env: Record<string, string>;
  /** The daemon's output (stderr, `-v`), for a failure message. */
  log(): string;
  /**
   * Plays a WAV file into the virtual microphone (`paplay` to the `voice` sink), in real time.
   * @returns when the whole file has been played
   * @throws Error when paplay fails (no daemon, unreadable file)
   */
  play(wav: string): Promise<void>;
  /** Stops the daemon (SIGTERM, SIGKILL after 5 s) and deletes its folder. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Whether PulseAudio is installed.
 * @returns true when `pulseaudio --version` runs
 */
export function pulseInstalled(): boolean {
  return spawnSync(PULSEAUDIO, ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * Starts a private PulseAudio daemon with the virtual microphone and loudspeaker described above, and waits until
 * it answers (`pactl info`).
 * @param rate the sample rate of the sinks and the microphone, Hz (default 48 000, what browsers capture at)
 * @throws Error with the daemon's output when it exits early or does not answer within 15 s
 */
export async function startPulse(rate = 48_000): Promise<PulseDaemon> {
  const dir = mkdtempSync(join(tmpdir(), "pulse-"));
  const runtime = join(dir, "runtime");
  mkdirSync(runtime);
  const socket = join(dir, "native");
  const server = `unix:${socket}`;
  const spec = `rate=${rate} channels=1 format=s16le`;
  const script = join(dir, "default.pa");
  writeFileSync(
    script,
    [
      `load-module module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      `load-module module-null-sink sink_name=speakers ${spec} sink_properties=device.description=Speakers`,
      `load-module module-null-sink sink_name=voice ${spec} sink_properties=device.description=Voice`,
      `load-module module-remap-source source_name=mic master=voice.monitor ${spec} source_properties=device.description=Microphone`,
      "set-default-sink speakers",
      "set-default-source mic",
      "",
    ].join("\n"),
  );
  const env: Record<string, string> = {
    PULSE_SERVER: server,
    PULSE_RUNTIME_PATH: runtime,
    PULSE_STATE_PATH: join(dir, "state"),
    PULSE_COOKIE: join(dir, "cookie"),
  };
  const daemon: ChildProcess = spawn(
    PULSEAUDIO,
    [
      "-n",
      "-F",
      script,
      "--daemonize=no",
      "--exit-idle-time=-1",
      "--use-pid-file=no",
      "--realtime=no",
      "--high-priority=no",
      "--log-target=stderr",
      "-v",
    ],
    { env: { ...process.env, ...env, HOME: dir, XDG_CONFIG_HOME: join(dir, "config") }, stdio: "pipe" },
  );
  let output = "";
  daemon.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  daemon.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => daemon.once("exit", () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (daemon.exitCode === null && daemon.signalCode === null) {
      daemon.kill("SIGTERM");
      const killer = setTimeout(() => daemon.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const clientEnv = { ...process.env, ...env };
  try {
    await waitFor(
      "the PulseAudio daemon to answer",
      async () => {
        if (daemon.exitCode !== null) throw new Error(`pulseaudio exited with ${daemon.exitCode}`);
        return run("pactl", ["info"], { env: clientEnv }).then(
          () => true,
          () => false,
        );
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${output.slice(-3000)}`, { cause: err });
  }
  return {
    server,
    pid: daemon.pid!,
    env,
    log: () => output,
    play: async (wav) => {
      await run("paplay", ["--device=voice", wav], { env: clientEnv });
    },
    stop,
  };
}
