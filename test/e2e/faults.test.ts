/**
 * E2E 4: the conversation under faults (issue #12), each against the whole stack on recorded speech, with
 * the faults injected where they happen in life:
 *
 * 1. Stop while the agent speaks: the interrupted reply is stored, and no ingest is refused.
 * 2. The agent's job process is killed (`kill -9`): "Reconnecting the agent…", then a replacement answers
 *    with the earlier turns in its context, and the page's transcript seq numbers have no gaps.
 * 3. The Worker unreachable from the agent for 30 s: the session survives and every final arrives after.
 * 4. LiveKit's DeleteRoom failing for 10 s: the room is deleted once it recovers.
 * 5. The visitor's network drops and comes back (a rejoin with the same identity): the session goes on.
 *
 * The fault tools are checked first (the ingest proxy really cuts and holds, the DeleteRoom fault really
 * fails calls and needs the API key), so that a failing fault test points at the product, not at its tools.
 * (OpenAI is replaced by the local stand-in provider; everything else is real.)
 */
import { kill } from "node:process";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterEach, describe, expect, inject, it } from "vitest";
import { goForwardVoiceEndMs } from "../agent/audio.ts";
import { failDeleteRoom, participantSids, postFault, dropParticipant } from "../support/livekit-faults.ts";
import { proxyControl } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait.ts";
import { heardRecording, microphoneWav } from "./audio.ts";
import { audioOnset, observed } from "./browser.ts";
import { openRooms, poll, readTranscript, words } from "./support.ts";
import { agentLines, finalCaption, jobProcesses, procInfo, stackLines, startVisit, type Visit } from "./visit.ts";

/** Received audio energy that counts as "heard" (silence stays well below). */
const HEARD = 0.0005;
const RECONNECTING = "Reconnecting the agent…";

/** The stored transcript's finals (no speech events), in `seq` order. */
async function storedFinals(v: Visit) {
  const t = await readTranscript(inject("workerUrl"), v.sessionId, v.cookie);
  return { transcript: t, finals: t.events.flatMap((e) => ("text" in e ? [e] : [])) };
}

/** Clicks Stop and waits for the page's start state. */
async function stop(v: Visit): Promise<void> {
  await v.browser.page.getByRole("button", { name: "Stop" }).click();
  await v.browser.page.getByRole("button", { name: "Start" }).waitFor({ state: "visible", timeout: 15_000 });
}

describe.skipIf(!process.env.NETNS_ADDR)("faults", () => {
  let visit: Visit | undefined;
  afterEach(async () => {
    await visit?.browser.close();
    visit = undefined;
  });

  describe("the fault tools", () => {
    it("the ingest proxy forwards to the Worker, refuses and cuts while paused, and holds in hold mode", async () => {
      const proxy = proxyControl(inject("ingestProxyControl"));
      const { port, paused } = await proxy.state();
      expect(paused, "the proxy forwards at the start").toBe(false);
      const health = () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status);
      expect(await health(), "GET /health through the proxy").toBe(200);
      try {
        const refusedBefore = (await proxy.pause("refuse")).refused;
        await expect(health(), "a request through the paused proxy fails").rejects.toThrow();
        expect((await proxy.state()).refused, "the proxy counted the refusal").toBeGreaterThan(refusedBefore);
        await proxy.pause("hold");
        const held = health();
        await waitFor("the request to be held", async () => (await proxy.state()).held > 0, poll(5_000));
        await proxy.resume();
        expect(await held, "a held request completes after resume").toBe(200);
      } finally {
        await proxy.resume();
      }
    });

    it("the DeleteRoom fault fails calls with 503 unavailable and needs the API key with roomCreate", async () => {
      const url = inject("liveKitUrl");
      const plain = { fail_next: 1 };
      await expect(postFault(url, "delete-room", plain, {}, ""), "no token").rejects.toThrow(/^fault delete-room: 401/);
      await expect(postFault(url, "delete-room", plain, { roomList: true }), "no roomCreate").rejects.toThrow(
        /^fault delete-room: 403/,
      );
      const client = new RoomServiceClient(url.replace(/^ws/, "http"), "devkey", "secret");
      try {
        expect((await failDeleteRoom(url, { failNext: 1 })).fail_next).toBe(1);
        await expect(client.deleteRoom("no-such-room"), "DeleteRoom under the fault").rejects.toMatchObject({
          status: 503,
          code: "unavailable",
        });
        await expect(client.deleteRoom("no-such-room"), "DeleteRoom after the fault").rejects.toMatchObject({
          status: 404,
        });
      } finally {
        await failDeleteRoom(url, {});
      }
    });
  });

  it("Stop while the agent speaks: the interrupted reply is stored and no ingest refusal is logged", async () => {
    visit = await startVisit(microphoneWav(inject("stackDir"), "goforward", 8, 60));
    const { page } = visit.browser;
    const userFinal = await finalCaption(visit, "user", 0, "the visitor's final caption", 90_000);
    const speaking = await waitFor(
      "the agent to start its reply",
      async () => (await observed(page)).speaking.find((s) => s.who === "agent" && s.speaking && s.t > userFinal.t),
      poll(),
    );
    await waitFor(
      "the reply's audio",
      async () => audioOnset((await observed(page)).energy, userFinal.t, HEARD),
      poll(),
    );
    const { speaking: states } = await observed(page);
    expect(states.filter((s) => s.who === "agent").at(-1)?.speaking, "the agent is still speaking at Stop").toBe(true);
    await page.getByRole("button", { name: "Stop" }).click();
    const stopAt = Date.now();

    // The agent's job ends when its room is deleted; by then it has delivered (or given up on) its last events.
    await waitFor("the agent's job to end", () => agentLines(visit!.sessionId, "job_ended").length > 0, poll(30_000));
    const { transcript, finals } = await storedFinals(visit);
    expect(transcript.status).toBe("ended");
    expect(transcript.reason).toBe("stopped");
    const user = finals.find((e) => e.role === "user");
    expect(user, "the visitor's words are stored").toBeDefined();
    const reply = finals.find((e) => e.role === "agent" && e.seq > user!.seq);
    expect.soft(reply, "the reply Stop interrupted is stored (GET /transcripts)").toBeDefined();
    if (reply) expect.soft(words(reply.text), "the stored reply is the stand-in's echo").toMatch(/^i heard you say/);
    const refusals = agentLines(visit.sessionId, "ingest_batch_refused");
    expect
      .soft(
        refusals.map((r) => `${String(r.status)} ${String(r.body)}`),
        "no ingest batch of this session was refused after Stop (agent log ingest_batch_refused)",
      )
      .toEqual([]);
    console.log(
      `[e2e figures] Stop ${stopAt - speaking.t} ms into the reply; stored reply: ` +
        `${reply ? `${reply.text.length} characters` : "none"}`,
    );
  });

  it("kill -9 of the agent's job process: Reconnecting the agent…, then a replacement answers with the earlier turns, and no seq is missing", async () => {
    const PERIOD_S = 25;
    visit = await startVisit(microphoneWav(inject("stackDir"), "goforward", 6, PERIOD_S));
    const { page } = visit.browser;
    const sessionId = visit.sessionId;
    const first = await finalCaption(visit, "user", 0, "the visitor's first final caption", 90_000);
    await finalCaption(visit, "agent", first.t, "the first agent's reply");

    // The job process of this session: named by the agent's log, confirmed by /proc as a child of the worker.
    const job = await waitFor("the session's job process", () => jobProcesses(sessionId)[0], poll(10_000));
    const proc = procInfo(job.pid);
    expect(proc, `the job process ${job.pid} is running`).not.toBeNull();
    expect(proc!.parentCmdline, "its parent is the agent worker").toContain("agent/main.ts");
    kill(job.pid, "SIGKILL");
    const killedAt = Date.now();
    const gone = () => procInfo(job.pid) === null || procInfo(job.pid)?.state === "Z";
    await waitFor("the killed job process to be gone", gone, poll(10_000));

    const reconnecting = await waitFor(
      `the page to show "${RECONNECTING}"`,
      async () =>
        (await observed(page)).texts.find((x) => x.el === "agent-state" && x.text === RECONNECTING && x.t > killedAt),
      poll(45_000),
    );
    const active = await waitFor(
      "the session to be active again (a replacement agent joined)",
      async () => {
        const frames = (await observed(page)).frames;
        const ended = frames.find((f) => f.status === "ended");
        if (ended) throw new Error(`the session ended instead (seq ${ended.seq})`);
        return frames.find((f) => f.status === "active" && f.t >= reconnecting.t);
      },
      poll(45_000),
    );
    const jobs = jobProcesses(sessionId);
    expect(new Set(jobs.map((j) => j.jobId)).size, "a second job for the session").toBeGreaterThanOrEqual(2);

    const next = await finalCaption(visit, "user", active.t, "the visitor's next final caption", 2 * PERIOD_S * 1000);
    const reply = await finalCaption(visit, "agent", next.t, "the replacement's reply");
    const earlier = Number(/you said (\d+) other thing/i.exec(reply.text)?.[1] ?? 0);
    expect
      .soft(earlier, `the replacement's context holds the earlier turns (stand-in LLM's reply: "${reply.text}")`)
      .toBeGreaterThanOrEqual(1);

    // Every broadcast message gets the next seq, interims included, so the page's one socket sees 1, 2, 3, …
    const { frames } = await observed(page);
    const seen = new Set(frames.map((f) => f.seq));
    const max = Math.max(...seen);
    const missing = Array.from({ length: max }, (_, i) => i + 1).filter((n) => !seen.has(n));
    expect.soft(missing, `transcript seq numbers the page received (1…${max}) have no gaps`).toEqual([]);
    const { finals } = await storedFinals(visit);
    const stored = finals.map((e) => e.seq);
    expect(stored, "stored finals are in seq order").toEqual([...stored].sort((a, b) => a - b));
    expect(
      stored.filter((s) => s <= max && !seen.has(s)),
      "every stored final reached the page",
    ).toEqual([]);
    await stop(visit);
    console.log(
      `[e2e figures] kill -9 → "${RECONNECTING}": ${reconnecting.t - killedAt} ms; → active again: ` +
        `${active.t - killedAt} ms; replacement's reply counts ${earlier} earlier turn(s)`,
    );
  });

  it("the Worker unreachable from the agent for 30 s: the session survives and every final arrives", async () => {
    const PERIOD_S = 20;
    const LEAD_S = 6;
    const OUTAGE_MS = 30_000;
    const proxy = proxyControl(inject("ingestProxyControl"));
    visit = await startVisit(microphoneWav(inject("stackDir"), "goforward", LEAD_S, PERIOD_S));
    const { page } = visit.browser;
    const sessionId = visit.sessionId;
    const first = await finalCaption(visit, "user", 0, "the visitor's first final caption", 90_000);
    await finalCaption(visit, "agent", first.t, "the agent's first reply");

    const pauseAt = Date.now();
    await proxy.pause("refuse");
    let resumeAt: number;
    try {
      // Watch the session for the whole outage: it must neither end nor replace its (living) agent.
      await waitFor(
        "30 s of outage",
        async () => {
          const bad = (await observed(page)).frames.find(
            (f) => f.t > pauseAt && (f.status === "ended" || f.status === "reconnecting"),
          );
          if (bad) throw new Error(`the session went "${bad.status}" during the outage (seq ${bad.seq})`);
          return Date.now() - pauseAt >= OUTAGE_MS;
        },
        { timeoutMs: OUTAGE_MS + 5_000, intervalMs: 500 },
      );
    } finally {
      resumeAt = Date.now();
      await proxy.resume();
    }
    const { refused } = await proxy.state();
    const failed = agentLines(sessionId, "ingest_request_failed").filter((l) => Date.parse(String(l.time)) > pauseAt);
    expect(refused, "the proxy refused the agent's connections").toBeGreaterThan(0);
    expect(failed.length, "the agent's ingest failed during the outage (ingest_request_failed)").toBeGreaterThan(0);
    const { frames, microphoneAt } = await observed(page);
    const leaked = frames.filter((f) => f.role && f.t > pauseAt + 1000 && f.t < resumeAt);
    expect(leaked, "nothing from the agent reached the page during the outage").toEqual([]);

    // Every utterance whose voice ended before the resume was transcribed: all of those finals must arrive.
    const spoken =
      Math.floor((resumeAt - microphoneAt! - LEAD_S * 1000 - goForwardVoiceEndMs()) / (PERIOD_S * 1000)) + 1;
    const arrived = await waitFor(
      `the ${spoken} utterances' finals and their replies to be stored`,
      async () => {
        const { finals } = await storedFinals(visit!);
        const users = finals.filter((e) => e.role === "user");
        const answered = users.every((u) => finals.some((e) => e.role === "agent" && e.seq > u.seq));
        return users.length >= spoken && answered && finals;
      },
      poll(30_000),
    );
    const users = arrived.filter((e) => e.role === "user");
    expect(
      users.some((u) => u.ts > pauseAt && u.ts < resumeAt),
      "a final made during the outage was stored after it",
    ).toBe(true);
    for (const u of users) expect(heardRecording(u.text), `user final seq ${u.seq}: "${u.text}"`).toBe("goforward");
    const { transcript } = await storedFinals(visit);
    expect(transcript.status, "the session survived the outage").toBe("active");
    const captions = (await observed(page)).captions.filter((c) => c.role === "user" && c.final);
    expect(captions.length, "the page shows every stored user final").toBeGreaterThanOrEqual(users.length);
    await stop(visit);
    console.log(
      `[e2e figures] ingest cut for ${resumeAt - pauseAt} ms: ${refused} connections refused, ` +
        `${users.length} user finals stored`,
    );
  });

  it("DeleteRoom failing for 10 s: the room is deleted once LiveKit recovers", async () => {
    const liveKitUrl = inject("liveKitUrl");
    // No speech needed: the recording starts after the test is over.
    visit = await startVisit(microphoneWav(inject("stackDir"), "goforward", 80, 90));
    const { room, sessionId } = visit;
    await finalCaption(visit, "agent", 0, "the agent's greeting");
    try {
      const faultAt = Date.now();
      await failDeleteRoom(liveKitUrl, { failForS: 10 });
      await stop(visit);
      const ended = await storedFinals(visit);
      expect(ended.transcript.status, "Stop ends the session at once").toBe("ended");

      const failures = () =>
        stackLines("livekit").filter((l) => l.msg === "fault_injected" && l.fault === "delete-room" && l.room === room);
      await waitFor("a DeleteRoom of the room to fail", () => failures().length > 0, poll(15_000));
      expect(await openRooms(liveKitUrl), "the failed DeleteRoom left the room open").toContain(room);
      await waitFor("the room to be deleted", async () => !(await openRooms(liveKitUrl)).includes(room), poll(60_000));
      const goneAt = Date.now();
      expect(failures().length, "DeleteRoom was retried while it failed").toBeGreaterThanOrEqual(2);
      await waitFor("the agent's job to end", () => agentLines(sessionId, "job_ended").length > 0, poll(20_000));
      console.log(
        `[e2e figures] DeleteRoom failing for 10 s: ${failures().length} failed calls, room deleted ` +
          `${goneAt - faultAt} ms after the fault began`,
      );
    } finally {
      await failDeleteRoom(liveKitUrl, {});
    }
  });

  it("the visitor's network drops and comes back (same identity rejoins): the session goes on", async () => {
    const PERIOD_S = 20;
    const liveKitUrl = inject("liveKitUrl");
    visit = await startVisit(microphoneWav(inject("stackDir"), "goforward", 6, PERIOD_S));
    const { page, context } = visit.browser;
    const { room, identity } = visit;
    const first = await finalCaption(visit, "user", 0, "the visitor's first final caption", 90_000);
    await finalCaption(visit, "agent", first.t, "the agent's first reply");
    const oldSid = (await participantSids(liveKitUrl, room)).get(identity);
    expect(oldSid, "the visitor is in the room").toBeDefined();

    // The drop, on both sides of the link. The browser goes offline (DevTools network emulation): its requests
    // and new connections fail, its open sockets stall, and `offline`/`online` fire as on a real network change.
    // That emulation does not reach WebRTC's media (UDP) and holds the server's close of the signal socket
    // until the network is back, so the server's side of the drop comes from the dev LiveKit server: it loses
    // the participant's signal and media at once, with no leave, as when a client's network dies (a real server
    // notices at its ping timeout). Then the network returns: livekit-client finds its signal gone, its resume
    // is refused, and it rejoins with the same identity as a new participant (new sid).
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    const network = (offline: boolean) =>
      cdp.send("Network.emulateNetworkConditions", {
        offline,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
    await network(true);
    const dropAt = Date.now();
    await dropParticipant(liveKitUrl, room, identity);
    await waitFor(
      "the server to lose the visitor",
      async () => !(await participantSids(liveKitUrl, room)).has(identity),
      poll(10_000),
    );
    await network(false);
    const backAt = Date.now();
    const newSid = await waitFor(
      "the visitor to rejoin with the same identity",
      async () => {
        const sid = (await participantSids(liveKitUrl, room)).get(identity);
        return sid !== undefined && sid !== oldSid && sid;
      },
      poll(30_000),
    );
    const rejoinedAt = Date.now();

    const next = await finalCaption(visit, "user", rejoinedAt, "the visitor's next final caption", 2 * PERIOD_S * 1000);
    const reply = await finalCaption(visit, "agent", next.t, "the agent's reply after the rejoin");
    expect(words(reply.text), "the agent answered after the rejoin").toMatch(/^i heard you say/);
    const { frames } = await observed(page);
    const ended = frames.find((f) => f.status === "ended");
    expect(ended, "the page never received the session's end").toBeUndefined();
    const { transcript } = await storedFinals(visit);
    expect(transcript.status, "the session is still active").toBe("active");
    expect(await page.locator("#chat").getAttribute("data-phase"), "the page is still live").toBe("live");
    await stop(visit);
    console.log(
      `[e2e figures] network down ${backAt - dropAt} ms; rejoined (${oldSid} → ${newSid}) ` +
        `${rejoinedAt - backAt} ms after it returned`,
    );
  });
});
