/**
 * Real-time scheduling for a test browser's audio threads, as a desktop gives them.
 *
 * On a desktop, Firefox asks RealtimeKit (over D-Bus) to run its audio callback threads with real-time priority
 * (the `audio_thread_priority` crate of its AudioIPC), and PulseAudio runs its I/O threads the same way. A test host
 * has no D-Bus session and no RealtimeKit, so those threads compete with everything else as ordinary threads; on the
 * 2-core CI host, with every test project running, Firefox's capture then fell behind real time while the visitor
 * spoke (docs/browsers.md, "Firefox's audio under load"). {@link promoteAudioThreads} gives the threads that carry a
 * browser's audio `SCHED_RR` at a low real-time priority, the way RealtimeKit would: capture and playout only, a few
 * per cent of a core, never the page's JavaScript, layout or encoding.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Firefox's audio threads by name (`/proc/<pid>/task/<tid>/comm`, 15 characters at most): AudioIPC's server, client
 * and callback threads, cubeb's PulseAudio main loop (`threaded-ml`) and the media graph's `GraphRunner`.
 */
const FIREFOX_AUDIO_THREADS = /^(AudioIP|threaded-ml|GraphRunner)/;

/** The real-time priority given (1-99): RealtimeKit's range for clients stays low too (its default limit is 20). */
const RT_PRIORITY = 10;

/** A thread that was made real-time: its process, id and name. */
export interface PromotedThread {
  pid: number;
  tid: number;
  name: string;
}

/** `pid` and every process below it (Firefox's content, socket and utility processes, its fork server's children). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last `)`.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended while listed
    }
  }
  const tree: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const next = todo.pop()!;
    tree.push(next);
    todo.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** The threads of `pid` whose name matches `pattern`. */
function threadsOf(pid: number, pattern: RegExp): PromotedThread[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((tid) => {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      return pattern.test(name) ? [{ pid, tid: Number(tid), name }] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Gives Firefox's audio threads ({@link FIREFOX_AUDIO_THREADS}) in the processes of `firefoxPid`'s tree, and every
 * thread of the PulseAudio daemon `pulsePid` (its null sinks' I/O threads), `SCHED_RR` at priority
 * {@link RT_PRIORITY} (`chrt`), those already real-time included (idempotent). Call it once the page has opened its
 * microphone and again once it plays the agent: each audio stream brings its own threads.
 * Where the test may not change scheduling (no CAP_SYS_NICE), nothing changes and the refusal is returned.
 * @returns the threads promoted, and the first refusal (chrt's message), if any
 */
export function promoteAudioThreads(
  firefoxPid: number,
  pulsePid?: number,
): { promoted: PromotedThread[]; refused?: string } {
  const threads = [
    ...processTree(firefoxPid).flatMap((pid) => threadsOf(pid, FIREFOX_AUDIO_THREADS)),
    ...(pulsePid ? threadsOf(pulsePid, /./) : []),
  ];
  const promoted: PromotedThread[] = [];
  let refused: string | undefined;
  for (const thread of threads) {
    const chrt = spawnSync("chrt", ["--rr", "-p", String(RT_PRIORITY), String(thread.tid)], { encoding: "utf8" });
    if (chrt.status === 0) promoted.push(thread);
    else refused ??= (chrt.stderr || chrt.error?.message || `chrt exited with ${chrt.status}`).trim();
  }
  return refused ? { promoted, refused } : { promoted };
}
