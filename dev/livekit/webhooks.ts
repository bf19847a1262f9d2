/**
 * Webhooks: each room lifecycle event is POSTed as a JSON `WebhookEvent` to every configured URL, signed as
 * livekit-server-sdk's `WebhookReceiver.receive` verifies it: `Authorization: <JWT signed with the API secret
 * whose sha256 claim is the base64 SHA-256 of the body>`, content type `application/webhook+json`.
 */
import { createHash } from "node:crypto";
import { TrackInfo, WebhookEvent } from "@livekit/protocol";
import { AccessToken } from "livekit-server-sdk";
import { type Participant, type PublishedTrack, type Room, type RoomRegistry, newId } from "./rooms.ts";
import { log } from "./log.ts";

const ATTEMPTS = 3;
const TIMEOUT_MS = 5_000;

/** Builds the signed request for one event. */
export async function signWebhook(
  event: WebhookEvent,
  apiKey: string,
  apiSecret: string,
): Promise<{ body: string; headers: Record<string, string> }> {
  const body = event.toJsonString();
  const token = new AccessToken(apiKey, apiSecret, { ttl: "10m" });
  token.sha256 = createHash("sha256").update(body).digest("base64");
  return {
    body,
    headers: { "Content-Type": "application/webhook+json", Authorization: await token.toJwt() },
  };
}

/**
 * Posts every lifecycle event of `registry` to `urls`, in order per URL; a failed delivery is retried
 * (3 attempts, 5 s timeout each) and then logged and dropped, never thrown.
 * @returns a function that waits until every queued delivery has finished (used on close and in tests)
 */
export function startWebhooks(
  registry: RoomRegistry,
  urls: string[],
  apiKey: string,
  apiSecret: string,
): () => Promise<void> {
  const queues = new Map<string, Promise<void>>(urls.map((u) => [u, Promise.resolve()]));
  const post = (event: WebhookEvent): void => {
    event.id = newId("EV_");
    event.createdAt = BigInt(Math.floor(Date.now() / 1000));
    const signed = signWebhook(event, apiKey, apiSecret);
    for (const url of urls) {
      queues.set(
        url,
        queues.get(url)!.then(async () => deliver(url, event.event, await signed)),
      );
    }
  };
  if (urls.length > 0) {
    registry.on("room_started", (room: Room) => post(new WebhookEvent({ event: "room_started", room: room.info() })));
    registry.on("room_finished", (room: Room) => post(new WebhookEvent({ event: "room_finished", room: room.info() })));
    registry.on("participant_joined", (room: Room, p: Participant) =>
      post(new WebhookEvent({ event: "participant_joined", room: room.info(), participant: p.info() })),
    );
    registry.on("participant_left", (room: Room, p: Participant) =>
      post(new WebhookEvent({ event: "participant_left", room: room.info(), participant: p.info() })),
    );
    registry.on("track_published", (room: Room, p: Participant, t: PublishedTrack) =>
      post(
        new WebhookEvent({
          event: "track_published",
          room: room.info(),
          participant: p.info(),
          track: new TrackInfo(t.info),
        }),
      ),
    );
  }
  return async () => {
    await Promise.all(queues.values());
  };
}

async function deliver(
  url: string,
  name: string,
  req: { body: string; headers: Record<string, string> },
): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, {
        method: "POST",
        body: req.body,
        headers: req.headers,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (res.ok) return;
      log.warn("webhook_refused", { url, event: name, status: res.status });
      if (res.status < 500) return;
    } catch (err) {
      log.warn("webhook_delivery_failed", { url, event: name, attempt, reason: err });
    }
    await new Promise((r) => setTimeout(r, 500 * attempt));
  }
}
