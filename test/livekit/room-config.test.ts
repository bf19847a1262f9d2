/**
 * Room limits as livekit-server applies them, against the dev server with the real server SDK and raw signal
 * sockets (no media, so no network namespace): the join token's `roomConfig` sets `maxParticipants`,
 * `emptyTimeout` and `departureTimeout` when that join creates the room, and only then (pkg/service/utils.go
 * `ValidateConnectRequest` → roomallocator.go `CreateRoom`); agents are "dependent" (participant.go
 * `IsDependent`): they neither count toward `maxParticipants` nor keep a room open (room.go `Join`,
 * `CloseIfEmpty`); a join beyond the limit gets `LeaveRequest{JOIN_FAILURE}`; and every participant receives a
 * refreshed token at its join (roommanager.go `refreshToken`), so a short-lived join token stays usable for a
 * reconnect. The SDKs' side of the same rules: room-config-sdk.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import { AccessToken, AgentDispatchClient, RoomServiceClient, TokenVerifier } from "livekit-server-sdk";
import {
  DisconnectReason,
  type JoinResponse,
  type LeaveRequest,
  LeaveRequest_Action,
  type RoomConfiguration,
} from "@livekit/protocol";
import { type DevLiveKit, startDevLiveKit } from "../../dev/livekit/server.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { API_KEY, API_SECRET, configToken } from "./support.ts";
import { open, openSignal, signal } from "./raw-signal.ts";

describe("room configuration and token refresh", () => {
  let server: DevLiveKit;
  let rooms: RoomServiceClient;
  const sockets: WebSocket[] = [];
  const join = async (token: string) => {
    const ws = await openSignal(server.url, token);
    sockets.push(ws);
    return { ws, ...signal(ws) };
  };
  const listed = async (name: string) => (await rooms.listRooms([name]))[0];

  beforeAll(async () => {
    // Server defaults as livekit-server's (empty 300 s, departure 20 s); tokens expire without leeway here.
    server = await startDevLiveKit({ port: 0, tokenLeewayS: 0 });
    rooms = new RoomServiceClient(server.url.replace(/^ws/, "http"), API_KEY, API_SECRET);
  });
  afterAll(async () => {
    for (const ws of sockets) ws.close();
    await server?.close();
  });

  it("creates the room with the token's maxParticipants, emptyTimeout and departureTimeout", async () => {
    const config = { maxParticipants: 1, emptyTimeout: 40, departureTimeout: 50 };
    const visitor = await join(await configToken("cfg-created", "visitor", { config }));
    const joined = (await visitor.next("join")).message.value as JoinResponse;
    expect(joined.room).toMatchObject(config);
    expect(await listed("cfg-created")).toMatchObject(config);
  });

  it("ignores the token's configuration when the room already exists (CreateDispatch created it)", async () => {
    const http = server.url.replace(/^ws/, "http");
    await new AgentDispatchClient(http, API_KEY, API_SECRET).createDispatch("cfg-existing", "nobody-registered");
    const config = { maxParticipants: 1, emptyTimeout: 40, departureTimeout: 50 };
    await (await join(await configToken("cfg-existing", "visitor", { config }))).next("join");
    expect(await listed("cfg-existing")).toMatchObject({ maxParticipants: 0, emptyTimeout: 300, departureTimeout: 20 });
    await join(await configToken("cfg-existing", "second")).then((s) => s.next("join"));
  });

  it("refuses a second identity beyond maxParticipants with JOIN_FAILURE, but admits agents and a rejoin", async () => {
    const room = "cfg-max";
    const first = await join(await configToken(room, "visitor", { config: { maxParticipants: 1 } }));
    await first.next("join");

    const intruder = await join(await configToken(room, "intruder"));
    expect(await intruder.closed).toBe(1000);
    expect(intruder.got.map((m) => m.message.case)).toEqual(["leave"]);
    const leave = intruder.got[0]!.message.value as LeaveRequest;
    expect({ reason: leave.reason, action: leave.action }).toEqual({
      reason: DisconnectReason.JOIN_FAILURE,
      action: LeaveRequest_Action.DISCONNECT,
    });

    // An agent and its replacement while the first is still listed: neither counts.
    for (const identity of ["agent-AJ_old", "agent-AJ_new"]) {
      await (await join(await configToken(room, identity, { agent: true }))).next("join");
    }
    // The visitor rejoining with its identity replaces its older participant instead of being refused.
    const rejoined = await join(await configToken(room, "visitor"));
    await rejoined.next("join");
    expect(((await first.next("leave")).message.value as LeaveRequest).reason).toBe(
      DisconnectReason.DUPLICATE_IDENTITY,
    );
    const identities = (await rooms.listParticipants(room)).map((p) => p.identity).sort();
    expect(identities).toEqual(["agent-AJ_new", "agent-AJ_old", "visitor"]);
  });

  it("closes a room its visitor left after departureTimeout, though an agent is still in it", async () => {
    const room = "cfg-departure";
    const visitor = await join(await configToken(room, "visitor", { config: { departureTimeout: 1 } }));
    await visitor.next("join");
    const agent = await join(await configToken(room, "agent-AJ_1", { agent: true }));
    await agent.next("join");
    visitor.ws.close();
    const leave = (
      await waitFor("the room's close", () => agent.got.find((m) => m.message.case === "leave"), {
        timeoutMs: 15_000,
      })
    ).message.value as LeaveRequest;
    expect(leave.reason).toBe(DisconnectReason.ROOM_CLOSED);
    expect(await listed(room)).toBeUndefined();
  });

  it("closes a room no visitor joined after emptyTimeout, though an agent is in it; a visitor keeps it", async () => {
    const agentOnly = await join(
      await configToken("cfg-empty", "agent-AJ_2", { agent: true, config: { emptyTimeout: 1 } }),
    );
    await agentOnly.next("join");
    await waitFor("the agent-only room to close", async () => (await listed("cfg-empty")) === undefined, {
      timeoutMs: 15_000,
    });
    expect(agentOnly.got.some((m) => m.message.case === "leave")).toBe(true);

    const config = { emptyTimeout: 1, departureTimeout: 1 };
    await (await join(await configToken("cfg-kept", "visitor", { config }))).next("join");
    await sleep(3_000);
    expect(await listed("cfg-kept")).toBeDefined();
  });

  it("sends a refreshed token at the join that outlives a short-lived join token", async () => {
    const config = { maxParticipants: 1, departureTimeout: 30 };
    const original = await configToken("cfg-refresh", "visitor", { config, ttl: 2 });
    const visitor = await join(original);
    await visitor.next("join");
    const refreshed = (await visitor.next("refreshToken")).message.value as string;
    const verifier = new TokenVerifier(API_KEY, API_SECRET);
    const [before, after] = await Promise.all([verifier.verify(original), verifier.verify(refreshed)]);
    expect(after).toMatchObject({ sub: "visitor", video: before.video, roomConfig: before.roomConfig });
    expect(after.exp! - after.nbf!).toBeGreaterThanOrEqual(600);

    await sleep(3_000); // the original has expired
    expect(await open(`${server.url}/rtc?access_token=${original}`)).toMatchObject({ status: 401 });
    visitor.ws.close();
    await (await join(refreshed)).next("join");
  });

  it("refuses a token whose roomConfig livekit-server could not parse", async () => {
    const at = new AccessToken(API_KEY, API_SECRET, { identity: "visitor", ttl: 60 });
    at.addGrant({ roomJoin: true, room: "cfg-bad" });
    // protojson refuses an unknown field, and livekit-server with it the whole token.
    at.roomConfig = { maxParticipants: 1, maxVisitors: 1 } as unknown as RoomConfiguration;
    expect(await open(`${server.url}/rtc?access_token=${await at.toJwt()}`)).toMatchObject({
      status: 401,
      body: expect.stringMatching(/roomConfig/),
    });
  });
});
