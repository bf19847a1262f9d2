import { describe, expect, it } from "vitest";
import { TranscriptResponse } from "../../contract/index.ts";
import { call, expectError, liveKitCalls, newVisitor, sendWebhook, startSession } from "./helpers.ts";

async function status(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

describe("POST /livekit/webhook", () => {
  it("starts the client grace period when the visitor leaves, instead of ending the session", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    const visitor = { sid: "PA_visitor1", identity: "visitor" };
    expect(
      (await sendWebhook({ event: "participant_joined", room: { name: room }, participant: visitor })).status,
    ).toBe(200);
    const res = await sendWebhook({ event: "participant_left", room: { name: room }, participant: visitor });
    expect(res.status).toBe(200);
    expect((await status(cookie, sessionId)).status).toBe("starting");
    expect((await liveKitCalls(room)).map((c) => c.method)).not.toContain("DeleteRoom");
  });

  it("ends the room's session on room_finished and ignores other events", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    expect(
      (await sendWebhook({ event: "participant_joined", room: { name: room }, participant: { identity: "visitor" } }))
        .status,
    ).toBe(200);
    expect((await status(cookie, sessionId)).status).toBe("starting");
    expect((await sendWebhook({ event: "room_finished", room: { name: room } })).status).toBe(200);
    expect((await status(cookie, sessionId)).status).toBe("ended");
  });

  it("rejects unsigned, wrongly signed and tampered webhooks with 401 and acts on none", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    const event = { event: "room_finished", room: { name: room } };
    await expectError(
      await call("/livekit/webhook", { method: "POST", body: JSON.stringify(event) }),
      401,
      "webhook_unverified",
    );
    await expectError(
      await sendWebhook(event, { secret: "not-the-secret-0123456789abcdefgh" }),
      401,
      "webhook_unverified",
    );
    await expectError(await sendWebhook(event, { tamper: true }), 401, "webhook_unverified");
    expect((await status(cookie, sessionId)).status).toBe("starting");
  });
});
