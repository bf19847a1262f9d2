/**
 * The one log line shape of every part (the Worker and its Durable Objects, the agent worker, the dev
 * stand-ins): one JSON object per line,
 *
 *     {"time":"2026-11-30T12:00:00.000Z","level":"info","component":"agent","msg":"job_started",…fields}
 *
 * - `time`: ISO 8601 UTC; `level`: debug, info, warn or error; `component`: which process or part wrote it;
 * - `msg`: a snake_case event name (`session_started`, `ingest_retry_scheduled`), never a sentence, so that
 *   lines can be counted and searched by event;
 * - fields: snake_case names; an `Error` becomes its summary ({@link errorSummary}), a bigint a string.
 *
 * Redaction: a field whose name suggests secret material (token, secret, signature, authorization,
 * cookie, password, API key) is written as "[redacted]". That is a second line of defence: callers never
 * pass secrets, tokens, signatures, cookies or raw audio in the first place. See docs/architecture.md,
 * "Logging".
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** A structured logger bound to some fields (e.g. `session_id`, `job_id`). */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The `component` field of every line, e.g. "edge", "agent", "livekit-dev". */
  component: string;
  /** Lines below it are dropped. Default "info". */
  level?: LogLevel;
  /** Fields added to every line (after `msg`). */
  fields?: LogFields;
  /** The sink. Default: `console.log` for debug and info, `console.warn`/`console.error` for the others. */
  write?: (line: string, level: LogLevel) => void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written. */
export const SECRET_FIELD = /token|secret|signature|authorization|cookie|password|api_?key/i;

/** Event names: snake_case, e.g. `session_started`. */
export const EVENT_NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/**
 * Parses a log level name (e.g. the `LOG_LEVEL` variable).
 * @returns the level, or `fallback` when `value` is not one
 */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  return value !== undefined && Object.hasOwn(ORDER, value) ? (value as LogLevel) : fallback;
}

/** A short, log-safe description of an unknown thrown value: `Name: message`, first line, at most 500 characters. */
export function errorSummary(err: unknown): string {
  if (err instanceof Error) return `${err.name || "Error"}: ${err.message}`.split("\n")[0]!.slice(0, 500);
  return String(err).split("\n")[0]!.slice(0, 500);
}

function defaultWrite(line: string, level: LogLevel): void {
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

function fieldValue(key: string, value: unknown): unknown {
  if (SECRET_FIELD.test(key)) return "[redacted]";
  if (value instanceof Error) return errorSummary(value);
  if (typeof value === "bigint") return String(value);
  return value;
}

/**
 * Creates a logger that writes the shape described in the module comment.
 * @example createLogger({ component: "edge" }).info("session_started", { session_id, room })
 */
export function createLogger(options: LoggerOptions): Logger {
  const { component, level = "info", fields: base = {}, write = defaultWrite } = options;
  const emit = (lineLevel: LogLevel, event: string, fields: LogFields = {}) => {
    if (ORDER[lineLevel] < ORDER[level]) return;
    const line: LogFields = { time: new Date().toISOString(), level: lineLevel, component, msg: event };
    for (const [k, v] of Object.entries(base)) if (v !== undefined) line[k] = fieldValue(k, v);
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) line[k] = fieldValue(k, v);
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      text = JSON.stringify({ time: line.time, level: lineLevel, component, msg: event, fields: "[unserializable]" });
    }
    write(text, lineLevel);
  };
  return {
    debug: (e, f) => emit("debug", e, f),
    info: (e, f) => emit("info", e, f),
    warn: (e, f) => emit("warn", e, f),
    error: (e, f) => emit("error", e, f),
    child: (fields) => createLogger({ component, level, write, fields: { ...base, ...fields } }),
  };
}
