/**
 * Helpers shared by the e2e tests (and bench/voice.bench.ts): how they poll, the dev LiveKit server's room
 * list, transcript reads.
 */
import { RoomServiceClient } from "livekit-server-sdk";
import { TranscriptResponse } from "../../contract/index.ts";
import type { WaitOptions } from "../support/wait.ts";

/**
 * How the e2e tests poll with `waitFor` (test/support/wait.ts): every 200 ms, since each probe asks the
 * browser or the stack, for up to `timeoutMs` (default 60 s: the whole stack shares two cores).
 */
export function poll(timeoutMs = 60_000): WaitOptions {
  return { timeoutMs, intervalMs: 200 };
}

/** Names of the rooms the dev LiveKit server has open (RoomService ListRooms, devkey/secret). */
export async function openRooms(liveKitUrl: string): Promise<string[]> {
  const client = new RoomServiceClient(liveKitUrl.replace(/^ws/, "http"), "devkey", "secret");
  return (await client.listRooms()).map((r) => r.name);
}

/** `GET /transcripts/:id` with the visitor's cookie header, validated by the contract. */
export async function readTranscript(
  workerUrl: string,
  sessionId: string,
  cookie: string,
): Promise<TranscriptResponse> {
  const res = await fetch(`${workerUrl}/transcripts/${sessionId}`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`GET /transcripts/${sessionId}: ${res.status} ${await res.text()}`);
  return TranscriptResponse.parse(await res.json());
}

/** Lower-case words only, for comparing recognised speech with what was said. */
export function words(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z ]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}
