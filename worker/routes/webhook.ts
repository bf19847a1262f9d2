/**
 * `POST /livekit/webhook`: LiveKit's webhooks, verified with `WebhookReceiver` before acting.
 * `participant_left` of the session's visitor, or `room_finished`, ends the room's active session.
 *
 * See docs/architecture.md, "Session lifecycle"; https://docs.livekit.io/home/server/webhooks/
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { errorSummary } from "../../contract/log.ts";
import { log } from "../../edge/log.ts";
import type { AppEnv } from "../app-env.ts";
import { HttpError } from "../errors.ts";
import { receiveWebhook } from "../../edge/livekit.ts";
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
    const room = event.room?.name;
    const ends = event.event === "room_finished" || event.event === "participant_left";
    if (!ends || !room) return c.json({ ok: true });
    const sessionId = await roomStub(c.env, room).activeSession(Date.now());
    if (!sessionId) return c.json({ ok: true });
    const session = sessionStub(c.env, sessionId);
    if (event.event === "participant_left") {
      const info = await session.info();
      if (!info || info.identity !== event.participant?.identity) return c.json({ ok: true });
    }
    log.info("webhook_ends_session", { session_id: sessionId, room, event: event.event });
    await session.stop("stopped");
    return c.json({ ok: true });
  },
);
