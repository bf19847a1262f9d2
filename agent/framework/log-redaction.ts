/**
 * Keeps conversation content out of LiveKit Agents' own log lines: transcripts, replies, typed input, tool
 * arguments, and the dispatch metadata (system prompt, a continued conversation's history). See
 * docs/architecture.md, "Logging", and docs/agent.md, "Logs".
 *
 * Upstream behaviour (@livekit/agents 1.9.0):
 * - `src/log.ts`, `initializeLogger`, builds a pino 8 logger on stdout at the given level, and `src/log_core.ts`,
 *   `setLoggerState`, stores it in `globalThis[Symbol.for("@livekit/agents:logger")]`; every framework module logs
 *   through `log()`, which reads that slot (when the line is written or when an object is built). A job process
 *   (`src/ipc/job_proc_lazy_main.ts`) imports agent/main.ts first, then calls `initializeLogger` with the worker's
 *   options, and at job start stores a child bound to `jobID` there.
 * - The framework marks content with a `pii` segment in the field name and writes it to stdout as it is:
 *   `lk.pii.new_transcript` (every interim and final, `src/voice/agent_activity.ts`, `onInterimTranscript` …),
 *   `lk.pii.user_input` (each user turn, debug), `lk.pii.message` (the agent's reply, with "playout completed"),
 *   `lk.pii.transcript` and `lk.pii.user_transcript` (`src/voice/audio_recognition.ts`), `lk.pii.output` and
 *   `lk.pii.arguments` (tools, `src/voice/generation.ts`), `lk.pii.participant_identity`, `lk.pii.room_name`
 *   (also as a child binding, `src/job.ts`), `lk.pii.response` (a binding, `src/ipc/job_proc_lazy_main.ts`), …
 *   The same marker is what the framework strips from its OpenTelemetry export (`src/telemetry/redaction.ts`,
 *   `PII_SEGMENT_RE`: a whole dot-delimited `pii` segment, any case), mirrored here as {@link PII_FIELD}.
 * - A few lines bind the whole job proto as `job` (`src/worker.ts`: an unknown assignment, a failed job request),
 *   whose `metadata` is the dispatch metadata.
 *
 * The adaptation `redact_framework_logs` turns that slot into an accessor: each logger the framework stores there
 * is replaced by a pino child that inherits down to every descendant: pino's `formatters.log` drops every field of a
 * line whose name has a `pii` segment, a `child` that drops such bindings, and a `job` serializer that keeps the
 * job's id and agent name only. The process's level, streams and everything else stay the framework's.
 * Apply it before the framework's logger is initialized (agent/main.ts does, at the top of every process).
 */
import type { Logger as PinoLogger } from "pino";
import { type Adaptation } from "./adaptation.ts";

/** Where @livekit/agents 1.9.0 keeps its process-wide logger (`src/log_core.ts`, `LOGGER_KEY`). */
export const FRAMEWORK_LOGGER_KEY = Symbol.for("@livekit/agents:logger");

/**
 * A field name that carries conversation content: a whole dot-delimited `pii` segment, any case
 * (@livekit/agents 1.9.0 `src/telemetry/redaction.ts`, `PII_SEGMENT_RE`; `lk.chatpii` does not match).
 */
export const PII_FIELD = /(^|\.)pii(\.|$)/i;

/** Marks a redacting logger: its descendants are redacting too, and are not wrapped again. */
const REDACTING = Symbol.for("voice-agent:framework-logs-redacted");

type Fields = Record<string, unknown>;

/** `fields` without the {@link PII_FIELD} ones (the same object when there are none). */
export function withoutPii(fields: Fields): Fields {
  let out = fields;
  for (const key of Object.keys(fields)) {
    if (!PII_FIELD.test(key)) continue;
    if (out === fields) out = { ...fields };
    delete out[key];
  }
  return out;
}

/** What a log line keeps of a bound job (a `livekit.Job` proto): never its metadata, room or participant. */
function jobSummary(job: unknown): Fields | undefined {
  if (!job || typeof job !== "object") return undefined;
  const { id, agentName } = job as { id?: unknown; agentName?: unknown };
  return { id, agentName };
}

/** A redacting child of a framework logger (see the module comment); a redacting logger is returned as it is. */
export function redactingLogger(logger: PinoLogger): PinoLogger {
  if ((logger as unknown as Record<symbol, unknown>)[REDACTING]) return logger;
  const pinoChild = logger.child;
  const redacting = logger.child(
    {},
    { formatters: { log: (line: object) => withoutPii(line as Fields) }, serializers: { job: jobSummary } },
  ) as PinoLogger & Record<symbol, unknown>;
  // pino makes each child with Object.create(parent), so every descendant inherits this `child` and the marker.
  redacting.child = function (this: PinoLogger, bindings: Fields, options?: object) {
    return pinoChild.call(this, withoutPii(bindings), options);
  } as PinoLogger["child"];
  redacting[REDACTING] = true;
  return redacting;
}

/**
 * The adaptation `redact_framework_logs`, applied to `globalThis` once per process, before the framework's
 * `initializeLogger` (a logger already stored is wrapped too).
 */
export function redactFrameworkLogs(): Adaptation<object> {
  return {
    name: "redact_framework_logs",
    missing(global) {
      const slot = Object.getOwnPropertyDescriptor(global, FRAMEWORK_LOGGER_KEY);
      if (!slot) return [];
      if (slot.get && (slot.get as { [REDACTING]?: true })[REDACTING]) return [];
      const value = slot.value as { child?: unknown } | undefined;
      const missing: string[] = [];
      if (!slot.configurable || slot.get || slot.set)
        missing.push("globalThis[@livekit/agents:logger] (data property)");
      if (value !== undefined && typeof value.child !== "function") {
        missing.push("globalThis[@livekit/agents:logger].child (function)");
      }
      return missing;
    },
    apply(global) {
      const slot = Object.getOwnPropertyDescriptor(global, FRAMEWORK_LOGGER_KEY);
      if (slot?.get) return; // already applied
      let current = slot?.value ? redactingLogger(slot.value as PinoLogger) : undefined;
      const get = Object.assign(() => current, { [REDACTING]: true as const });
      Object.defineProperty(global, FRAMEWORK_LOGGER_KEY, {
        configurable: true,
        enumerable: false,
        get,
        set: (logger: PinoLogger | undefined) => void (current = logger ? redactingLogger(logger) : logger),
      });
    },
  };
}
