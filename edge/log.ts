/**
 * The edge's logger, shared by the Worker and its Durable Objects: the one line shape of every part
 * (contract/log.ts), `{"time","level","component":"edge","msg":"snake_case_event",…fields}`, with the
 * same redaction of secret-looking fields. Callers never pass tokens, signatures, cookies or secrets.
 * See docs/architecture.md, "Logging".
 *
 * Example: `log.info("session_started", { session_id, room })`; errors as `error: errorSummary(err)`.
 */
import { createLogger } from "../contract/log.ts";

/** The logger of the Worker and its Durable Objects (component "edge"). */
export const log = createLogger({ component: "edge" });
