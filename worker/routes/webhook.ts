/**
 * `POST /livekit/webhook`: LiveKit's webhooks, verified with `WebhookReceiver` before acting. Room and
 * participant events go to the room's active session (`SessionDO.roomEvent`), which tracks who is in the
 * room: the visitor leaving starts its grace period, the agent leaving means it is lost (replaced once), and
 * `room_finished` ends the session; stale events (another room instance, or older than the session) change
 * nothing. A visitor (a participant that is not an agent) joining a room with no active session is reported
 * to the `RoomDO`, which deletes the room unless a session begins within its grace.
 *
 * See docs/architecture.md, "Session lifecycle"; https://docs.livekit.io/home/server/webhooks/
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorSummary } from "../../contract/log.ts";
import { log } from "../../edge/log.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { receiveWebhook, roomNotice } from "../../edge/livekit.ts";
import { roomStub, sessionStub } from "../sessions.ts";

export const webhookRoutes = new Hono<AppEnv>();

/** Largest webhook body accepted, bytes. */
const WEBHOOK_BODY_MAX_BYTES = 256 * 1024;

webhookRoutes.post(
  "/livekit/webhook",
  bodyLimit({
    maxSize: WEBHOOK_BODY_MAX_BYTES,
    onError: () => {
      throw new HttpError(413, "payload_too_large", `The body exceeds ${WEBHOOK_BODY_MAX_BYTES} bytes.`);
    },
  }),
  async (c) => {
    const raw = await c.req.text();
    let event;
    try {
      event = await receiveWebhook(c.var.config, raw, c.req.header("Authorization"));
    } catch (err) {
      log.warn("webhook_rejected", { error: errorSummary(err) });
      throw new HttpError(401, "webhook_unverified", "The webhook could not be verified.");
    }
    const notice = roomNotice(event, Date.now());
    if (!notice) return c.json({ ok: true });
    const room = event.room!.name;
    const roomDo = roomStub(c.env, room);
    let sessionId: string | null;
    if (notice.event === "participant_joined" && notice.participant && !notice.participant.agent) {
      const verdict = await roomDo.visitorJoined(room, Date.now());
      sessionId = verdict.sessionId;
      if (verdict.sessionId === null) {
        log.info("sessionless_join", { room, delete_at: new Date(verdict.deleteAt).toISOString() });
      }
    } else {
      sessionId = await roomDo.activeSession(Date.now());
    }
    if (!sessionId) return c.json({ ok: true });
    const outcome = await sessionStub(c.env, sessionId).roomEvent(notice);
    log.info("webhook_applied", { session_id: sessionId, room, event: notice.event, outcome });
    return c.json({ ok: true });
  },
);
