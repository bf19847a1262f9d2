/**
 * `POST /session/{id}/messages` (typed input) through the real Worker and `SessionDO` storage: the relay to the
 * agent (LiveKit `SendData`, recorded by the fake LiveKit, test/workerd/fake-livekit.ts: the only fake, since
 * LiveKit is a third-party service here; the dev LiveKit and the real agent take the same packet in
 * test/agent/typed-input.test.ts and the e2e tests), the stored turn, idempotency, limits and refusals.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  TOPIC_TYPED_MESSAGE,
  TranscriptResponse,
  TYPED_MESSAGES_PER_WINDOW,
  TYPED_TEXT_MAX,
  TypedMessageResponse,
  TypedRelayBody,
  TypedRelayPacket,
  verifyIngest,
} from "../../contract/index.ts";
import {
  call,
  expectError,
  failLiveKit,
  ingest,
  lifecycle,
  liveKitCalls,
  newVisitor,
  openSocket,
  sendWebhook,
  setParticipants,
  startSession,
} from "./helpers.ts";

const AGENT = { sid: "PA_typed_agent", identity: "agent-AJ_typed", kind: "AGENT" };

let ids = 0;
const messageId = () => `msg_${Date.now().toString(36)}_${++ids}`;

function post(cookie: string, sessionId: string, body: unknown, raw?: string) {
  return call(`/session/${sessionId}/messages`, {
    method: "POST",
    cookie,
    headers: { "Content-Type": "application/json" },
    body: raw ?? JSON.stringify(body),
  });
}

async function transcript(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

/** A session whose agent has joined (ingest `agent_joined`) and whose participant LiveKit reported. */
async function activeSession(opts: { webhook?: boolean } = {}) {
  const cookie = await newVisitor();
  const { room, sessionId } = await startSession(cookie);
  expect((await ingest(sessionId, [lifecycle("agent_joined")], { jobId: "AJ_typed" })).status).toBe(200);
  if (opts.webhook !== false) {
    await sendWebhook({ event: "participant_joined", room: { name: room, sid: "RM_typed" }, participant: AGENT });
  }
  return { cookie, room, sessionId };
}

async function sendDataCalls(room: string) {
  return (await liveKitCalls(room)).filter((c) => c.method === "SendData");
}

/** The relayed packet of a recorded `SendData` call, checked as the agent checks it. */
async function relayed(body: Record<string, unknown>, sessionId: string) {
  const bytes = Uint8Array.from(atob(String(body.data)), (ch) => ch.charCodeAt(0));
  const packet = TypedRelayPacket.parse(JSON.parse(new TextDecoder().decode(bytes)));
  expect(await verifyIngest(env.AGENT_INGEST_SECRET, sessionId, packet.body, packet.signature)).toBe("ok");
  return TypedRelayBody.parse(JSON.parse(packet.body));
}

describe("POST /session/{id}/messages", () => {
  it("relays the text to the agent's participant, signed, then stores and broadcasts it as a typed user final", async () => {
    const { cookie, room, sessionId } = await activeSession();
    const socket = await openSocket(cookie, sessionId);
    const id = messageId();
    const res = await post(cookie, sessionId, { id, text: "  add a task to call the dentist tomorrow at 9\n" });
    expect(res.status).toBe(200);
    const answer = TypedMessageResponse.parse(await res.json());
    expect(answer.duplicate).toBe(false);

    const [sent, ...more] = await sendDataCalls(room);
    expect(more).toEqual([]);
    expect(sent!.authorized).toBe(true);
    expect(sent!.body).toMatchObject({ room, destinationSids: [AGENT.sid], topic: TOPIC_TYPED_MESSAGE });
    expect(await relayed(sent!.body, sessionId)).toEqual({
      session_id: sessionId,
      id,
      text: "add a task to call the dentist tomorrow at 9",
    });

    const stored = (await transcript(cookie, sessionId)).events;
    expect(stored).toEqual([
      {
        role: "user",
        text: "add a task to call the dentist tomorrow at 9",
        final: true,
        typed: true,
        seq: answer.seq,
        ts: expect.any(Number),
      },
    ]);
    const live = await socket.waitFor(answer.seq);
    expect(live.find((m) => m.seq === answer.seq)).toEqual(stored[0]);
  });

  it("takes the same id once: a repeat answers the first seq, with nothing sent or stored again", async () => {
    const { cookie, room, sessionId } = await activeSession();
    const id = messageId();
    const first = TypedMessageResponse.parse(await (await post(cookie, sessionId, { id, text: "hello" })).json());
    const again = await post(cookie, sessionId, { id, text: "hello" });
    expect(again.status).toBe(200);
    expect(TypedMessageResponse.parse(await again.json())).toEqual({ seq: first.seq, duplicate: true });
    expect(await sendDataCalls(room)).toHaveLength(1);
    expect((await transcript(cookie, sessionId)).events).toHaveLength(1);
  });

  it(`takes ${TYPED_MESSAGES_PER_WINDOW} messages in a row, then answers 429 too_many_messages with Retry-After`, async () => {
    const { cookie, room, sessionId } = await activeSession();
    for (let i = 0; i < TYPED_MESSAGES_PER_WINDOW; i++) {
      expect((await post(cookie, sessionId, { id: messageId(), text: `message ${i}` })).status).toBe(200);
    }
    const refused = await post(cookie, sessionId, { id: messageId(), text: "one too many" });
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    await expectError(refused, 429, "too_many_messages");
    expect(await sendDataCalls(room)).toHaveLength(TYPED_MESSAGES_PER_WINDOW);
    const texts = (await transcript(cookie, sessionId)).events.map((e) => ("text" in e ? e.text : null));
    expect(texts).not.toContain("one too many");
  });

  it("finds the agent's participant with RoomService when no webhook has named it yet", async () => {
    const { cookie, room, sessionId } = await activeSession({ webhook: false });
    await setParticipants(room, [{ sid: "PA_listed", identity: "agent-AJ_listed", kind: "AGENT" }]);
    expect((await post(cookie, sessionId, { id: messageId(), text: "first" })).status).toBe(200);
    expect((await post(cookie, sessionId, { id: messageId(), text: "second" })).status).toBe(200);
    const calls = await liveKitCalls(room);
    expect(calls.filter((c) => c.method === "ListParticipants")).toHaveLength(1);
    expect((await sendDataCalls(room)).map((c) => c.body.destinationSids)).toEqual([["PA_listed"], ["PA_listed"]]);
  });

  it("answers 409 agent_not_ready before the agent joined, and when LiveKit lists no agent", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    await expectError(await post(cookie, sessionId, { id: messageId(), text: "hi" }), 409, "agent_not_ready");
    expect((await ingest(sessionId, [lifecycle("agent_joined")], { jobId: "AJ_x" })).status).toBe(200);
    await expectError(await post(cookie, sessionId, { id: messageId(), text: "hi" }), 409, "agent_not_ready");
    expect(await sendDataCalls(room)).toEqual([]);
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
  });

  it("answers 502 livekit_unavailable and stores nothing when SendData fails; the same id then goes through", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await failLiveKit(room, "SendData", 1);
    const id = messageId();
    await expectError(await post(cookie, sessionId, { id, text: "are you there" }), 502, "livekit_unavailable");
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
    const retry = await post(cookie, sessionId, { id, text: "are you there" });
    expect(TypedMessageResponse.parse(await retry.json()).duplicate).toBe(false);
    expect((await transcript(cookie, sessionId)).events).toHaveLength(1);
  });

  it("answers 409 session_ended after Stop", async () => {
    const { cookie, room, sessionId } = await activeSession();
    expect((await call(`/session/${sessionId}`, { method: "DELETE", cookie })).status).toBe(200);
    await expectError(await post(cookie, sessionId, { id: messageId(), text: "hi" }), 409, "session_ended");
    expect(await sendDataCalls(room)).toEqual([]);
  });

  it("answers 403 to another visitor and 404 for an unknown session", async () => {
    const { room, sessionId } = await activeSession();
    const other = await newVisitor();
    await expectError(await post(other, sessionId, { id: messageId(), text: "hi" }), 403, "forbidden");
    await expectError(await post(other, "A".repeat(22), { id: messageId(), text: "hi" }), 404, "session_not_found");
    await expectError(await post(other, "not-an-id", { id: messageId(), text: "hi" }), 400);
    expect(await sendDataCalls(room)).toEqual([]);
  });

  it.each([
    ["empty text", { text: "   " }],
    ["text over the limit", { text: "x".repeat(TYPED_TEXT_MAX + 1) }],
    ["control characters", { text: "hi\u0000there" }],
    ["a bidirectional override", { text: "hi\u202ethere" }],
    ["a short id", { id: "abc" }],
    ["an id with other characters", { id: "abc def ghi" }],
    ["an unknown field", { extra: true }],
    ["a text that is not a string", { text: 42 }],
  ])("answers 400 for %s, sending and storing nothing", async (_, change) => {
    const { cookie, room, sessionId } = await activeSession();
    await expectError(await post(cookie, sessionId, { id: messageId(), text: "hello", ...change }), 400);
    expect(await sendDataCalls(room)).toEqual([]);
    expect((await transcript(cookie, sessionId)).events).toEqual([]);
  });

  it("answers 400 for a body that is not JSON and 413 for one over the size limit", async () => {
    const { cookie, room, sessionId } = await activeSession();
    await expectError(await post(cookie, sessionId, null, "{not json"), 400);
    await expectError(
      await post(cookie, sessionId, null, JSON.stringify({ id: messageId(), text: "x".repeat(9000) })),
      413,
    );
    expect(await sendDataCalls(room)).toEqual([]);
  });

  it("keeps a typed turn in the history a replacement agent is dispatched with", async () => {
    const { cookie, room, sessionId } = await activeSession();
    expect((await post(cookie, sessionId, { id: messageId(), text: "remember my typed words" })).status).toBe(200);
    await ingest(sessionId, [lifecycle("agent_left")], { jobId: "AJ_typed" });
    const dispatches = (await liveKitCalls(room)).filter((c) => c.method === "CreateDispatch");
    expect(dispatches).toHaveLength(2);
    const metadata = JSON.parse(String(dispatches[1]!.body.metadata)) as { history: unknown[] };
    expect(metadata.history).toEqual([{ role: "user", text: "remember my typed words" }]);
  });
});
