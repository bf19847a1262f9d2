/**
 * A stand-in for LiveKit's server API (Twirp over HTTP) that answers every call `200 {}`: enough for a Worker under
 * `wrangler dev` whose sessions need a dispatch (`CreateDispatch`), a participant check or a `DeleteRoom` to succeed,
 * when nothing joins a room (benchmarks, and agent tests that drive the agent without LiveKit). Loopback only.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** The running stub. */
export interface LiveKitApiStub {
  /** `ws://127.0.0.1:<port>`, for the Worker's `LIVEKIT_URL` (its HTTP API calls go to the same port). */
  url: string;
  close(): void;
}

/** Starts the stub on a free loopback port. */
export async function startLiveKitApiStub(): Promise<LiveKitApiStub> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"));
  }).listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
