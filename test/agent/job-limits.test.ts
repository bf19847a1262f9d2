/**
 * A job's own limits (agent/job-limits.ts) on a fake room and fake timers: the session-length backstop
 * (`MAX_SESSION_S` + 30 s) and the visitor join timeout. The real room is in worker.test.ts ("leaves a room no
 * visitor joins").
 */
import { ParticipantKind, type RemoteParticipant } from "@livekit/rtc-node";
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SESSION_SLACK_S } from "../../agent/config.ts";
import { isVisitor, type JobLimit, JobLimits, type WatchedRoom } from "../../agent/job-limits.ts";

/** A room with participants that can join. */
class FakeRoom extends EventEmitter implements WatchedRoom {
  remoteParticipants = new Map<string, RemoteParticipant>();
  join(identity: string, kind: ParticipantKind = ParticipantKind.STANDARD): void {
    const p = { identity, kind } as RemoteParticipant;
    this.remoteParticipants.set(identity, p);
    this.emit("participantConnected", p);
  }
}

let reached: JobLimit[];
let limits: JobLimits | null = null;
const start = (maxSessionS = 900, visitorJoinTimeoutS = 30) =>
  (limits = new JobLimits({ maxSessionS, visitorJoinTimeoutS, onReached: (l) => reached.push(l) }));

beforeEach(() => {
  vi.useFakeTimers();
  reached = [];
});
afterEach(() => {
  limits?.stop();
  limits = null;
  vi.useRealTimers();
});

describe("job limits", () => {
  it("tells the visitor from agents by kind and by the reserved identity prefix", () => {
    expect(isVisitor({ identity: "visitor-1", kind: ParticipantKind.STANDARD })).toBe(true);
    expect(isVisitor({ identity: "someone", kind: ParticipantKind.AGENT })).toBe(false);
    expect(isVisitor({ identity: "agent-AJ_1", kind: ParticipantKind.STANDARD })).toBe(false);
    expect(isVisitor({ identity: "Agent-x", kind: ParticipantKind.STANDARD })).toBe(false);
  });

  it(`ends a job MAX_SESSION_S + ${SESSION_SLACK_S} s after it started, even with a visitor in the room`, () => {
    const room = new FakeRoom();
    room.join("visitor-1");
    start(900).watchRoom(room);
    expect(limits!.maxSessionMs).toBe((900 + SESSION_SLACK_S) * 1000);
    vi.advanceTimersByTime((900 + SESSION_SLACK_S) * 1000 - 1);
    expect(reached).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reached).toEqual(["max_session"]);
    vi.advanceTimersByTime(3_600_000);
    expect(reached).toEqual(["max_session"]); // once
  });

  it("ends a job whose room has no visitor within VISITOR_JOIN_TIMEOUT_S of joining; agents do not count", () => {
    const room = new FakeRoom();
    room.join("agent-AJ_old", ParticipantKind.AGENT); // e.g. the agent being replaced, still leaving
    const l = start(900, 30);
    vi.advanceTimersByTime(5000); // connecting
    l.watchRoom(room);
    room.join("helper", ParticipantKind.AGENT);
    vi.advanceTimersByTime(29_999);
    expect(reached).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(reached).toEqual(["no_visitor"]);
    expect(l.visitorSeen).toBe(false);
  });

  it("keeps the job when the visitor joins in time, or was there already", () => {
    const room = new FakeRoom();
    const l = start(900, 30);
    l.watchRoom(room);
    vi.advanceTimersByTime(20_000);
    room.join("visitor-1");
    expect(l.visitorSeen).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(reached).toEqual([]);
    expect(room.listenerCount("participantConnected")).toBe(0); // stopped watching

    const present = new FakeRoom();
    present.join("visitor-2");
    const other = start(900, 30);
    other.watchRoom(present);
    expect(other.visitorSeen).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(reached).toEqual([]);
  });

  it("reports nothing after stop (the job left for another reason)", () => {
    const room = new FakeRoom();
    const l = start(1, 1);
    l.watchRoom(room);
    l.stop();
    vi.advanceTimersByTime(120_000);
    expect(reached).toEqual([]);
    expect(room.listenerCount("participantConnected")).toBe(0);
  });
});
