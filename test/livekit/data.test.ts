/**
 * Data relay: a message one rtc-node participant publishes reaches the others stamped with the sender's
 * identity, and `destination_identities` limits who receives it. RoomService `SendData` (livekit-server-sdk's
 * `RoomServiceClient.sendData`) reaches rtc-node's `DataReceived` with no participant (the server sent it), its
 * topic and its exact bytes, on the kind asked for, to everyone or to the destination sids or identities; the
 * calls LiveKit refuses are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataPacketKind, Room, RoomEvent } from "@livekit/rtc-node";
import { AccessToken, DataPacket_Kind, RoomServiceClient } from "livekit-server-sdk";
import { SendDataRequest } from "@livekit/protocol";
import { MAX_SEND_DATA_BYTES } from "../../dev/livekit/data.ts";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import { waitFor } from "../support/wait.ts";
import { API_KEY, API_SECRET, connect, joinToken } from "./support.ts";

const addr = mediaAddress();
const WAIT = { timeoutMs: 15_000 };

function inbox(room: Room): string[] {
  const got: string[] = [];
  room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
    got.push(`${participant?.identity}/${topic}: ${new TextDecoder().decode(payload)}`);
  });
  return got;
}

/** One packet as rtc-node's `DataReceived` gave it. */
interface Received {
  /** The sender's identity; undefined when rtc-node gave no participant. */
  from: string | undefined;
  topic: string | undefined;
  kind: DataPacketKind | undefined;
  payload: Uint8Array;
}

function packets(room: Room): Received[] {
  const got: Received[] = [];
  room.on(RoomEvent.DataReceived, (payload, participant, kind, topic) => {
    got.push({ from: participant?.identity, topic, kind, payload: new Uint8Array(payload) });
  });
  return got;
}

const text = (r: Received) => new TextDecoder().decode(r.payload);
const encode = (s: string) => new TextEncoder().encode(s);

describe.skipIf(!addr)("data relay", () => {
  let server: DevLiveKit;
  let http: string;
  let service: RoomServiceClient;
  const rooms: Room[] = [];
  const join = async (room: string, ...identities: string[]) => {
    const joined = await Promise.all(identities.map((id) => connect(server.url, room, id)));
    rooms.push(...joined);
    return joined;
  };
  /** POSTs a `SendDataRequest` straight to the Twirp route, with a roomAdmin token for `grantRoom`. */
  const postSendData = async (req: SendDataRequest, grantRoom = req.room) => {
    const at = new AccessToken(API_KEY, API_SECRET, { ttl: 60 });
    at.addGrant({ roomAdmin: true, room: grantRoom });
    return fetch(`${http}/twirp/livekit.RoomService/SendData`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await at.toJwt()}`, "Content-Type": "application/json" },
      body: JSON.stringify(req.toJson()),
    });
  };

  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, mediaAddress: addr! });
    http = server.url.replace(/^ws/, "http");
    service = new RoomServiceClient(http, API_KEY, API_SECRET);
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

  it("sends SendData from the server: no participant, its topic and bytes, to destination sids or identities or everyone", async () => {
    const [alice, bob, carol] = await join("server-data-room", "alice", "bob", "carol");
    const [toAlice, toBob, toCarol] = [packets(alice!), packets(bob!), packets(carol!)];
    const bobSid = bob!.localParticipant!.sid!;
    const aliceSid = alice!.localParticipant!.sid!;
    expect(bobSid).toMatch(/^PA_/);
    const bytes = new Uint8Array([0, 255, 1, 128, 10, 13]);
    const reliable = DataPacket_Kind.RELIABLE;

    await service.sendData("server-data-room", bytes, reliable, { destinationSids: [bobSid], topic: "app.typed" });
    await service.sendData("server-data-room", encode("to carol"), reliable, {
      destinationIdentities: ["carol"],
      topic: "t2",
    });
    // sid OR identity, as livekit-server matches them.
    await service.sendData("server-data-room", encode("alice or carol"), reliable, {
      destinationSids: [aliceSid],
      destinationIdentities: ["carol"],
      topic: "t3",
    });
    await service.sendData("server-data-room", encode("lossy to bob"), DataPacket_Kind.LOSSY, {
      destinationIdentities: ["bob"],
      topic: "t4",
    });
    await service.sendData("server-data-room", encode("everyone"), reliable, { topic: "t5" });
    const everyone = (got: Received[]) => got.some((r) => r.topic === "t5");
    await waitFor("the message to everyone", () => [toAlice, toBob, toCarol].every(everyone), WAIT);
    await waitFor("the lossy message", () => toBob.some((r) => r.topic === "t4"), WAIT);

    for (const got of [toAlice, toBob, toCarol]) for (const r of got) expect(r.from).toBeUndefined();
    const summary = (got: Received[]) => got.map((r) => `${r.topic}: ${r.topic === "app.typed" ? "" : text(r)}`);
    // The lossy channel is unordered with respect to the reliable one: compare reliable order on its own.
    const onReliable = (got: Received[]) => got.filter((r) => r.kind === DataPacketKind.KIND_RELIABLE);
    expect(summary(onReliable(toBob))).toEqual(["app.typed: ", "t5: everyone"]);
    expect(toBob.filter((r) => r.kind === DataPacketKind.KIND_LOSSY).map(text)).toEqual(["lossy to bob"]);
    expect(toBob.find((r) => r.topic === "app.typed")!.payload).toEqual(bytes);
    expect(summary(toCarol)).toEqual(["t2: to carol", "t3: alice or carol", "t5: everyone"]);
    expect(summary(toAlice)).toEqual(["t3: alice or carol", "t5: everyone"]);
    for (const got of [toAlice, toCarol]) expect(got.every((r) => r.kind === DataPacketKind.KIND_RELIABLE)).toBe(true);
  });

  it("refuses SendData without roomAdmin for the room, with a bad nonce or too much data, and for no room; drops a repeated nonce; sends an empty payload", async () => {
    const [dora] = await join("refusal-room", "dora");
    const toDora = packets(dora!);
    const room = "refusal-room";

    await expect(
      new RoomServiceClient(http, API_KEY, "wrong").sendData(room, encode("x"), DataPacket_Kind.RELIABLE, {}),
    ).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
    const otherRoom = await postSendData(new SendDataRequest({ room, data: encode("x") }), "another-room");
    expect(otherRoom.status).toBe(403);
    expect(await otherRoom.json()).toMatchObject({ code: "permission_denied" });
    const joinOnly = await fetch(`${http}/twirp/livekit.RoomService/SendData`, {
      method: "POST",
      headers: { Authorization: `Bearer ${await joinToken(room, "eve")}` },
      body: JSON.stringify(new SendDataRequest({ room, data: encode("x") }).toJson()),
    });
    expect(joinOnly.status).toBe(403);
    const badNonce = await postSendData(new SendDataRequest({ room, data: encode("x"), nonce: new Uint8Array(8) }));
    expect(badNonce.status).toBe(400);
    expect(await badNonce.json()).toMatchObject({ code: "invalid_argument" });
    await expect(
      service.sendData(room, new Uint8Array(MAX_SEND_DATA_BYTES + 1), DataPacket_Kind.RELIABLE, { topic: "big" }),
    ).rejects.toMatchObject({ status: 400, code: "invalid_argument" });
    // livekit-server has no node for a room that does not exist: psrpc's "no response from servers".
    await expect(service.sendData("no-such-room", encode("x"), DataPacket_Kind.RELIABLE, {})).rejects.toMatchObject({
      status: 503,
      code: "unavailable",
    });

    // Accepted: the largest payload, and one request twice with the same nonce (delivered once).
    await service.sendData(room, new Uint8Array(MAX_SEND_DATA_BYTES).fill(7), DataPacket_Kind.RELIABLE, {
      topic: "max",
    });
    const twice = new SendDataRequest({ room, data: encode("once"), topic: "dup", nonce: new Uint8Array(16).fill(9) });
    expect((await postSendData(twice)).status).toBe(200);
    expect((await postSendData(twice)).status).toBe(200);
    // livekit-server does not refuse an empty payload either, and rtc-node delivers it.
    await service.sendData(room, new Uint8Array(0), DataPacket_Kind.RELIABLE, { topic: "empty" });
    await service.sendData(room, encode("end"), DataPacket_Kind.RELIABLE, { topic: "end" });
    await waitFor("the last message", () => toDora.some((r) => r.topic === "end"), WAIT);
    expect(toDora.map((r) => r.topic)).toEqual(["max", "dup", "empty", "end"]);
    expect(toDora[0]!.payload).toEqual(new Uint8Array(MAX_SEND_DATA_BYTES).fill(7));
    expect(toDora[2]!.payload.length).toBe(0);
  });
});
