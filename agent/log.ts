/**
 * The agent's logger: one JSON object per line on stdout (`{"level","msg","ts",…fields}`).
 * Callers never pass secrets, tokens, signatures or audio; `Error`s are reduced to name and message.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

/** A structured logger bound to some fields (e.g. `session_id`, `job_id`). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function envLevel(): LogLevel {
  const v = process.env.LOG_LEVEL;
  return v === "debug" || v === "warn" || v === "error" ? v : "info";
}

function plain(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/**
 * Creates a logger.
 * @param base fields added to every line
 * @param minLevel lines below it are dropped (default from `LOG_LEVEL`, else `info`)
 * @param write the sink (default: stdout)
 */
export function createLogger(
  base: LogFields = {},
  minLevel: LogLevel = envLevel(),
  write: (line: string) => void = (line) => process.stdout.write(line + "\n"),
): Logger {
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (ORDER[level] < ORDER[minLevel]) return;
    const out: LogFields = { level, msg, ts: new Date().toISOString(), ...base };
    for (const [k, v] of Object.entries(fields)) out[k] = plain(v);
    write(JSON.stringify(out));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ ...base, ...fields }, minLevel, write),
  };
}
