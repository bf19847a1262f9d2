import { describe, expect, it } from "vitest";
import {
  DispatchMetadata,
  INGEST_BATCH_MAX,
  IngestBatch,
  ServerMessage,
  SYSTEM_PROMPT_MAX,
  TranscriptResponse,
} from "../../contract/index.ts";

const final = { id: "job:1", ts: 1_700_000_000_000, role: "user", text: "go forward ten meters", final: true };

describe("ingest batches", () => {
  it("accept transcript, speech and lifecycle events", () => {
    const batch = {
      events: [
        final,
        { id: "job:2", ts: 1, role: "agent", event: "speech_started" },
        { id: "job:3", ts: 2, type: "agent_heartbeat" },
        { id: "job:4", ts: 3, type: "agent_error", detail: "stt failed" },
      ],
    };
    expect(IngestBatch.safeParse(batch).success).toBe(true);
  });

  it(`hold 1 to ${INGEST_BATCH_MAX} events`, () => {
    expect(IngestBatch.safeParse({ events: [] }).success).toBe(false);
    const many = Array.from({ length: INGEST_BATCH_MAX + 1 }, (_, i) => ({ ...final, id: `j:${i}` }));
    expect(IngestBatch.safeParse({ events: many.slice(0, INGEST_BATCH_MAX) }).success).toBe(true);
    expect(IngestBatch.safeParse({ events: many }).success).toBe(false);
  });

  it.each([
    ["no id", { ts: 1, role: "user", text: "x", final: true }],
    ["seq set by the agent", { ...final, seq: 3 }],
    ["unknown role", { ...final, role: "system" }],
    ["negative ts", { ...final, ts: -1 }],
    ["fractional ts", { ...final, ts: 1.5 }],
    ["unknown speech event", { id: "a", ts: 1, role: "user", event: "speech_paused" }],
    ["unknown lifecycle type", { id: "a", ts: 1, type: "agent_dancing" }],
    ["text not a string", { ...final, text: 5 }],
  ])("reject an event with %s", (_why, event) => {
    expect(IngestBatch.safeParse({ events: [event] }).success).toBe(false);
  });
});

describe("server messages", () => {
  it("parse every WebSocket shape", () => {
    for (const m of [
      { role: "user", text: "go", final: false, seq: 1, ts: 5 },
      { role: "agent", text: "Hello!", final: true, seq: 2, ts: 6 },
      { role: "user", event: "speech_ended", seq: 3, ts: 7 },
      { type: "session", status: "ended", reason: "stopped", seq: 4, ts: 8 },
    ]) {
      expect(ServerMessage.safeParse(m).success, JSON.stringify(m)).toBe(true);
    }
  });

  it("reject frames without a positive seq", () => {
    expect(ServerMessage.safeParse({ role: "user", text: "go", final: true, seq: 0, ts: 5 }).success).toBe(false);
    expect(ServerMessage.safeParse({ role: "user", text: "go", final: true, ts: 5 }).success).toBe(false);
  });

  it("stored transcripts hold only finals and speech events", () => {
    const base = { session_id: "A".repeat(22), room: "r", status: "ended", started_at: 1, ended_at: 2 };
    const good = { ...base, events: [{ role: "agent", text: "Hi", final: true, seq: 1, ts: 1 }] };
    expect(TranscriptResponse.safeParse(good).success).toBe(true);
    const interim = { ...base, events: [{ role: "user", text: "Hi", final: false, seq: 1, ts: 1 }] };
    expect(TranscriptResponse.safeParse(interim).success).toBe(false);
  });
});

describe("dispatch metadata", () => {
  it("needs a session id and bounds the prompt", () => {
    expect(DispatchMetadata.safeParse({ session_id: "A".repeat(22) }).success).toBe(true);
    expect(DispatchMetadata.safeParse({ session_id: "short" }).success).toBe(false);
    const longest = { session_id: "A".repeat(22), system_prompt: "x".repeat(SYSTEM_PROMPT_MAX) };
    expect(DispatchMetadata.safeParse(longest).success).toBe(true);
    expect(DispatchMetadata.safeParse({ ...longest, system_prompt: "x".repeat(SYSTEM_PROMPT_MAX + 1) }).success).toBe(
      false,
    );
    expect(DispatchMetadata.safeParse({ ...longest, system_prompt: "" }).success).toBe(false);
  });
});
