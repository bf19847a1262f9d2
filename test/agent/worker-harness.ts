/**
 * The real agent worker (`node agent/main.ts start`) with everything it talks to, for tests that need a real job
 * in a real room: the development LiveKit server (dev/livekit/, media on the test's network namespace), the local
 * OpenAI-compatible stand-in (dev/openai/, every chat request's messages kept), and a real ingest server
 * (./ingest-server.ts, signatures verified). Every process's output (the worker, its job processes, the stand-in)
 * is kept in one string.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { AgentDispatchClient, DataPacket_Kind, RoomServiceClient } from "livekit-server-sdk";
import { type AgentEvent } from "../../contract/index.ts";
import { type DevLiveKit, startDevLiveKit } from "../../dev/livekit/server.ts";
import { type DevOpenAI, type DevOpenAIOptions, startDevOpenAI } from "../../dev/openai/server.ts";
import { freePort } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";
import { type IngestServer, startIngestServer } from "./ingest-server.ts";
import type { RemoteParticipant } from "@livekit/rtc-node";
import { joinAsVisitor, type Visitor, visitorToken } from "./room-visitor.ts";

const MAIN = fileURLToPath(new URL("../../agent/main.ts", import.meta.url));

/** The secrets a harness runs with: random per run, so that a test can look for them in the output. */
export interface HarnessSecrets {
  livekitApiKey: string;
  livekitApiSecret: string;
  ingestSecret: string;
  openaiApiKey: string;
}

/** A running worker and its surroundings. */
export interface WorkerHarness {
  livekit: DevLiveKit;
  provider: DevOpenAI;
  ingest: IngestServer;
  worker: ChildProcess;
  agentName: string;
  secrets: HarnessSecrets;
  /** Everything the worker, its job processes and the stand-in wrote so far. */
  output(): string;
  /** The `messages` of every chat-completions request the stand-in received, in order. */
  chatRequests: unknown[][];
  /**
   * Dispatches the agent into `room` for session `sessionId` (the Worker's `CreateDispatch`).
   * @param systemPrompt the dispatch's `system_prompt` (a client prompt), when given
   * @param profile the dispatch's `profile` (profiles/<id>/), when given
   */
  dispatch(room: string, sessionId: string, systemPrompt?: string, profile?: string): Promise<void>;
  /**
   * Dispatches the agent into `room` with `metadata` as given (JSON-encoded): e.g. a resumed conversation's
   * `history` and `resumed`, or metadata the contract refuses.
   */
  dispatchWith(room: string, metadata: object): Promise<void>;
  /**
   * Sends a data packet from the server (RoomService `SendData`, no sender identity) to participant `sid` in `room`.
   */
  sendServerData(room: string, sid: string, topic: string, data: Uint8Array): Promise<void>;
  /** Joins `room` as a visitor (the Worker's grants) with a microphone. */
  visitor(room: string, identity: string): Promise<Visitor & { token: string }>;
  /**
   * Joins `room` as visitor `identity`, dispatches the agent (with `profile`, when given) for `sessionId`, and waits
   * until the agent has joined, is in the visitor's room, and has finished its greeting.
   * @returns the visitor and the agent's participant as the visitor sees it
   */
  converse(
    room: string,
    sessionId: string,
    identity: string,
    profile?: string,
  ): Promise<{ visitor: Visitor & { token: string }; agent: RemoteParticipant }>;
  /** Deletes `room` (what the session does when it ends); ignores a room that is gone. */
  deleteRoom(room: string): Promise<void>;
  /** Every event ingest received for `sessionId`, in order. */
  eventsOf(sessionId: string): AgentEvent[];
  /** `eventsOf` as short names: `agent_joined`, `user speech_started`, `agent final`, … */
  types(sessionId: string): string[];
  /** Stops the worker (SIGKILL) and everything else. */
  close(): Promise<void>;
}

/**
 * Starts the servers and the worker, and waits until the worker has registered with LiveKit.
 * @param env extra environment for the worker (e.g. `LOG_LEVEL`); the connection settings are the harness's
 * @param mediaAddress the network namespace's address (test/support/netns.ts)
 * @param providerOptions options of the local provider (e.g. its instant mode, for benchmarks)
 * @throws when the worker does not register within 60 s
 */
export async function startWorkerHarness(
  mediaAddress: string,
  env: Record<string, string> = {},
  providerOptions: Omit<DevOpenAIOptions, "log" | "onChatRequest"> = {},
): Promise<WorkerHarness> {
  const secrets: HarnessSecrets = {
    livekitApiKey: `key${randomBytes(6).toString("hex")}`,
    livekitApiSecret: randomBytes(24).toString("hex"),
    ingestSecret: randomBytes(24).toString("hex"),
    openaiApiKey: `sk-test-${randomBytes(16).toString("hex")}`,
  };
  let output = "";
  const chatRequests: unknown[][] = [];
  const [livekit, provider, ingest] = await Promise.all([
    startDevLiveKit({
      host: "127.0.0.1",
      port: 0,
      mediaAddress,
      apiKey: secrets.livekitApiKey,
      apiSecret: secrets.livekitApiSecret,
    }),
    startDevOpenAI({
      ...providerOptions,
      log: (line) => (output += line + "\n"),
      onChatRequest: (m) => void chatRequests.push(m),
    }),
    startIngestServer(secrets.ingestSecret),
  ]);
  const agentName = `voice-agent-${randomBytes(3).toString("hex")}`;
  const worker = spawn(process.execPath, [MAIN, "start"], {
    env: {
      ...process.env,
      LIVEKIT_URL: livekit.url,
      LIVEKIT_API_KEY: secrets.livekitApiKey,
      LIVEKIT_API_SECRET: secrets.livekitApiSecret,
      AGENT_NAME: agentName,
      INGEST_URL: ingest.url,
      AGENT_INGEST_SECRET: secrets.ingestSecret,
      OPENAI_API_KEY: secrets.openaiApiKey,
      OPENAI_BASE_URL: provider.baseURL,
      AGENT_HEALTH_PORT: String(await freePort()),
      // The test host's CPU is shared with other suites: never report the worker full because of them.
      AGENT_LOAD_THRESHOLD: "100",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const s of [worker.stdout!, worker.stderr!]) s.on("data", (d: Buffer) => (output += d.toString()));
  const http = livekit.url.replace(/^ws/, "http");
  const dispatcher = new AgentDispatchClient(http, secrets.livekitApiKey, secrets.livekitApiSecret);
  const rooms = new RoomServiceClient(http, secrets.livekitApiKey, secrets.livekitApiSecret);
  const eventsOf = (sid: string) => ingest.requests.filter((r) => r.sessionId === sid).flatMap((r) => r.events);
  const close = async () => {
    if (worker.exitCode === null && worker.signalCode === null) {
      const exited = new Promise((r) => worker.once("exit", r));
      worker.kill("SIGKILL");
      await exited;
    }
    await Promise.all([livekit.close(), provider.close(), ingest.close()]);
  };
  try {
    await waitFor("the worker to register", () => /registered worker/.test(output), { timeoutMs: 60_000 });
  } catch (err) {
    await close();
    throw new Error(`${(err as Error).message}:\n${output.slice(-3000)}`, { cause: err });
  }
  const visitor = async (room: string, identity: string) => {
    const token = await visitorToken(secrets.livekitApiKey, secrets.livekitApiSecret, room, identity);
    return { ...(await joinAsVisitor(livekit.url, token)), token };
  };
  const types = (sid: string) =>
    eventsOf(sid).map((e) =>
      "type" in e ? e.type : "event" in e ? `${e.role} ${e.event}` : `${e.role} ${e.final ? "final" : "interim"}`,
    );
  const dispatchWith = async (room: string, metadata: object) => {
    await dispatcher.createDispatch(room, agentName, { metadata: JSON.stringify(metadata) });
  };
  const dispatch = (room: string, sessionId: string, systemPrompt?: string, profile?: string) =>
    dispatchWith(room, {
      session_id: sessionId,
      ...(systemPrompt ? { system_prompt: systemPrompt } : {}),
      ...(profile ? { profile } : {}),
    });
  return {
    livekit,
    provider,
    ingest,
    worker,
    agentName,
    secrets,
    output: () => output,
    chatRequests,
    dispatch,
    dispatchWith,
    visitor,
    converse: async (room, sessionId, identity, profile) => {
      const joined = await visitor(room, identity);
      await dispatch(room, sessionId, undefined, profile);
      await waitFor("agent_joined", () => types(sessionId).includes("agent_joined"), { timeoutMs: 60_000 });
      const inRoom = () => [...joined.room.remoteParticipants.values()].find((p) => p.identity.startsWith("agent"));
      const agent = await waitFor("the agent in the room", inRoom, { timeoutMs: 20_000 });
      // The greeting is over: every later agent speech is an answer.
      const greeted = () => types(sessionId).includes("agent speech_ended");
      await waitFor("the greeting to end", greeted, { timeoutMs: 60_000 });
      return { visitor: joined, agent };
    },
    sendServerData: async (room, sid, topic, data) =>
      rooms.sendData(room, data, DataPacket_Kind.RELIABLE, { destinationSids: [sid], topic }),
    deleteRoom: async (room) => void (await rooms.deleteRoom(room).catch(() => {})),
    eventsOf,
    types,
    close,
  };
}
