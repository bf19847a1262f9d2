/**
 * The realtime transcription socket of the local provider (`/v1/realtime?intent=transcription`),
 * the subset the LiveKit OpenAI plugin's realtime STT uses with client-side commits
 * (`turn_detection: null`, the agent's VAD commits at end of speech):
 *
 * client → server: `session.update`, `input_audio_buffer.append` (base64 PCM16 mono 24 kHz),
 * `input_audio_buffer.commit`, `input_audio_buffer.clear`;
 * server → client: `session.created`, `session.updated`, `input_audio_buffer.committed`,
 * `conversation.item.input_audio_transcription.delta` / `.completed`, `error`.
 * Source: OpenAI API reference, "Realtime transcription"; @livekit/agents-plugin-openai 1.9 `stt.ts`.
 *
 * Interim transcripts: while audio arrives, the buffer so far is decoded about once a second and new
 * words are sent as deltas when they extend what was already sent; on commit the whole utterance is
 * decoded, any remaining words go out as deltas, then `completed` carries the final transcript.
 */
import type { WebSocket } from "ws";
import type { Logger } from "../../contract/log.ts";
import { PCM_RATE, resample, transcribe } from "./engines.ts";

/** Audio decoded for an interim transcript at most once per this much new audio, in bytes (1 s). */
const PARTIAL_EVERY_BYTES = PCM_RATE * 2;

let itemCounter = 0;

/** Serves one realtime transcription connection until it closes; `log` is the provider's logger. */
export function serveRealtimeTranscription(ws: WebSocket, log: Logger): void {
  let chunks: Buffer[] = [];
  let bytes = 0;
  let bytesAtPartial = 0;
  let itemId = "";
  const sentWords = new Map<string, string[]>(); // per item: words already sent as deltas
  let partial: AbortController | null = null;
  let queue: Promise<void> = Promise.resolve();

  const send = (event: object) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
  };
  const newItem = () => (itemId = `item_dev_${++itemCounter}`);
  const sendNewWords = (text: string, id: string) => {
    const words = text.split(" ").filter(Boolean);
    const sent = sentWords.get(id) ?? [];
    if (words.length <= sent.length || !sent.every((w, i) => words[i] === w)) return;
    const delta = (sent.length ? " " : "") + words.slice(sent.length).join(" ");
    send({ type: "conversation.item.input_audio_transcription.delta", item_id: id, content_index: 0, delta });
    sentWords.set(id, words);
  };
  const decode = async (pcm24k: Buffer, fast: boolean, signal?: AbortSignal) =>
    transcribe(await resample(pcm24k, PCM_RATE, 16_000, signal), { fast, signal });

  const maybePartial = () => {
    if (partial || bytes - bytesAtPartial < PARTIAL_EVERY_BYTES) return;
    bytesAtPartial = bytes;
    const ctrl = (partial = new AbortController());
    const id = itemId;
    decode(Buffer.concat(chunks), true, ctrl.signal)
      .then((text) => !ctrl.signal.aborted && id === itemId && sendNewWords(text, id))
      .catch(() => {}) // an aborted or failed interim is superseded by the final decode
      .finally(() => partial === ctrl && (partial = null));
  };

  const commit = async () => {
    partial?.abort();
    partial = null;
    const audio = Buffer.concat(chunks);
    const id = itemId || newItem();
    chunks = [];
    bytes = bytesAtPartial = 0;
    itemId = "";
    send({ type: "input_audio_buffer.committed", item_id: id, previous_item_id: null });
    const started = Date.now();
    let transcript: string;
    try {
      transcript = await decode(audio, true);
    } catch (err) {
      log.warn("transcription_failed", { error: err });
      send({ type: "error", error: { type: "server_error", message: (err as Error).message } });
      sentWords.delete(id);
      return;
    }
    sendNewWords(transcript, id);
    sentWords.delete(id);
    send({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: id,
      content_index: 0,
      transcript,
      usage: { type: "duration", seconds: audio.length / 2 / PCM_RATE },
    });
    log.info("stand_in_transcription", {
      audio_ms: Math.round((audio.length / 2 / PCM_RATE) * 1000),
      decode_ms: Date.now() - started,
      words: transcript.split(" ").filter(Boolean).length,
    });
  };

  send({ type: "session.created", session: { type: "transcription", object: "realtime.transcription_session" } });
  ws.on("message", (data) => {
    let event: { type?: string; audio?: string; session?: { audio?: { input?: { turn_detection?: unknown } } } };
    try {
      event = JSON.parse(data.toString());
    } catch {
      return send({ type: "error", error: { type: "invalid_request_error", message: "frames must be JSON" } });
    }
    switch (event.type) {
      case "session.update":
        if (event.session?.audio?.input?.turn_detection) {
          log.warn("turn_detection_not_implemented", { hint: "commit from the client (turn_detection: null)" });
        }
        return send({ type: "session.updated", session: event.session ?? {} });
      case "input_audio_buffer.append": {
        if (!itemId) newItem();
        const pcm = Buffer.from(event.audio ?? "", "base64");
        chunks.push(pcm);
        bytes += pcm.length;
        return maybePartial();
      }
      case "input_audio_buffer.commit":
        queue = queue.then(commit);
        return;
      case "input_audio_buffer.clear":
        partial?.abort();
        sentWords.delete(itemId);
        [chunks, bytes, bytesAtPartial, itemId] = [[], 0, 0, ""];
        return send({ type: "input_audio_buffer.cleared" });
      default:
        return send({
          type: "error",
          error: { type: "invalid_request_error", message: `unsupported event ${event.type}` },
        });
    }
  });
  ws.on("close", () => partial?.abort());
}
