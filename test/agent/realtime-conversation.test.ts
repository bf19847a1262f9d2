/**
 * The local provider's Realtime API conversation socket (dev/openai/realtime-conversation.ts), spoken to with a plain
 * WebSocket client in the GA shape `@livekit/agents-plugin-openai` 1.9 sends: session settings, the server VAD on
 * REAL recorded speech (pocketsphinx-testdata goforward.raw), REAL pocketsphinx transcription, spoken responses
 * (espeak-ng), cancellation by the client and by the visitor's speech, a function call of the planner profile's
 * intents (profiles/planner), conversation items, errors in the API's shape, instant mode; and the server VAD's
 * settings (threshold, prefix padding, silence duration) on the same recording.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { toolDescription, toolParameters } from "../../agent/profile-tools.ts";
import { localTimeLine } from "../../contract/profile.ts";
import { InputAudioBuffer, type VadEvent } from "../../dev/openai/realtime-vad.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { loadProfiles } from "../../profiles/load.ts";
import { waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";

const RATE = 24_000;
const CHUNK = RATE / 10; // 100 ms, what the plugin appends at a time
const FORMAT = { type: "audio/pcm", rate: RATE };

type Event = { type: string; event_id?: string } & Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let provider: DevOpenAI;
const logLines: Array<Record<string, unknown>> = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  provider = await startDevOpenAI({ log: (line) => logLines.push(JSON.parse(line)) });
});
afterAll(async () => {
  await provider?.close();
});
afterEach(() => {
  for (const ws of sockets.splice(0)) ws.close();
});

/** A connection and every event it received, in order. */
async function connect(query = "?model=gpt-realtime") {
  const ws = new WebSocket(`${provider.baseURL.replace("http", "ws")}/realtime${query}`, {
    headers: { Authorization: "Bearer sk-local-stand-in" },
  });
  sockets.push(ws);
  const events: Event[] = [];
  ws.on("message", (d) => events.push(JSON.parse(d.toString()) as Event));
  await new Promise((r) => ws.once("open", r));
  const send = (event: object) => ws.send(JSON.stringify(event));
  /** The first event of this type (at or after index `from`) that matches `where`. */
  const next = (type: string, where: (e: Event) => boolean = () => true, from = 0) =>
    waitFor(type, () => events.slice(from).find((e) => e.type === type && where(e)), {
      timeoutMs: 30_000,
      intervalMs: 20,
    });
  const all = (type: string) => events.filter((e) => e.type === type);
  return { ws, events, send, next, all };
}

/** The session update the plugin sends (realtime_model.ts `createSessionUpdateEvent`), with our overrides. */
function sessionUpdate(overrides: { turn_detection?: object | null; instructions?: string; tools?: object[] } = {}) {
  const { turn_detection, ...rest } = overrides;
  return {
    type: "session.update",
    session: {
      type: "realtime",
      model: "gpt-realtime",
      output_modalities: ["audio"],
      audio: {
        input: {
          format: FORMAT,
          transcription: { model: "gpt-4o-mini-transcribe" },
          turn_detection:
            turn_detection === undefined
              ? {
                  type: "server_vad",
                  threshold: 0.5,
                  prefix_padding_ms: 300,
                  silence_duration_ms: 500,
                  create_response: true,
                  interrupt_response: true,
                }
              : turn_detection,
        },
        output: { format: FORMAT, voice: "alloy" },
      },
      max_output_tokens: "inf",
      tool_choice: "auto",
      ...rest,
    },
  };
}

/** 0.5 s of silence, goforward.raw at 24 kHz, then 1 s of silence: PCM16 chunks of 100 ms, base64. */
function speechChunks(): string[] {
  const voice = resampleLinear(goForward(), GOFORWARD_RATE, RATE);
  const pcm = new Int16Array(RATE / 2 + voice.length + RATE);
  pcm.set(voice, RATE / 2);
  const chunks: string[] = [];
  for (let i = 0; i < pcm.length; i += CHUNK) {
    const part = pcm.subarray(i, i + CHUNK);
    chunks.push(Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString("base64"));
  }
  return chunks;
}

const audioMs = (deltas: Event[]) =>
  deltas.reduce((ms, e) => ms + Buffer.from(e.delta as string, "base64").length / 2 / (RATE / 1000), 0);

describe("realtime conversation socket", () => {
  it("hears recorded speech with its server VAD, transcribes it and answers by voice", async () => {
    const c = await connect();
    const created = await c.next("session.created");
    expect(created.session).toMatchObject({ type: "realtime", object: "realtime.session", model: "gpt-realtime" });

    c.send(sessionUpdate({ instructions: "You are a test assistant." }));
    const updated = await c.next("session.updated");
    expect(updated.session).toMatchObject({
      type: "realtime",
      instructions: "You are a test assistant.",
      output_modalities: ["audio"],
      audio: {
        input: {
          format: FORMAT,
          transcription: { model: "gpt-4o-mini-transcribe" },
          turn_detection: { type: "server_vad", silence_duration_ms: 500, prefix_padding_ms: 300 },
        },
        output: { voice: "alloy", format: FORMAT },
      },
    });

    const chunks = speechChunks();
    for (const audio of chunks) c.send({ type: "input_audio_buffer.append", audio });
    const started = await c.next("input_audio_buffer.speech_started");
    const stopped = await c.next("input_audio_buffer.speech_stopped");
    // The voice begins about 0.5 s in (the silence put before it, plus the recording's own lead-in).
    expect(started.audio_start_ms).toBeGreaterThanOrEqual(500);
    expect(started.audio_start_ms).toBeLessThan(1500);
    expect(stopped.audio_end_ms).toBeGreaterThan(started.audio_start_ms + 1000);
    expect(stopped.audio_end_ms).toBeLessThanOrEqual(chunks.length * 100);
    expect(stopped.item_id).toBe(started.item_id);
    const committed = await c.next("input_audio_buffer.committed");
    expect(committed.item_id).toBe(started.item_id);
    const userItem = await c.next("conversation.item.added", (e) => e.item.role === "user");
    expect(userItem.item).toMatchObject({ id: started.item_id, type: "message", content: [{ type: "input_audio" }] });

    const transcript = await c.next("conversation.item.input_audio_transcription.completed");
    expect(transcript).toMatchObject({ item_id: started.item_id, transcript: "go forward ten meters" });

    const done = await c.next("response.done");
    expect(done.response.status).toBe("completed");
    const types = c.events.map((e) => e.type);
    const at = (type: string) => types.indexOf(type);
    // The response (server VAD's create_response) is created at the commit and speaks once the words are known.
    expect(at("response.created")).toBeGreaterThan(at("input_audio_buffer.committed"));
    expect(at("response.output_item.added")).toBeGreaterThan(
      at("conversation.item.input_audio_transcription.completed"),
    );
    expect(at("response.content_part.added")).toBeGreaterThan(at("response.output_item.added"));
    expect(at("response.output_audio.delta")).toBeGreaterThan(at("response.content_part.added"));
    expect(at("response.output_audio.done")).toBeGreaterThan(types.lastIndexOf("response.output_audio.delta"));
    expect(at("response.output_item.done")).toBeGreaterThan(at("response.output_audio_transcript.done"));

    const said = c
      .all("response.output_audio_transcript.delta")
      .map((e) => e.delta)
      .join("");
    expect(said).toContain("I heard you say: go forward ten meters.");
    expect((await c.next("response.output_audio_transcript.done")).transcript).toBe(said.trim());
    const spokenMs = audioMs(c.all("response.output_audio.delta"));
    expect(spokenMs).toBeGreaterThan(2000); // espeak-ng said the sentence: seconds of audio, not a token
    const assistant = done.response.output[0];
    expect(assistant).toMatchObject({ type: "message", role: "assistant", status: "completed" });
    expect(assistant.content[0]).toMatchObject({ type: "output_audio", transcript: said.trim() });
    const usage = done.response.usage;
    expect(usage.input_token_details.audio_tokens).toBeGreaterThan(10); // seconds of speech in
    expect(usage.output_token_details.audio_tokens).toBe(Math.round(spokenMs / 50));
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);

    // The visitor heard half a second: truncating drops the item's transcript; the item can be deleted.
    c.send({ type: "conversation.item.truncate", item_id: assistant.id, content_index: 0, audio_end_ms: 500 });
    expect(await c.next("conversation.item.truncated")).toMatchObject({ item_id: assistant.id, audio_end_ms: 500 });
    c.send({ type: "conversation.item.delete", item_id: assistant.id, event_id: "del_1" });
    expect(await c.next("conversation.item.deleted")).toMatchObject({ item_id: assistant.id });

    // Logs: what happened, never the words.
    const lines = logLines.filter((l) => l.route === "/v1/realtime");
    expect(lines.find((l) => l.msg === "stand_in_transcription")).toMatchObject({ words: 4 });
    expect(lines.find((l) => l.msg === "stand_in_reply")).toMatchObject({ reply: "text", status: "completed" });
    expect(JSON.stringify(logLines)).not.toMatch(/forward|meters/);
  });

  it("cancels a response on response.cancel, and when the visitor starts speaking", async () => {
    const c = await connect();
    c.send(sessionUpdate({ turn_detection: null }));
    await c.next("session.updated");
    c.send({
      type: "conversation.item.create",
      item: {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "tell me a story about a lighthouse keeper" }],
      },
    });
    c.send({ type: "response.create", event_id: "create_1" });
    c.send({ type: "response.create", event_id: "create_2" }); // one response at a time
    c.send({ type: "response.cancel", event_id: "cancel_1" });
    const cancelled = await c.next("response.done");
    expect(cancelled.response).toMatchObject({
      status: "cancelled",
      status_details: { type: "cancelled", reason: "client_cancelled" },
    });
    const busy = await c.next("error", (e) => e.error.event_id === "create_2");
    expect(busy.error).toMatchObject({ code: "conversation_already_has_active_response" });
    expect(c.all("response.created")).toHaveLength(1);
    // Nothing to cancel now: the API's error, which the plugin ignores by its first words.
    c.send({ type: "response.cancel", event_id: "cancel_2" });
    const error = await c.next("error", (e) => e.error.event_id === "cancel_2");
    expect(error.error).toMatchObject({
      type: "invalid_request_error",
      code: "response_cancel_not_active",
      event_id: "cancel_2",
    });
    expect(error.error.message).toMatch(/^Cancellation failed/);

    // With server VAD and interrupt_response, speech during a response cancels it ("turn_detected").
    c.send(sessionUpdate());
    await c.next("session.updated", () => true, c.events.length);
    const from = c.events.length;
    c.send({ type: "response.create" });
    for (const audio of speechChunks()) c.send({ type: "input_audio_buffer.append", audio });
    const interrupted = await c.next("response.done", () => true, from);
    expect(interrupted.response).toMatchObject({ status: "cancelled", status_details: { reason: "turn_detected" } });
    const speech = c.events.findIndex((e, i) => i >= from && e.type === "input_audio_buffer.speech_started");
    expect(speech).toBeGreaterThan(from);
    expect(c.events.indexOf(interrupted)).toBeGreaterThan(speech);
    // … and the turn it heard gets its own answer.
    const answered = await c.next("response.done", (e) => e.response.status === "completed", from);
    expect(answered.response.output[0].content[0].transcript).toContain("go forward ten meters");
  });

  it("calls a planner tool for a planner request, then answers with the tool's output", async () => {
    const planner = loadProfiles().get("planner" as never)!;
    const tools = planner.intents.map((i) => ({
      type: "function",
      name: i.name,
      description: toolDescription(i),
      parameters: toolParameters(i),
    }));
    const c = await connect();
    const instructions = `You are a planner.\n${localTimeLine(new Date("2026-12-01T11:40:05Z"), "Europe/Berlin")}`;
    c.send(sessionUpdate({ turn_detection: null, instructions }));
    // The plugin sends tools in a session update of their own (createToolsUpdateEvent).
    c.send({
      type: "session.update",
      session: { type: "realtime", model: "gpt-realtime", tools },
      event_id: "tools_1",
    });
    await c.next("session.updated", (e) => e.session.tools.length === tools.length);

    c.send({
      type: "conversation.item.create",
      event_id: "item_1",
      item: {
        id: "user_1",
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "add a task to call the dentist tomorrow at 9" }],
      },
    });
    expect(await c.next("conversation.item.added")).toMatchObject({ item: { id: "user_1", role: "user" } });
    c.send({ type: "response.create", event_id: "r1", response: { metadata: { client_event_id: "r1" } } });
    const created = await c.next("response.created");
    expect(created.response.metadata).toEqual({ client_event_id: "r1" });
    const added = await c.next("response.output_item.added");
    expect(added.item).toMatchObject({ type: "function_call", name: "NEW_TASK", arguments: "" });
    const argsDone = await c.next("response.function_call_arguments.done");
    const deltas = c.all("response.function_call_arguments.delta");
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((e) => e.delta).join("")).toBe(argsDone.arguments);
    expect(argsDone).toMatchObject({ item_id: added.item.id, call_id: added.item.call_id, name: "NEW_TASK" });
    expect(JSON.parse(argsDone.arguments)).toEqual({ title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" });
    const done = await c.next("response.done");
    expect(done.response).toMatchObject({
      status: "completed",
      output: [{ type: "function_call", call_id: added.item.call_id }],
    });
    expect(done.response.usage.output_token_details.audio_tokens).toBe(0);

    // The agent runs the tool and sends its output, then asks for the reply (what the plugin does).
    const output = "Added the task Call the dentist, due tomorrow at 9.";
    c.send({
      type: "conversation.item.create",
      item: { type: "function_call_output", call_id: added.item.call_id, output: JSON.stringify(output) },
    });
    c.send({ type: "response.create" });
    const reply = await c.next("response.done", (e) => e.response.id !== done.response.id);
    expect(reply.response.output[0]).toMatchObject({
      type: "message",
      content: [{ type: "output_audio", transcript: output }],
    });
    expect(logLines.some((l) => l.msg === "stand_in_reply" && l.tool === "NEW_TASK")).toBe(true);
  });

  it("answers bad input with error events in the API's shape and keeps the socket open", async () => {
    const c = await connect();
    await c.next("session.created");
    const errorFor = (eventId: string) => c.next("error", (e) => e.error.event_id === eventId);
    c.ws.send("not json");
    expect((await c.next("error")).error).toMatchObject({ type: "invalid_request_error", code: "invalid_json" });
    c.send({ type: "session.update", event_id: "e1", session: { instructions: "x" } });
    expect((await errorFor("e1")).error).toMatchObject({ code: "missing_required_parameter", param: "session.type" });
    c.send({
      type: "session.update",
      event_id: "e2",
      session: { type: "realtime", audio: { output: { format: { type: "audio/pcmu" } } } },
    });
    expect((await errorFor("e2")).error).toMatchObject({ code: "invalid_value", param: "session.audio.output.format" });
    c.send({
      type: "session.update",
      event_id: "e3",
      session: { type: "realtime", audio: { input: { turn_detection: { type: "server_vad", threshold: 2 } } } },
    });
    expect((await errorFor("e3")).error).toMatchObject({ param: "session.audio.input.turn_detection.threshold" });
    c.send({ type: "input_audio_buffer.commit", event_id: "e4" });
    expect((await errorFor("e4")).error).toMatchObject({ code: "input_audio_buffer_commit_empty" });
    c.send({ type: "conversation.item.delete", item_id: "nope", event_id: "e5" });
    expect((await errorFor("e5")).error).toMatchObject({ code: "item_not_found", param: "item_id" });
    c.send({
      type: "conversation.item.create",
      event_id: "e6",
      item: { type: "message", role: "user", content: [{ type: "input_text" }] },
    });
    expect((await errorFor("e6")).error).toMatchObject({
      code: "missing_required_parameter",
      param: "item.content[0].text",
    });
    c.send({
      type: "conversation.item.create",
      event_id: "e7",
      previous_item_id: "missing",
      item: { type: "message", role: "user", content: [] },
    });
    expect((await errorFor("e7")).error).toMatchObject({ code: "item_not_found", param: "previous_item_id" });
    c.send({ type: "response.create", event_id: "e8", response: { tool_choice: 3 } });
    expect((await errorFor("e8")).error).toMatchObject({ param: "response.tool_choice" });
    c.send({ type: "no.such.event", event_id: "e9" });
    expect((await errorFor("e9")).error).toMatchObject({ code: "invalid_value", param: "type" });
    // Still serving: a valid update is answered.
    c.send(sessionUpdate({ turn_detection: null }));
    expect((await c.next("session.updated")).session.audio.input.turn_detection).toBeNull();
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("in instant mode, transcribes by the catalog and speaks a buzz", async () => {
    const instantLines: Array<Record<string, unknown>> = [];
    const instant = await startDevOpenAI({ instant: true, log: (line) => instantLines.push(JSON.parse(line)) });
    try {
      const ws = new WebSocket(`${instant.baseURL.replace("http", "ws")}/realtime?model=gpt-realtime`);
      sockets.push(ws);
      const events: Event[] = [];
      ws.on("message", (d) => events.push(JSON.parse(d.toString()) as Event));
      await new Promise((r) => ws.once("open", r));
      ws.send(JSON.stringify(sessionUpdate()));
      for (const audio of speechChunks()) ws.send(JSON.stringify({ type: "input_audio_buffer.append", audio }));
      const done = await waitFor("response.done", () => events.find((e) => e.type === "response.done"));
      const completed = events.find((e) => e.type === "conversation.item.input_audio_transcription.completed");
      expect(completed?.transcript).toBe("go forward ten meters");
      expect(done.response.output[0].content[0].transcript).toContain("go forward ten meters");
      expect(audioMs(events.filter((e) => e.type === "response.output_audio.delta"))).toBeGreaterThan(2000);
      expect(instantLines.find((l) => l.msg === "stand_in_reply")).toMatchObject({
        mode: "instant",
        status: "completed",
      });
    } finally {
      await instant.close();
    }
  });

  it("keeps the transcription socket on intent=transcription and refuses other intents", async () => {
    const t = await connect("?intent=transcription");
    expect((await t.next("session.created")).session).toMatchObject({ type: "transcription" });
    const other = new WebSocket(`${provider.baseURL.replace("http", "ws")}/realtime?intent=other`);
    const status = await new Promise<number | undefined>((resolve) => {
      other.on("unexpected-response", (_req, res) => resolve(res.statusCode));
      other.on("error", () => resolve(undefined));
    });
    expect(status).toBe(404);
  });
});

describe("server VAD (InputAudioBuffer)", () => {
  /** goforward.raw at 24 kHz times `gain`, after 0.5 s and before 2 s of digital silence, in 100 ms appends. */
  function detect(settings: { threshold?: number; prefixPaddingMs?: number; silenceDurationMs?: number }, gain = 1) {
    const buffer = new InputAudioBuffer();
    buffer.settings = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500, ...settings };
    const voice = resampleLinear(goForward(), GOFORWARD_RATE, RATE);
    const pcm = new Int16Array(RATE / 2 + voice.length + 2 * RATE);
    for (let i = 0; i < voice.length; i++) pcm[RATE / 2 + i] = Math.round(voice[i]! * gain);
    const events: VadEvent[] = [];
    for (let i = 0; i < pcm.length; i += CHUNK) {
      const part = pcm.subarray(i, i + CHUNK);
      events.push(...buffer.append(Buffer.from(part.buffer, part.byteOffset, part.byteLength)));
    }
    const started = events.find((e) => e.type === "speech_started");
    const stopped = events.find((e) => e.type === "speech_stopped");
    return {
      events,
      startMs: started?.audioStartMs,
      endMs: stopped?.audioEndMs,
      audioMs: stopped && stopped.audio.length / 48,
    };
  }

  it("finds one turn in recorded speech and commits it with its padding", () => {
    const { events, startMs, endMs, audioMs } = detect({});
    expect(events.map((e) => e.type)).toEqual(["speech_started", "speech_stopped"]);
    expect(startMs).toBeGreaterThanOrEqual(500);
    expect(audioMs).toBe(endMs! - startMs! + 300);
  });

  it("waits silence_duration_ms before the turn ends", () => {
    const short = detect({ silenceDurationMs: 300 });
    const long = detect({ silenceDurationMs: 900 });
    expect(long.endMs! - short.endMs!).toBe(600);
    expect(long.audioMs! - short.audioMs!).toBe(600);
  });

  it("keeps prefix_padding_ms of audio before the speech", () => {
    expect(detect({ prefixPaddingMs: 500 }).audioMs! - detect({ prefixPaddingMs: 0 }).audioMs!).toBe(500);
  });

  it("hears faint speech only with a low threshold", () => {
    expect(detect({ threshold: 0.5 }, 0.01).events).toEqual([]);
    expect(detect({ threshold: 0.1 }, 0.01).events.map((e) => e.type)).toEqual(["speech_started", "speech_stopped"]);
  });

  it("detects nothing without turn detection, and the buffer keeps everything for a commit", () => {
    const buffer = new InputAudioBuffer();
    const voice = resampleLinear(goForward(), GOFORWARD_RATE, RATE);
    expect(buffer.append(Buffer.from(voice.buffer, voice.byteOffset, voice.byteLength))).toEqual([]);
    const { audio, ms } = buffer.take();
    expect(audio.length).toBe(Math.floor(voice.length / 480) * 960);
    expect(ms).toBe(Math.floor(voice.length / 480) * 20);
    expect(buffer.bufferedMs).toBe(0);
  });
});
