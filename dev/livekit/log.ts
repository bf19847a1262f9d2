/**
 * The dev LiveKit server's logger: the project's one log line shape (contract/log.ts) with component
 * "livekit-dev", one JSON object per line on stderr, at `LIVEKIT_DEV_LOG_LEVEL` (debug, info, warn or error;
 * default info). Event names are snake_case (`participant_joined`, `track_published`); an `Error` in a field
 * becomes its one-line summary. Never pass tokens, signatures or media payloads in fields.
 * See docs/architecture.md, "Logging".
 */
import { createLogger, type Logger, parseLogLevel } from "../../contract/log.ts";

/** The logger of every dev/livekit module. */
export const log: Logger = createLogger({
  component: "livekit-dev",
  level: parseLogLevel(process.env.LIVEKIT_DEV_LOG_LEVEL),
  write: (line) => void process.stderr.write(line + "\n"),
});
