/**
 * Property test: at least 1,000 malformed inputs per route. The Worker must never answer 5xx, and
 * every error body must match the contract's error schema.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorBody, ServerMessage, SocketErrorMessage } from "../../contract/index.ts";
import { call, ingestClient, newVisitor, ORIGIN, startSession } from "./helpers.ts";

/**
 * Runs per property: 300 (fast-check's default is 100). Each run is a request through workerd, so the file's time grows
 * with it (7 properties × 1,000 runs took 87 s alone and 181 s on a busy CI host); every run of the suite draws new
 * inputs (a fresh seed), so coverage still adds up over runs, and a failure prints its seed to replay.
 */
const RUNS = 300;
/** Each route's runs take a few seconds to tens of seconds in workerd. */
const TIMEOUT_MS = 180_000;
let cookie = "";
let sessionId = "";

beforeAll(async () => {
  cookie = await newVisitor();
  sessionId = (await startSession(cookie)).sessionId;
});

/** Asserts no 5xx and, for errors, the contract's error body. A socket's first frame must match the contract. */
async function check(res: Response): Promise<void> {
  if (res.webSocket) {
    const ws = res.webSocket;
    // An accepted socket with nothing to replay (`?after=` at or past the last seq) sends no frame.
    const first = new Promise<unknown>((resolve) => {
      ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string)));
      setTimeout(() => resolve(null), 200);
    });
    ws.accept();
    const frame = await first;
    if (frame !== null)
      expect(SocketErrorMessage.safeParse(frame).success || ServerMessage.safeParse(frame).success).toBe(true);
    ws.close(1000);
  }
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    const text = await res.text();
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    expect(parsed.success, `error body for ${res.status}: ${text.slice(0, 200)}`).toBe(true);
  } else {
    await res.body?.cancel();
  }
}

const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.string({ maxLength: 80 }),
  fc.constantFrom("", "agent", "a".repeat(65), "x y", "../", "%00"),
);
/** Header values must be printable (the client-side Headers API refuses others before the request). */
const headerText = fc.oneof(
  fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "").trim()),
  fc.constantFrom("", "t=1,v1=zz", "Bearer"),
);
const pathSegment = fc.oneof(text, fc.stringMatching(/^[A-Za-z0-9_-]{22}$/)).map(encodeURIComponent);
const queryValue = text.map(encodeURIComponent);
const eventLike = fc.record(
  {
    id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.constant("")),
    ts: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1)),
    role: fc.constantFrom("user", "agent", "bot", 1, null),
    text: fc.oneof(fc.string(), fc.integer()),
    final: fc.oneof(fc.boolean(), fc.string()),
    event: fc.constantFrom("speech_started", "speech_ended", "shout"),
    type: fc.constantFrom("agent_joined", "agent_heartbeat", "agent_left", "agent_error", "agent_dance"),
    detail: fc.oneof(fc.string(), fc.integer()),
    extra: fc.anything(),
  },
  { requiredKeys: [] },
);
const jsonBody = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc
    .record(
      { events: fc.oneof(fc.array(fc.oneof(eventLike, fc.anything()), { maxLength: 5 }), fc.anything()) },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc
    .record(
      { room: text, identity: text, system_prompt: fc.oneof(text, fc.integer()), other: fc.anything() },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);
const contentType = fc.constantFrom(
  "application/json",
  "text/plain",
  "",
  "application/json; charset=utf-8",
  "multipart/form-data",
);
const ip = fc.ipV4();

describe(`${RUNS} malformed inputs per route: no 5xx, every error in the contract's shape`, () => {
  it(
    "GET /token",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.tuple(fc.constantFrom("room", "identity", "name", "x"), queryValue), { maxLength: 4 }),
          ip,
          async (pairs, addr) => {
            const query = pairs.map(([k, v]) => `${k}=${v}`).join("&");
            await check(await call(`/token?${query}`, { cookie, ip: addr }));
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "POST /session",
    async () => {
      await fc.assert(
        fc.asyncProperty(jsonBody, contentType, ip, async (body, type, addr) => {
          await check(
            await call("/session", { method: "POST", cookie, ip: addr, headers: { "Content-Type": type }, body }),
          );
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "DELETE /session/{id} and GET /transcripts/{id}",
    async () => {
      await fc.assert(
        fc.asyncProperty(pathSegment, async (id) => {
          await check(await call(`/session/${id}`, { method: "DELETE", cookie: "vid=forged" }));
          await check(await call(`/transcripts/${id}`, { cookie }));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "POST /session/{id}/events",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          jsonBody,
          fc.boolean(),
          fc.oneof(fc.constant(null), headerText),
          fc.boolean(),
          async (body, sign, header, ownSession) => {
            const id = ownSession ? sessionId : "Z".repeat(22);
            // A valid signature of the body (undefined), or an arbitrary header value (null: no header).
            await check(await ingestClient(id).postBody(body, sign ? undefined : header));
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "POST /livekit/webhook",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          jsonBody,
          fc.oneof(fc.constant(undefined), headerText, fc.constant("Bearer x.y.z")),
          async (body, auth) => {
            const headers: Record<string, string> = { "Content-Type": "application/webhook+json" };
            if (auth !== undefined) headers.Authorization = auth;
            await check(await call("/livekit/webhook", { method: "POST", headers, body }));
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "GET /ws/transcript/{id}",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(pathSegment, fc.constant(sessionId)),
          fc.oneof(
            fc.constant(""),
            queryValue.map((v) => `?after=${v}`),
            fc.nat().map((n) => `?after=${n}`),
          ),
          fc.constantFrom("websocket", "WebSocket", "h2c", ""),
          fc.constantFrom(ORIGIN, "https://evil.example", "null", ""),
          async (id, query, upgrade, origin) => {
            const headers: Record<string, string> = {};
            if (upgrade) headers.Upgrade = upgrade;
            if (origin) headers.Origin = origin;
            await check(await call(`/ws/transcript/${id}${query}`, { cookie, headers }));
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "GET /history/{id} never fails with 5xx",
    async () => {
      await fc.assert(
        fc.asyncProperty(pathSegment, async (id) => {
          const res = await call(`/history/${id}`, { cookie });
          expect(res.status).toBeLessThan(500);
          await res.body?.cancel();
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});
