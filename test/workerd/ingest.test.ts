import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { IngestResponse, signIngest, TranscriptResponse } from "../../contract/index.ts";
import {
  call,
  expectError,
  expectRefusedSocket,
  finalEvent,
  ingest,
  ingestClient,
  lifecycle,
  newVisitor,
  openSocket,
  startSession,
} from "./helpers.ts";

async function transcript(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

describe("POST /session/{id}/events signature", () => {
  it.each([
    ["missing", null, "signature_missing"],
    ["malformed", "t=abc,v1=xyz", "signature_malformed"],
    ["wrong", `t=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`, "signature_mismatch"],
  ])("rejects a %s signature with 401 and stores nothing", async (_, signature, code) => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    await expectError(await ingest(sessionId, [finalEvent("hello")], { signature }), 401, code);
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
  });

  it("rejects a stale signature (> 300 s) and one signed with another secret", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const body = JSON.stringify({ events: [finalEvent("hello")] });
    const stale = await signIngest(env.AGENT_INGEST_SECRET, sessionId, body, Date.now() / 1000 - 301);
    await expectError(await ingest(sessionId, null, { body, signature: stale }), 401, "signature_stale");
    await expectError(await ingestClient(sessionId, "another-secret").postBody(body), 401, "signature_mismatch");
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
  });

  it("rejects a tampered body and a signature for another session", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const { sessionId: otherId } = await startSession(cookie);
    const body = JSON.stringify({ events: [finalEvent("hello")] });
    const signature = await signIngest(env.AGENT_INGEST_SECRET, sessionId, body);
    const tampered = body.replace("hello", "HELLO");
    await expectError(await ingest(sessionId, null, { body: tampered, signature }), 401, "signature_mismatch");
    await expectError(await ingest(otherId, null, { body, signature }), 401, "signature_mismatch");
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
    expect((await transcript(cookie, otherId)).events).toEqual([]);
  });
});

describe("POST /session/{id}/events", () => {
  it("stores finals and speech events once, in seq order; interims are broadcast only", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const first = finalEvent("go forward");
    const events = [
      lifecycle("agent_joined"),
      { id: "s:1", ts: 1, role: "user" as const, event: "speech_started" as const },
      { id: "i:1", ts: 2, role: "user" as const, text: "go for", final: false },
      first,
      finalEvent("Going forward.", "agent"),
    ];
    const res = await ingest(sessionId, events);
    expect(res.status).toBe(200);
    expect(IngestResponse.parse(await res.json())).toEqual({ accepted: 5, duplicates: 0 });
    const again = await ingest(sessionId, [first, finalEvent("ten meters")]);
    expect(await again.json()).toEqual({ accepted: 1, duplicates: 1 });

    const t = await transcript(cookie, sessionId);
    expect(t.status).toBe("active");
    // seq 1 = starting, 2 = active, 3 = speech, 4 = interim (not stored), 5, 6, 7 = finals.
    expect(t.events.map((e) => e.seq)).toEqual([3, 5, 6, 7]);
    expect(t.events.map((e) => ("text" in e ? e.text : "event" in e ? e.event : e.type))).toEqual([
      "speech_started",
      "go forward",
      "Going forward.",
      "ten meters",
    ]);
  });

  it("rejects bad batches with 400 and unknown sessions with 404", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    await expectError(await ingest(sessionId, null, { body: "{not json" }), 400, "invalid_json");
    await expectError(await ingest(sessionId, []), 400, "invalid_batch");
    await expectError(
      await ingest(sessionId, [{ id: "x", ts: 1, role: "robot", text: "hi", final: true }]),
      400,
      "invalid_batch",
    );
    await expectError(await ingest("B".repeat(22), [finalEvent("hi")]), 404, "session_not_found");
    await expectError(await ingest("bad", [finalEvent("hi")]), 400, "invalid_session_id");
  });

  it("refuses bodies over 1 MB with 413", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const body = JSON.stringify({ events: [finalEvent("x".repeat(1_100_000))] });
    await expectError(await ingest(sessionId, null, { body }), 413, "payload_too_large");
  });

  it("answers 409 once the session has ended and its agent has left", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    await ingest(sessionId, [lifecycle("agent_joined")], { jobId: "AJ_first" });
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_first" })).status).toBe(200);
    expect(await transcript(cookie, sessionId)).toMatchObject({ status: "ended", reason: "stopped" });
    await expectError(await ingest(sessionId, [finalEvent("late")], { jobId: "AJ_first" }), 409, "session_ended");
  });
});

describe("transcript sockets", () => {
  it("deliver events to every open socket in seq order", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const a = await openSocket(cookie, sessionId);
    const b = await openSocket(cookie, sessionId);
    await a.waitFor(1);
    await b.waitFor(1);
    for (let i = 0; i < 5; i++)
      await ingest(sessionId, [
        finalEvent(`line ${i}`),
        { id: `int:${sessionId}:${i}`, ts: 1, role: "user", text: "…", final: false },
      ]);
    for (const s of [a, b]) {
      const got = await s.waitFor(11);
      expect(got.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(got[0]).toMatchObject({ type: "session", status: "starting" });
    }
    a.ws.close(1000);
    b.ws.close(1000);
  });

  it("replay exactly what a reconnecting client missed (?after=), then live events", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const first = await openSocket(cookie, sessionId);
    await ingest(sessionId, [lifecycle("agent_joined"), finalEvent("one"), finalEvent("two")]);
    const seen = await first.waitFor(4);
    first.ws.close(1000);
    const lastSeq = seen.at(-1)!.seq;
    await ingest(sessionId, [
      finalEvent("three"),
      { id: "i:x", ts: 1, role: "user", text: "fo", final: false },
      finalEvent("four"),
    ]);
    const second = await openSocket(cookie, sessionId, lastSeq);
    // Missed: "three" (5) and "four" (7); the interim (6) was never stored.
    const replay = await second.waitFor(2);
    expect(replay.map((m) => [m.seq, "text" in m ? m.text : null])).toEqual([
      [5, "three"],
      [7, "four"],
    ]);
    await ingest(sessionId, [finalEvent("five")]);
    expect((await second.waitFor(3)).at(-1)).toMatchObject({ seq: 8, text: "five", final: true });
    second.ws.close(1000);
  });

  it("receive the ended state and close 1000 when the session stops", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const s = await openSocket(cookie, sessionId);
    await s.waitFor(1);
    await call(`/session/${sessionId}`, { method: "DELETE", cookie });
    const closed = await s.closed;
    expect(closed.code).toBe(1000);
    expect(s.messages.at(-1)).toMatchObject({ type: "session", status: "ended", reason: "stopped" });
    // A socket opened after the end gets the stored history and is closed at once.
    const late = await openSocket(cookie, sessionId);
    expect((await late.closed).code).toBe(1000);
    expect(late.messages.at(-1)).toMatchObject({ status: "ended" });
  });

  it("refuse other origins, unknown sessions and a bad ?after= in the socket; non-upgrades with 426", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const path = `/ws/transcript/${sessionId}`;
    const upgrade = { Upgrade: "websocket" };
    await expectRefusedSocket(
      await call(path, { cookie, headers: { ...upgrade, Origin: "https://evil.example" } }),
      "origin_not_allowed",
    );
    await expectRefusedSocket(await call(`${path}?after=-1`, { cookie, headers: upgrade }), "invalid_after");
    await expectRefusedSocket(
      await call(`/ws/transcript/${"D".repeat(22)}`, { cookie, headers: upgrade }),
      "session_not_found",
    );
    await expectRefusedSocket(await call(`/ws/transcript/short`, { cookie, headers: upgrade }), "invalid_session_id");
    await expectError(await call(path, { cookie }), 426, "upgrade_required");
    const partner = await call(path, { cookie, headers: { Upgrade: "websocket", Origin: "https://partner.example" } });
    expect(partner.status).toBe(101);
    partner.webSocket!.accept();
    partner.webSocket!.close(1000);
  });
});
