/**
 * The agent worker protocol at the wire level (a raw protobuf client standing in for a worker, so that edge
 * cases are reachable): availability answers, the assignment token's claims, a declined job going to the next
 * worker, DeleteDispatch terminating the job, and a disconnected worker losing its jobs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { AccessToken, AgentDispatchClient, TokenVerifier } from "livekit-server-sdk";
import { JobStatus, ServerMessage, WorkerMessage } from "@livekit/protocol";
import { startDevLiveKit, type DevLiveKit } from "../../dev/livekit/server.ts";
import { waitFor } from "../support/wait.ts";
import { API_KEY, API_SECRET } from "./support.ts";

type Outgoing = NonNullable<ConstructorParameters<typeof WorkerMessage>[0]>["message"];

/** A raw worker: sends WorkerMessages, queues ServerMessages. */
async function rawWorker(url: string, agentName: string) {
  const at = new AccessToken(API_KEY, API_SECRET);
  at.addGrant({ agent: true });
  const ws = new WebSocket(`${url}/agent`, { headers: { Authorization: `Bearer ${await at.toJwt()}` } });
  const inbox: ServerMessage[] = [];
  ws.on("message", (d: Buffer) => inbox.push(ServerMessage.fromBinary(new Uint8Array(d))));
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  const send = (message: Outgoing) => ws.send(new WorkerMessage({ message }).toBinary());
  /** Takes the first queued message of `kind` out of the inbox, waiting up to 10 s for one. */
  const next = async <K extends NonNullable<ServerMessage["message"]["case"]>>(kind: K) => {
    const poll = { timeoutMs: 10_000, intervalMs: 50 };
    const hit = await waitFor(`a ${kind} message`, () => inbox.find((m) => m.message.case === kind), poll);
    inbox.splice(inbox.indexOf(hit), 1);
    return hit.message.value as Extract<ServerMessage["message"], { case: K }>["value"];
  };
  send({ case: "register", value: { agentName, version: "test" } });
  const registered = await next("register");
  return { ws, send, next, inbox, workerId: registered.workerId };
}

describe("agent worker protocol (raw)", () => {
  let server: DevLiveKit;
  let dispatch: AgentDispatchClient;
  beforeAll(async () => {
    server = await startDevLiveKit({ port: 0 });
    dispatch = new AgentDispatchClient(server.url.replace("ws", "http"), API_KEY, API_SECRET);
  });
  afterAll(() => server?.close());

  it("offers a declined job to the next worker and assigns an agent token with the job's metadata", async () => {
    const first = await rawWorker(server.url, "raw-agent");
    const second = await rawWorker(server.url, "raw-agent");
    expect(first.workerId).toMatch(/^AW_/);
    second.send({ case: "updateWorker", value: { load: 0.5 } });
    const pong = first.next("pong");
    first.send({ case: "ping", value: { timestamp: 42n } });
    expect((await pong).lastTimestamp).toBe(42n);

    const created = await dispatch.createDispatch("raw-room", "raw-agent", { metadata: '{"session_id":"abc"}' });
    const offer = await first.next("availability");
    expect(offer.job?.metadata).toBe('{"session_id":"abc"}');
    expect(offer.job?.dispatchId).toBe(created.id);
    first.send({ case: "availability", value: { jobId: offer.job!.id, available: false } });

    const retry = await second.next("availability");
    second.send({
      case: "availability",
      value: {
        jobId: retry.job!.id,
        available: true,
        participantIdentity: "agent-raw",
        participantName: "Raw",
        participantAttributes: { "lk.agent.name": "raw-agent" },
      },
    });
    const assignment = await second.next("assignment");
    expect(assignment.job?.id).toBe(retry.job!.id);
    const claims = await new TokenVerifier(API_KEY, API_SECRET).verify(assignment.token);
    expect(claims).toMatchObject({
      sub: "agent-raw",
      name: "Raw",
      kind: "agent",
      attributes: { "lk.agent.name": "raw-agent" },
    });
    expect(claims.video).toMatchObject({ roomJoin: true, room: "raw-room", agent: true });

    second.send({ case: "updateJob", value: { jobId: retry.job!.id, status: JobStatus.JS_RUNNING } });
    await expect
      .poll(async () => (await dispatch.getDispatch(created.id, "raw-room"))?.state?.jobs[0]?.state?.status)
      .toBe(JobStatus.JS_RUNNING);

    await dispatch.deleteDispatch(created.id, "raw-room");
    expect((await second.next("termination")).jobId).toBe(retry.job!.id);
    first.ws.close();
    second.ws.close();
  });

  it("offers a dispatch created before any worker registered once one does", async () => {
    const created = await dispatch.createDispatch("early-room", "late-agent", { metadata: "m" });
    const late = await rawWorker(server.url, "late-agent");
    const offer = await late.next("availability");
    expect(offer.job).toMatchObject({ dispatchId: created.id, metadata: "m", room: { name: "early-room" } });
    late.ws.close();
  });

  it("marks the jobs of a worker that disconnects as failed", async () => {
    const w = await rawWorker(server.url, "flaky-agent");
    const created = await dispatch.createDispatch("flaky-room", "flaky-agent");
    const offer = await w.next("availability");
    w.send({
      case: "availability",
      value: { jobId: offer.job!.id, available: true, participantIdentity: "agent-flaky" },
    });
    await w.next("assignment");
    w.ws.terminate();
    await expect
      .poll(async () => (await dispatch.getDispatch(created.id, "flaky-room"))?.state?.jobs[0]?.state?.status)
      .toBe(JobStatus.JS_FAILED);
  });

  it("closes a worker that sends bad protobuf, without affecting others", async () => {
    const good = await rawWorker(server.url, "steady-agent");
    const bad = await rawWorker(server.url, "steady-agent");
    const closed = new Promise((r) => bad.ws.once("close", r));
    bad.ws.send(Buffer.from([0xff, 0xff, 0xff]));
    await closed;
    const pong = good.next("pong");
    good.send({ case: "ping", value: { timestamp: 7n } });
    expect((await pong).lastTimestamp).toBe(7n);
    good.ws.close();
  });
});
