/**
 * `no_remote_session` (agent/framework/remote-session.ts) against the installed framework: its real
 * `voice.RoomSessionTransport` on a real (unconnected) @livekit/rtc-node `Room`. That the visitor gets nothing
 * through a real room is test/agent/visitor-data.test.ts.
 */
import { initializeLogger, voice } from "@livekit/agents";
import { Room } from "@livekit/rtc-node";
import { beforeAll, describe, expect, it } from "vitest";
import { adapt } from "../../../agent/framework/adaptation.ts";
import { adaptJobProcess } from "../../../agent/framework/index.ts";
import { closeRemoteSession, TOPIC_SESSION_MESSAGES } from "../../../agent/framework/remote-session.ts";
import { collectingLogger, skipped } from "./log-lines.ts";

/** A RoomIO as the transport sees it: only the linked participant is read. */
const roomIO = { linkedParticipant: { identity: "v_visitor" } } as unknown as voice.RoomIO;

/** Whether `room` already has a byte-stream handler on the remote-session topic (registering again throws). */
function topicTaken(room: Room): boolean {
  try {
    room.registerByteStreamHandler(TOPIC_SESSION_MESSAGES, () => {});
  } catch {
    return true;
  }
  room.unregisterByteStreamHandler(TOPIC_SESSION_MESSAGES);
  return false;
}

beforeAll(() => initializeLogger({ pretty: false, level: "error" }));

// In this order: the first test sees the untouched framework (vitest gives each file its own modules).
describe("no_remote_session", () => {
  it("is needed: the framework's transport takes the visitor's lk.agent.session streams", async () => {
    const room = new Room();
    const transport = new voice.RoomSessionTransport(room, roomIO);
    await transport.start();
    expect(topicTaken(room)).toBe(true);
    await transport.close();
    expect(topicTaken(room)).toBe(false);
  });

  it("makes the transport register nothing and send nothing, once however often applied", async () => {
    const { log, lines } = collectingLogger();
    const { start, sendMessage } = voice.RoomSessionTransport.prototype;
    expect(adapt(closeRemoteSession(), voice.RoomSessionTransport, log)).toBe(true);
    const closed = voice.RoomSessionTransport.prototype;
    expect(closed.start).not.toBe(start);
    expect(closed.sendMessage).not.toBe(sendMessage);
    expect(adapt(closeRemoteSession(), voice.RoomSessionTransport, log)).toBe(true);
    expect(voice.RoomSessionTransport.prototype.start).toBe(closed.start);

    const room = new Room();
    const transport = new voice.RoomSessionTransport(room, roomIO);
    await transport.start();
    expect(topicTaken(room)).toBe(false);
    await expect(transport.sendMessage({} as never)).resolves.toBeUndefined();
    await transport.close();
    expect(skipped(lines)).toEqual([]);
  });

  it("changes nothing for a class without those methods, and warns once", () => {
    const { log, lines } = collectingLogger();
    const adaptation = closeRemoteSession();
    class Other {}
    expect(adapt(adaptation, Other, log)).toBe(false);
    expect(adapt(adaptation, Other, log)).toBe(false);
    expect(skipped(lines).map((l) => l.missing)).toEqual([
      "RoomSessionTransport.prototype.start (function); RoomSessionTransport.prototype.sendMessage (function)",
    ]);
  });

  it("is what adaptJobProcess applies to the installed framework, without a warning", () => {
    const { log, lines } = collectingLogger();
    expect(adaptJobProcess(log)).toBe(true);
    expect(lines.filter((l) => l.level === "warn")).toEqual([]);
  });
});
