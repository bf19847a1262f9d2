/**
 * The signal protocol over a raw WebSocket (no SDK, no media), for tests that look at the messages themselves:
 * the refusal of an upgrade (status and reason), the first message of a join, a `LeaveRequest`.
 */
import WebSocket from "ws";
import { SignalResponse } from "@livekit/protocol";
import { waitFor } from "../support/wait.ts";

const inboxes = new WeakMap<WebSocket, { got: SignalResponse[]; closed: Promise<number> }>();

/** Opens a WebSocket; resolves with the open socket, or the refusal's HTTP status and body. */
export function open(
  url: string,
  headers: Record<string, string> = {},
): Promise<WebSocket | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    // The join can arrive in the same read as the upgrade response: collect from the start.
    const got: SignalResponse[] = [];
    inboxes.set(ws, { got, closed: new Promise<number>((r) => ws.once("close", (code) => r(code))) });
    ws.on("message", (d: Buffer) => got.push(SignalResponse.fromBinary(new Uint8Array(d))));
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once("error", reject);
  });
}

/** Opens `/rtc` with `token` and fails unless the upgrade is accepted. */
export async function openSignal(serverUrl: string, token: string): Promise<WebSocket> {
  const ws = await open(`${serverUrl}/rtc?access_token=${token}`);
  if (!(ws instanceof WebSocket)) throw new Error(`upgrade refused: ${ws.status} ${ws.body}`);
  return ws;
}

/**
 * The decoded signal responses of a socket opened with {@link open} (`got`, in arrival order), its close
 * (the close code), and `next(kind)`, which waits up to 5 s for the first response of that kind.
 */
export function signal(ws: WebSocket) {
  const { got, closed } = inboxes.get(ws)!;
  const next = (kind: string) =>
    waitFor(`a ${kind} response`, () => got.find((m) => m.message.case === kind), { timeoutMs: 5_000, intervalMs: 50 });
  return { got, closed, next };
}
