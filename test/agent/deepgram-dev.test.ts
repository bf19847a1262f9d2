/**
 * The local Deepgram stand-in (dev/deepgram/) on the wire, with a plain WebSocket client: the protocol details the
 * Deepgram plugin relies on (auth refused in Deepgram's shape, live results, `Finalize` → a final, `KeepAlive` and the
 * idle close, `CloseStream` → `Metadata`, and the speech socket's `Speak` / `Flush` / `Clear` / `Close`), with real
 * pocketsphinx and espeak-ng on recorded speech.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type DevDeepgram, STAND_IN_DEEPGRAM_KEY, startDevDeepgram } from "../../dev/deepgram/server.ts";
import { waitFor } from "../support/wait.ts";
import { GOFORWARD_RATE, goForward } from "./audio.ts";

type Line = Record<string, unknown>;
type Message = Record<string, unknown> & { type?: string };

let dg: DevDeepgram;
const lines: Line[] = [];
const AUTH = { authorization: `Token ${STAND_IN_DEEPGRAM_KEY}` };
const LISTEN = "encoding=linear16&sample_rate=16000&channels=1&model=nova-3&language=en";

beforeAll(async () => {
  dg = await startDevDeepgram({ idleTimeoutMs: 800, log: (line) => void lines.push(JSON.parse(line) as Line) });
});
afterAll(async () => dg?.close());

const within = (timeoutMs: number) => ({ timeoutMs, intervalMs: 20 });
const wsUrl = (path: string) => `${dg.baseURL.replace(/^http/, "ws")}${path}`;

/** A connected socket that records its text messages, binary bytes and close. */
async function open(path: string) {
  const ws = new WebSocket(wsUrl(path), { headers: AUTH });
  const messages: Message[] = [];
  let audioBytes = 0;
  let closed: { code: number; reason: string } | null = null;
  ws.on("message", (data, isBinary) => {
    if (isBinary) audioBytes += (data as Buffer).length;
    else messages.push(JSON.parse(data.toString()) as Message);
  });
  ws.on("close", (code, reason) => void (closed = { code, reason: reason.toString() }));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    ws,
    messages,
    audioBytes: () => audioBytes,
    closed: () => closed,
    of: (type: string) => messages.filter((m) => m.type === type),
  };
}

/** The handshake's refusal: status, `dg-error` header and JSON body. */
function refusal(path: string, headers: { authorization?: string }) {
  return new Promise<{ status: number; dgError: unknown; body: Record<string, unknown> }>((resolve, reject) => {
    const ws = new WebSocket(wsUrl(path), { headers });
    ws.on("open", () => reject(new Error("the handshake was accepted")));
    ws.on("error", () => {});
    ws.on("unexpected-response", (_req, res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          dgError: res.headers["dg-error"],
          body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
        }),
      );
    });
  });
}

/** The recording as linear16 bytes, then `silenceS` of digital silence. */
function speech(silenceS = 0): Buffer {
  const samples = goForward();
  const pcm = Buffer.alloc((samples.length + silenceS * GOFORWARD_RATE) * 2);
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(pcm);
  return pcm;
}

/** Sends audio in 100 ms chunks, one every `paceMs`. */
async function stream(ws: WebSocket, pcm: Buffer, paceMs: number): Promise<void> {
  const chunk = (GOFORWARD_RATE / 10) * 2;
  for (let at = 0; at < pcm.length; at += chunk) {
    ws.send(pcm.subarray(at, at + chunk));
    if (paceMs) await new Promise((r) => setTimeout(r, paceMs));
  }
}

const transcriptOf = (m: Message) =>
  (m.channel as { alternatives: Array<{ transcript: string }> }).alternatives[0]!.transcript;

describe("the Deepgram stand-in: authentication and parameters", () => {
  it.each(["/v1/listen?" + LISTEN, "/v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=24000"])(
    "refuses %s without the key, or with another, as Deepgram does (401 INVALID_AUTH)",
    async (path) => {
      for (const headers of [
        {},
        { authorization: "Token not-the-key" },
        { authorization: `Bearer ${STAND_IN_DEEPGRAM_KEY}` },
      ]) {
        const r = await refusal(path, headers);
        expect(r.status).toBe(401);
        expect(r.dgError).toBe("Invalid credentials.");
        expect(r.body).toEqual({
          err_code: "INVALID_AUTH",
          err_msg: "Invalid credentials.",
          request_id: expect.any(String),
        });
      }
      expect(lines.filter((l) => l.msg === "stand_in_auth_refused").length).toBeGreaterThanOrEqual(3);
    },
  );

  it("refuses what it cannot serve with 400 Bad Request: another encoding, stereo, no sample rate", async () => {
    for (const query of [
      "encoding=mulaw&sample_rate=8000",
      "encoding=linear16&sample_rate=16000&channels=2",
      "encoding=linear16",
    ]) {
      const r = await refusal(`/v1/listen?${query}`, AUTH);
      expect(r.status, query).toBe(400);
      expect(r.body).toMatchObject({ err_code: "Bad Request", err_msg: expect.any(String) });
    }
  });
});

describe("the Deepgram stand-in: live transcription (/v1/listen)", () => {
  it("streams SpeechStarted, interims, then the endpoint's final (speech_final) covering the audio", async () => {
    const s = await open(`/v1/listen?${LISTEN}&interim_results=true&vad_events=true&endpointing=25`);
    await stream(s.ws, speech(1), 100);
    await waitFor("the final", () => s.of("Results").some((m) => m.is_final), within(20_000));
    const results = s.of("Results");
    const final = results.find((m) => m.is_final)!;
    expect(final).toMatchObject({ speech_final: true, from_finalize: false, start: 0 });
    expect(transcriptOf(final)).toBe("go forward ten meters");
    // The words carry times inside the result's span; the plugin reads them as the transcript's timing.
    const words = (final.channel as { alternatives: Array<{ words: Array<{ word: string; end: number }> }> })
      .alternatives[0]!.words;
    expect(words.map((w) => w.word)).toEqual(["go", "forward", "ten", "meters"]);
    expect(words.at(-1)!.end).toBeCloseTo((final.start as number) + (final.duration as number), 2);
    // Interims came first, each the segment's words so far; SpeechStarted before any result.
    const interims = results.slice(0, results.indexOf(final));
    expect(interims.length).toBeGreaterThan(0);
    for (const m of interims) expect(m).toMatchObject({ is_final: false, speech_final: false });
    expect(s.messages.findIndex((m) => m.type === "SpeechStarted")).toBe(0);
    s.ws.close();
  });

  it("Finalize: the audio so far at once, as a final with from_finalize (no endpoint needed)", async () => {
    const s = await open(`/v1/listen?${LISTEN}&endpointing=false`);
    await stream(s.ws, speech(0), 0);
    s.ws.send(JSON.stringify({ type: "Finalize" }));
    await waitFor("the final", () => s.of("Results").length > 0, within(20_000));
    const [final] = s.of("Results");
    expect(final).toMatchObject({ is_final: true, speech_final: false, from_finalize: true, start: 0 });
    expect(final!.duration).toBeCloseTo(goForward().length / GOFORWARD_RATE, 2);
    expect(transcriptOf(final!)).toBe("go forward ten meters");
    expect(s.of("SpeechStarted")).toHaveLength(0); // vad_events was not asked for
    s.ws.close();
  });

  it("KeepAlive keeps a silent socket open; without it, 1011 NET-0001; CloseStream → Metadata, then 1000", async () => {
    const kept = await open(`/v1/listen?${LISTEN}`);
    for (let i = 0; i < 8; i++) {
      kept.ws.send(JSON.stringify({ type: "KeepAlive" }));
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(kept.closed()).toBeNull(); // 1.6 s, twice the idle window
    expect(kept.messages).toEqual([]); // KeepAlive has no answer
    await waitFor("the idle close", () => kept.closed() !== null, within(5_000));
    expect(kept.closed()).toEqual({ code: 1011, reason: "NET-0001" });

    const s = await open(`/v1/listen?${LISTEN}`);
    await stream(s.ws, speech(0), 0);
    s.ws.send(JSON.stringify({ type: "CloseStream" }));
    await waitFor("the close", () => s.closed() !== null, within(20_000));
    expect(s.closed()!.code).toBe(1000);
    expect(s.messages.map((m) => m.type)).toEqual(["Results", "Metadata"]);
    expect(transcriptOf(s.messages[0]!)).toBe("go forward ten meters");
    expect(s.messages[1]).toMatchObject({ channels: 1, duration: expect.closeTo(goForward().length / 16_000, 2) });
  });
});

describe("the Deepgram stand-in: streaming speech (/v1/speak)", () => {
  it("Metadata, audio per Speak, Flushed after it; Clear → Cleared; Close closes", async () => {
    const s = await open("/v1/speak?model=aura-2-thalia-en&encoding=linear16&sample_rate=24000");
    s.ws.send(JSON.stringify({ type: "Speak", text: "Hello there. " }));
    s.ws.send(JSON.stringify({ type: "Flush" }));
    await waitFor("Flushed", () => s.of("Flushed").length > 0, within(20_000));
    expect(s.messages.map((m) => m.type)).toEqual(["Metadata", "Flushed"]);
    expect(s.messages[0]).toMatchObject({ model_name: "aura-2-thalia-en", request_id: expect.any(String) });
    expect(s.of("Flushed")[0]).toEqual({ type: "Flushed", sequence_id: 0 });
    const seconds = s.audioBytes() / 2 / 24_000;
    expect(seconds).toBeGreaterThan(0.4);
    expect(seconds).toBeLessThan(3);

    s.ws.send(JSON.stringify({ type: "Clear" }));
    await waitFor("Cleared", () => s.of("Cleared").length > 0, within(5_000));
    expect(s.of("Cleared")[0]).toEqual({ type: "Cleared", sequence_id: 1 });
    s.ws.send(JSON.stringify({ type: "Close" }));
    await waitFor("the close", () => s.closed() !== null, within(5_000));
    expect(s.closed()!.code).toBe(1000);
  });

  it("speaks with the voice's language: an -es Aura voice with espeak-ng's Spanish, at the rate asked for", async () => {
    const s = await open("/v1/speak?model=aura-2-celeste-es&encoding=linear16&sample_rate=16000");
    s.ws.send(JSON.stringify({ type: "Speak", text: "Hola, ¿qué tal? " }));
    s.ws.send(JSON.stringify({ type: "Flush" }));
    await waitFor("Flushed", () => s.of("Flushed").length > 0, within(20_000));
    const line = lines.filter((l) => l.msg === "stand_in_speech").at(-1)!;
    expect(line).toMatchObject({ model: "aura-2-celeste-es", language: "es", espeak_voice: "es" });
    expect(s.audioBytes() / 2 / 16_000).toBeCloseTo((line.audio_ms as number) / 1000, 2);
    expect(JSON.stringify(lines)).not.toContain("qué tal"); // never the text
    s.ws.close();
  });
});
