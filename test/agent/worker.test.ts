/**
 * The real worker (`node agent/main.ts start`) against the development LiveKit server (dev/livekit/)
 * inside the test's network namespace: registration and health, explicit dispatch with the contract's
 * metadata, events reaching a real ingest server (signature verified), bad metadata and unknown profiles
 * reported as `agent_error`, the profile the dispatch names, the room's deletion ending the job with
 * `agent_left`, the job's own ends (ingest refusing the session, no visitor joining), a conversation continued
 * from the dispatch's history without a greeting, and SIGTERM draining with the hand-over at the deadline.
 * The local OpenAI-compatible provider stands in for the paid OpenAI API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AccessToken, AgentDispatchClient, RoomServiceClient } from "livekit-server-sdk";
import { type RemoteTrack, Room, RoomEvent, TrackKind } from "@livekit/rtc-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevLiveKit, startDevLiveKit } from "../../dev/livekit/server.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { mediaAddress } from "../support/netns.ts";
import type { AgentUsageEvent } from "../../contract/index.ts";
import { freePort } from "../support/ports.ts";
import { sampleValue } from "../support/prometheus.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";
import { type IngestServer, startIngestServer } from "./ingest-server.ts";
import { loudness, publishMicrophone } from "./room-visitor.ts";

const addr = mediaAddress();
const SECRET = "worker-test-ingest-secret-0123456789abcdef";
const AGENT_NAME = "voice-agent-test";
const main = fileURLToPath(new URL("../../agent/main.ts", import.meta.url));
const VISITOR_JOIN_TIMEOUT_S = 6;
/** The labels of the default profile's whole-turn latency series. */
const TOTAL = { profile: "assistant", stage: "total" };
/** A sample of a `/metrics` scrape; 0 when the series has no sample yet. */
const metric = (text: string, name: string, labels: Record<string, string> = {}) =>
  sampleValue(text, name, labels) ?? 0;

/** The parent process id of `pid` (Linux /proc), or null when it is gone. */
function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return null;
  }
}

/** The command lines of `pid`'s child processes (Linux /proc). */
function childCommands(pid: number): string[] {
  const commands: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after its ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== pid) continue;
      commands.push(readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " "));
    } catch {
      // the process ended meanwhile
    }
  }
  return commands;
}

const sessionId = (n: number) => `sessionTest${String(n).padStart(11, "0")}`; // 22 base64url characters

describe.skipIf(!addr)("agent worker with the development LiveKit server", () => {
  let livekit: DevLiveKit;
  let provider: DevOpenAI;
  let ingest: IngestServer;
  let worker: ChildProcess;
  let exited: Promise<number | null>;
  let output = "";
  let healthUrl = "";
  let dispatch: AgentDispatchClient;
  let rooms: RoomServiceClient;

  beforeAll(async () => {
    [livekit, provider, ingest] = await Promise.all([
      startDevLiveKit({ host: "127.0.0.1", port: 0, mediaAddress: addr! }),
      startDevOpenAI({ log: (line) => (output += line + "\n") }),
      startIngestServer(SECRET),
    ]);
    const healthPort = await freePort();
    healthUrl = `http://127.0.0.1:${healthPort}`;
    worker = spawn(process.execPath, [main, "start"], {
      env: {
        ...process.env,
        LIVEKIT_URL: livekit.url,
        LIVEKIT_API_KEY: "devkey",
        LIVEKIT_API_SECRET: "secret",
        AGENT_NAME,
        INGEST_URL: ingest.url,
        AGENT_INGEST_SECRET: SECRET,
        OPENAI_API_KEY: "sk-local-stand-in",
        OPENAI_BASE_URL: provider.baseURL,
        AGENT_HEALTH_PORT: String(healthPort),
        DRAIN_TIMEOUT_S: "4",
        VISITOR_JOIN_TIMEOUT_S: String(VISITOR_JOIN_TIMEOUT_S),
        // The test host's CPU is shared with other suites: never report the worker full because of them.
        AGENT_LOAD_THRESHOLD: "100",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const s of [worker.stdout!, worker.stderr!]) s.on("data", (d: Buffer) => (output += d.toString()));
    exited = new Promise((r) => worker.once("exit", (code) => r(code)));
    const http = livekit.url.replace(/^ws/, "http");
    dispatch = new AgentDispatchClient(http, "devkey", "secret");
    rooms = new RoomServiceClient(http, "devkey", "secret");
    await waitFor("the worker to register", () => /registered worker/.test(output), { timeoutMs: 60_000 });
  });
  afterAll(async () => {
    if (process.env.AGENT_TEST_LOG) (await import("node:fs")).writeFileSync(process.env.AGENT_TEST_LOG, output);
    if (worker.exitCode === null) worker.kill("SIGKILL");
    await Promise.all([livekit?.close(), provider?.close(), ingest?.close()]);
  });

  /** The agent's own log lines (contract/log.ts shape) about session `sid` with event `msg`. */
  const logLines = (sid: string, msg: string) =>
    output
      .split("\n")
      .filter((l) => l.startsWith("{") && l.includes(`"msg":"${msg}"`) && l.includes(sid))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const leftDetail = (sid: string) =>
    (eventsOf(sid).find((e) => "type" in e && e.type === "agent_left") as { detail?: string } | undefined)?.detail;
  const scrape = async () => (await fetch(`${healthUrl}/metrics`)).text();
  const eventsOf = (sid: string) => ingest.requests.filter((r) => r.sessionId === sid).flatMap((r) => r.events);
  const types = (sid: string) =>
    eventsOf(sid).map((e) =>
      "type" in e ? e.type : "event" in e ? `${e.role} ${e.event}` : `${e.role} ${e.final ? "final" : "interim"}`,
    );

  it("is healthy once registered and reports its agent name", async () => {
    expect((await fetch(`${healthUrl}/`)).status).toBe(200);
    expect(await (await fetch(`${healthUrl}/worker`)).json()).toMatchObject({ agent_name: AGENT_NAME, active_jobs: 0 });
  });

  it("adapts the framework: warmed job processes and no inference process (agent/framework/)", async () => {
    const jobProcess = () => childCommands(worker.pid!).some((c) => c.includes("job_proc_lazy_main"));
    await waitFor("a warmed job process", jobProcess, { timeoutMs: 30_000 });
    expect(childCommands(worker.pid!).filter((c) => c.includes("inference_proc_lazy_main"))).toEqual([]);
    expect(output).not.toContain("framework_adaptation_skipped");
  });

  it("joins a dispatched room, posts signed events, and leaves when the room is deleted", async () => {
    const sid = sessionId(1);
    await dispatch.createDispatch("room-one", AGENT_NAME, { metadata: JSON.stringify({ session_id: sid }) });
    await waitFor("agent_joined", () => types(sid).includes("agent_joined"), { timeoutMs: 45_000 });
    expect(ingest.requests.filter((r) => r.sessionId === sid).every((r) => r.verdict === "ok")).toBe(true);
    expect(eventsOf(sid)[0]!.id).toMatch(/^[^:]+:1$/);
    const jobId = eventsOf(sid)[0]!.id.split(":")[0];
    expect(ingest.requests.filter((r) => r.sessionId === sid).every((r) => r.jobId === jobId)).toBe(true);
    // job_started names the job process: a child of the worker (a fault test kills it by this pid).
    const [started] = logLines(sid, "job_started");
    expect(started).toMatchObject({ job_id: jobId, pid: expect.any(Number), history_items: 0, profile: "assistant" });
    expect(parentOf(started!.pid as number)).toBe(worker.pid);

    await rooms.deleteRoom("room-one");
    await waitFor("agent_left", () => types(sid).includes("agent_left"), { timeoutMs: 20_000 });
    expect(types(sid).filter((t) => t === "agent_error")).toEqual([]);
    expect(leftDetail(sid)).toMatch(/^room disconnected/);
  });

  it("leaves a room no visitor joins within VISITOR_JOIN_TIMEOUT_S", async () => {
    const sid = sessionId(7);
    await dispatch.createDispatch("room-seven", AGENT_NAME, { metadata: JSON.stringify({ session_id: sid }) });
    await waitFor("agent_joined", () => types(sid).includes("agent_joined"), { timeoutMs: 45_000 });
    const joinedAt = Date.now();
    await waitFor("agent_left", () => types(sid).includes("agent_left"), { timeoutMs: 30_000 });
    expect(leftDetail(sid)).toBe(`no visitor joined within ${VISITOR_JOIN_TIMEOUT_S} s`);
    // Counted from the room join, which came a little before agent_joined.
    expect(Date.now() - joinedAt).toBeGreaterThan((VISITOR_JOIN_TIMEOUT_S - 3) * 1000);
    await waitFor("job_ended", () => logLines(sid, "job_ended").length > 0, { timeoutMs: 10_000 });
    expect(logLines(sid, "job_ended")[0]).toMatchObject({ reason: "no_visitor" });
    await rooms.deleteRoom("room-seven").catch(() => {});
  });

  it("reports bad dispatch metadata as agent_error and leaves", async () => {
    const sid = sessionId(2);
    await dispatch.createDispatch("room-two", AGENT_NAME, {
      metadata: JSON.stringify({ session_id: sid, system_prompt: "" }),
    });
    const agentError = () => eventsOf(sid).find((e) => "type" in e && e.type === "agent_error");
    const error = await waitFor("agent_error", agentError, { timeoutMs: 45_000 });
    expect(error).toMatchObject({ detail: expect.stringMatching(/system_prompt/) });
    expect(types(sid)).not.toContain("agent_joined");
    await rooms.deleteRoom("room-two").catch(() => {});
  });

  it("runs the profile the dispatch names, and refuses one it does not have", async () => {
    const planner = sessionId(10);
    await dispatch.createDispatch("room-ten", AGENT_NAME, {
      metadata: JSON.stringify({ session_id: planner, profile: "planner", timezone: "Europe/Berlin" }),
    });
    await waitFor("agent_joined", () => types(planner).includes("agent_joined"), { timeoutMs: 45_000 });
    expect(logLines(planner, "job_started")[0]).toMatchObject({ profile: "planner" });
    await rooms.deleteRoom("room-ten").catch(() => {});

    const unknown = sessionId(11);
    await dispatch.createDispatch("room-eleven", AGENT_NAME, {
      metadata: JSON.stringify({ session_id: unknown, profile: "coach" }),
    });
    const agentError = () => eventsOf(unknown).find((e) => "type" in e && e.type === "agent_error");
    const error = await waitFor("agent_error", agentError, { timeoutMs: 45_000 });
    expect(error).toMatchObject({
      detail: expect.stringMatching(/^unknown profile "coach" \(this agent has: .*planner/),
    });
    expect(logLines(unknown, "job_refused")[0]).toMatchObject({ reason: expect.stringMatching(/unknown profile/) });
    expect(types(unknown)).not.toContain("agent_joined");
    await rooms.deleteRoom("room-eleven").catch(() => {});
  });

  /** Joins `room` as a visitor with a microphone; resolves the agent's audio track once subscribed. */
  async function visitorIn(room: string, identity: string) {
    const at = new AccessToken("devkey", "secret", { identity, ttl: "10m" });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    const visitor = new Room();
    const agentTrack = new Promise<RemoteTrack>((resolve) =>
      visitor.on(
        RoomEvent.TrackSubscribed,
        (track, _pub, p) => track.kind === TrackKind.KIND_AUDIO && p.identity.startsWith("agent") && resolve(track),
      ),
    );
    await visitor.connect(livekit.url, await at.toJwt(), { autoSubscribe: true, dynacast: false });
    return { visitor, agentTrack, mic: await publishMicrophone(visitor) };
  }

  it("hears a visitor's real speech through the room and posts the transcript", async () => {
    const sid = sessionId(5);
    const { visitor, mic } = await visitorIn("room-five", "visitor-5");
    try {
      await dispatch.createDispatch("room-five", AGENT_NAME, { metadata: JSON.stringify({ session_id: sid }) });
      await waitFor("agent_joined", () => types(sid).includes("agent_joined"), { timeoutMs: 45_000 });
      await sleep(1000);
      mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
      const userFinal = () => eventsOf(sid).find((e) => "final" in e && e.final && e.role === "user");
      const final = await waitFor("the user's final transcript", userFinal, { timeoutMs: 45_000 });
      // The exact words are asserted on the raw recording in pipeline.test.ts; through Opus and a
      // CPU shared with other suites, pocketsphinx hears the room's copy less exactly (e.g. "go forward years").
      expect((final as { text: string }).text.split(" ").length).toBeGreaterThanOrEqual(2);
      expect(types(sid).indexOf("user speech_started")).toBeLessThan(types(sid).indexOf("user final"));
    } finally {
      mic.stop();
      await visitor.disconnect();
      await rooms.deleteRoom("room-five").catch(() => {}); // Stop: the Worker deletes the room
    }
    await waitFor("agent_left", () => types(sid).includes("agent_left"), { timeoutMs: 30_000 });
  });

  it("answers by voice through the room, the visitor hears it, and the turn shows in usage events and /metrics", async () => {
    // LiveKit Agents plays nothing until its track has a subscriber (rtc-node waitForSubscription, fed by
    // the server's SignalResponse.trackSubscribed; dev/livekit sends it, test/livekit/subscription.test.ts).
    const sid = sessionId(6);
    const turnsBefore = metric(await scrape(), "voice_agent_turn_latency_seconds_count", TOTAL);
    const { visitor, agentTrack, mic } = await visitorIn("room-six", "visitor-6");
    try {
      await dispatch.createDispatch("room-six", AGENT_NAME, { metadata: JSON.stringify({ session_id: sid }) });
      const greeting = loudness(await agentTrack, 10_000);
      await waitFor("the greeting to end", () => types(sid).includes("agent speech_ended"), { timeoutMs: 45_000 });
      expect(await greeting).toBeGreaterThan(0.01); // the visitor heard the greeting
      expect(metric(await scrape(), "voice_agent_active_jobs")).toBeGreaterThanOrEqual(1);
      mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
      // The answer repeats what the agent heard (dev/openai/chat.ts scriptedReply). Through Opus on a CPU shared with
      // other suites pocketsphinx may hear the room's copy as "go forward ten years": the exact words are asserted on
      // the raw recording in pipeline.test.ts, here that the reply answers the visitor's final transcript.
      const heard = () => eventsOf(sid).flatMap((e) => ("final" in e && e.final && e.role === "user" ? [e.text] : []));
      const answer = () =>
        eventsOf(sid).find(
          (e) =>
            "text" in e && e.role === "agent" && heard().some((text) => e.text.includes(`I heard you say: ${text}`)),
        );
      await waitFor("the agent's answer to the visitor's final transcript", answer, { timeoutMs: 45_000 });
      // The job process's turn reached the worker's main process (agent/framework/job-channel.ts) and its scrape.
      const scraped = await waitFor(
        "the turn in /metrics",
        async () => {
          const text = await scrape();
          return metric(text, "voice_agent_turn_latency_seconds_count", TOTAL) > turnsBefore ? text : undefined;
        },
        { timeoutMs: 30_000 },
      );
      expect(metric(scraped, "voice_agent_llm_tokens_total", { profile: "assistant", kind: "output" })).toBeGreaterThan(
        0,
      );
      expect(metric(scraped, "voice_agent_tts_characters_total", { profile: "assistant" })).toBeGreaterThan(0);
      // …and the session's summary got the turn's latency (contract/usage.ts).
      const usage = eventsOf(sid).filter((e) => "type" in e && e.type === "usage") as AgentUsageEvent[];
      expect(usage.flatMap((e) => e.turn_latencies_ms)).toHaveLength(1);
      expect(usage.reduce((n, e) => n + e.usage.llm_output_tokens, 0)).toBeGreaterThan(0);
    } finally {
      mic.stop();
      await visitor.disconnect();
      await rooms.deleteRoom("room-six").catch(() => {});
    }
    await waitFor("agent_left", () => types(sid).includes("agent_left"), { timeoutMs: 30_000 });
    const ended = metric(await scrape(), "voice_agent_jobs_ended_total", { reason: "room_disconnected" });
    expect(ended).toBeGreaterThanOrEqual(1);
  });

  it("ends its job when ingest refuses the session (409 session_ended): leaves the room", async () => {
    const sid = sessionId(8);
    const { visitor, mic } = await visitorIn("room-eight", "visitor-8");
    try {
      await dispatch.createDispatch("room-eight", AGENT_NAME, { metadata: JSON.stringify({ session_id: sid }) });
      await waitFor("agent_joined", () => types(sid).includes("agent_joined"), { timeoutMs: 45_000 });
      const agentIn = async () =>
        (await rooms.listParticipants("room-eight")).some((p) => p.identity.startsWith("agent"));
      expect(await agentIn()).toBe(true);
      ingest.refusals.set(sid, { status: 409, code: "session_ended" }); // the next heartbeat is refused
      await waitFor("the agent to leave the room", async () => !(await agentIn()), { timeoutMs: 20_000 });
      await waitFor("job_ended", () => logLines(sid, "job_ended").length > 0, { timeoutMs: 10_000 });
      expect(logLines(sid, "job_ended")[0]).toMatchObject({
        reason: "ingest_refused",
        ingest_status: 409,
        ingest_code: "session_ended",
      });
      const refusedAt = ingest.requests.filter((r) => r.sessionId === sid).length;
      await sleep(6000); // a heartbeat interval: nothing more is sent
      expect(ingest.requests.filter((r) => r.sessionId === sid)).toHaveLength(refusedAt);
    } finally {
      ingest.refusals.delete(sid);
      mic.stop();
      await visitor.disconnect();
      await rooms.deleteRoom("room-eight").catch(() => {});
    }
  });

  it("continues a conversation from the dispatch's history: no greeting, and it answers", async () => {
    const sid = sessionId(9);
    const history = [
      { role: "user", text: "Hello, can you hear me?" },
      { role: "agent", text: "Yes, loud and clear." },
    ];
    const { visitor, mic } = await visitorIn("room-nine", "visitor-9");
    try {
      await dispatch.createDispatch("room-nine", AGENT_NAME, {
        metadata: JSON.stringify({ session_id: sid, history }),
      });
      await waitFor("agent_joined", () => types(sid).includes("agent_joined"), { timeoutMs: 45_000 });
      expect(logLines(sid, "job_started")[0]).toMatchObject({ history_items: 2 });
      await sleep(4000); // a new conversation's greeting starts within a second or two of agent_joined
      expect(types(sid).filter((t) => t.startsWith("agent "))).toEqual([]);
      mic.say(resampleLinear(goForward(), GOFORWARD_RATE, 48_000));
      const answer = () =>
        eventsOf(sid).find((e) => "text" in e && e.role === "agent" && /I heard you say/.test(e.text));
      const reply = await waitFor("the agent's answer", answer, { timeoutMs: 45_000 });
      // The stand-in counts the earlier user messages in the context it got (dev/openai/chat.ts): the history's.
      expect((reply as { text: string }).text).toContain(
        `Before that, you said 1 other thing, first "${history[0]!.text.split(" ").slice(0, 8).join(" ")}".`,
      );
      // The history is context, not new transcript: never posted again.
      expect(eventsOf(sid).filter((e) => "text" in e && history.some((h) => h.text === e.text))).toEqual([]);
    } finally {
      mic.stop();
      await visitor.disconnect();
      await rooms.deleteRoom("room-nine").catch(() => {});
    }
  });

  it("drains on SIGTERM: refuses new jobs, lets the running job run up to DRAIN_TIMEOUT_S, then hands it over", async () => {
    const sid = sessionId(3);
    const { visitor, mic } = await visitorIn("room-three", "visitor-3"); // a conversation, not an empty room
    await dispatch.createDispatch("room-three", AGENT_NAME, { metadata: JSON.stringify({ session_id: sid }) });
    await waitFor("agent_joined", () => types(sid).includes("agent_joined"), { timeoutMs: 45_000 });
    const termAt = Date.now();
    worker.kill("SIGTERM");
    await sleep(2000);
    expect(worker.exitCode).toBe(null); // still draining: the job is running
    expect(types(sid)).not.toContain("agent_left");
    const late = sessionId(4);
    await dispatch
      .createDispatch("room-four", AGENT_NAME, { metadata: JSON.stringify({ session_id: late }) })
      .catch(() => {});
    const code = await exited;
    const drainedFor = Date.now() - termAt;
    expect(drainedFor).toBeGreaterThanOrEqual(3_900); // DRAIN_TIMEOUT_S=4
    expect(drainedFor).toBeLessThan(20_000);
    mic.stop();
    await visitor.disconnect();
    // Closed at the deadline and flushed, saying why: the session dispatches a replacement with the history.
    expect(leftDetail(sid)).toBe("worker draining");
    expect(logLines(sid, "job_ended")[0]).toMatchObject({ reason: "worker_draining", flushed: true });
    expect(output).toMatch(/"msg":"drain_handed_over","jobs":1,"still_running":0/);
    expect(eventsOf(late)).toEqual([]); // a draining worker takes no new job
    expect(code).toBe(0);
  });
});
