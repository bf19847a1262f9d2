/**
 * Fault injection, for tests of how the product recovers (development server only; docs/livekit.md, "Faults").
 *
 * `POST /dev/faults/<name>` with a JSON body, authenticated exactly as the Twirp API is (`Authorization:
 * Bearer <JWT>` signed with the server's API key and secret, twirp.ts `serveAuthenticatedJson`), each fault
 * needing the grant of the call it imitates or disturbs:
 *
 * | fault | body | grant | effect |
 * | --- | --- | --- | --- |
 * | `delete-room` | `{"fail_next"?: n, "fail_for_s"?: s}` | `roomCreate` | the next `n` `RoomService/DeleteRoom` calls, and every one for `s` seconds, fail with Twirp `unavailable` (HTTP 503); `{}` clears |
 * | `drop-participant` | `{"room", "identity"}` | `roomAdmin` for the room | the participant's signal connection is cut with no `LeaveRequest` and no close frame, and its media with it, as when its network dies |
 *
 * Each answers the fault's state as JSON; each injected failure is logged (`fault_injected`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClaimGrants, TokenVerifier } from "livekit-server-sdk";
import type { RoomRegistry } from "./rooms.ts";
import { type Json, requireGrant, requireRoomAdmin, serveAuthenticatedJson, TwirpError } from "./twirp.ts";
import { log } from "./log.ts";

/** The path prefix of the fault endpoints. */
export const FAULTS_PATH = "/dev/faults/";

/** The faults in force; the Twirp handlers ask it before they act. */
export class Faults {
  #deleteRoomNext = 0;
  #deleteRoomUntil = 0;
  #deleteRoomFailed = 0;

  /**
   * Whether this `DeleteRoom` call must fail; counts and logs it when so.
   * @param room the room the call names (logged)
   */
  failDeleteRoom(room: string): boolean {
    const now = Date.now();
    if (this.#deleteRoomNext <= 0 && now >= this.#deleteRoomUntil) return false;
    if (this.#deleteRoomNext > 0) this.#deleteRoomNext--;
    this.#deleteRoomFailed++;
    log.warn("fault_injected", { fault: "delete-room", method: "RoomService/DeleteRoom", room });
    return true;
  }

  /** Sets the `DeleteRoom` fault (replacing the one in force). */
  setDeleteRoom(failNext: number, failForS: number): void {
    this.#deleteRoomNext = failNext;
    this.#deleteRoomUntil = failForS > 0 ? Date.now() + failForS * 1000 : 0;
    log.info("fault_set", { fault: "delete-room", fail_next: failNext, fail_for_s: failForS });
  }

  /** The `DeleteRoom` fault as the endpoint answers it. */
  deleteRoomState(): Json {
    return {
      fail_next: this.#deleteRoomNext,
      fail_for_s: Math.max(0, (this.#deleteRoomUntil - Date.now()) / 1000),
      failed: this.#deleteRoomFailed,
    };
  }
}

/** A number ≥ 0 (whole when `whole`), or 0 when absent. */
function count(body: Record<string, unknown>, field: string, whole: boolean): number {
  const v = body[field] ?? 0;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (whole && !Number.isInteger(v)))
    throw new TwirpError("malformed", 400, `${field} must be a ${whole ? "whole " : ""}number ≥ 0`);
  return v;
}

function text(body: Record<string, unknown>, field: string): string {
  const v = body[field];
  if (typeof v !== "string" || !v) throw new TwirpError("malformed", 400, `${field} is required`);
  return v;
}

type FaultHandler = (body: Record<string, unknown>, claims: ClaimGrants) => Json;

/**
 * Serves `POST /dev/faults/<name>`; never throws.
 * @param name the path after {@link FAULTS_PATH}
 */
export async function handleFault(
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { faults: Faults; registry: RoomRegistry; verifier: TokenVerifier },
): Promise<void> {
  const handlers: Record<string, FaultHandler> = {
    "delete-room": (body, claims) => {
      requireGrant(claims.video?.roomCreate, "roomCreate");
      ctx.faults.setDeleteRoom(count(body, "fail_next", true), count(body, "fail_for_s", false));
      return ctx.faults.deleteRoomState();
    },
    "drop-participant": (body, claims) => {
      const room = text(body, "room");
      const identity = text(body, "identity");
      requireRoomAdmin(claims, room);
      const participant = ctx.registry.rooms.get(room)?.participants.get(identity);
      if (!participant) throw new TwirpError("not_found", 404, "participant not found");
      log.warn("fault_injected", { fault: "drop-participant", room, identity, participant_sid: participant.sid });
      participant.link.drop("network dropped: injected fault");
      return { dropped: true, participant_sid: participant.sid };
    },
  };
  const handler = handlers[name];
  await serveAuthenticatedJson(
    `faults/${name}`,
    req,
    res,
    ctx.verifier,
    handler &&
      ((body, claims) => {
        if (!body || typeof body !== "object" || Array.isArray(body))
          throw new TwirpError("malformed", 400, "body must be a JSON object");
        return handler(body as Record<string, unknown>, claims);
      }),
  );
}
