/**
 * The Worker's LiveKit calls: visitor access tokens, explicit agent dispatch, webhook verification.
 *
 * Sources: livekit-server-sdk 2.x (`AccessToken`, `AgentDispatchClient.createDispatch`,
 * `WebhookReceiver.receive`); shared/ARCHITECTURE.md, "Security model" and "Dispatch".
 */
import { AccessToken, AgentDispatchClient, TrackSource, type WebhookEvent, WebhookReceiver } from "livekit-server-sdk";
import type { DispatchMetadata } from "../contract/index.ts";
import type { Config } from "./config.ts";
import { LIVEKIT_TIMEOUT_S } from "./livekit-rooms.ts";

/** Lifetime of a visitor token, seconds (the architecture caps it at 10 minutes). */
export const TOKEN_TTL_S = 600;

/**
 * Mints a visitor token: join one room, publish the microphone only, subscribe, publish data.
 * Never grants roomAdmin, roomCreate, roomList or roomRecord.
 * @returns the signed JWT
 */
export async function mintToken(config: Config, room: string, identity: string, name?: string): Promise<string> {
  const token = new AccessToken(config.liveKitApiKey, config.liveKitApiSecret, {
    identity,
    ...(name ? { name } : {}),
    ttl: TOKEN_TTL_S,
  });
  token.addGrant({
    roomJoin: true,
    room,
    canPublish: true,
    canPublishSources: [TrackSource.MICROPHONE],
    canSubscribe: true,
    canPublishData: true,
  });
  return token.toJwt();
}

/**
 * Asks LiveKit to dispatch `AGENT_NAME` into `room` with the session's metadata (JSON).
 * @throws whatever the SDK throws when LiveKit refuses (TwirpError) or is unreachable (TypeError,
 *   timeout after {@link LIVEKIT_TIMEOUT_S} s); the caller turns it into a 502
 */
export async function dispatchAgent(config: Config, room: string, metadata: DispatchMetadata): Promise<void> {
  const client = new AgentDispatchClient(config.liveKitHttpUrl, config.liveKitApiKey, config.liveKitApiSecret, {
    requestTimeout: LIVEKIT_TIMEOUT_S,
  });
  await client.createDispatch(room, config.agentName, { metadata: JSON.stringify(metadata) });
}

/**
 * Verifies a webhook (JWT in `Authorization`, signed with the API secret, carrying the body's
 * SHA-256) and decodes it.
 * @throws Error when the header is missing, the signature or the body hash is wrong, or the body is not JSON
 */
export async function receiveWebhook(config: Config, body: string, authorization: string | undefined): Promise<WebhookEvent> {
  const receiver = new WebhookReceiver(config.liveKitApiKey, config.liveKitApiSecret);
  return receiver.receive(body, authorization);
}
