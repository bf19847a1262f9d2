/**
 * A logger for the framework adaptation tests that keeps every line it writes, parsed.
 */
import { createLogger, type Logger } from "../../../contract/log.ts";

/** A logged line: the contract/log.ts shape. */
export type LogLine = { level: string; msg: string } & Record<string, unknown>;

/** A debug-level logger (component `agent`) and the lines it wrote, in order. */
export function collectingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const write = (line: string) => void lines.push(JSON.parse(line) as LogLine);
  const log = createLogger({ component: "agent", level: "debug", write });
  return { log, lines };
}

/** The `framework_adaptation_skipped` warnings among `lines`. */
export const skipped = (lines: LogLine[]) => lines.filter((l) => l.msg === "framework_adaptation_skipped");
