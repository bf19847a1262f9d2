/**
 * Agent dispatch with the real SDKs: a real @livekit/agents worker registers with an agent name,
 * livekit-server-sdk's AgentDispatchClient.createDispatch brings it into the room with the job metadata,
 * and RoomServiceClient.deleteRoom ends its job.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentDispatchClient, RoomServiceClient } from "livekit-server-sdk";
import { ParticipantKind, type RemoteParticipant, type Room, RoomEvent } from "@livekit/rtc-node";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { mediaAddress } from "../support/netns.ts";
import { waitFor } from "../support/wait.ts";
import { API_KEY, API_SECRET, connect } from "./support.ts";

const addr = mediaAddress();
const AGENT_NAME = "test-agent";

describe.skipIf(!addr)("agent worker protocol", () => {
  let server: DevLiveKit;
  let worker: ChildProcess;
  let markers: string;
  let workerLog = "";
  let room: Room | undefined;

  beforeAll(async () => {
    server = await startDevLiveKit({ host: "127.0.0.1", port: 0, mediaAddress: addr! });
    markers = mkdtempSync(join(tmpdir(), "lk-agent-"));
    worker = spawn(process.execPath, [fileURLToPath(new URL("fixtures/agent.ts", import.meta.url)), "start"], {
      env: {
        ...process.env,
        LIVEKIT_URL: server.url,
        LIVEKIT_API_KEY: API_KEY,
        LIVEKIT_API_SECRET: API_SECRET,
        AGENT_NAME,
        AGENT_MARKER_DIR: markers,
        AGENT_HEALTH_PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const s of [worker.stdout!, worker.stderr!]) s.on("data", (d: Buffer) => (workerLog += d.toString()));
    await waitFor("the worker to register", () => /registered worker/.test(workerLog), { timeoutMs: 45_000 });
  });
  afterAll(async () => {
    await room?.disconnect().catch(() => {});
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once("exit", r));
      worker.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (worker.exitCode === null) worker.kill("SIGKILL");
    }
    await server?.close();
    rmSync(markers, { recursive: true, force: true });
  });

  it("dispatches the job with its metadata and ends it on DeleteRoom", async () => {
    const httpUrl = server.url.replace("ws", "http");
    room = await connect(server.url, "agent-room", "visitor");
    const received: string[] = [];
    room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
      if (topic === "job" && participant) received.push(`${participant.identity} ${new TextDecoder().decode(payload)}`);
    });
    const agentJoined = new Promise<RemoteParticipant>((resolve) => room!.on(RoomEvent.ParticipantConnected, resolve));

    const dispatch = await new AgentDispatchClient(httpUrl, API_KEY, API_SECRET).createDispatch(
      "agent-room",
      AGENT_NAME,
      {
        metadata: JSON.stringify({ session_id: "s-123" }),
      },
    );
    expect(dispatch.agentName).toBe(AGENT_NAME);
    expect(dispatch.room).toBe("agent-room");

    const agent = await agentJoined;
    expect(agent.kind).toBe(ParticipantKind.AGENT);
    expect(agent.attributes["lk.agent.name"]).toBe(AGENT_NAME);
    const message = await waitFor("the agent's metadata message", () => received[0]);
    expect(message).toBe(`${agent.identity} ${JSON.stringify({ metadata: JSON.stringify({ session_id: "s-123" }) })}`);

    const listed = await new AgentDispatchClient(httpUrl, API_KEY, API_SECRET).listDispatch("agent-room");
    expect(listed.map((d) => d.id)).toEqual([dispatch.id]);
    expect(listed[0]!.state?.jobs).toHaveLength(1);

    await new RoomServiceClient(httpUrl, API_KEY, API_SECRET).deleteRoom("agent-room");
    const ended = await waitFor("the job to end", () => readdirSync(markers).find((f) => f.endsWith(".ended")));
    expect(ended).toBe(`${listed[0]!.state!.jobs[0]!.id}.ended`);
    expect(existsSync(join(markers, ended))).toBe(true);
    expect(await new RoomServiceClient(httpUrl, API_KEY, API_SECRET).listRooms()).toEqual([]);
  });
});
