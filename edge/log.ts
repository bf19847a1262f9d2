/**
 * The script's logger: one JSON object per line (`{"level","msg",…fields}`), shared by the Worker
 * and its Durable Objects. Fields whose names suggest secret material are replaced with "[redacted]"
 * as a second line of defence; callers must not pass tokens, signatures or secrets in the first place.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

const SECRET_KEY = /token|secret|signature|authorization|cookie|password|api_?key/i;

function emit(level: LogLevel, msg: string, fields: LogFields = {}): void {
  const line: Record<string, unknown> = { level, msg, time: new Date().toISOString() };
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    line[k] = SECRET_KEY.test(k) ? "[redacted]" : v;
  }
  const text = JSON.stringify(line);
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

/** JSON-lines logger. Example: `log.info("session_started", { session_id, room })`. */
export const log = {
  debug: (msg: string, fields?: LogFields) => emit("debug", msg, fields),
  info: (msg: string, fields?: LogFields) => emit("info", msg, fields),
  warn: (msg: string, fields?: LogFields) => emit("warn", msg, fields),
  error: (msg: string, fields?: LogFields) => emit("error", msg, fields),
};

/** A short, log-safe description of an unknown thrown value (name and message only, no stack). */
export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name || "Error"}: ${err.message}`.split("\n")[0]!.slice(0, 500);
  return String(err).slice(0, 500);
}
