/**
 * Data relay: a `DataPacket` a participant sends on its publisher data channel goes to the other participants
 * of its room, stamped with the sender's identity, honouring `destinationIdentities`
 * (docs/livekit.md, "Signal connection", step 9).
 */
import { DataPacket } from "@livekit/protocol";
import type { Participant, Room } from "./rooms.ts";
import { log } from "./log.ts";

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
  let destinations = packet.destinationIdentities;
  if (packet.value.case === "user") {
    packet.value.value.participantIdentity = sender.identity;
    packet.value.value.participantSid = sender.sid;
    if (destinations.length === 0) destinations = packet.value.value.destinationIdentities;
  }
  const out = packet.toBinary();
  let sent = 0;
  for (const p of room.participants.values()) {
    if (p === sender) continue;
    if (destinations.length > 0 && !destinations.includes(p.identity)) continue;
    if (p.link.sendData(out, label)) sent += 1;
  }
  return sent;
}
