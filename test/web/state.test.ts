// The chat page's state machine (pure; no DOM needed): phases and the agent's state from events.
import { describe, expect, it } from "vitest";
import type { ServerMessage } from "../../contract/index.ts";
import { canStart, canType, initialState, reduce, type Action, type ChatState } from "../../web/src/state.ts";

let seq = 0;
const server = (m: Omit<ServerMessage, "seq" | "ts"> & Record<string, unknown>): Action => ({
  type: "server",
  message: { ...m, seq: ++seq, ts: 1 } as ServerMessage,
});
const session = (status: "starting" | "active" | "reconnecting" | "ended", reason?: string) =>
  server({ type: "session", status, ...(reason ? { reason } : {}) });
const speech = (role: "user" | "agent", event: "speech_started" | "speech_ended") => server({ role, event });
const run = (actions: Action[], from: ChatState = initialState) => actions.reduce(reduce, from);

const live = run([
  { type: "start" },
  { type: "session_created", sessionId: "s".repeat(22) },
  { type: "media_connected" },
]);

describe("reduce", () => {
  it("goes idle → starting → live, keeping the session id", () => {
    expect(run([{ type: "start" }]).phase).toBe("starting");
    expect(live).toMatchObject({ phase: "live", agent: "connecting", sessionId: "s".repeat(22) });
  });

  it("derives the agent's state from session and speech events", () => {
    const states = [
      session("active"),
      speech("user", "speech_started"),
      speech("user", "speech_ended"),
      speech("agent", "speech_started"),
      speech("agent", "speech_ended"),
    ].reduce<string[]>((acc, a, i, all) => [...acc, run(all.slice(0, i + 1), live).agent], []);
    expect(states).toEqual(["listening", "listening", "thinking", "speaking", "listening"]);
  });

  it("drives the speaking indicators, and a barge-in returns the agent to listening", () => {
    const speaking = run([session("active"), speech("agent", "speech_started")], live);
    expect(speaking).toMatchObject({ agentSpeaking: true, agent: "speaking" });
    const bargeIn = reduce(speaking, speech("user", "speech_started"));
    expect(bargeIn).toMatchObject({ userSpeaking: true, agent: "listening" });
  });

  it("shows the agent reconnecting while the session replaces a lost agent, then listening again", () => {
    const speaking = run([session("active"), speech("agent", "speech_started")], live);
    const replacing = reduce(speaking, session("reconnecting"));
    expect(replacing).toMatchObject({ phase: "live", agent: "reconnecting", agentSpeaking: false });
    expect(reduce(replacing, session("active"))).toMatchObject({ phase: "live", agent: "listening" });
  });

  it("turns agent_unavailable into the 'agent did not join in time' error", () => {
    const s = reduce(live, session("ended", "agent_unavailable"));
    expect(s.phase).toBe("error");
    expect(s.error).toEqual({ kind: "agent_unavailable" });
  });

  it("treats a session stopped elsewhere as a normal end", () => {
    const s = reduce(live, session("ended", "stopped"));
    expect(s).toMatchObject({ phase: "idle", endedBy: "stopped", error: null });
  });

  it("Stop: live → stopping → idle with no error and the last session kept for its transcript link", () => {
    const stopping = reduce(live, { type: "stop" });
    expect(stopping.phase).toBe("stopping");
    // The server's own `ended` frame while stopping is not "ended elsewhere".
    const ended = reduce(stopping, session("ended", "stopped"));
    const idle = reduce(ended, { type: "stopped" });
    expect(idle).toMatchObject({ phase: "idle", error: null, endedBy: null, sessionId: "s".repeat(22) });
  });

  it("keeps the first error: a disconnect that follows a refusal does not replace it", () => {
    const refused = reduce(run([{ type: "start" }]), {
      type: "fail",
      error: { kind: "rate_limited", retryAfterS: 30 },
    });
    expect(refused.phase).toBe("error");
    expect(reduce(refused, { type: "fail", error: { kind: "connection_lost" } }).error?.kind).toBe("rate_limited");
  });

  it("Start again from an error begins a fresh attempt", () => {
    const failed = reduce(live, { type: "fail", error: { kind: "connection_lost" } });
    expect(reduce(failed, { type: "start" })).toMatchObject({ phase: "starting", error: null, sessionId: null });
  });

  it("a browser without WebRTC: the error at once, and Start never begins an attempt", () => {
    const unsupported = reduce(initialState, { type: "unsupported" });
    expect(unsupported).toMatchObject({ phase: "error", error: { kind: "browser_unsupported" }, sessionId: null });
    expect(canStart(unsupported)).toBe(false);
    expect(reduce(unsupported, { type: "start" })).toBe(unsupported);
    expect(reduce(unsupported, { type: "fail", error: { kind: "connection_lost" } })).toBe(unsupported);
    expect(
      [initialState, live, reduce(live, { type: "fail", error: { kind: "connection_lost" } })].map(canStart),
    ).toEqual([true, true, true]);
  });

  it("shows reconnecting while the transcript socket is down, only during a conversation", () => {
    expect(reduce(live, { type: "socket", connected: false }).reconnecting).toBe(true);
    expect(reduce(initialState, { type: "socket", connected: false })).toBe(initialState);
  });

  it("lets the visitor type only while the session is active (its agent in the room)", () => {
    const active = reduce(live, session("active"));
    expect([initialState, run([{ type: "start" }]), live].map(canType)).toEqual([false, false, false]);
    expect(canType(active)).toBe(true);
    expect(canType(reduce(active, speech("agent", "speech_started")))).toBe(true);
    expect(canType(reduce(active, session("reconnecting")))).toBe(false);
    expect(canType(reduce(active, { type: "stop" }))).toBe(false);
    expect(canType(reduce(active, session("ended", "stopped")))).toBe(false);
  });

  it("a typed message: sending until answered, then the refusal's notice until the next send", () => {
    const active = reduce(live, session("active"));
    const sending = reduce(active, { type: "send" });
    expect(sending).toMatchObject({ sending: true, notice: null });
    const refused = reduce(sending, { type: "sent", notice: "slow down" });
    expect(refused).toMatchObject({ sending: false, notice: "slow down" });
    expect(reduce(refused, { type: "send" })).toMatchObject({ sending: true, notice: null });
    expect(reduce(reduce(refused, { type: "send" }), { type: "sent" })).toMatchObject({ sending: false, notice: null });
    expect(reduce(refused, { type: "start" })).toMatchObject({ sending: false, notice: null });
  });

  it("a mode change leaves the session and the speakers as they are; a notice shows until the next send", () => {
    const speaking = run([session("active"), speech("agent", "speech_started")], live);
    const changed = reduce(speaking, server({ type: "mode", mode: "pipeline", reason: "live_limit" }));
    expect(changed).toBe(speaking);
    const noted = reduce(changed, { type: "notice", notice: "live minutes used up" });
    expect(noted).toMatchObject({ phase: "live", agent: "speaking", notice: "live minutes used up" });
    expect(reduce(noted, { type: "notice", notice: null }).notice).toBeNull();
    expect(reduce(noted, { type: "send" }).notice).toBeNull();
  });

  it("ignores speech events outside a conversation", () => {
    expect(reduce(initialState, speech("agent", "speech_started"))).toBe(initialState);
  });
});
