/**
 * Helpers of the fault tests (faults.test.ts): a visitor's conversation started in Chromium, what the page
 * showed, and the stack log's JSON lines.
 */
import { existsSync, readFileSync } from "node:fs";
import { expect, inject } from "vitest";
import { SessionCreateResponse } from "../../contract/index.ts";
import { launchWithMicrophone, observed, type MicBrowser, type Observed } from "./browser.ts";
import { waitFor } from "../support/wait.ts";
import { poll } from "./support.ts";

/** A conversation started on the page: the browser, the session, the room and the visitor's identity. */
export interface Visit {
  browser: MicBrowser;
  sessionId: string;
  room: string;
  identity: string;
  /** The visitor's cookie header, for `GET /transcripts/{id}`. */
  cookie: string;
}

/**
 * Opens `/chat` in a Chromium whose microphone plays `wav`, clicks Start and waits for the session.
 * @throws when `POST /session` does not answer 201
 */
export async function startVisit(wav: string): Promise<Visit> {
  const browser = await launchWithMicrophone(wav);
  const { page, context } = browser;
  await page.goto(`${inject("workerUrl")}/chat`);
  const created = page.waitForResponse((r) => r.url().endsWith("/session") && r.request().method() === "POST");
  await page.getByRole("button", { name: "Start" }).click();
  const res = await created;
  expect(res.status(), "POST /session creates the session").toBe(201);
  const {
    session_id: sessionId,
    livekit: { room, identity },
  } = SessionCreateResponse.parse(await res.json());
  const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
  return { browser, sessionId, room, identity, cookie };
}

type Caption = Observed["captions"][number];

/**
 * Waits for a final caption of `role` that appeared after `after` (ms since epoch, page clock).
 * @param what names it in the timeout message
 */
export function finalCaption(
  visit: Visit,
  role: "user" | "agent",
  after: number,
  what: string,
  timeoutMs = 60_000,
): Promise<Caption> {
  const probe = async () =>
    (await observed(visit.browser.page)).captions.find((c) => c.role === role && c.final && c.t > after);
  return waitFor(what, probe, poll(timeoutMs));
}

/** One JSON log line of the stack, as its component wrote it. */
export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * The JSON lines of one component of the stack log (`[agent]`, `[livekit]`, `[worker]`, `[ingest-proxy]`),
 * parsed; other lines (banners, wrangler's own output) are skipped.
 */
export function stackLines(component: string): LogLine[] {
  const path = inject("stackLog");
  if (!existsSync(path)) return [];
  const prefix = `[${component}] {`;
  const out: LogLine[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line.startsWith(prefix)) continue;
    try {
      out.push(JSON.parse(line.slice(prefix.length - 1)) as LogLine);
    } catch {
      // a line cut by a concurrent write: not one of ours to judge
    }
  }
  return out;
}

/** The agent's own lines (contract/log.ts shape) for a session, with the event `msg`. */
export function agentLines(sessionId: string, msg: string): LogLine[] {
  return stackLines("agent").filter((l) => l.component === "agent" && l.msg === msg && l.session_id === sessionId);
}

/** An agent job process as the stack log and /proc show it. */
export interface JobProcess {
  jobId: string;
  pid: number;
}

/**
 * The job processes that ran `sessionId`, oldest first: each `job_started` line's `job_id`, and its pid from
 * that line's `pid` or, where it has none, from LiveKit Agents' own lines of that job (pino, with `jobID` and
 * `pid`, written by the job process itself).
 */
export function jobProcesses(sessionId: string): JobProcess[] {
  const framework = stackLines("agent").filter((l) => typeof l.jobID === "string" && typeof l.pid === "number");
  return agentLines(sessionId, "job_started").flatMap((l) => {
    const jobId = String(l.job_id);
    const pid = typeof l.pid === "number" ? l.pid : (framework.find((f) => f.jobID === jobId)?.pid as number);
    return pid ? [{ jobId, pid }] : [];
  });
}

/** What /proc says of a process: its command line, state letter and parent's command line; null when gone. */
export function procInfo(pid: number): { cmdline: string; state: string; parentCmdline: string } | null {
  const read = (p: number, file: string) => {
    try {
      return readFileSync(`/proc/${p}/${file}`, "utf8");
    } catch {
      return null;
    }
  };
  const status = read(pid, "status");
  if (status === null) return null;
  const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
  return {
    cmdline: (read(pid, "cmdline") ?? "").replaceAll("\0", " ").trim(),
    state: /^State:\s+(\S)/m.exec(status)?.[1] ?? "?",
    parentCmdline: (read(ppid, "cmdline") ?? "").replaceAll("\0", " ").trim(),
  };
}
