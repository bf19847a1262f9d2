import { env } from "cloudflare:workers";
import { AccessToken } from "livekit-server-sdk";
import { describe, expect, it } from "vitest";
import { TranscriptResponse } from "../../contract/index.ts";
import { call, expectError, liveKitCalls, newVisitor, startSession } from "./helpers.ts";

/** Signs a webhook body as LiveKit does: a JWT from the API key/secret carrying the body's SHA-256. */
async function signWebhook(body: string, secret = env.LIVEKIT_API_SECRET): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
  const token = new AccessToken(env.LIVEKIT_API_KEY, secret);
  token.sha256 = btoa(String.fromCharCode(...new Uint8Array(digest)));
  return token.toJwt();
}

async function sendWebhook(event: Record<string, unknown>, opts: { secret?: string; tamper?: boolean } = {}) {
  const body = JSON.stringify({ id: crypto.randomUUID(), createdAt: String(Math.floor(Date.now() / 1000)), ...event });
  const auth = await signWebhook(body, opts.secret);
  return call("/livekit/webhook", {
    method: "POST",
    headers: { "Content-Type": "application/webhook+json", Authorization: auth },
    body: opts.tamper ? body.replace("}", " }") : body,
  });
}

async function status(cookie: string, sessionId: string) {
  return TranscriptResponse.parse(await (await call(`/transcripts/${sessionId}`, { cookie })).json());
}

describe("POST /livekit/webhook", () => {
  it("ends the room's session when the visitor leaves", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startSession(cookie);
    const agentLeft = await sendWebhook({
      event: "participant_left",
      room: { name: room },
      participant: { identity: "agent-1" },
    });
    expect(agentLeft.status).toBe(200);
    expect((await status(cookie, sessionId)).status).toBe("starting");
    const res = await sendWebhook({
      event: "participant_left",
      room: { name: room },
      participant: { identity: "visitor" },
    });
    expect(res.status).toBe(200);
    expect(await status(cookie, sessionId)).toMatchObject({ status: "ended", reason: "stopped" });
    expect((await liveKitCalls(room)).map((c) => c.method)).toContain("DeleteRoom");
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
