/**
 * The dev LiveKit server's logger: one JSON object per line on stderr. Never pass tokens, signatures or
 * media payloads in `fields`.
 */

type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold = order[(process.env.LIVEKIT_DEV_LOG_LEVEL as Level) ?? "info"] ?? order.info;

/**
 * Writes one log line `{"level","msg","component":"livekit-dev",...fields}`.
 * @param level severity; lines below `LIVEKIT_DEV_LOG_LEVEL` (default info) are dropped
 * @param msg a short human sentence
 * @param fields extra context (room, participant identity, reason, …), never secrets
 */
export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < threshold) return;
  const line = { level, msg, component: "livekit-dev", ts: new Date().toISOString(), ...fields };
  process.stderr.write(JSON.stringify(line, (_k, v) => (typeof v === "bigint" ? String(v) : v)) + "\n");
}

/** The message of an unknown thrown value, for a log field. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
