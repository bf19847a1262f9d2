/**
 * Data relay: a `DataPacket` a participant sends on its publisher data channel goes to the other participants
 * of its room, stamped with the sender's identity (docs/livekit.md, "Signal connection", step 9); RoomService
 * `SendData` sends one from the server itself, with no sender (docs/livekit.md, "Data from the server").
 * Both fan out as livekit-server's `BroadcastDataPacketForRoom` (`pkg/rtc/room.go`) does.
 */
import { DataPacket, DataPacket_Kind, UserPacket, type SendDataRequest } from "@livekit/protocol";
import type { Participant, Room } from "./rooms.ts";
import { log } from "./log.ts";

/**
 * Most payload bytes `SendData` accepts, of either kind: 15 KiB. The number is LiveKit's documented limit for a
 * reliable packet's user data (docs.livekit.io, "Data packets", "Size limits": "each packet can be up to 15KiB
 * in size", the protocol limit being 16 KiB for the whole packet). livekit-server itself does not check it in
 * `SendData`; refusing larger payloads (Twirp `invalid_argument`) is the stand-in's own choice, so that code
 * relying on bigger packets fails here rather than in production.
 */
export const MAX_SEND_DATA_BYTES = 15 * 1024;

/** The data channel a packet of `kind` travels on: `_reliable` for `RELIABLE`, `_lossy` for anything else (livekit-server `PCTransport.SendDataMessage`). */
export function dataLabel(kind: DataPacket_Kind): "_reliable" | "_lossy" {
  return kind === DataPacket_Kind.RELIABLE ? "_reliable" : "_lossy";
}

/** How many user-packet nonces a room remembers to drop repeats (livekit-server `UserPacketDeduper`, `maxSize`). */
const NONCES_KEPT = 100;
/** Per room, the hex of the last {@link NONCES_KEPT} 16-byte nonces seen, oldest first. */
const seenNonces = new WeakMap<Room, Set<string>>();

/**
 * Whether `user` repeats a nonce seen among the room's last 100 user packets (remembering it if not), as
 * livekit-server's `UserPacketDeduper.IsDuplicate`: only a 16-byte nonce (a UUID) counts; none, or any other
 * length, is never a duplicate.
 */
function isDuplicate(room: Room, user: UserPacket): boolean {
  if (user.nonce.length !== 16) return false;
  const key = Buffer.from(user.nonce).toString("hex");
  let seen = seenNonces.get(room);
  if (!seen) seenNonces.set(room, (seen = new Set()));
  if (seen.has(key)) return true;
  seen.add(key);
  if (seen.size > NONCES_KEPT) seen.delete(seen.values().next().value!);
  return false;
}

/**
 * Sends `packet` to the participants of `room` other than `source`, as livekit-server's
 * `BroadcastDataPacketForRoom`: the packet's `kind` is set, a user packet's destination identities are copied
 * between packet and user packet, a user packet with a nonce already seen in the room is dropped, and when
 * destination sids or identities are given only a participant whose sid or whose identity is listed gets it.
 * @param source the sender; undefined for the server (`SendData`)
 * @returns how many participants it was sent to
 */
function broadcast(room: Room, source: Participant | undefined, packet: DataPacket, kind: DataPacket_Kind): number {
  packet.kind = kind;
  let sids: string[] = [];
  if (packet.value.case === "user") {
    const user = packet.value.value;
    if (isDuplicate(room, user)) {
      log.info("duplicate_data_dropped", { room: room.name, identity: source?.identity });
      return 0;
    }
    sids = user.destinationSids;
    if (packet.destinationIdentities.length === 0) packet.destinationIdentities = user.destinationIdentities;
    else user.destinationIdentities = packet.destinationIdentities;
  }
  const identities = packet.destinationIdentities;
  const out = packet.toBinary();
  const label = dataLabel(kind);
  let sent = 0;
  for (const p of room.participants.values()) {
    if (p === source) continue;
    if ((sids.length > 0 || identities.length > 0) && !sids.includes(p.sid) && !identities.includes(p.identity))
      continue;
    if (p.link.sendData(out, label)) sent += 1;
  }
  return sent;
}

/**
 * Relays one data packet from `sender` to the others in `room`.
 * @param bytes the protobuf `DataPacket` as received
 * @param label the channel it arrived on (`_reliable` or `_lossy`); the copy goes out on the same kind
 * @returns how many participants it was sent to (0 when refused or undecodable; the reason is logged)
 */
export function relayData(room: Room, sender: Participant, bytes: Uint8Array, label: string): number {
  if (!sender.permission.canPublishData) {
    log.warn("data_refused", { room: room.name, identity: sender.identity });
    return 0;
  }
  let packet: DataPacket;
  try {
    packet = DataPacket.fromBinary(bytes);
  } catch (err) {
    log.warn("bad_data_packet_dropped", { room: room.name, identity: sender.identity, reason: err });
    return 0;
  }
  packet.participantIdentity = sender.identity;
  packet.participantSid = sender.sid;
  if (packet.value.case === "user") {
    packet.value.value.participantIdentity = sender.identity;
    packet.value.value.participantSid = sender.sid;
  }
  const kind = label === "_lossy" ? DataPacket_Kind.LOSSY : DataPacket_Kind.RELIABLE;
  return broadcast(room, sender, packet, kind);
}

/**
 * Sends the data of a RoomService `SendData` request to `room`, as livekit-server's `RoomManager.SendData`:
 * a `DataPacket{kind, destinationIdentities, user: {payload, topic, destinationSids, destinationIdentities,
 * nonce}}` with no participant identity or sid (the server is the sender), to every participant, or only to
 * those whose sid is in `destinationSids` or whose identity is in `destinationIdentities`. The request is
 * assumed checked (grant, nonce, size: twirp.ts).
 * @returns how many participants it was sent to (0 for a repeated nonce, which is dropped)
 */
export function sendServerData(room: Room, req: SendDataRequest): number {
  const packet = new DataPacket({
    kind: req.kind,
    destinationIdentities: req.destinationIdentities,
    value: {
      case: "user",
      value: new UserPacket({
        payload: req.data,
        topic: req.topic,
        destinationSids: req.destinationSids,
        destinationIdentities: req.destinationIdentities,
        nonce: req.nonce,
      }),
    },
  });
  return broadcast(room, undefined, packet, req.kind);
}
