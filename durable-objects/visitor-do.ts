/**
 * `VisitorDO`: one per visitor id (`vid` cookie). Counts the visitor's active sessions so that
 * `POST /session` can enforce `MAX_ACTIVE_SESSIONS_PER_VISITOR`. The counting is the shared
 * {@link CappedReservations}; this class keeps its own binding (`VISITORS`) and its stored reservations.
 *
 * See docs/architecture.md, "Security model" (a cap on concurrently active sessions per visitor).
 */
import { CappedReservations } from "./capped-reservations.ts";

export class VisitorDO extends CappedReservations {}
