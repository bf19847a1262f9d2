/**
 * How long a session's reservations last: the room's active session (`RoomDO`) and the visitor's slot
 * (`VisitorDO`). Both are released when the session ends (`SessionDO.stop`), and both also lapse on their
 * own, so that a lost release never blocks a room or a visitor for good. See docs/architecture.md,
 * "Session lifecycle".
 */

/**
 * Seconds a reservation outlives the session's maximum length (`MAX_SESSION_S`). The `SessionDO` ends a
 * session at that maximum with an alarm and then releases the reservations; the slack leaves the alarm
 * and the release calls time to run, so that a reservation never lapses while its session still runs.
 */
export const RESERVATION_SLACK_S = 60;

/**
 * When a reservation made at `nowMs` for a session lapses on its own.
 * @param maxSessionS the session's maximum length, seconds (`MAX_SESSION_S`)
 * @param nowMs epoch ms of the reservation
 * @returns epoch ms: `nowMs + (maxSessionS + RESERVATION_SLACK_S) * 1000`
 */
export function reservationExpiresAt(maxSessionS: number, nowMs: number): number {
  return nowMs + (maxSessionS + RESERVATION_SLACK_S) * 1000;
}
