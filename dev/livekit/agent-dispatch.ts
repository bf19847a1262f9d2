/**
 * The agent worker protocol (`/agent`) and explicit dispatch: workers register with an agent name; a dispatch
 * becomes a job offered to an available worker of that name (`availability`), then assigned with a join token
 * for an agent-kind participant (`assignment`); deleting the room or the dispatch terminates the job.
 * See docs/livekit.md, "Agent worker protocol", and @livekit/agents 1.9 worker.js.
 */
import type { WebSocket } from "ws";
import {
  AgentDispatch,
  AgentDispatchState,
  AvailabilityRequest,
  AvailabilityResponse,
  Job,
  JobAssignment,
  JobState,
  JobStatus,
  JobTermination,
  JobType,
  RegisterWorkerResponse,
  ServerInfo,
  ServerMessage,
  WorkerMessage,
  WorkerPong,
  WorkerStatus,
} from "@livekit/protocol";
import { AccessToken } from "livekit-server-sdk";
import { type Room, type RoomRegistry, newId } from "./rooms.ts";
import { log } from "./log.ts";

/** How long a worker may take to answer an availability request, ms. */
const AVAILABILITY_TIMEOUT_MS = 10_000;

interface WorkerConn {
  id: string;
  ws: WebSocket;
  agentName: string;
  status: WorkerStatus;
  load: number;
  jobs: Set<string>;
  waiting: Map<string, (res: AvailabilityResponse) => void>;
}

interface DispatchEntry {
  dispatch: AgentDispatch;
  /** Workers that declined this dispatch's job; not asked again. */
  declined: Set<string>;
  assigning: boolean;
}

/** Registered workers, dispatches and their jobs for one server. */
export class AgentDispatcher {
  private readonly workers = new Map<string, WorkerConn>();
  private readonly dispatches = new Map<string, DispatchEntry>();
  private readonly registry: RoomRegistry;
  private readonly apiKey: string;
  private readonly apiSecret: string;
  private readonly serverInfo: ServerInfo;

  constructor(registry: RoomRegistry, opts: { apiKey: string; apiSecret: string; serverInfo: ServerInfo }) {
    this.registry = registry;
    this.apiKey = opts.apiKey;
    this.apiSecret = opts.apiSecret;
    this.serverInfo = opts.serverInfo;
    registry.on("room_finished", (room: Room) => this.endRoom(room.name));
  }

  /** Serves one worker connection (its token was verified: `video.agent`). */
  acceptWorker(ws: WebSocket): void {
    const worker: WorkerConn = {
      id: newId("AW_"),
      ws,
      agentName: "",
      status: WorkerStatus.WS_FULL,
      load: 0,
      jobs: new Set(),
      waiting: new Map(),
    };
    ws.on("message", (data, isBinary) => {
      let msg: WorkerMessage;
      try {
        if (!isBinary) throw new Error("text frame (protobuf binary expected)");
        msg = WorkerMessage.fromBinary(new Uint8Array(data as Buffer));
      } catch (err) {
        log.warn("bad_worker_message", { worker_id: worker.id, reason: err });
        ws.close(1003, "bad worker message");
        return;
      }
      this.onWorkerMessage(worker, msg);
    });
    ws.on("close", () => this.dropWorker(worker));
    ws.on("error", (err) => log.warn("worker_socket_error", { worker_id: worker.id, reason: err }));
  }

  /** CreateDispatch: records the dispatch (creating the room if needed) and offers its job to a worker. */
  create(req: {
    agentName: string;
    room: string;
    metadata: string;
    attributes?: Record<string, string>;
  }): AgentDispatch {
    this.registry.getOrCreate(req.room);
    const dispatch = new AgentDispatch({
      id: newId("AD_"),
      agentName: req.agentName,
      room: req.room,
      metadata: req.metadata,
      attributes: req.attributes ?? {},
      state: new AgentDispatchState({ createdAt: BigInt(Date.now()) * 1_000_000n }),
    });
    this.dispatches.set(dispatch.id, { dispatch, declined: new Set(), assigning: false });
    log.info("dispatch_created", { room: req.room, agent_name: req.agentName, dispatch_id: dispatch.id });
    void this.assign(dispatch.id);
    return dispatch;
  }

  /** DeleteDispatch: terminates its jobs; undefined when no such dispatch in that room. */
  delete(dispatchId: string, room: string): AgentDispatch | undefined {
    const entry = this.dispatches.get(dispatchId);
    if (!entry || entry.dispatch.room !== room) return undefined;
    this.dispatches.delete(dispatchId);
    this.terminate(entry);
    entry.dispatch.state!.deletedAt = BigInt(Date.now()) * 1_000_000n;
    return entry.dispatch;
  }

  /** ListDispatch: the room's dispatches (or the one with `dispatchId`). */
  list(room: string, dispatchId = ""): AgentDispatch[] {
    return [...this.dispatches.values()]
      .map((e) => e.dispatch)
      .filter((d) => d.room === room && (!dispatchId || d.id === dispatchId));
  }

  /** Closes every worker connection (server shutdown). */
  close(): void {
    for (const w of this.workers.values()) w.ws.close(1001, "server shutdown");
  }

  private onWorkerMessage(worker: WorkerConn, msg: WorkerMessage): void {
    const m = msg.message;
    switch (m.case) {
      case "register":
        worker.agentName = m.value.agentName;
        worker.status = WorkerStatus.WS_AVAILABLE;
        this.workers.set(worker.id, worker);
        this.sendTo(worker, {
          case: "register",
          value: new RegisterWorkerResponse({ workerId: worker.id, serverInfo: this.serverInfo }),
        });
        log.info("agent_worker_registered", {
          worker_id: worker.id,
          agent_name: worker.agentName,
          version: m.value.version,
        });
        this.assignPending(worker.agentName);
        return;
      case "availability":
        worker.waiting.get(m.value.jobId)?.(m.value);
        return;
      case "updateWorker": {
        const wasAvailable = worker.status === WorkerStatus.WS_AVAILABLE;
        worker.status = m.value.status ?? worker.status;
        worker.load = m.value.load;
        if (!wasAvailable && worker.status === WorkerStatus.WS_AVAILABLE) this.assignPending(worker.agentName);
        return;
      }
      case "updateJob":
        return this.updateJob(worker, m.value.jobId, m.value.status, m.value.error);
      case "ping":
        this.sendTo(worker, {
          case: "pong",
          value: new WorkerPong({ lastTimestamp: m.value.timestamp, timestamp: BigInt(Date.now()) }),
        });
        return;
      case undefined:
        log.warn("unknown_worker_message", { worker_id: worker.id });
        worker.ws.close(1003, "unknown worker message");
        return;
      default:
        log.debug("worker_message_ignored", { worker_id: worker.id, message: m.case });
    }
  }

  /** Offers every dispatch of `agentName` that has no job yet (a worker registered or became available). */
  private assignPending(agentName: string): void {
    for (const [id, e] of this.dispatches) if (e.dispatch.agentName === agentName) void this.assign(id);
  }

  private async assign(dispatchId: string): Promise<void> {
    const entry = this.dispatches.get(dispatchId);
    if (!entry || entry.assigning || entry.dispatch.state!.jobs.length > 0) return;
    entry.assigning = true;
    try {
      for (;;) {
        const worker = this.pickWorker(entry);
        if (!worker) {
          log.info("dispatch_waiting_for_worker", { dispatch_id: dispatchId, agent_name: entry.dispatch.agentName });
          return;
        }
        if (await this.offer(worker, entry)) return;
        entry.declined.add(worker.id);
      }
    } finally {
      entry.assigning = false;
    }
  }

  private pickWorker(entry: DispatchEntry): WorkerConn | undefined {
    return [...this.workers.values()]
      .filter(
        (w) =>
          w.agentName === entry.dispatch.agentName &&
          w.status === WorkerStatus.WS_AVAILABLE &&
          !entry.declined.has(w.id),
      )
      .sort((a, b) => a.load - b.load)[0];
  }

  /** Offers the dispatch's job to one worker; true when it accepted and was assigned. */
  private async offer(worker: WorkerConn, entry: DispatchEntry): Promise<boolean> {
    const d = entry.dispatch;
    const room = this.registry.rooms.get(d.room);
    if (!room) return true;
    const job = new Job({
      id: newId("AJ_"),
      dispatchId: d.id,
      type: JobType.JT_ROOM,
      room: room.info(),
      metadata: d.metadata,
      agentName: d.agentName,
      attributes: d.attributes,
      state: new JobState({ status: JobStatus.JS_PENDING, workerId: worker.id, updatedAt: BigInt(Date.now()) }),
    });
    const answer = await new Promise<AvailabilityResponse | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), AVAILABILITY_TIMEOUT_MS);
      worker.waiting.set(job.id, (res) => {
        clearTimeout(timer);
        resolve(res);
      });
      this.sendTo(worker, { case: "availability", value: new AvailabilityRequest({ job, resuming: false }) });
    });
    worker.waiting.delete(job.id);
    if (!answer?.available || !this.dispatches.has(d.id) || !this.workers.has(worker.id)) return false;
    const identity = answer.participantIdentity || `agent-${job.id}`;
    job.state!.participantIdentity = identity;
    const token = new AccessToken(this.apiKey, this.apiSecret, {
      identity,
      name: answer.participantName || undefined,
      metadata: answer.participantMetadata || undefined,
      attributes: answer.participantAttributes,
      ttl: "6h",
    });
    token.kind = "agent";
    token.addGrant({
      roomJoin: true,
      room: d.room,
      canPublish: true,
      canSubscribe: true,
      canPublishData: true,
      canUpdateOwnMetadata: true,
      agent: true,
    });
    d.state!.jobs.push(job);
    worker.jobs.add(job.id);
    this.sendTo(worker, { case: "assignment", value: new JobAssignment({ job, token: await token.toJwt() }) });
    log.info("job_assigned", { room: d.room, job_id: job.id, worker_id: worker.id, identity });
    return true;
  }

  private updateJob(worker: WorkerConn, jobId: string, status: JobStatus, error: string): void {
    for (const { dispatch } of this.dispatches.values()) {
      const job = dispatch.state!.jobs.find((j) => j.id === jobId);
      if (!job?.state) continue;
      job.state.status = status;
      job.state.error = error;
      job.state.updatedAt = BigInt(Date.now());
    }
    if (status === JobStatus.JS_SUCCESS || status === JobStatus.JS_FAILED) worker.jobs.delete(jobId);
  }

  /** Sends `termination` for every running job of the dispatch. */
  private terminate(entry: DispatchEntry): void {
    for (const job of entry.dispatch.state!.jobs) {
      const worker = this.workers.get(job.state?.workerId ?? "");
      if (!worker || !worker.jobs.delete(job.id)) continue;
      this.sendTo(worker, { case: "termination", value: new JobTermination({ jobId: job.id }) });
      log.info("job_terminated", { room: entry.dispatch.room, job_id: job.id, worker_id: worker.id });
    }
  }

  private endRoom(roomName: string): void {
    for (const [id, entry] of this.dispatches) {
      if (entry.dispatch.room !== roomName) continue;
      this.dispatches.delete(id);
      this.terminate(entry);
    }
  }

  /** A disconnected worker loses its jobs (marked failed) and is never offered another. */
  private dropWorker(worker: WorkerConn): void {
    if (!this.workers.delete(worker.id)) return;
    for (const { dispatch } of this.dispatches.values()) {
      for (const job of dispatch.state!.jobs) {
        if (job.state?.workerId === worker.id && worker.jobs.has(job.id)) {
          job.state.status = JobStatus.JS_FAILED;
          job.state.error = "worker disconnected";
        }
      }
    }
    log.info("agent_worker_disconnected", {
      worker_id: worker.id,
      agent_name: worker.agentName,
      lost_jobs: worker.jobs.size,
    });
  }

  private sendTo(worker: WorkerConn, message: ServerMessage["message"]): void {
    if (worker.ws.readyState === worker.ws.OPEN) worker.ws.send(new ServerMessage({ message }).toBinary());
  }
}
