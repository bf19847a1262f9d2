/**
 * Webhooks: every lifecycle event verifies with livekit-server-sdk's WebhookReceiver, and a participant whose
 * process is killed is removed with `participant_left` within 20 s.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookReceiver, type WebhookEvent } from "livekit-server-sdk";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import { waitFor } from "../support/wait.ts";
import { API_KEY, API_SECRET, joinToken } from "./support.ts";

const addr = mediaAddress();

describe.skipIf(!addr)("webhooks", () => {
  let server: DevLiveKit;
  let receiver: Server;
  const events: { event: WebhookEvent; at: number }[] = [];
  const rejected: string[] = [];

  beforeAll(async () => {
    const verifier = new WebhookReceiver(API_KEY, API_SECRET);
    receiver = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        verifier
          .receive(body, req.headers.authorization)
          .then((event) => {
            expect(req.headers["content-type"]).toBe("application/webhook+json");
            events.push({ event, at: Date.now() });
          })
          .catch((err: Error) => rejected.push(err.message))
          .finally(() => res.end());
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    server = await startDevLiveKit({ port: 0, mediaAddress: addr!, webhookUrls: [hook], departureTimeoutS: 1 });
  });
  afterAll(async () => {
    await server?.close();
    receiver?.close();
  });

  it("signs room, participant and track events; a killed participant leaves within 20 s", async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL("fixtures/participant.ts", import.meta.url))], {
      env: { ...process.env, LIVEKIT_URL: server.url, LIVEKIT_TOKEN: await joinToken("hook-room", "doomed") },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
      child.once("exit", (code) => reject(new Error(`participant exited early (${code})`)));
    });
    const webhook = (name: string, timeoutMs: number) =>
      waitFor(`the ${name} webhook`, () => events.find((e) => e.event.event === name), { timeoutMs });
    await webhook("track_published", 10_000);
    child.kill("SIGKILL");
    const killedAt = Date.now();
    const left = await webhook("participant_left", 20_000);
    expect(left.at - killedAt).toBeLessThan(20_000);
    await webhook("room_finished", 10_000);

    expect(rejected).toEqual([]);
    expect(events.map((e) => e.event.event)).toEqual([
      "room_started",
      "participant_joined",
      "track_published",
      "participant_left",
      "room_finished",
    ]);
    for (const { event } of events) {
      expect(event.room?.name).toBe("hook-room");
      expect(event.id).toMatch(/^EV_/);
    }
    expect(events[1]!.event.participant?.identity).toBe("doomed");
    expect(events[2]!.event.track?.sid).toMatch(/^TR_/);
    expect(events[3]!.event.participant?.identity).toBe("doomed");
  });
});
