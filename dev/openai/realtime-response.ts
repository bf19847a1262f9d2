/**
 * One response of the realtime conversation stand-in (realtime-conversation.ts): `response.created`, the scripted
 * LLM's answer to the conversation so far (chat.ts `respond`, tools.ts) as a spoken (or written) message or a function
 * call, and `response.done` with status and usage.
 *
 * Event sequence (OpenAI API reference, "Realtime server events", GA names, which `@livekit/agents-plugin-openai`
 * 1.9 handles first):
 * - message: `response.output_item.added` (item `in_progress`, no content), `conversation.item.added`,
 *   `response.content_part.added` (part `{type: "audio", transcript: ""}`), then per sentence one
 *   `response.output_audio_transcript.delta` and that sentence's espeak-ng PCM16 24 kHz in
 *   `response.output_audio.delta`s of 100 ms (text modality: `response.output_text.delta`), then
 *   `response.output_audio.done`, `response.output_audio_transcript.done`, `response.content_part.done`,
 *   `response.output_item.done` and `conversation.item.done` (item content `output_audio` with the transcript);
 * - function call: `response.output_item.added` (item `function_call` with `call_id`, `name`, empty `arguments`),
 *   `conversation.item.added`, `response.function_call_arguments.delta`s of up to 8 characters,
 *   `response.function_call_arguments.done`, `response.output_item.done`, `conversation.item.done`.
 *
 * A response first waits for the user items still being decoded (it needs their words). Cancelled (a
 * `response.cancel`, or the visitor's speech): espeak-ng is stopped, no more deltas go out, the item is done with
 * status `incomplete` and `response.done` says `cancelled` with the reason.
 *
 * Usage: text tokens as chat.ts counts them (a prompt token per 4 characters, an output token per word or argument
 * fragment); audio at 10 tokens a second of the conversation's user audio and 20 a second of the reply's, from
 * OpenAI's "about $0.06 a minute of audio input and $0.24 of output" at $100 and $200 per million audio tokens
 * (Realtime API announcement, October 2024).
 */
import { setImmediate as yieldToEvents } from "node:timers/promises";
import type { Logger } from "../../contract/log.ts";
import { argumentFragments, pieces, promptTokensOf, respond } from "./chat.ts";
import { PCM_RATE, speechLanguage, synthesize } from "./engines.ts";
import { buzz, type InstantCatalog } from "./instant.ts";
import {
  chatMessages,
  type Item,
  readModalities,
  readToolChoice,
  readTools,
  RealtimeError,
  type SessionConfig,
} from "./realtime-session.ts";
import type { FunctionTool, ToolChoice } from "./tools.ts";

/** Bytes of one `response.output_audio.delta`: 100 ms of PCM16 mono at 24 kHz. */
const AUDIO_DELTA_BYTES = (PCM_RATE / 10) * 2;

/** Milliseconds of PCM16 mono audio at {@link PCM_RATE} in `bytes`. */
export const msOf = (bytes: number) => Math.round((bytes / 2 / PCM_RATE) * 1000);

/** A response being generated. */
export interface Response {
  id: string;
  abort: AbortController;
  /** Why it was cancelled, once it was. */
  cancelled?: "client_cancelled" | "turn_detected";
}

/** What a `response.create` may change for one response. */
export interface ResponseOptions {
  instructions?: string;
  modalities?: Array<"audio" | "text">;
  tools?: FunctionTool[];
  toolChoice?: ToolChoice;
  /** Echoed in `response.created` / `.done`: the plugin matches its `generateReply` by `client_event_id`. */
  metadata?: Record<string, string> | null;
}

/** What a response reads and writes of its connection. */
export interface Conversation {
  readonly session: SessionConfig;
  readonly items: Item[];
  /** Decodes of user items not finished yet, by item id. */
  readonly decoding: Map<string, Promise<void>>;
  /** User audio per item, ms (usage). */
  readonly userAudioMs: Map<string, number>;
  /** Audio of each assistant message, ms (what `conversation.item.truncate` may cut). */
  readonly assistantAudioMs: Map<string, number>;
  readonly catalog?: InstantCatalog;
  readonly log: Logger;
  send(event: { type: string } & Record<string, unknown>): void;
  /** Appends an item and sends `conversation.item.added`. */
  addItem(item: Item): void;
  newId(prefix: string): string;
}

/**
 * Reads a `response.create`'s `response` (`instructions`, `output_modalities` or `modalities`, `tools`,
 * `tool_choice`, `metadata`; `conversation` "auto" only).
 * @throws RealtimeError for a bad field
 */
export function readResponseOptions(raw: unknown): ResponseOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw new RealtimeError("response must be an object", "invalid_type", "response");
  const r = raw as Record<string, unknown>;
  if (r.conversation !== undefined && r.conversation !== "auto")
    throw new RealtimeError('the stand-in supports only conversation "auto"', "invalid_value", "response.conversation");
  if (r.instructions !== undefined && typeof r.instructions !== "string")
    throw new RealtimeError("instructions must be a string", "invalid_type", "response.instructions");
  const metadata = r.metadata;
  if (
    metadata !== undefined &&
    metadata !== null &&
    (typeof metadata !== "object" || Object.values(metadata).some((v) => typeof v !== "string"))
  )
    throw new RealtimeError("metadata must map keys to strings", "invalid_value", "response.metadata");
  const modalities = r.output_modalities ?? r.modalities;
  return {
    ...(typeof r.instructions === "string" ? { instructions: r.instructions } : {}),
    ...(modalities !== undefined ? { modalities: readModalities(modalities, "response.output_modalities") } : {}),
    ...(r.tools !== undefined ? { tools: readTools(r.tools, "response.tools") } : {}),
    ...(r.tool_choice !== undefined ? { toolChoice: readToolChoice(r.tool_choice, "response.tool_choice") } : {}),
    metadata: (metadata as Record<string, string> | undefined) ?? null,
  };
}

/** The response resource of `response.created` / `response.done`, without status details, output and usage. */
function resource(c: Conversation, r: Response, opts: ResponseOptions, modality: string, status: string) {
  return {
    object: "realtime.response",
    id: r.id,
    status,
    conversation_id: c.session.id.replace(/^sess/, "conv"),
    output_modalities: [modality],
    max_output_tokens: c.session.maxOutputTokens,
    audio: { output: { format: { type: "audio/pcm", rate: PCM_RATE }, voice: c.session.voice } },
    metadata: opts.metadata ?? null,
  };
}

/**
 * Starts a response: sends `response.created` at once and generates the rest in the background.
 * @param ended called when `response.done` has been sent (whatever the status)
 * @returns the response, for cancelling it
 */
export function startResponse(c: Conversation, opts: ResponseOptions, ended: () => void): Response {
  const r: Response = { id: c.newId("resp"), abort: new AbortController() };
  const modality = (opts.modalities ?? c.session.outputModalities)[0]!;
  const response = { ...resource(c, r, opts, modality, "in_progress"), status_details: null, output: [], usage: null };
  c.send({ type: "response.created", response });
  void run(c, r, opts, modality)
    .catch((err: Error) => {
      c.log.warn("stand_in_response_failed", { error: err });
      const details = { type: "failed", error: { type: "server_error", code: "server_error", message: err.message } };
      const failed = { ...resource(c, r, opts, modality, "failed"), status_details: details, output: [] };
      c.send({ type: "response.done", response: failed });
    })
    .finally(ended);
  return r;
}

/**
 * The words a response's instructions ask to be said verbatim (the agent's fixed greeting or notice in live mode,
 * agent/agent.ts `sayExactly`: `… word for word, and nothing else: "<text>"`), or null: a real model follows such an
 * instruction, so the stand-in does too.
 */
export function wordsToSay(instructions: string): string | null {
  const quoted = /word for word, and nothing else: ("(?:[^"\\]|\\.)*")\s*$/.exec(instructions)?.[1];
  if (quoted === undefined) return null;
  try {
    const text = JSON.parse(quoted) as unknown;
    return typeof text === "string" && text.trim() ? text : null;
  } catch {
    return null;
  }
}

/** Generates one response, then sends `response.done` and logs `stand_in_reply`. */
async function run(c: Conversation, r: Response, opts: ResponseOptions, modality: "audio" | "text"): Promise<void> {
  const started = Date.now();
  // The answer needs the user's words: wait for their decodes (a cancel does not).
  const aborted = new Promise((ok) => r.abort.signal.addEventListener("abort", ok, { once: true }));
  await Promise.race([Promise.all(c.decoding.values()), aborted]);
  const session = c.session;
  const output: Item[] = [];
  const messages = chatMessages(opts.instructions ?? session.instructions, c.items);
  const exact = opts.instructions !== undefined ? wordsToSay(opts.instructions) : null;
  const reply =
    exact !== null
      ? { kind: "text" as const, text: exact }
      : respond(messages, opts.tools ?? session.tools, opts.toolChoice ?? session.toolChoice);
  let outputTokens = 0;
  let audioMs = 0;
  if (!r.cancelled) {
    const ids = { response_id: r.id, output_index: 0 };
    const base = { id: c.newId("item"), object: "realtime.item", status: "in_progress" } as const;
    const item: Item =
      reply.kind === "tool"
        ? { ...base, type: "function_call", call_id: reply.id, name: reply.name, arguments: "" }
        : { ...base, type: "message", role: "assistant", content: [] };
    output.push(item);
    c.send({ type: "response.output_item.added", ...ids, item });
    c.addItem(item);
    if (reply.kind === "tool") {
      const call = { ...ids, item_id: item.id, call_id: reply.id };
      const fragments = argumentFragments(reply.arguments);
      for (const delta of fragments) c.send({ type: "response.function_call_arguments.delta", ...call, delta });
      c.send({ type: "response.function_call_arguments.done", ...call, name: reply.name, arguments: reply.arguments });
      item.arguments = reply.arguments;
      outputTokens = fragments.length;
    } else {
      audioMs = await speak(c, r, item, reply.text, modality);
      if (modality === "audio") c.assistantAudioMs.set(item.id, audioMs);
      outputTokens = pieces(reply.text).length;
    }
    item.status = r.cancelled ? "incomplete" : "completed";
    c.send({ type: "response.output_item.done", ...ids, item });
    c.send({ type: "conversation.item.done", item });
  }
  const audioIn = Math.round(c.items.reduce((ms, i) => ms + (c.userAudioMs.get(i.id) ?? 0), 0) / 100);
  const textIn = promptTokensOf(messages);
  const audioOut = Math.round(audioMs / 50);
  const status = r.cancelled ? "cancelled" : "completed";
  c.send({
    type: "response.done",
    response: {
      ...resource(c, r, opts, modality, status),
      status_details: r.cancelled ? { type: "cancelled", reason: r.cancelled } : null,
      output,
      usage: {
        total_tokens: textIn + audioIn + outputTokens + audioOut,
        input_tokens: textIn + audioIn,
        output_tokens: outputTokens + audioOut,
        input_token_details: {
          text_tokens: textIn,
          audio_tokens: audioIn,
          cached_tokens: 0,
          cached_tokens_details: { text_tokens: 0, audio_tokens: 0, image_tokens: 0 },
        },
        output_token_details: { text_tokens: outputTokens, audio_tokens: audioOut },
      },
    },
  });
  c.log.info("stand_in_reply", {
    route: "/v1/realtime",
    reply: reply.kind === "tool" ? "tool_call" : "text",
    ...(reply.kind === "tool" && !r.cancelled ? { tool: reply.name } : {}),
    status,
    ms: Date.now() - started,
    audio_ms: audioMs,
  });
}

/** Streams a spoken (or written) message into `item`, sentence by sentence, until done or cancelled. @returns its audio, ms */
async function speak(c: Conversation, r: Response, item: Item, text: string, modality: "audio" | "text") {
  const ids = { response_id: r.id, item_id: item.id, output_index: 0, content_index: 0 };
  const audio = modality === "audio";
  const part = (said: string) => (audio ? { type: "audio", transcript: said } : { type: "text", text: said });
  c.send({ type: "response.content_part.added", ...ids, part: part("") });
  let said = "";
  let audioBytes = 0;
  const language = speechLanguage(text);
  for (const sentence of text.match(/[^.!?]+[.!?]*\s*/g) ?? [text]) {
    let pcm: Buffer | null = null;
    try {
      if (audio) pcm = c.catalog ? buzz(sentence) : await synthesize(sentence, r.abort.signal, language);
    } catch (err) {
      if (!r.cancelled) throw err; // a cancel kills espeak-ng: not a failure
    }
    if (r.cancelled) break;
    said += sentence;
    const type = audio ? "response.output_audio_transcript.delta" : "response.output_text.delta";
    c.send({ type, ...ids, delta: sentence });
    for (let at = 0; pcm && at < pcm.length && !r.cancelled; at += AUDIO_DELTA_BYTES) {
      const chunk = pcm.subarray(at, at + AUDIO_DELTA_BYTES);
      c.send({ type: "response.output_audio.delta", ...ids, delta: chunk.toString("base64") });
      audioBytes += chunk.length;
      await yieldToEvents(); // lets a response.cancel or the visitor's speech in between
    }
    if (r.cancelled) break;
  }
  const done = said.trim();
  item.content = [audio ? { type: "output_audio", transcript: done } : { type: "output_text", text: done }];
  if (!r.cancelled) {
    if (audio) c.send({ type: "response.output_audio.done", ...ids });
    c.send(
      audio
        ? { type: "response.output_audio_transcript.done", ...ids, transcript: done }
        : { type: "response.output_text.done", ...ids, text: done },
    );
    c.send({ type: "response.content_part.done", ...ids, part: part(done) });
  }
  return msOf(audioBytes);
}
