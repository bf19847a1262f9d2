/**
 * Helpers shared by the e2e tests: polling, the dev LiveKit server's room list, transcript reads.
 */
import { RoomServiceClient } from "livekit-server-sdk";
import { TranscriptResponse } from "../../contract/index.ts";

/**
 * Polls `check` every 200 ms until it returns a truthy value.
 * @returns that value
 * @throws Error naming `what` after `timeoutMs`
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | false | null | undefined> | T | false | null | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Names of the rooms the dev LiveKit server has open (RoomService ListRooms, devkey/secret). */
export async function openRooms(liveKitUrl: string): Promise<string[]> {
  const client = new RoomServiceClient(liveKitUrl.replace(/^ws/, "http"), "devkey", "secret");
  return (await client.listRooms()).map((r) => r.name);
}

/** `GET /transcripts/:id` with the visitor's cookie header, validated by the contract. */
export async function readTranscript(workerUrl: string, sessionId: string, cookie: string): Promise<TranscriptResponse> {
  const res = await fetch(`${workerUrl}/transcripts/${sessionId}`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`GET /transcripts/${sessionId}: ${res.status} ${await res.text()}`);
  return TranscriptResponse.parse(await res.json());
}

/** Lower-case words only, for comparing recognised speech with what was said. */
export function words(text: string): string {
  return text.toLowerCase().replace(/[^a-z ]+/g, " ").replace(/\s+/g, " ").trim();
}
