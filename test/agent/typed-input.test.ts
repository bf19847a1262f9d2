/**
 * Typed input, the agent's side (agent/typed-input.ts), against the real agent job (agent/main.ts) in the dev
 * LiveKit server with the local OpenAI stand-in and the planner profile: a typed message that the server sends
 * (RoomService `SendData`, signed as the Worker's `SessionDO` signs it) becomes a user turn, leads to the planner's
 * tool call and a spoken answer; the same packet from the visitor's participant, a packet with a wrong signature or
 * for another session, and a repeat are refused, and the text reaches no log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signIngest, TOPIC_TYPED_MESSAGE, type TypedRelayBody, type TypedRelayPacket } from "../../contract/index.ts";
import { mediaAddress } from "../support/netns.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { audioMeter, type Visitor } from "./room-visitor.ts";
import { startWorkerHarness, type WorkerHarness } from "./worker-harness.ts";

const addr = mediaAddress();
const ROOM = "room-typed-input";
const SESSION = "sessionTypedInput00001"; // 22 base64url characters
const OTHER_SESSION = "sessionTypedInput00002";
const VISITOR = "v_typed_input";
/** A word that marks the typed text: it must reach the LLM, and no log. */
const MARK = "quetzal";
const REQUEST = `add a task to call the ${MARK} dentist tomorrow at 9`;

const encoder = new TextEncoder();

/**
 * A relayed typed message as the `SessionDO` builds it, signed with `secret` for `signedFor` (default: the body's
 * session).
 */
async function packet(secret: string, body: TypedRelayBody, signedFor = body.session_id): Promise<Uint8Array> {
  const json = JSON.stringify(body);
  const signed: TypedRelayPacket = { body: json, signature: await signIngest(secret, signedFor, json) };
  return encoder.encode(JSON.stringify(signed));
}

describe.skipIf(!addr)("typed input reaches the agent only from the server", () => {
  let h: WorkerHarness;
  let visitor: Visitor;
  let agentSid: string;
  let agentIdentity: string;

  const refusals = () =>
    h
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"typed_message_refused"'))
      .map((l) => (JSON.parse(l) as { reason: string }).reason)
      .sort();
  const userTurns = () =>
    h.chatRequests.flatMap((messages) =>
      (messages as { role?: string; content?: unknown }[])
        .filter((m) => m.role === "user")
        .map((m) => JSON.stringify(m.content)),
    );

  beforeAll(async () => {
    h = await startWorkerHarness(addr!);
    const joined = await h.converse(ROOM, SESSION, VISITOR, "planner");
    visitor = joined.visitor;
    agentSid = joined.agent.sid!;
    agentIdentity = joined.agent.identity;
  }, 150_000);
  afterAll(async () => {
    if (process.env.AGENT_TEST_LOG) (await import("node:fs")).writeFileSync(process.env.AGENT_TEST_LOG, h.output());
    visitor?.mic.stop();
    await visitor?.room.disconnect().catch(() => {});
    await h?.close();
  });

  it("refuses the packet from a participant, with a wrong signature, or for another session", async () => {
    const secret = h.secrets.ingestSecret;
    // Even correctly signed, a packet the visitor publishes is not the server's.
    const forged = await packet(secret, { session_id: SESSION, id: "forged_0001", text: `${MARK} from the visitor` });
    await visitor.room.localParticipant!.publishData(forged, {
      reliable: true,
      topic: TOPIC_TYPED_MESSAGE,
      destination_identities: [agentIdentity],
    });
    const wrongKey = await packet("another-secret-0123456789abcdef0123", {
      session_id: SESSION,
      id: "wrongkey_01",
      text: `${MARK} wrong key`,
    });
    await h.sendServerData(ROOM, agentSid, TOPIC_TYPED_MESSAGE, wrongKey);
    // Signed for this session, but naming another one in its body.
    const other = await packet(
      secret,
      { session_id: OTHER_SESSION, id: "othersess_1", text: `${MARK} other` },
      SESSION,
    );
    await h.sendServerData(ROOM, agentSid, TOPIC_TYPED_MESSAGE, other);
    await h.sendServerData(ROOM, agentSid, TOPIC_TYPED_MESSAGE, encoder.encode("not json"));
    await waitFor("four refusals", () => refusals().length >= 4, { timeoutMs: 15_000 });
    expect(refusals()).toEqual(["from_participant", "malformed", "other_session", "signature_mismatch"]);
    await sleep(1000); // a reply, if one were coming, would have started by now
    expect(userTurns().join("\n")).not.toContain(MARK);
    expect(h.ingest.acted).toEqual([]);
  });

  it("takes the server's signed message as the visitor's turn: a tool call, a spoken answer, once", async () => {
    const meter = audioMeter(await visitor.agentTrack);
    const before = h.eventsOf(SESSION).length;
    try {
      const message = await packet(h.secrets.ingestSecret, { session_id: SESSION, id: "typed_0001", text: REQUEST });
      await h.sendServerData(ROOM, agentSid, TOPIC_TYPED_MESSAGE, message);
      const acted = await waitFor("the NEW_TASK call", () => h.ingest.acted.find((a) => a.intent === "NEW_TASK"), {
        timeoutMs: 30_000,
      });
      expect(String(acted.arguments.title)).toMatch(/dentist/i);
      expect(userTurns().some((t) => t.includes(REQUEST))).toBe(true);
      const answered = () =>
        h
          .eventsOf(SESSION)
          .slice(before)
          .some((e) => "event" in e && e.role === "agent" && e.event === "speech_ended");
      await waitFor("the answer to be spoken", answered, { timeoutMs: 60_000 });
      await sleep(300);
      expect(meter.peak(), "the visitor heard the answer").toBeGreaterThan(0.01);
      const reply = h
        .eventsOf(SESSION)
        .slice(before)
        .find((e) => "text" in e && e.role === "agent" && e.final);
      expect(reply, "the agent's answer reached ingest").toBeDefined();
      // The typed turn is not posted as a user transcript: the session stored it when it relayed it.
      expect(h.eventsOf(SESSION).some((e) => "text" in e && e.role === "user" && e.text.includes(MARK))).toBe(false);

      // The same message again (a retried relay) acts once.
      await h.sendServerData(ROOM, agentSid, TOPIC_TYPED_MESSAGE, message);
      await waitFor("the repeat's refusal", () => refusals().includes("repeated"), { timeoutMs: 15_000 });
      expect(h.ingest.acted.filter((a) => a.intent === "NEW_TASK")).toHaveLength(1);
    } finally {
      await meter.stop();
    }
    const received = h
      .output()
      .split("\n")
      .filter((l) => l.includes('"msg":"typed_message_received"'));
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!)).toMatchObject({ chars: REQUEST.length });
    expect(h.output(), "a log holds the typed text").not.toContain(MARK);
  });
});
