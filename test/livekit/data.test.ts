/**
 * Data relay: a message one rtc-node participant publishes reaches the others stamped with the sender's
 * identity, and `destination_identities` limits who receives it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Room, RoomEvent } from "@livekit/rtc-node";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import { waitFor } from "../support/wait.ts";
import { connect, joinToken } from "./support.ts";

const addr = mediaAddress();
const WAIT = { timeoutMs: 15_000 };

function inbox(room: Room): string[] {
  const got: string[] = [];
  room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
    got.push(`${participant?.identity}/${topic}: ${new TextDecoder().decode(payload)}`);
  });
  return got;
}

describe.skipIf(!addr)("data relay", () => {
  let server: DevLiveKit;
  const rooms: Room[] = [];

  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, mediaAddress: addr! });
  });
  afterAll(async () => {
    for (const r of rooms) await r.disconnect().catch(() => {});
    await server?.close();
  });

  it("stamps the sender's identity and honours destination identities", async () => {
    const [alice, bob, carol] = await Promise.all(
      ["alice", "bob", "carol"].map((id) => connect(server.url, "data-room", id)),
    );
    rooms.push(alice!, bob!, carol!);
    const [toAlice, toBob, toCarol] = [inbox(alice!), inbox(bob!), inbox(carol!)];
    const send = (room: Room, text: string, destination_identities?: string[]) =>
      room.localParticipant!.publishData(new TextEncoder().encode(text), {
        reliable: true,
        topic: "chat",
        destination_identities,
      });

    await send(alice!, "hello all");
    await send(alice!, "only bob", ["bob"]);
    await send(bob!, "hi alice");
    await send(alice!, "end");
    const lastArrived = () => toCarol.includes("alice/chat: end") && toBob.includes("alice/chat: end");
    await waitFor("the last message", lastArrived, WAIT);
    await waitFor("bob's reply", () => toAlice.includes("bob/chat: hi alice"), WAIT);

    expect(toBob).toEqual(["alice/chat: hello all", "alice/chat: only bob", "alice/chat: end"]);
    // Order is kept per sender (one reliable channel each way); across senders it is not defined.
    expect(toCarol.filter((m) => m.startsWith("alice/"))).toEqual(["alice/chat: hello all", "alice/chat: end"]);
    expect(toCarol.filter((m) => m.startsWith("bob/"))).toEqual(["bob/chat: hi alice"]);
    expect(toAlice).toEqual(["bob/chat: hi alice"]);
  });

  it("delivers reliable data sent while the receiver is still connecting, in order, once its channel opens", async () => {
    // Sent the moment the server announces dave: his subscriber data channel opens only after ICE, DTLS and
    // SCTP, so without the queue these are dropped.
    const erin = await connect(server.url, "late-room", "erin");
    rooms.push(erin);
    const dave = new Room();
    rooms.push(dave);
    const toDave = inbox(dave);
    const announced = new Promise<void>((resolve) => erin.on(RoomEvent.ParticipantConnected, () => resolve()));
    const joining = dave.connect(server.url, await joinToken("late-room", "dave"), {
      autoSubscribe: true,
      dynacast: false,
    });
    await announced;
    const burst = Array.from({ length: 20 }, (_, i) => `early ${i}`);
    for (const text of burst)
      await erin.localParticipant!.publishData(new TextEncoder().encode(text), { reliable: true, topic: "chat" });
    await joining;
    await waitFor("the early messages", () => toDave.length >= burst.length, WAIT);
    expect(toDave).toEqual(burst.map((text) => `erin/chat: ${text}`));
  });
});
