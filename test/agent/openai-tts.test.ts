/**
 * The session's OpenAI TTS (agent/openai-tts.ts) against an in-process HTTP server that answers `/v1/audio/speech`
 * the way the API streams (chunked PCM; it stands in for the paid API): the first frames reach the session while the
 * rest of the response is still held back, every sample arrives (the tail shorter than a frame too), the last frame is
 * marked final, and a closed stream or a failed request ends quietly or as the plugin's does.
 */
import { initializeLogger, type tts } from "@livekit/agents";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StreamingOpenAITTS } from "../../agent/openai-tts.ts";

/** 1.234 s of PCM16 at 24 kHz: 29,616 samples, not a whole number of 50 ms frames. */
const SAMPLES = 29_616;
const PCM = Buffer.from(Int16Array.from({ length: SAMPLES }, (_, i) => (i % 200) - 100).buffer);
/** What the server sends at once; the rest waits for {@link release}. */
const FIRST_BYTES = 7_200; // 150 ms

let server: Server;
let baseURL: string;
let release: () => void = () => undefined;
const requests: Record<string, unknown>[] = [];

beforeAll(async () => {
  initializeLogger({ pretty: false, level: "error" });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => (body += d.toString()));
    req.on("end", () => {
      const json = JSON.parse(body) as Record<string, unknown>;
      requests.push(json);
      if (json.model === "error-400") {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "bad request on purpose", type: "invalid_request_error" } }));
        return;
      }
      res.writeHead(200, { "content-type": "audio/pcm" });
      res.write(PCM.subarray(0, FIRST_BYTES));
      const held = new Promise<void>((resolve) => (release = resolve));
      void held.then(() => res.end(PCM.subarray(FIRST_BYTES)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  release();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const speech = (model = "gpt-4o-mini-tts") =>
  new StreamingOpenAITTS({ apiKey: "sk-test", baseURL, model, voice: "coral", speed: 1.1 });

/** The stream's next audio, or a rejection after `ms`. */
async function next(stream: tts.ChunkedStream, ms = 5_000): Promise<IteratorResult<tts.SynthesizedAudio>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no audio within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([stream.next(), late]);
  } finally {
    clearTimeout(timer);
  }
}

describe("the session's OpenAI TTS", () => {
  it("hands over the first frames while the rest of the response is still on its way, then every sample", async () => {
    const stream = speech().synthesize("Hello there, visitor.");
    const first = await next(stream); // the server holds everything after the first 150 ms until released
    expect(first.done).toBe(false);
    expect(first.value.frame.samplesPerChannel).toBe(1_200); // 50 ms
    expect(first.value.frame.sampleRate).toBe(24_000);
    expect(first.value.final).toBe(false);
    const second = await next(stream); // the second frame of the first 150 ms: the third is held back as the last
    expect(Array.from(second.value.frame.data.subarray(0, 3))).toEqual(
      [1_200, 1_201, 1_202].map((i) => (i % 200) - 100),
    );
    release();
    const frames = [first.value, second.value];
    for (let r = await next(stream); !r.done; r = await next(stream)) frames.push(r.value);
    expect(frames.reduce((n, a) => n + a.frame.samplesPerChannel, 0)).toBe(SAMPLES);
    expect(frames.at(-1)!.frame.samplesPerChannel).toBe(SAMPLES % 1_200); // the tail is not dropped
    expect(frames.map((a) => a.final)).toEqual(frames.map((_, i) => i === frames.length - 1));
    expect(new Set(frames.map((a) => a.requestId)).size).toBe(1);
    const joined = Buffer.concat(
      frames.map((a) => Buffer.from(a.frame.data.buffer, a.frame.data.byteOffset, a.frame.data.byteLength)),
    );
    expect(joined.equals(PCM)).toBe(true);
    expect(requests.at(-1)).toEqual({
      input: "Hello there, visitor.",
      model: "gpt-4o-mini-tts",
      voice: "coral",
      speed: 1.1,
      response_format: "pcm",
    });
  });

  it("sends the voice an update gave", async () => {
    const synth = speech();
    synth.updateOptions({ voice: "ash" });
    const stream = synth.synthesize("Hi.");
    await next(stream);
    release();
    stream.close();
    expect(requests.at(-1)).toMatchObject({ voice: "ash", model: "gpt-4o-mini-tts" });
  });

  it("ends without an error when closed mid-response", async () => {
    const synth = speech();
    const errors: unknown[] = [];
    synth.on("error", (e) => errors.push(e));
    const stream = synth.synthesize("Interrupted.");
    let samples = (await next(stream)).value.frame.samplesPerChannel;
    stream.close();
    release();
    for (let r = await next(stream); !r.done; r = await next(stream)) samples += r.value.frame.samplesPerChannel;
    expect(samples, "what had arrived before the close, no more").toBeLessThan(SAMPLES);
    expect(errors).toEqual([]);
  });

  it("reports a failed request through the TTS's error event and ends the stream empty, as the plugin does", async () => {
    const synth = speech("error-400");
    const errors: { error: unknown }[] = [];
    synth.on("error", (e: { error: unknown }) => errors.push(e));
    const stray: unknown[] = []; // the framework also rejects a promise nobody holds (see greeting.test.ts)
    const onStray = (reason: unknown) => void stray.push(reason);
    process.on("unhandledRejection", onStray);
    try {
      const stream = synth.synthesize("Fails.");
      expect(await next(stream)).toMatchObject({ done: true });
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off("unhandledRejection", onStray);
    }
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!.error)).toMatch(/400 bad request on purpose/);
  });
});
