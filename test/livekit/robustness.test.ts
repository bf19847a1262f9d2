/**
 * Robustness and protocol edges, over raw HTTP/WebSocket and the server SDK: bad tokens are refused at the
 * upgrade with a reason, `/rtc/v1` serves livekit-client and rtc-node (or answers rtc-node 404, so it falls back to
 * v0, when `signalV1` is `livekit-client`; more in rtc-v1-signal.test.ts), bad protobuf or an unknown
 * request closes only that participant's connection, publisher offers sent back to back are each answered, in order,
 * and Twirp errors are Twirp JSON with 4xx statuses.
 * No media flows here, so no network namespace is needed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AccessToken, RoomServiceClient, AgentDispatchClient, TwirpError } from "livekit-server-sdk";
import {
  ClientInfo,
  ClientInfo_SDK,
  JoinRequest,
  SessionDescription,
  SignalRequest,
  WrappedJoinRequest,
} from "@livekit/protocol";
import { RTCPeerConnection } from "werift";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { API_KEY, API_SECRET, joinToken } from "./support.ts";
import { open, signal } from "./raw-signal.ts";

describe("robustness", () => {
  let server: DevLiveKit;
  let http: string;
  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, emptyTimeoutS: 1, departureTimeoutS: 1 });
    http = server.url.replace("ws", "http");
  });
  afterAll(() => server?.close());

  it("refuses bad tokens at the upgrade with a reason, and says why on /rtc/validate", async () => {
    const forged = await joinToken("r", "mallory", {}, "not-the-secret");
    expect(await open(`${server.url}/rtc?access_token=${forged}`)).toMatchObject({
      status: 401,
      body: expect.stringMatching(/invalid access token/),
    });
    expect(await open(`${server.url}/rtc`)).toMatchObject({ status: 401, body: "missing access token" });
    const noJoin = await new AccessToken(API_KEY, API_SECRET, { identity: "x" }).toJwt();
    expect(await open(`${server.url}/rtc`, { Authorization: `Bearer ${noJoin}` })).toMatchObject({ status: 403 });
    expect(await open(`${server.url}/agent`, { Authorization: `Bearer ${await joinToken("r", "x")}` })).toMatchObject({
      status: 403,
    });
    const validate = await fetch(`${http}/rtc/validate?access_token=${forged}`);
    expect(validate.status).toBe(401);
    expect(await validate.text()).toMatch(/invalid access token/);
    expect((await fetch(`${http}/rtc/validate?access_token=${await joinToken("r", "x")}`)).status).toBe(200);
  });

  it("serves /rtc/v1 to livekit-client and rtc-node, or answers rtc-node 404 so it falls back to /rtc", async () => {
    const token = await joinToken("r", "x");
    const request = (sdk: ClientInfo_SDK) => {
      const join = new JoinRequest({ clientInfo: new ClientInfo({ sdk }) });
      const wrapped = new WrappedJoinRequest({ joinRequest: join.toBinary() });
      return Buffer.from(wrapped.toBinary()).toString("base64url");
    };
    const bearer = { Authorization: `Bearer ${token}` };
    for (const sdk of [ClientInfo_SDK.JS, ClientInfo_SDK.NODE]) {
      const ws = await open(`${server.url}/rtc/v1?join_request=${request(sdk)}`, bearer);
      expect(ws).toBeInstanceOf(WebSocket);
      expect((await signal(ws as WebSocket).next("join")).message.case).toBe("join");
      (ws as WebSocket).close();
      const validate = await fetch(`${http}/rtc/v1/validate?access_token=${token}&join_request=${request(sdk)}`);
      expect([validate.status, await validate.text()]).toEqual([200, "success"]);
    }
    const v0 = await startDevLiveKit({ port: 0, signalV1: "livekit-client" });
    try {
      expect(await open(`${v0.url}/rtc/v1?join_request=${request(ClientInfo_SDK.NODE)}`, bearer)).toMatchObject({
        status: 404,
      });
      const js = await open(`${v0.url}/rtc/v1?join_request=${request(ClientInfo_SDK.JS)}`, bearer);
      expect(js).toBeInstanceOf(WebSocket);
      (js as WebSocket).close();
    } finally {
      await v0.close();
    }
  });

  it("sends the join first, answers pings, and closes only the connection that sends bad protobuf", async () => {
    const good = (await open(`${server.url}/rtc?access_token=${await joinToken("edge", "good")}`)) as WebSocket;
    const g = signal(good);
    const join = (await g.next("join")).message.value as import("@livekit/protocol").JoinResponse;
    expect(g.got[0]!.message.case).toBe("join");
    expect(join.subscriberPrimary).toBe(true);
    expect(join.participant?.sid).toMatch(/^PA_/);
    expect(join.room?.sid).toMatch(/^RM_/);
    expect(join.pingInterval).toBe(5);
    await g.next("offer");
    good.send(new SignalRequest({ message: { case: "ping", value: 1234n } }).toBinary());
    expect(Number((await g.next("pong")).message.value)).toBeGreaterThan(1234);

    const bad = (await open(`${server.url}/rtc?access_token=${await joinToken("edge", "bad")}`)) as WebSocket;
    const b = signal(bad);
    await b.next("join");
    await g.next("update");
    bad.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    await b.closed;

    const unknown = (await open(`${server.url}/rtc?access_token=${await joinToken("edge", "odd")}`)) as WebSocket;
    const u = signal(unknown);
    await u.next("join");
    unknown.send(Buffer.from([0xa8, 0x1f, 0x01])); // field 501 (varint): not a request this protocol knows
    await u.closed;

    const rooms = new RoomServiceClient(http, API_KEY, API_SECRET);
    await expect.poll(async () => (await rooms.listParticipants("edge")).map((p) => p.identity)).toEqual(["good"]);
    expect(good.readyState).toBe(WebSocket.OPEN);
    good.close();
  });

  it("answers publisher offers sent back to back, each, in order (as when a track is published while the first offer is out)", async () => {
    const ws = (await open(`${server.url}/rtc?access_token=${await joinToken("offers", "publisher")}`)) as WebSocket;
    const s = signal(ws);
    await s.next("join");
    // A real client's two offers: the data channels', then one with a microphone added, made before the first answer.
    const pc = new RTCPeerConnection();
    try {
      pc.createDataChannel("_reliable");
      const first = await pc.createOffer();
      await pc.setLocalDescription(first);
      pc.addTransceiver("audio", { direction: "sendonly" });
      const second = await pc.createOffer();
      const send = (sdp: string, id: number) =>
        ws.send(
          new SignalRequest({
            message: { case: "offer", value: new SessionDescription({ type: "offer", sdp, id }) },
          }).toBinary(),
        );
      send(first.sdp, 1);
      send(second.sdp, 2);
      await expect
        .poll(() => s.got.flatMap((m) => (m.message.case === "answer" ? [m.message.value.id] : [])), {
          timeout: 10_000,
        })
        .toEqual([1, 2]);
      const answer = s.got.findLast((m) => m.message.case === "answer")!.message.value as SessionDescription;
      expect(answer.sdp, "the second answer accepts the microphone").toMatch(
        /^m=audio .*\r?\n(?:.*\r?\n)*?a=recvonly/m,
      );
    } finally {
      await pc.close();
      ws.close();
    }
  });

  it("drops a participant that stops pinging (a lost network) within the 15 s ping timeout", async () => {
    const silent = (await open(`${server.url}/rtc?access_token=${await joinToken("quiet", "mute")}`)) as WebSocket;
    const q = signal(silent);
    await q.next("join");
    const t0 = Date.now();
    await q.closed;
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThan(14_000);
    expect(waited).toBeLessThan(20_000);
    expect(q.got.some((m) => m.message.case === "leave")).toBe(true);
  });

  it("replaces an older participant with the same identity", async () => {
    const first = (await open(`${server.url}/rtc?access_token=${await joinToken("dup", "same")}`)) as WebSocket;
    const f = signal(first);
    await f.next("join");
    const second = (await open(`${server.url}/rtc?access_token=${await joinToken("dup", "same")}`)) as WebSocket;
    const s = signal(second);
    await s.next("join");
    await f.next("leave");
    await f.closed;
    const rooms = new RoomServiceClient(http, API_KEY, API_SECRET);
    const [p] = await rooms.listParticipants("dup");
    expect(p?.sid).toBe((s.got[0]!.message.value as import("@livekit/protocol").JoinResponse).participant?.sid);
    second.close();
  });

  it("returns Twirp errors: unknown room 404, missing grant 403, bad token 401, bad JSON 400", async () => {
    const rooms = new RoomServiceClient(http, API_KEY, API_SECRET);
    await expect(rooms.deleteRoom("no-such-room")).rejects.toMatchObject({ status: 404, code: "not_found" });
    await expect(new RoomServiceClient(http, API_KEY, "wrong").listRooms()).rejects.toMatchObject({
      status: 401,
      code: "unauthenticated",
    });
    const noAdmin = await joinToken("r", "x");
    const res = await fetch(`${http}/twirp/livekit.RoomService/ListRooms`, {
      method: "POST",
      headers: { Authorization: `Bearer ${noAdmin}` },
      body: "{}",
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toMatchObject({ code: "permission_denied" });
    const admin = await new AccessToken(API_KEY, API_SECRET).toJwt().then(async () => {
      const at = new AccessToken(API_KEY, API_SECRET);
      at.addGrant({ roomList: true });
      return at.toJwt();
    });
    const bad = await fetch(`${http}/twirp/livekit.RoomService/ListRooms`, {
      method: "POST",
      headers: { Authorization: `Bearer ${admin}` },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
    const dispatch = new AgentDispatchClient(http, API_KEY, API_SECRET);
    await expect(dispatch.deleteDispatch("AD_missing", "r")).rejects.toBeInstanceOf(TwirpError);
    expect((await fetch(`${http}/twirp/livekit.RoomService/Nope`, { method: "POST", body: "{}" })).status).toBe(404);
  });
});
