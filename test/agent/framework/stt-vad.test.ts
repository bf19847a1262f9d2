/**
 * `vad_stream_end_input` (agent/framework/stt-vad.ts) on real streams of the installed framework: Silero's
 * `VADStream` (@livekit/agents-plugin-silero), whose `endInput` is the framework's `VADStream.endInput`.
 */
import { initializeLogger, VAD, type VADStream } from "@livekit/agents";
import * as silero from "@livekit/agents-plugin-silero";
import { AudioFrame } from "@livekit/rtc-node";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SttVad } from "../../../agent/framework/stt-vad.ts";
import { collectingLogger, skipped } from "./log-lines.ts";

let silero16k: VAD;
const open: VADStream[] = [];
beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  silero16k = await silero.VAD.load();
});
afterEach(() => {
  for (const stream of open.splice(0)) stream.close();
});

/** A stream of `vad`, closed after the test. */
function streamOf(vad: VAD): VADStream {
  const stream = vad.stream();
  open.push(stream);
  return stream;
}

/** The stream's input writer (a protected field of the framework's `VADStream`). */
const inputWriter = (stream: VADStream) =>
  (stream as unknown as { inputWriter: WritableStreamDefaultWriter }).inputWriter;

const silence = () => new AudioFrame(new Int16Array(160), 16_000, 1, 160);

describe("vad_stream_end_input", () => {
  it("is needed: the installed framework's endInput() always leaves a rejected promise behind", async () => {
    const stream = streamOf(silero16k);
    const writable = (stream as unknown as { input: { writable: WritableStream } }).input.writable;
    const close = vi.spyOn(writable, "close");
    stream.endInput(); // returns nothing: the rejection below is what the plugin's task leaves unhandled
    expect(close).toHaveBeenCalledOnce();
    await expect(close.mock.results[0]!.value).rejects.toThrow(/WritableStream is locked/);
  });

  it("closes the input of the STT VAD's streams through their writer", async () => {
    const { log, lines } = collectingLogger();
    const stream = streamOf(new SttVad(silero16k, log));
    stream.pushFrame(silence());
    expect(() => stream.endInput()).not.toThrow();
    await expect(inputWriter(stream).closed).resolves.toBeUndefined(); // the input really ended
    expect(() => stream.pushFrame(silence())).toThrow(/Input is closed/); // and the framework sees it ended
    expect(() => stream.endInput()).not.toThrow(); // ending twice is harmless
    expect(skipped(lines)).toEqual([]);
  });

  it("changes nothing on streams without the fields it relies on, and warns once", () => {
    const { log, lines } = collectingLogger();
    /** Silero, but its streams lack the input writer. */
    class WriterlessVad extends VAD {
      label = "writerless";
      constructor() {
        super(silero16k.capabilities);
      }
      stream(): VADStream {
        const stream = streamOf(silero16k);
        (stream as unknown as { inputWriter?: unknown }).inputWriter = undefined;
        return stream;
      }
    }
    const stt = new SttVad(new WriterlessVad(), log);
    const [a, b] = [stt.stream(), stt.stream()];
    expect(Object.hasOwn(a, "endInput") || Object.hasOwn(b, "endInput")).toBe(false); // still the framework's method
    const warnings = skipped(lines).map((l) => [l.adaptation, l.missing]);
    expect(warnings).toEqual([["vad_stream_end_input", "VADStream#inputWriter.close (function)"]]);
  });
});
