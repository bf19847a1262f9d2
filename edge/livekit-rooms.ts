/**
 * RoomService calls the Durable Objects make: deleting a session's LiveKit room when it ends
 * (which ends the agent's job and disconnects the visitor).
 *
 * Source: livekit-server-sdk `RoomServiceClient.deleteRoom` (Twirp `livekit.RoomService/DeleteRoom`).
 */
import { RoomServiceClient, TwirpError } from "livekit-server-sdk";
import type { Config } from "./config.ts";
import { describeError, log } from "./log.ts";

/** Seconds a LiveKit API call may take before it counts as unreachable. */
export const LIVEKIT_TIMEOUT_S = 5;

/**
 * Deletes a LiveKit room. A room that no longer exists counts as deleted.
 * @returns true when the room is gone, false when LiveKit refused or could not be reached (logged)
 */
export async function deleteRoom(config: Config, room: string, sessionId: string): Promise<boolean> {
  const client = new RoomServiceClient(config.liveKitHttpUrl, config.liveKitApiKey, config.liveKitApiSecret, {
    requestTimeout: LIVEKIT_TIMEOUT_S,
  });
  try {
    await client.deleteRoom(room);
    return true;
  } catch (err) {
    if (err instanceof TwirpError && err.status === 404) return true;
    log.warn("livekit_delete_room_failed", { session_id: sessionId, room, error: describeError(err) });
    return false;
  }
}
