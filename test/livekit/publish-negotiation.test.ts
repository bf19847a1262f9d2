/**
 * Publisher negotiation with the Rust SDK (rtc-node, what LiveKit Agents runs) when the server answers
 * slowly, as a CPU-starved host does.
 *
 * rtc-node 0.13.35 ships livekit-ffi 0.12.73, whose debounced publisher negotiation deadlocks when a second
 * negotiation is requested while an offer awaits its answer (livekit/rust-sdks#1252): publishing data (which
 * negotiates the data channels) and a track at the same moment then leaves the track unpublished for good,
 * with no error. The dev server sends `fast_publish` in the join response, as livekit-server does for
 * publishers, which puts the SDK on its queued negotiation path. A signal proxy in this test holds every
 * publisher answer back for {@link ANSWER_DELAY_MS}, longer than the SDK's 150 ms debounce, so the overlap
 * happens on every run instead of one run in three.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import {
  AudioSource,
  LocalAudioTrack,
  type Room,
  RoomEvent,
  TrackPublishOptions,
  TrackSource,
} from "@livekit/rtc-node";
import { SignalResponse } from "@livekit/protocol";
import { mediaAddress } from "../support/netns.ts";
import { connectWith, devLiveKitPerSuite, joinToken, SAMPLE_RATE } from "./support.ts";

const addr = mediaAddress();
/** How long the proxy holds each publisher answer, ms (the SDK debounces negotiations by 150 ms). */
const ANSWER_DELAY_MS = 600;

/**
 * A WebSocket proxy in front of the dev server's `/rtc` that delays server → client `answer` messages by
 * `delayMs` and forwards every other message at once. Records the join responses it relays.
 */
async function slowAnswerProxy(target: string, delayMs: number) {
  const joins: SignalResponse[] = [];
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  // The upstream socket opens first, so that a refusal (a 404 at /rtc/v1, where the SDK falls back to /rtc) reaches
  // the client.
  http.on("upgrade", (req, socket, head) => {
    // The Rust SDK sends its token as `Authorization: Bearer`.
    const upstream = new WebSocket(target + req.url!, {
      headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
    });
    upstream.once("unexpected-response", (_r, res) => {
      socket.end(`HTTP/1.1 ${res.statusCode} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    });
    upstream.once("error", () => socket.destroy());
    // Messages that arrive before the client socket exists are held, in order.
    const held: Buffer[] = [];
    upstream.on("message", (d: Buffer) => held.push(d));
    upstream.once("open", () => wss.handleUpgrade(req, socket, head, (client) => relay(client, upstream, held)));
  });
  const sockets = new Set<WebSocket>();
  const relay = (client: WebSocket, upstream: WebSocket, held: Buffer[]) => {
    sockets.add(client).add(upstream);
    const forward = (d: Buffer) => {
      const res = SignalResponse.fromBinary(new Uint8Array(d));
      if (res.message.case === "join") joins.push(res);
      const send = () => client.readyState === WebSocket.OPEN && client.send(d);
      // Only answers wait: the track-published response overtakes a held answer, as on a loaded server.
      if (res.message.case === "answer") setTimeout(send, delayMs);
      else send();
    };
    upstream.removeAllListeners("message");
    held.forEach(forward);
    upstream.on("message", forward);
    client.on("message", (d: Buffer) => upstream.send(d));
    upstream.on("close", () => client.close());
    client.on("close", () => upstream.close());
  };
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`,
    joins,
    close: () =>
      new Promise<void>((r) => {
        for (const ws of sockets) ws.terminate();
        http.close(() => r());
      }),
  };
}

// On signal v1 (one peer connection, what the dev server and livekit-server serve rtc-node) and on v0 (its own
// publisher connection, after the 404 fallback of a server that serves v1 to livekit-client only).
describe.skipIf(!addr).each([
  { signal: "v1", signalV1: "all" as const },
  { signal: "v0", signalV1: "livekit-client" as const },
])("publisher negotiation under slow answers (signal $signal)", ({ signalV1 }) => {
  const lk = devLiveKitPerSuite(addr!, { signalV1 });
  let proxy: Awaited<ReturnType<typeof slowAnswerProxy>>;
  const proxied: Room[] = [];
  const joinThroughProxy = async (room: string, identity: string, grants: Parameters<typeof joinToken>[2] = {}) => {
    const r = await connectWith(proxy.url, await joinToken(room, identity, grants));
    proxied.push(r);
    return r;
  };
  beforeAll(async () => {
    proxy = await slowAnswerProxy(lk.url, ANSWER_DELAY_MS);
  });
  afterAll(async () => {
    // Bounded: a participant whose publisher transport deadlocked never finishes disconnecting.
    for (const r of proxied)
      await Promise.race([r.disconnect().catch(() => {}), new Promise((ok) => setTimeout(ok, 5000))]);
    await proxy?.close();
  });

  it("tells publishers to negotiate at join (fast publish) and subscribe-only participants not to", async () => {
    await joinThroughProxy("fp-room", "publisher");
    await joinThroughProxy("fp-room", "listener", { canPublish: false });
    expect(proxy.joins.map((j) => j.message.case === "join" && j.message.value.fastPublish)).toEqual([true, false]);
  });

  it("publishes a track requested while the data channels' offer still awaits its answer", async () => {
    const observer = await lk.join("race-room", "observer");
    const published = new Promise<string>((resolve) =>
      observer.on(
        RoomEvent.TrackPublished,
        (pub, participant) => participant.identity === "agent" && resolve(pub.sid!),
      ),
    );
    const agent = await joinThroughProxy("race-room", "agent");
    const track = LocalAudioTrack.createAudioTrack("voice", new AudioSource(SAMPLE_RATE, 1));
    // What LiveKit Agents does when a session starts: a text stream (data) and, a moment later, the audio
    // track, while the data channels' offer is out (after the SDK's 150 ms debounce, before the answer).
    const data = agent.localParticipant!.publishData(new TextEncoder().encode("hello"), { reliable: true, topic: "t" });
    await new Promise((r) => setTimeout(r, 300));
    await agent.localParticipant!.publishTrack(
      track,
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }),
    );
    await data;
    const sid = await Promise.race([published, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(sid ?? "never published", "the agent's track as the observer saw it").toMatch(/^TR_/);
  });
});
