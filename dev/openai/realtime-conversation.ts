/**
 * The local provider's Realtime API conversation socket (`GET /v1/realtime?model=<m>`, WebSocket, without
 * `intent=transcription`): the subset of OpenAI's speech-to-speech protocol that `@livekit/agents-plugin-openai` 1.9
 * (`openai.realtime.RealtimeModel`) speaks, in the GA shape it sends (realtime-session.ts), for Live mode without an
 * account. Wire format: OpenAI API reference, "Realtime client events" / "Realtime server events" (GA).
 *
 * - `session.update` → `session.updated` (`session.created` at connect): instructions, voice, flat function tools,
 *   tool_choice, output_modalities (`["audio"]` or `["text"]`), `audio.input.turn_detection` (server_vad;
 *   semantic_vad is served by the same energy detector), `audio.input.transcription`; audio is PCM16 24 kHz only.
 * - `input_audio_buffer.append` / `.commit` / `.clear` → `.committed` / `.cleared`. With turn detection, the server
 *   VAD (realtime-vad.ts, an energy detector with the session's threshold, prefix padding and silence duration)
 *   sends `input_audio_buffer.speech_started` / `.speech_stopped`, commits, and with `create_response` responds.
 * - A committed user item is added at once (`conversation.item.added`, its `input_audio` transcript null) and
 *   decoded by pocketsphinx (engines.ts, full search; instant mode: the catalog, instant.ts), one decode at a time;
 *   with `audio.input.transcription` set, `conversation.item.input_audio_transcription.delta` and `.completed` follow.
 * - `response.create` → `response.created` (echoing `metadata`, which the plugin matches to its `generateReply`),
 *   then, once the user's audio is transcribed, the scripted LLM's answer (chat.ts `respond`, tools.ts) as a spoken
 *   message (espeak-ng PCM16 24 kHz in `response.output_audio.delta`s, with `response.output_audio_transcript.delta`s)
 *   or a function call (`response.function_call_arguments.delta` / `.done`), and `response.done` with usage: the
 *   events in order, and how usage is counted, in realtime-response.ts.
 * - `response.cancel`, and speech starting during a response when `interrupt_response` is on: `response.done` with
 *   status `cancelled` (reason `client_cancelled` / `turn_detected`); with none active, the API's error
 *   "Cancellation failed: no active response found". `conversation.item.create` (messages, function calls, their
 *   outputs; `previous_item_id` honoured), `conversation.item.truncate` (drops the item's transcript, as the API
 *   does) and `conversation.item.delete`.
 * - Bad input: an `error` event `{type: "error", error: {type: "invalid_request_error", code, message, param,
 *   event_id}}`, `event_id` being the client event's; the socket stays open.
 *
 * Logs (no text, no audio): `stand_in_transcription` per decoded item, `stand_in_reply` per response (`reply`,
 * `tool`, `status`, `ms`, `audio_ms`), `stand_in_truncated` per truncation (`audio_ms`, `audio_end_ms`),
 * `stand_in_error` per refused event.
 */
import type { WebSocket } from "ws";
import type { Logger } from "../../contract/log.ts";
import { PCM_RATE, resample, transcribe } from "./engines.ts";
import { type InstantCatalog, samplesOf } from "./instant.ts";
import {
  type Conversation,
  msOf,
  readResponseOptions,
  type Response,
  type ResponseOptions,
  startResponse,
} from "./realtime-response.ts";
import {
  defaultSession,
  type Item,
  readItem,
  RealtimeError,
  sessionResource,
  updateSession,
} from "./realtime-session.ts";
import { InputAudioBuffer } from "./realtime-vad.ts";

/** The least audio a client may commit, ms (the API's rule). */
const MIN_COMMIT_MS = 100;

let counter = 0;
/** A new id, unique in the process: `<prefix>_dev_<n>`. */
const newId = (prefix: string) => `${prefix}_dev_${(++counter).toString(36)}`;

/**
 * Serves one realtime conversation connection until it closes.
 * @param log the provider's logger
 * @param model the `model` query parameter (default "gpt-realtime")
 * @param catalog instant mode: known recordings instead of pocketsphinx, a buzz instead of espeak-ng (instant.ts)
 */
export function serveRealtimeConversation(ws: WebSocket, log: Logger, model: string, catalog?: InstantCatalog): void {
  let session = defaultSession(model, newId("sess"));
  const input = new InputAudioBuffer();
  input.settings = session.turnDetection;
  const items: Item[] = [];
  /** Decodes of user items not finished yet, by item id; they run one at a time, in order. */
  const decoding = new Map<string, Promise<void>>();
  let decodes: Promise<void> = Promise.resolve();
  /** User audio per item, ms, for usage. */
  const userAudioMs = new Map<string, number>();
  /** Audio of each assistant item, ms (what `conversation.item.truncate` may cut). */
  const assistantAudioMs = new Map<string, number>();
  let current: Response | null = null;
  /** The id the next committed user item gets (speech_started already names it). */
  let nextUserItem = newId("item");
  const closed = new AbortController();
  /** Whether a transcription language other than English was logged (once per socket: it is decoded as English). */
  let languageLogged = 0;

  const send = (event: { type: string } & Record<string, unknown>) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event_id: newId("event"), ...event }));
  };
  const fail = (err: RealtimeError, eventId: unknown) => {
    log.info("stand_in_error", { route: "/v1/realtime", code: err.code, error: err.message });
    const error = { type: "invalid_request_error", code: err.code, message: err.message, param: err.param };
    send({ type: "error", error: { ...error, event_id: typeof eventId === "string" ? eventId : null } });
  };
  const lastId = () => items.at(-1)?.id ?? null;
  /** Inserts an item after `previous` (null: first) and sends `conversation.item.added`. */
  const addItem = (item: Item, previous = lastId()) => {
    const at = previous === null ? 0 : items.findIndex((i) => i.id === previous) + 1;
    items.splice(at, 0, item);
    send({ type: "conversation.item.added", previous_item_id: previous, item });
  };

  /** Decodes a committed user item and fills its `input_audio` transcript (the events when transcription is on). */
  const decode = async (item: Item, audio: Buffer, audioMs: number) => {
    const started = performance.now();
    let transcript = "";
    const part = item.content![0]!;
    try {
      if (catalog) transcript = catalog.match(samplesOf(audio), PCM_RATE).transcript;
      else if (audio.length)
        transcript = await transcribe(await resample(audio, PCM_RATE, 16_000, closed.signal), {
          signal: closed.signal,
        });
    } catch (err) {
      part.transcript = "";
      if (closed.signal.aborted) return;
      log.warn("transcription_failed", { error: err });
      if (session.transcription)
        send({
          type: "conversation.item.input_audio_transcription.failed",
          item_id: item.id,
          content_index: 0,
          error: {
            type: "transcription_error",
            code: "audio_unintelligible",
            message: "transcription failed",
            param: null,
          },
        });
      return;
    }
    part.transcript = transcript;
    log.info("stand_in_transcription", {
      route: "/v1/realtime",
      audio_ms: audioMs,
      utterance_ms: msOf(audio.length),
      decode_ms: Math.round(performance.now() - started),
      words: transcript.split(" ").filter(Boolean).length,
    });
    if (!session.transcription) return;
    const usage = { type: "duration", seconds: audioMs / 1000 };
    if (transcript)
      send({
        type: "conversation.item.input_audio_transcription.delta",
        item_id: item.id,
        content_index: 0,
        delta: transcript,
      });
    send({
      type: "conversation.item.input_audio_transcription.completed",
      item_id: item.id,
      content_index: 0,
      transcript,
      usage,
    });
  };

  /** Makes the buffered audio a user item and starts its decode. */
  const commit = (audio: Buffer, audioMs: number) => {
    const item: Item = {
      id: nextUserItem,
      object: "realtime.item",
      type: "message",
      status: "completed",
      role: "user",
      content: [{ type: "input_audio", transcript: null }],
    };
    nextUserItem = newId("item");
    userAudioMs.set(item.id, audioMs);
    const previous = lastId();
    send({ type: "input_audio_buffer.committed", previous_item_id: previous, item_id: item.id });
    addItem(item, previous);
    const job = (decodes = decodes
      .then(() => decode(item, audio, audioMs))
      .catch((err: unknown) => log.warn("transcription_failed", { error: err })));
    decoding.set(item.id, job);
    void job.finally(() => decoding.delete(item.id));
  };

  const conversation: Conversation = {
    get session() {
      return session;
    },
    items,
    decoding,
    userAudioMs,
    assistantAudioMs,
    catalog,
    log,
    send,
    addItem: (item) => addItem(item),
    newId,
  };
  /** A response asked for while a cancelled one is still ending: it starts once that one's `response.done` is out. */
  let queued: ResponseOptions | null = null;
  const respondNow = (opts: ResponseOptions) => {
    if (current) {
      queued = opts;
      return;
    }
    const r = startResponse(conversation, opts, () => {
      if (current === r) current = null;
      const next = queued;
      queued = null;
      if (next && !closed.signal.aborted) respondNow(next);
    });
    current = r;
  };

  const cancel = (reason: NonNullable<Response["cancelled"]>) => {
    if (!current || current.cancelled) return false;
    current.cancelled = reason;
    current.abort.abort();
    return true;
  };

  const findItem = (id: unknown, param: string) => {
    const item = typeof id === "string" ? items.find((i) => i.id === id) : undefined;
    if (!item) throw new RealtimeError(`the item with id '${String(id)}' does not exist`, "item_not_found", param);
    return item;
  };

  const handle = (event: Record<string, unknown>) => {
    switch (event.type) {
      case "session.update": {
        session = updateSession(session, event.session);
        input.settings = session.turnDetection;
        const language = session.transcription?.language;
        if (language && !/^en(-|$)/i.test(language) && !languageLogged++)
          log.warn("stand_in_unsupported_language", { language, decoded_as: "en", route: "/v1/realtime" });
        return send({ type: "session.updated", session: sessionResource(session) });
      }
      case "input_audio_buffer.append": {
        if (typeof event.audio !== "string")
          throw new RealtimeError("audio must be base64 PCM16", "invalid_type", "audio");
        for (const vad of input.append(Buffer.from(event.audio, "base64"))) {
          if (vad.type === "speech_started") {
            if (session.turnDetection?.interruptResponse) cancel("turn_detected");
            send({
              type: "input_audio_buffer.speech_started",
              audio_start_ms: vad.audioStartMs,
              item_id: nextUserItem,
            });
          } else {
            send({ type: "input_audio_buffer.speech_stopped", audio_end_ms: vad.audioEndMs, item_id: nextUserItem });
            commit(vad.audio, msOf(vad.audio.length));
            if (session.turnDetection?.createResponse && (!current || current.cancelled)) respondNow({});
          }
        }
        return;
      }
      case "input_audio_buffer.commit": {
        const ms = input.bufferedMs;
        if (ms < MIN_COMMIT_MS)
          throw new RealtimeError(
            `Error committing input audio buffer: buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${ms}ms of audio.`,
            "input_audio_buffer_commit_empty",
          );
        const { audio } = input.take();
        return commit(audio, ms);
      }
      case "input_audio_buffer.clear":
        input.clear();
        return send({ type: "input_audio_buffer.cleared" });
      case "conversation.item.create": {
        const item = readItem(event.item, () => newId("item"));
        if (items.some((i) => i.id === item.id))
          throw new RealtimeError(`an item with id '${item.id}' already exists`, "item_already_exists", "item.id");
        const previous = event.previous_item_id;
        if (previous !== undefined && previous !== null && previous !== "root") findItem(previous, "previous_item_id");
        addItem(
          item,
          previous === undefined || previous === null ? lastId() : previous === "root" ? null : (previous as string),
        );
        return send({ type: "conversation.item.done", item });
      }
      case "conversation.item.truncate": {
        const item = findItem(event.item_id, "item_id");
        const audioMs = assistantAudioMs.get(item.id);
        if (audioMs === undefined || event.content_index !== 0)
          throw new RealtimeError(
            "only the audio of an assistant message can be truncated",
            "invalid_value",
            "item_id",
          );
        const end = event.audio_end_ms;
        if (typeof end !== "number" || !Number.isInteger(end) || end < 0 || end > audioMs)
          throw new RealtimeError(
            `audio_end_ms must be an integer from 0 to ${audioMs}`,
            "invalid_value",
            "audio_end_ms",
          );
        item.content = [{ type: "output_audio", transcript: "" }];
        assistantAudioMs.set(item.id, end);
        log.info("stand_in_truncated", { route: "/v1/realtime", audio_ms: audioMs, audio_end_ms: end });
        return send({ type: "conversation.item.truncated", item_id: item.id, content_index: 0, audio_end_ms: end });
      }
      case "conversation.item.delete": {
        const item = findItem(event.item_id, "item_id");
        items.splice(items.indexOf(item), 1);
        return send({ type: "conversation.item.deleted", item_id: item.id });
      }
      case "response.create": {
        const opts = readResponseOptions(event.response);
        if (current && !current.cancelled)
          throw new RealtimeError(
            `Conversation already has an active response in progress: ${current.id}. Wait until the response is finished before creating a new one.`,
            "conversation_already_has_active_response",
          );
        return respondNow(opts);
      }
      case "response.cancel":
        if (event.response_id !== undefined && event.response_id !== current?.id)
          throw new RealtimeError(
            `Cancellation failed: no response found with id '${String(event.response_id)}'`,
            "response_cancel_not_active",
            "response_id",
          );
        if (!cancel("client_cancelled"))
          throw new RealtimeError("Cancellation failed: no active response found", "response_cancel_not_active");
        return;
      default:
        throw new RealtimeError(
          `Invalid value: '${String(event.type)}'. Not a client event the stand-in supports.`,
          "invalid_value",
          "type",
        );
    }
  };

  send({ type: "session.created", session: sessionResource(session) });
  ws.on("message", (data) => {
    let event: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(data.toString());
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      event = parsed as Record<string, unknown>;
    } catch {
      return fail(new RealtimeError("We could not parse the JSON body of your request.", "invalid_json"), null);
    }
    try {
      handle(event);
    } catch (err) {
      if (err instanceof RealtimeError) return fail(err, event.event_id);
      log.warn("stand_in_realtime_failed", { error: err });
      const error = { type: "server_error", code: "server_error", message: (err as Error).message, param: null };
      send({
        type: "error",
        error: { ...error, event_id: typeof event.event_id === "string" ? event.event_id : null },
      });
    }
  });
  ws.on("close", () => {
    closed.abort();
    cancel("client_cancelled");
  });
}
