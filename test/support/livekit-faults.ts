/**
 * A client of the dev LiveKit server's fault endpoints (`POST /dev/faults/<name>`, dev/livekit/faults.ts and
 * docs/livekit.md, "Faults"), authenticated like its Twirp API with the dev keys, plus the participant list
 * the fault tests watch.
 */
import { AccessToken, RoomServiceClient, type VideoGrant } from "livekit-server-sdk";

const DEV_KEY = "devkey";
const DEV_SECRET = "secret";

/** The dev server's HTTP base URL for a `ws://` LiveKit URL. */
function httpBase(liveKitUrl: string): string {
  return liveKitUrl.replace(/^ws/, "http");
}

/**
 * Posts one fault with a token carrying `grant` (signed with the dev keys, 60 s).
 * @returns the endpoint's JSON answer
 * @throws Error with the status and body when it does not answer 200
 */
export async function postFault(
  liveKitUrl: string,
  name: string,
  body: object,
  grant: VideoGrant,
  token?: string,
): Promise<Record<string, unknown>> {
  let jwt = token;
  if (jwt === undefined) {
    const at = new AccessToken(DEV_KEY, DEV_SECRET, { ttl: 60 });
    at.addGrant(grant);
    jwt = await at.toJwt();
  }
  const res = await fetch(`${httpBase(liveKitUrl)}/dev/faults/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`fault ${name}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * Makes the next `failNext` `RoomService/DeleteRoom` calls, and every one for `failForS` seconds, fail with
 * 503 `unavailable`; both 0 clears the fault.
 * @returns `{fail_next, fail_for_s, failed}`: the fault in force and how many calls it failed so far
 */
export async function failDeleteRoom(
  liveKitUrl: string,
  fault: { failNext?: number; failForS?: number },
): Promise<{ fail_next: number; fail_for_s: number; failed: number }> {
  const body = { fail_next: fault.failNext ?? 0, fail_for_s: fault.failForS ?? 0 };
  return (await postFault(liveKitUrl, "delete-room", body, { roomCreate: true })) as {
    fail_next: number;
    fail_for_s: number;
    failed: number;
  };
}

/**
 * Cuts a participant's signal and media at the server as a dead network would (no leave, no close frame).
 * @returns the sid of the participant that was cut
 */
export async function dropParticipant(liveKitUrl: string, room: string, identity: string): Promise<string> {
  const out = await postFault(liveKitUrl, "drop-participant", { room, identity }, { roomAdmin: true, room });
  return String(out.participant_sid);
}

/** The participants of `room` (RoomService ListParticipants): identity → sid; empty when the room is gone. */
export async function participantSids(liveKitUrl: string, room: string): Promise<Map<string, string>> {
  const client = new RoomServiceClient(httpBase(liveKitUrl), DEV_KEY, DEV_SECRET);
  try {
    return new Map((await client.listParticipants(room)).map((p) => [p.identity, p.sid]));
  } catch (err) {
    if ((err as { status?: number }).status === 404) return new Map();
    throw err;
  }
}
