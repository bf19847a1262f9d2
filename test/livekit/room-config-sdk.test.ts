/**
 * The room limits and token refresh of room-config.test.ts as the real SDKs meet them (media, so inside the
 * network namespace): rtc-node's `connect()` is refused for a second visitor identity in a room created with
 * `maxParticipants: 1` while agent participants still join; livekit-client's `connect()` rejects on the
 * server's `LeaveRequest{JOIN_FAILURE}`; and livekit-client, once its short-lived join token has expired,
 * rejoins after a network drop with the refreshed token the server sent it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import type { Room } from "@livekit/rtc-node";
import { RoomServiceClient } from "livekit-server-sdk";
import { type DevLiveKit, startDevLiveKit } from "../../dev/livekit/server.ts";
import { dropParticipant } from "../support/livekit-faults.ts";
import { mediaAddress } from "../support/netns.ts";
import { sleep, waitFor } from "../support/wait.ts";
import type { PageApi } from "./fixtures/page.ts";
import { openTestPage, type TestPage } from "./page-host.ts";
import { open } from "./raw-signal.ts";
import { API_KEY, API_SECRET, configToken, connectWith } from "./support.ts";

const addr = mediaAddress();

describe.skipIf(!addr)("room limits and token refresh with the real SDKs", () => {
  let server: DevLiveKit;
  let host: TestPage | undefined;
  let page: Page;
  let rooms: RoomServiceClient;
  const joined: Room[] = [];
  const connect = async (token: string) => {
    const room = await connectWith(server.url, token);
    joined.push(room);
    return room;
  };
  const pageJoin = (token: string) =>
    page.evaluate(([u, t]) => (window as unknown as { lk: PageApi }).lk.join(u, t), [server.url, token] as const);

  beforeAll(async () => {
    // No clock leeway on tokens here (livekit-server allows 60 s), so that a short token expires when it says.
    server = await startDevLiveKit({ port: 0, mediaAddress: addr!, tokenLeewayS: 0 });
    rooms = new RoomServiceClient(server.url.replace(/^ws/, "http"), API_KEY, API_SECRET);
    host = await openTestPage(440);
    page = host.page;
  });
  afterAll(async () => {
    for (const room of joined) await room.disconnect().catch(() => {});
    await host?.close();
    await server?.close();
  });

  it("refuses a second identity's connect (rtc-node, livekit-client) while agents join", async () => {
    const room = "sdk-max";
    await connect(await configToken(room, "visitor", { config: { maxParticipants: 1 } }));
    await expect(connect(await configToken(room, "intruder"))).rejects.toThrow();
    const refused = await pageJoin(await configToken(room, "page")).then(
      () => "joined",
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/leave request/i);
    await connect(await configToken(room, "agent-AJ_old", { agent: true }));
    await connect(await configToken(room, "agent-AJ_new", { agent: true }));
    const identities = (await rooms.listParticipants(room)).map((p) => p.identity).sort();
    expect(identities).toEqual(["agent-AJ_new", "agent-AJ_old", "visitor"]);
  });

  it("livekit-client rejoins after a network drop with its refreshed token once the join token expired", async () => {
    const room = "sdk-refresh";
    const config = { maxParticipants: 1, departureTimeout: 30 };
    // Long enough for the join itself on a loaded machine (this server allows no clock leeway): a 1 s token
    // sometimes expired before the first join was checked.
    const ttlS = 8;
    const issuedAt = Date.now();
    const token = await configToken(room, "page", { config, ttl: ttlS });
    const sid = await pageJoin(token);
    // Past the join token's expiry, even with the 10 s clock tolerance livekit-server-sdk's verifier defaults to.
    await sleep(Math.max(0, issuedAt + (ttlS + 11) * 1000 - Date.now()));
    expect(await open(`${server.url}/rtc?access_token=${token}`), "the join token has expired").toMatchObject({
      status: 401,
    });
    await dropParticipant(server.url, room, "page");
    const rejoined = await waitFor(
      "the page to rejoin with the same identity",
      async () => {
        const p = (await rooms.listParticipants(room).catch(() => [])).find((x) => x.identity === "page");
        return p && p.sid !== sid && p.sid;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(rejoined).toMatch(/^PA_/);
  });
});
