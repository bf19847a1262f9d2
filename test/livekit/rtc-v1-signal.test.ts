/**
 * Signal v1 (`/rtc/v1`) on the wire, with werift playing livekit-client's single peer connection (no browser, no
 * media, so no network namespace): the join request is decoded gzip-compressed or not, refused with livekit-server's
 * reasons (400) when it does not decode, and answered 404 when it is rtc-node's on a server that serves v1 to
 * livekit-client only (`signalV1`; rtc-node then falls back to `/rtc`);
 * `/rtc/v1/validate` answers as `/rtc/validate`. A joined client gets `subscriberPrimary: false`, the answer to the
 * offer its join request carried, a `MediaSectionsRequirement` for the audio section it lacks once another
 * participant publishes, and then, in the answer to its next offer, the track on that section (msid and
 * `midToTrackId`), while the publisher gets `trackSubscribed`.
 */
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  AddTrackRequest,
  ClientInfo,
  ClientInfo_SDK,
  JoinRequest,
  type JoinResponse,
  type MediaSectionsRequirement,
  SessionDescription,
  SignalRequest,
  type SignalResponse,
  TrackType,
  WrappedJoinRequest,
  WrappedJoinRequest_Compression,
} from "@livekit/protocol";
import { RTCPeerConnection } from "werift";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { joinToken } from "./support.ts";
import { open, signal } from "./raw-signal.ts";
import { waitFor } from "../support/wait.ts";

/** A `join_request` query value as livekit-client writes it (base64url of a `WrappedJoinRequest`). */
function joinRequestParam(join: JoinRequest, gzip = true): string {
  const bytes = join.toBinary();
  const wrapped = new WrappedJoinRequest({
    joinRequest: gzip ? gzipSync(bytes) : bytes,
    compression: gzip ? WrappedJoinRequest_Compression.GZIP : WrappedJoinRequest_Compression.NONE,
  });
  return Buffer.from(wrapped.toBinary()).toString("base64url");
}

/** A join request from `sdk` (livekit-client's by default), optionally with a publisher offer. */
function joinRequest(sdk = ClientInfo_SDK.JS, publisherOffer?: SessionDescription): JoinRequest {
  return new JoinRequest({ clientInfo: new ClientInfo({ sdk, version: "2.23.0", protocol: 16 }), publisherOffer });
}

/** The first response of `kind` after the first `after` responses of that kind (5 s). */
function nth(got: SignalResponse[], kind: string, after = 0): Promise<SignalResponse> {
  return waitFor(`${kind} #${after + 1}`, () => got.filter((m) => m.message.case === kind)[after], {
    timeoutMs: 5_000,
    intervalMs: 20,
  });
}

/** A werift offer as livekit-client's single peer connection sends it: `recvonly` audio sections and data channels. */
async function clientOffer(pc: RTCPeerConnection, id: number): Promise<SessionDescription> {
  await pc.setLocalDescription(await pc.createOffer());
  return new SessionDescription({ type: "offer", sdp: pc.localDescription!.sdp, id });
}

describe("signal v1", () => {
  let server: DevLiveKit;
  let http: string;
  const pcs: RTCPeerConnection[] = [];
  const sockets: WebSocket[] = [];
  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0, emptyTimeoutS: 1, departureTimeoutS: 1 });
    http = server.url.replace("ws", "http");
  });
  afterAll(async () => {
    for (const ws of sockets) ws.terminate();
    for (const pc of pcs) await pc.close().catch(() => {});
    await server?.close();
  });

  it("decodes the join request, refuses a bad one (400) and rtc-node's where v1 is livekit-client's (404), and validates as /rtc/validate", async () => {
    const token = await joinToken("v1", "x");
    const bearer = { Authorization: `Bearer ${token}` };
    expect(await open(`${server.url}/rtc/v1`, bearer)).toMatchObject({ status: 400, body: "join_request is required" });
    expect(await open(`${server.url}/rtc/v1?join_request=a*b`, bearer)).toMatchObject({
      status: 400,
      body: "cannot base64 decode wrapped join request",
    });
    const badGzip = new WrappedJoinRequest({
      joinRequest: new Uint8Array([1, 2, 3]),
      compression: WrappedJoinRequest_Compression.GZIP,
    });
    expect(
      await open(`${server.url}/rtc/v1?join_request=${Buffer.from(badGzip.toBinary()).toString("base64url")}`, bearer),
    ).toMatchObject({ status: 400, body: "cannot read decompressed join request" });

    const huge = new JoinRequest({
      clientInfo: new ClientInfo({ sdk: ClientInfo_SDK.JS }),
      metadata: "a".repeat(2 << 20),
    });
    expect(await open(`${server.url}/rtc/v1?join_request=${joinRequestParam(huge)}`, bearer)).toMatchObject({
      status: 400,
      body: "join request too large",
    });

    // rtc-node (sdk NODE) falls back to /rtc only on a 404 at the upgrade: a server that serves v1 to livekit-client
    // only answers it so.
    const node = joinRequestParam(joinRequest(ClientInfo_SDK.NODE));
    const v0 = await startDevLiveKit({ port: 0, signalV1: "livekit-client" });
    try {
      const refused = await open(`${v0.url}/rtc/v1?join_request=${node}`, bearer);
      expect(refused).toMatchObject({ status: 404, body: expect.stringMatching(/livekit-client only/) });
      expect((refused as { body: string }).body).not.toMatch(/requested room does not exist/);
      const v0Http = v0.url.replace("ws", "http");
      expect((await fetch(`${v0Http}/rtc/v1/validate?join_request=${node}&access_token=${token}`)).status).toBe(404);
    } finally {
      await v0.close();
    }

    const js = joinRequestParam(joinRequest(), false);
    const forged = await joinToken("v1", "x", {}, "not-the-secret");
    expect(await open(`${server.url}/rtc/v1?join_request=${js}&access_token=${forged}`)).toMatchObject({
      status: 401,
      body: expect.stringMatching(/invalid access token/),
    });
    const validate = (query: string) => fetch(`${http}/rtc/v1/validate?${query}`);
    const bad = await validate(`join_request=${js}&access_token=${forged}`);
    expect([bad.status, await bad.text()]).toEqual([401, expect.stringMatching(/invalid access token/)]);
    const good = await validate(`join_request=${js}&access_token=${token}`);
    expect([good.status, await good.text()]).toEqual([200, "success"]);
    expect((await validate(`join_request=${node}&access_token=${token}`)).status).toBe(200);
    expect((await validate(`access_token=${token}`)).status).toBe(400);

    // Uncompressed (livekit-client without CompressionStream) joins too.
    const ws = await open(`${server.url}/rtc/v1?join_request=${js}&access_token=${token}`);
    expect(ws).toBeInstanceOf(WebSocket);
    sockets.push(ws as WebSocket);
    const join = (await signal(ws as WebSocket).next("join")).message.value as JoinResponse;
    expect(join.participant?.identity).toBe("x");
    expect(join.subscriberPrimary).toBe(false);
  });

  it("answers the join's offer, asks for a missing audio section, then sends the track on it", async () => {
    // The subscriber: its first offer (in the join request) has data channels and no audio section.
    const subPc = new RTCPeerConnection();
    pcs.push(subPc);
    subPc.createDataChannel("_reliable");
    const firstOffer = await clientOffer(subPc, 1);
    const subToken = await joinToken("v1-sub", "listener");
    const subWs = (await open(
      `${server.url}/rtc/v1?join_request=${joinRequestParam(joinRequest(ClientInfo_SDK.JS, firstOffer))}&access_token=${subToken}`,
    )) as WebSocket;
    sockets.push(subWs);
    const sub = signal(subWs);
    const subJoin = (await sub.next("join")).message.value as JoinResponse;
    expect(subJoin.subscriberPrimary).toBe(false);
    const firstAnswer = (await sub.next("answer")).message.value as SessionDescription;
    expect(firstAnswer.id).toBe(1);
    // The client offered `actpass`: the server takes the DTLS server role, so the client's ClientHello leads
    // (werift's own DTLS client would wait 100 ms first; docs/livekit.md, "werift pitfalls").
    expect(firstOffer.sdp).toMatch(/^a=setup:actpass/m);
    expect(firstAnswer.sdp.match(/^a=setup:\w+/gm)).toEqual(expect.arrayContaining(["a=setup:passive"]));
    expect(firstAnswer.sdp).not.toMatch(/^a=setup:(active|actpass)/m);
    await subPc.setRemoteDescription({ type: "answer", sdp: firstAnswer.sdp });

    // The publisher (v0 on the wire: a raw socket), its audio offered with msid track id = cid.
    const pubWs = (await open(`${server.url}/rtc?access_token=${await joinToken("v1-sub", "speaker")}`)) as WebSocket;
    sockets.push(pubWs);
    const pub = signal(pubWs);
    const pubJoin = (await pub.next("join")).message.value as JoinResponse;
    pubWs.send(
      new SignalRequest({
        message: { case: "addTrack", value: new AddTrackRequest({ cid: "mic-1", type: TrackType.AUDIO, name: "mic" }) },
      }).toBinary(),
    );
    const trackSid = ((await pub.next("trackPublished")).message.value as { track: { sid: string } }).track.sid;
    const pubPc = new RTCPeerConnection();
    pcs.push(pubPc);
    const tx = pubPc.addTransceiver("audio", { direction: "sendonly" });
    tx.sender.streamIds = ["stream-1"];
    (tx.sender as { trackId: string }).trackId = "mic-1";
    pubWs.send(new SignalRequest({ message: { case: "offer", value: await clientOffer(pubPc, 1) } }).toBinary());
    await pub.next("answer");

    // The subscriber is asked for exactly the one audio section it lacks, offers it, and gets the track there.
    const requirement = (await sub.next("mediaSectionsRequirement")).message.value as MediaSectionsRequirement;
    expect([requirement.numAudios, requirement.numVideos]).toEqual([1, 0]);
    const rx = subPc.addTransceiver("audio", { direction: "recvonly" });
    subWs.send(new SignalRequest({ message: { case: "offer", value: await clientOffer(subPc, 2) } }).toBinary());
    const answer = (await nth(sub.got, "answer", 1)).message.value as SessionDescription;
    expect(answer.id).toBe(2);
    await subPc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    const mid = rx.mid!;
    expect(answer.midToTrackId).toEqual({ [mid]: trackSid });
    const section = answer.sdp.split(/\r?\nm=/).find((m) => new RegExp(`\\r?\\na=mid:${mid}\\r?\\n`).test(m))!;
    expect(section).toMatch(/\r?\na=sendonly/);
    expect(section).toContain(`a=msid:${pubJoin.participant!.sid}|${trackSid} ${trackSid}`);
    expect(((await pub.next("trackSubscribed")).message.value as { trackSid: string }).trackSid).toBe(trackSid);

    // The publisher leaves: the subscriber is asked to offer again, and that section is answered inactive.
    pubWs.close();
    const again = (await nth(sub.got, "mediaSectionsRequirement", 1)).message.value as MediaSectionsRequirement;
    expect([again.numAudios, again.numVideos]).toEqual([0, 0]);
    subWs.send(new SignalRequest({ message: { case: "offer", value: await clientOffer(subPc, 3) } }).toBinary());
    const last = (await nth(sub.got, "answer", 2)).message.value as SessionDescription;
    expect(last.midToTrackId).toEqual({});
    const stopped = last.sdp.split(/\r?\nm=/).find((m) => new RegExp(`\\r?\\na=mid:${mid}\\r?\\n`).test(m))!;
    expect(stopped).toMatch(/\r?\na=inactive/);
  });
});
