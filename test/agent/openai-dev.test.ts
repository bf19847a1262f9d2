/**
 * The local OpenAI-compatible provider (dev/openai/), a stand-in for the paid OpenAI API, exercised
 * over real HTTP and a real WebSocket with real speech (pocketsphinx) and espeak-ng.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { resample, transcribe } from "../../dev/openai/engines.ts";
import { type DevOpenAI, startDevOpenAI } from "../../dev/openai/server.ts";
import { wav } from "../support/wav.ts";
import { GOFORWARD_RATE, goForward, resampleLinear } from "./audio.ts";

let provider: DevOpenAI;
beforeAll(async () => {
  provider = await startDevOpenAI({ port: 0, log: () => {} });
});
afterAll(async () => {
  await provider.close();
});

describe("local OpenAI-compatible provider", () => {
  it("lists models", async () => {
    const res = await fetch(`${provider.baseURL}/models`);
    const body = (await res.json()) as { data: { id: string }[] };
    expect(body.data.map((m) => m.id)).toContain("gpt-4o-mini");
  });

  it("transcribes posted audio with pocketsphinx", async () => {
    const form = new FormData();
    form.set("file", new File([new Uint8Array(wav(goForward(), GOFORWARD_RATE))], "audio.wav", { type: "audio/wav" }));
    form.set("model", "whisper-1");
    const res = await fetch(`${provider.baseURL}/audio/transcriptions`, { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ text: "go forward ten meters" });
  });

  it("recognises speech behind seconds of resampled near-silence, and returns no words for silence", async () => {
    const samples = goForward();
    const speech = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    const padded = Buffer.concat([Buffer.alloc(GOFORWARD_RATE * 2 * 8), speech, Buffer.alloc(GOFORWARD_RATE * 2)]);
    // 16 -> 24 -> 16 kHz turns the digital silence into faint noise, as the WebRTC path does.
    const noisy = await resample(await resample(padded, GOFORWARD_RATE, 24_000), 24_000, GOFORWARD_RATE);
    expect(await transcribe(noisy)).toBe("go forward ten meters");
    expect(await transcribe(Buffer.alloc(GOFORWARD_RATE * 2 * 3))).toBe("");
  });

  it("streams a chat completion that acknowledges the user", async () => {
    const res = await fetch(`${provider.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        stream: true,
        messages: [{ role: "user", content: "go forward ten meters" }],
      }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const lines = (await res.text()).split("\n\n").filter(Boolean);
    expect(lines.at(-1)).toBe("data: [DONE]");
    const text = lines
      .slice(0, -1)
      .map((l) => JSON.parse(l.slice(6)).choices[0]?.delta?.content ?? "")
      .join("");
    expect(text).toContain("go forward ten meters");
  });

  it("answers bad requests with a 4xx in OpenAI's error shape", async () => {
    const res = await fetch(`${provider.baseURL}/chat/completions`, { method: "POST", body: "{not json" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);
  });

  it("speaks text as PCM16 24 kHz with espeak-ng", async () => {
    const res = await fetch(`${provider.baseURL}/audio/speech`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tts-1", voice: "alloy", input: "Hello there, visitor.", response_format: "pcm" }),
    });
    expect(res.headers.get("content-type")).toBe("audio/pcm");
    expect(res.headers.get("transfer-encoding"), "streamed as the API streams it").toBe("chunked");
    const pcm = new Int16Array(await res.arrayBuffer());
    const seconds = pcm.length / 24_000;
    expect(seconds).toBeGreaterThan(0.7);
    expect(seconds).toBeLessThan(5);
    expect(Math.max(...pcm.map(Math.abs))).toBeGreaterThan(1000); // not silence
  });

  it("speaks the realtime transcription protocol with interim deltas and a final transcript", async () => {
    const url = provider.baseURL.replace("http", "ws") + "/realtime?intent=transcription&model=gpt-4o-mini-transcribe";
    const ws = new WebSocket(url);
    const events: { type: string; delta?: string; transcript?: string }[] = [];
    const done = new Promise<void>((resolve) =>
      ws.on("message", (d) => {
        const e = JSON.parse(d.toString());
        events.push(e);
        if (e.type === "conversation.item.input_audio_transcription.completed") resolve();
      }),
    );
    await new Promise((r) => ws.once("open", r));
    ws.send(
      JSON.stringify({
        type: "session.update",
        session: { type: "transcription", audio: { input: { turn_detection: null } } },
      }),
    );
    const pcm = resampleLinear(goForward(), GOFORWARD_RATE, 24_000);
    for (let i = 0; i < pcm.length; i += 1200) {
      const chunk = pcm.subarray(i, i + 1200);
      ws.send(
        JSON.stringify({
          type: "input_audio_buffer.append",
          audio: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("base64"),
        }),
      );
      await new Promise((r) => setTimeout(r, 50)); // real time: 50 ms of audio per 50 ms
    }
    ws.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
    await done;
    ws.close();
    const types = events.map((e) => e.type);
    expect(types).toContain("session.updated");
    expect(types.indexOf("input_audio_buffer.committed")).toBeGreaterThan(-1);
    const deltas = events
      .filter((e) => e.type.endsWith(".delta"))
      .map((e) => e.delta)
      .join("");
    expect(deltas.length).toBeGreaterThan(0);
    expect(events.at(-1)!.transcript).toBe("go forward ten meters");
  });
});
