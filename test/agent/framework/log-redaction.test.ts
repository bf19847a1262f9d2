/**
 * `redact_framework_logs` (agent/framework/log-redaction.ts) against the installed framework: LiveKit Agents' own
 * `initializeLogger` and `log()` (pino on stdout), each case in a fresh Node process so that the process-wide
 * logger starts untouched. A whole conversation's logs are test/agent/log-privacy.test.ts.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { adapt } from "../../../agent/framework/adaptation.ts";
import { FRAMEWORK_LOGGER_KEY, redactFrameworkLogs } from "../../../agent/framework/log-redaction.ts";
import { collectingLogger, skipped } from "./log-lines.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const WORDS = "go forward ten meters";
const PROMPT = "the secret system prompt";
const ROOM = "room-name-of-the-visitor";

/**
 * Logs what LiveKit Agents 1.9 logs about a conversation through its own logger, the way it does (fields in the
 * line, fields bound to a child, the job proto bound as `job`), optionally with the adaptation applied first.
 * @returns the JSON lines written to stdout
 */
function frameworkLines(level: "debug" | "info", redact: boolean): Record<string, unknown>[] {
  const script = [
    'import { initializeLogger, log } from "@livekit/agents";',
    ...(redact
      ? [
          'import { adapt } from "./agent/framework/adaptation.ts";',
          'import { redactFrameworkLogs } from "./agent/framework/log-redaction.ts";',
          "const quiet = { debug() {}, info() {}, warn: console.error, error: console.error, child() { return quiet; } };",
          "if (!adapt(redactFrameworkLogs(), globalThis, quiet)) process.exit(3);",
        ]
      : []),
    `initializeLogger({ pretty: false, level: "${level}" });`,
    // As in src/job.ts and src/ipc/job_proc_lazy_main.ts: a job's logger, bound to the room's name.
    `const job = log().child({ jobID: "AJ_1", "lk.pii.room_name": "${ROOM}" });`,
    `job.info({ "lk.pii.new_transcript": "${WORDS}", transcriptConfidence: 1 }, "starting preemptive generation");`,
    `job.debug({ "lk.pii.user_input": "${WORDS}" }, "received user transcript");`,
    `job.info({ speech_id: "s1", "lk.pii.message": "I heard you say ${WORDS}" }, "playout completed");`,
    // As in src/worker.ts: the whole job proto bound as `job`.
    `const proto = { id: "AJ_1", agentName: "voice-agent", metadata: JSON.stringify({ system_prompt: "${PROMPT}" }) };`,
    'log().child({ job: proto }).warn("received assignment for unknown job AJ_1");',
  ].join("\n");
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("redact_framework_logs", () => {
  it("is needed: LiveKit Agents writes transcripts, replies and the dispatch metadata to stdout", () => {
    const text = JSON.stringify(frameworkLines("info", false));
    expect(text).toContain(WORDS); // lk.pii.new_transcript and lk.pii.message, at info
    expect(text).toContain(ROOM);
    expect(text).toContain(PROMPT);
  });

  it("keeps every line and its other fields, without the pii fields and the job's metadata", () => {
    const lines = frameworkLines("debug", true);
    expect(lines.map((l) => l.msg)).toEqual([
      "starting preemptive generation",
      "received user transcript",
      "playout completed",
      "received assignment for unknown job AJ_1",
    ]);
    const text = JSON.stringify(lines);
    for (const secret of [WORDS, ROOM, PROMPT, "lk.pii"]) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ jobID: "AJ_1", transcriptConfidence: 1, level: 30 });
    expect(lines[2]).toMatchObject({ speech_id: "s1" });
    expect(lines[3]).toMatchObject({ job: { id: "AJ_1", agentName: "voice-agent" }, level: 40 });
  });

  it("leaves the framework's level as it is", () => {
    expect(frameworkLines("info", true).map((l) => l.msg)).not.toContain("received user transcript");
  });

  it("changes nothing where the logger slot is not a plain property, and warns once", () => {
    const { log, lines } = collectingLogger();
    const adaptation = redactFrameworkLogs();
    const global = {};
    Object.defineProperty(global, FRAMEWORK_LOGGER_KEY, { value: {}, configurable: false });
    expect(adapt(adaptation, global, log)).toBe(false);
    expect(adapt(adaptation, global, log)).toBe(false);
    expect(skipped(lines).map((l) => l.missing)).toEqual([
      "globalThis[@livekit/agents:logger] (data property); globalThis[@livekit/agents:logger].child (function)",
    ]);
  });
});
