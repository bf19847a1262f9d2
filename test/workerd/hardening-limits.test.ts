// Rate limits and the socket cap (issue #11, finding 5): GET /transcripts/*, GET /history/*, the transcript
// socket upgrade and DELETE /session/* are limited per visitor and per client IP; refused ingest signatures
// are limited per client IP (a valid signature never is); a session holds at most TRANSCRIPT_SOCKETS_MAX
// sockets, and a socket silent for longer than two keep-alive intervals makes room for a new one.
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  SOCKET_PING,
  SOCKET_PING_INTERVAL_S,
  SOCKET_PONG,
  TRANSCRIPT_SOCKETS_MAX,
  signIngest,
} from "../../contract/index.ts";
import { waitFor } from "../support/wait.ts";
import {
  call,
  expectError,
  expectRefusedSocket,
  finalEvent,
  ingestClient,
  newVisitor,
  openSocket,
  startSession,
} from "./helpers.ts";

/** Sends `request()` until it answers 429, at most `max` times; every other answer must be `okStatus`. */
async function untilLimited(max: number, okStatus: number, request: () => Promise<Response>): Promise<Response> {
  for (let i = 0; i < max; i++) {
    const res = await request();
    if (res.status === 429) return res;
    expect(res.status).toBe(okStatus);
    await res.body?.cancel();
  }
  throw new Error(`no 429 after ${max} requests`);
}

// Loops go to twice each limit and more: the binding counts in fixed windows, and one may roll over mid-test.
describe("rate limits per visitor", () => {
  // Every request counts, whatever it asks for; malformed ids keep these loops from waking a Durable Object.
  it("GET /transcripts/{id}: 429 rate_limited with Retry-After after 300 a minute", { timeout: 60_000 }, async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const limited = await untilLimited(605, 400, () => call("/transcripts/not-an-id", { cookie }));
    expect(limited.headers.get("Retry-After")).toBe("60");
    await expectError(limited, 429, "rate_limited");
    // Reading one's own transcript is limited alike.
    await expectError(await call(`/transcripts/${sessionId}`, { cookie }), 429, "rate_limited");
  });

  it("GET /history/{id}: the 429 error page with Retry-After", { timeout: 60_000 }, async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    expect((await call(`/history/${sessionId}`, { cookie })).status).toBe(200);
    const limited = await untilLimited(605, 404, () => call("/history/not-an-id", { cookie }));
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect(limited.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(await limited.text()).toContain("Too many requests");
  });

  it("DELETE /session/{id}: 429 rate_limited after 30 a minute", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const limited = await untilLimited(65, 200, () => call(`/session/${sessionId}`, { method: "DELETE", cookie }));
    expect(limited.headers.get("Retry-After")).toBe("60");
    await expectError(limited, 429, "rate_limited");
  });

  it("the transcript socket: refused with the rate_limited frame after 60 upgrades a minute", async () => {
    const cookie = await newVisitor();
    const unknown = "Q".repeat(22);
    const upgrade = () =>
      call(`/ws/transcript/${unknown}`, { cookie, headers: { Upgrade: "websocket", Origin: "https://voice.example" } });
    for (let i = 0; i < 125; i++) {
      const res = await upgrade();
      const frame = await firstFrame(res);
      if (frame === "rate_limited") return;
      expect(frame).toBe("session_not_found");
    }
    throw new Error("the socket upgrade was never rate limited");
  });
});

/** The `code` of the one error frame a refused socket carries. */
async function firstFrame(res: Response): Promise<string> {
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  const frame = new Promise<string>((resolve) =>
    ws.addEventListener("message", (e) => resolve((JSON.parse(e.data as string) as { code: string }).code)),
  );
  ws.accept();
  return frame;
}

describe("refused ingest signatures", () => {
  it("are limited per client IP (429 after 10 a minute); a valid signature from that IP still passes", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const ip = "10.251.0.9";
    const bad = `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`;
    const body = JSON.stringify({ events: [finalEvent("hello")] });
    const post = (signature: string | null, from = ip) =>
      call(`/session/${sessionId}/events`, {
        method: "POST",
        ip: from,
        headers: { "Content-Type": "application/json", ...(signature ? { "X-Signature": signature } : {}) },
        body,
      });
    const limited = await untilLimited(25, 401, () => post(bad));
    expect(limited.headers.get("Retry-After")).toBe("60");
    await expectError(limited, 429, "rate_limited");
    await expectError(await post(null), 429, "rate_limited");
    // The agent's own, valid posts from the same address are never counted nor refused.
    const valid = await post(await signIngest(env.AGENT_INGEST_SECRET, sessionId, body));
    expect(valid.status).toBe(200);
    // Another address is not affected.
    await expectError(await post(bad, "10.251.0.10"), 401, "signature_mismatch");
  });
});

describe("transcript sockets per session", () => {
  it(`accepts ${TRANSCRIPT_SOCKETS_MAX}, refuses one more with too_many_sockets, and accepts again once one closed`, async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const sockets = [];
    for (let i = 0; i < TRANSCRIPT_SOCKETS_MAX; i++) sockets.push(await openSocket(cookie, sessionId));
    const extra = await call(`/ws/transcript/${sessionId}`, {
      cookie,
      headers: { Upgrade: "websocket", Origin: "https://voice.example" },
    });
    await expectRefusedSocket(extra, "too_many_sockets");
    // The open ones are untouched.
    const ingested = await ingestClient(sessionId).post([finalEvent("still here")]);
    expect(ingested.status).toBe(200);
    for (const s of sockets) await s.waitFor(2);

    sockets[0]!.ws.close(1000);
    const again = await waitFor(
      "a socket to be accepted again",
      async () => {
        const res = await call(`/ws/transcript/${sessionId}`, {
          cookie,
          headers: { Upgrade: "websocket", Origin: "https://voice.example" },
        });
        const ws = res.webSocket!;
        const first = new Promise<unknown>((resolve) =>
          ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string))),
        );
        ws.accept();
        const frame = (await first) as { type?: string; code?: string };
        if (frame.type === "error") {
          expect(frame.code).toBe("too_many_sockets");
          return false;
        }
        return ws;
      },
      { timeoutMs: 5000, intervalMs: 50 },
    );
    again.close(1000);
  });

  it("answers the page's keep-alive ping with pong", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const res = await call(`/ws/transcript/${sessionId}`, {
      cookie,
      headers: { Upgrade: "websocket", Origin: "https://voice.example" },
    });
    const ws = res.webSocket!;
    const pong = new Promise<string>((resolve) =>
      ws.addEventListener("message", (e) => {
        if (e.data === SOCKET_PONG) resolve(e.data);
      }),
    );
    ws.accept();
    ws.send(SOCKET_PING);
    expect(await pong).toBe("pong");
    ws.close(1000);
  });

  it("closes a socket silent for more than two keep-alive intervals to make room for a new one", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    // The first socket connected long ago and has never sent a keep-alive ping since.
    const sockets = [await openSocket(cookie, sessionId)];
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName(sessionId));
    await runInDurableObject(stub, (_instance, state) => {
      const [only] = state.getWebSockets();
      only!.serializeAttachment({ connected_at: Date.now() - 3 * SOCKET_PING_INTERVAL_S * 1000 });
    });
    while (sockets.length < TRANSCRIPT_SOCKETS_MAX) sockets.push(await openSocket(cookie, sessionId));
    const fresh = await openSocket(cookie, sessionId);
    expect((await sockets[0]!.closed).code).toBe(1001);
    fresh.ws.close(1000);
  });
});
