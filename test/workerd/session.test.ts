import { env, exports } from "cloudflare:workers";
import { createExecutionContext, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TokenVerifier } from "livekit-server-sdk";
import { DispatchMetadata, SessionCreateResponse, TranscriptResponse } from "../../contract/index.ts";
import worker from "../../worker/index.ts";
import {
  call,
  expectError,
  expectRefusedSocket,
  liveKitCalls,
  newVisitor,
  ORIGIN,
  startSession,
  uniqueRoom,
} from "./helpers.ts";

const post = (cookie: string, body: unknown, extra: Record<string, string> = {}) =>
  call("/session", {
    method: "POST",
    cookie,
    headers: { "Content-Type": "application/json", ...extra },
    body: JSON.stringify(body),
  });

describe("POST /session", () => {
  it("creates a session and dispatches the agent with its metadata", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const calls = await liveKitCalls(room);
    expect(calls.map((c) => c.method)).toEqual(["CreateDispatch"]);
    expect(calls[0]!.authorized).toBe(true);
    expect(calls[0]!.body.agentName).toBe(env.AGENT_NAME);
    expect(DispatchMetadata.parse(JSON.parse(String(calls[0]!.body.metadata)))).toEqual({
      session_id: sessionId,
      profile: "assistant",
    });
    const transcript = TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
    expect(transcript).toMatchObject({
      session_id: sessionId,
      room,
      profile: "assistant",
      status: "starting",
      ended_at: null,
      events: [],
    });
  });

  it("without a room, picks and claims a fresh one and answers the token that joins it (one request for Start)", async () => {
    const cookie = await newVisitor();
    const res = await post(cookie, { identity: "v_start" });
    expect(res.status).toBe(201);
    const body = SessionCreateResponse.parse(await res.json());
    const { room, identity, url, token } = body.livekit;
    expect(room).toMatch(/^room-[A-Za-z0-9_-]{22}$/);
    expect(identity).toBe("v_start");
    expect(url).toBe("ws://livekit.test");
    // The token GET /token would mint (verified like LiveKit does): this room, this identity, microphone only.
    const claims = await new TokenVerifier(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET).verify(token);
    expect(claims.sub).toBe("v_start");
    expect(claims.exp! - claims.nbf!).toBe(Number(env.TOKEN_TTL_S));
    expect(claims.video).toMatchObject({ roomJoin: true, room, canPublishSources: ["microphone"] });
    // The agent went into that room, and the room is the visitor's: with another identity, or for another visitor, no.
    const [dispatch] = await liveKitCalls(room);
    expect(dispatch).toMatchObject({ method: "CreateDispatch" });
    expect(DispatchMetadata.parse(JSON.parse(String(dispatch!.body.metadata)))).toMatchObject({
      session_id: body.session_id,
    });
    await expectError(await call(`/token?room=${room}&identity=v_other`, { cookie }), 403, "identity_mismatch");
    await expectError(await call(`/token?room=${room}&identity=v_start`, { cookie: await newVisitor() }), 403);
    // Two Starts get two rooms.
    const again = SessionCreateResponse.parse(await (await post(cookie, { identity: "v_start" })).json());
    expect(again.livekit.room).not.toBe(room);
  });

  it("answers the join token for the room a request names, too", async () => {
    const cookie = await newVisitor();
    const room = uniqueRoom();
    const body = SessionCreateResponse.parse(await (await post(cookie, { room, identity: "visitor" })).json());
    expect(body.livekit).toMatchObject({ room, identity: "visitor" });
    const claims = await new TokenVerifier(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET).verify(body.livekit.token);
    expect(claims.video).toMatchObject({ room });
  });

  it("claims an unclaimed room without a prior token", async () => {
    const cookie = await newVisitor();
    const res = await post(cookie, { room: uniqueRoom(), identity: "visitor" });
    expect(res.status).toBe(201);
  });

  it("allows one active session per room (409) and another after stop", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    await expectError(await post(cookie, { room, identity: "visitor" }), 409, "session_active");
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    expect((await post(cookie, { room, identity: "visitor" })).status).toBe(201);
  });

  it("recovers a room whose previous session ended without telling it", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    // End the session behind the room's back: its row says ended, the room still lists it.
    await runInDurableObject(env.SESSIONS.get(env.SESSIONS.idFromName(sessionId)), (_i, state) => {
      state.storage.sql.exec("UPDATE session SET status = 'ended', reason = 'stopped', ended_at = ?", Date.now());
    });
    expect(await env.ROOMS.get(env.ROOMS.idFromName(room)).activeSession(Date.now())).toBe(sessionId);
    expect((await post(cookie, { room, identity: "visitor" })).status).toBe(201);
  });

  it("caps active sessions per visitor", async () => {
    const cookie = await newVisitor();
    const cap = Number(env.MAX_ACTIVE_SESSIONS_PER_VISITOR);
    const ids = [];
    for (let i = 0; i < cap; i++) ids.push((await startSession(cookie)).sessionId);
    await expectError(await post(cookie, { room: uniqueRoom(), identity: "visitor" }), 429, "too_many_sessions");
    await call(`/session/${ids[0]}`, { method: "DELETE", cookie });
    expect((await post(cookie, { room: uniqueRoom(), identity: "visitor" })).status).toBe(201);
  });

  it.each([
    ["LiveKit refuses", "refuse"],
    ["LiveKit is unreachable", "down"],
  ])("answers 502 when %s and leaves nothing behind", async (_, prefix) => {
    const cookie = await newVisitor();
    const room = uniqueRoom(prefix);
    const before = new Set((await listDurableObjectIds(env.SESSIONS)).map((id) => id.toString()));
    await expectError(await post(cookie, { room, identity: "visitor" }), 502, "dispatch_failed");
    expect((await liveKitCalls(room)).map((c) => c.method)).toEqual(["CreateDispatch"]);
    // The object that was created for the session holds no storage and no alarm.
    const created = (await listDurableObjectIds(env.SESSIONS)).filter((id) => !before.has(id.toString()));
    for (const id of created) {
      const left = await runInDurableObject(env.SESSIONS.get(id), async (_i, state) => ({
        alarm: await state.storage.getAlarm(),
        rows: state.storage.sql
          .exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'session'")
          .toArray().length
          ? state.storage.sql.exec("SELECT COUNT(*) AS n FROM session").one().n
          : 0,
      }));
      expect(left).toEqual({ alarm: null, rows: 0 });
    }
    // Neither the room nor the visitor's slots stay reserved.
    const rooms = env.ROOMS.get(env.ROOMS.idFromName(room));
    expect(await rooms.activeSession(Date.now())).toBeNull();
  });

  it("limits sessions per client IP across visitors with 429 and Retry-After", async () => {
    const ip = "10.250.0.7";
    let limited: Response | undefined;
    // Twice the limit (10/min) and more: the binding counts in fixed windows, and one may roll over mid-test.
    for (let i = 0; i < 25 && !limited; i++) {
      const cookie = await newVisitor();
      const res = await call("/session", {
        method: "POST",
        cookie,
        ip,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ room: uniqueRoom(), identity: "visitor" }),
      });
      if (res.status === 429) limited = res;
      else {
        expect(res.status).toBe(201);
        // Stopped at once, so that the concurrent-session cap per address (MAX_SESSIONS_PER_IP) is not what refuses.
        const { session_id } = (await res.json()) as { session_id: string };
        expect((await call(`/session/${session_id}`, { method: "DELETE", cookie, ip })).status).toBe(200);
      }
    }
    expect(limited?.headers.get("Retry-After")).toBe("60");
    await expectError(limited!, 429, "rate_limited");
  });

  it("refuses a system_prompt unless the deployment allows it", async () => {
    const cookie = await newVisitor();
    const body = { room: uniqueRoom(), identity: "visitor", system_prompt: "Be a pirate." };
    await expectError(await post(cookie, body), 403, "system_prompt_not_allowed");

    const allowed = { ...env, ALLOW_CLIENT_SYSTEM_PROMPT: "true" };
    const req = new Request(`${ORIGIN}/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: cookie, "CF-Connecting-IP": "10.9.9.9" },
      body: JSON.stringify(body),
    });
    const res = await worker.fetch(req, allowed, createExecutionContext());
    expect(res.status).toBe(201);
    const metadata = JSON.parse(String((await liveKitCalls(body.room))[0]!.body.metadata));
    expect(metadata.system_prompt).toBe("Be a pirate.");
  });

  it.each([
    ["not JSON", "{", "application/json", 400, "invalid_json"],
    ["wrong content type", "{}", "text/plain", 415, "unsupported_media_type"],
    ["missing identity", JSON.stringify({ room: "r" }), "application/json", 400, "invalid_request"],
    [
      "unknown field",
      JSON.stringify({ room: "r", identity: "v", extra: 1 }),
      "application/json",
      400,
      "invalid_request",
    ],
    [
      "reserved identity",
      JSON.stringify({ room: "r", identity: "Agent007" }),
      "application/json",
      400,
      "invalid_request",
    ],
    [
      "prompt too long",
      JSON.stringify({ room: "r", identity: "v", system_prompt: "x".repeat(4001) }),
      "application/json",
      400,
      "invalid_request",
    ],
  ])("rejects %s", async (_, body, type, status, code) => {
    const cookie = await newVisitor();
    const res = await call("/session", { method: "POST", cookie, headers: { "Content-Type": type }, body });
    await expectError(res, status, code);
  });

  it("refuses requests from an origin outside the allow-list, and answers CORS for allowed ones", async () => {
    const cookie = await newVisitor();
    const body = { room: uniqueRoom(), identity: "visitor" };
    await expectError(await post(cookie, body, { Origin: "https://evil.example" }), 403, "origin_not_allowed");
    const ok = await post(cookie, body, { Origin: "https://partner.example" });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("https://partner.example");
    expect(ok.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const preflight = await exports.default.fetch(
      new Request(`${ORIGIN}/session`, {
        method: "OPTIONS",
        headers: { Origin: "https://partner.example", "Access-Control-Request-Method": "POST" },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toContain("POST");
  });
});

describe("DELETE /session/{id}", () => {
  it("stops the session, deletes the room, and answers the same when repeated", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    for (let i = 0; i < 2; i++) {
      const res = await call(`/session/${sessionId}`, { method: "DELETE", cookie });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ stopped: true });
    }
    expect((await liveKitCalls(room)).map((c) => c.method)).toEqual(["CreateDispatch", "DeleteRoom"]);
    const transcript = TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
    expect(transcript).toMatchObject({ status: "ended", reason: "stopped" });
    expect(transcript.ended_at).toBeGreaterThanOrEqual(transcript.started_at);
  });

  it("answers 404 for an unknown session and 400 for a malformed id", async () => {
    const cookie = await newVisitor();
    await expectError(await call(`/session/${"A".repeat(22)}`, { method: "DELETE", cookie }), 404, "session_not_found");
    await expectError(await call(`/session/short`, { method: "DELETE", cookie }), 400, "invalid_session_id");
  });
});

describe("another visitor", () => {
  it("gets 403 on the owner's token, session, transcript and delete, and a refused socket", async () => {
    const owner = await newVisitor();
    const { room, sessionId } = await startSession(owner);
    const other = await newVisitor();
    await expectError(await call(`/token?room=${room}&identity=mallory`, { cookie: other }), 403);
    await expectError(await post(other, { room, identity: "mallory" }), 403);
    await expectError(await call(`/transcripts/${sessionId}`, { cookie: other }), 403);
    await expectError(await call(`/session/${sessionId}`, { method: "DELETE", cookie: other }), 403);
    const upgrade = { Upgrade: "websocket", Origin: ORIGIN };
    await expectRefusedSocket(
      await call(`/ws/transcript/${sessionId}`, { cookie: other, headers: upgrade }),
      "forbidden",
    );
    // Without any cookie (a fresh visitor id is issued with the refusal).
    await expectRefusedSocket(await call(`/ws/transcript/${sessionId}`, { headers: upgrade }), "forbidden");
    const history = await call(`/history/${sessionId}`, { cookie: other });
    expect(history.status).toBe(403);
    expect(history.headers.get("Content-Type")).toMatch(/^text\/html/);
    // The owner's session is untouched.
    const t = TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie: owner })).json());
    expect(t.status).toBe("starting");
  });
});
