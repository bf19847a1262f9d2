/**
 * A local OpenAI-compatible provider for offline development and tests. It is a stand-in for the
 * paid OpenAI API, says so in its logs, and accepts any API key.
 *
 * | route | engine |
 * | --- | --- |
 * | `GET /v1/models` | the model ids below |
 * | `POST /v1/audio/transcriptions` (multipart `file`) | pocketsphinx |
 * | `GET /v1/realtime?intent=transcription` (WebSocket) | pocketsphinx, interim + final (realtime.ts) |
 * | `GET /v1/realtime?model=<m>` (WebSocket, no `intent`) | speech-to-speech conversation: energy VAD, pocketsphinx, scripted replies and tool calls, espeak-ng (realtime-conversation.ts) |
 * | `POST /v1/chat/completions` (streamed SSE or not) | scripted responder (chat.ts), function tools by rules (tools.ts), the edge's summary request answered with a deterministic summary (summary.ts); model `error-<status>` fails |
 * | `POST /v1/audio/speech` (`response_format: "pcm"`) | espeak-ng, PCM16 mono 24 kHz, chunked (100 ms a chunk); model `error-<status>` fails |
 *
 * Languages: speech is English or Spanish, guessed from the text (engines.ts `speechLanguage`; OpenAI's speech API
 * has no language field either), logged as `language` and `espeak_voice` on the `stand_in_reply` line. Transcription
 * is English only (pocketsphinx's one model): a request for another language (`language`, e.g. `es`, of a
 * transcription or of the realtime session) is still decoded with the English model, and logged once as
 * `stand_in_unsupported_language` (per server for HTTP, per socket for realtime.ts).
 *
 * Errors use OpenAI's shape `{"error":{"message","type","code"}}`; a missing engine answers 503 with
 * the apt packages to install.
 *
 * Instant mode (option `instant`, instant.ts), for benchmarks: transcriptions (HTTP and realtime) match the audio
 * against known recordings by fingerprint instead of running pocketsphinx, speech is a buzz instead of espeak-ng,
 * chat is unchanged (it never waits); every log line then says `mode: "instant"`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { createLogger } from "../../contract/log.ts";
import { completionBody, completionEvents, promptTokensOf, respond } from "./chat.ts";
import { ESPEAK_VOICES, EngineMissingError, speechLanguage, synthesize, toPcm16k, transcribe } from "./engines.ts";
import { buzz, InstantCatalog, readWav, samplesOf } from "./instant.ts";
import { serveRealtimeTranscription } from "./realtime.ts";
import { serveRealtimeConversation } from "./realtime-conversation.ts";
import { isSummaryRequest } from "./summary.ts";
import type { FunctionTool, ToolChoice } from "./tools.ts";

/**
 * The API key `npm run dev` gives the agent and the Worker for the stand-in, which accepts any key: not a secret
 * (it reaches the Worker on wrangler's command line).
 */
export const STAND_IN_OPENAI_KEY = "sk-local-stand-in";

const MODELS = ["gpt-4o-mini", "gpt-4o-mini-transcribe", "gpt-4o-transcribe", "whisper-1", "gpt-4o-mini-tts", "tts-1"];
const BODY_MAX = 25 * 1024 * 1024;
/** One chunk of a speech response: 100 ms of PCM16 mono at 24 kHz. */
const SPEECH_CHUNK_BYTES = 4_800;

export interface DevOpenAIOptions {
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Port; default 0 (ephemeral). The CLI uses `DEV_PORTS.openai` (contract/defaults.ts). */
  port?: number;
  /**
   * Where log lines go, one JSON object each in the project's log line shape (contract/log.ts) with
   * component "openai-dev" and `stand_in: true`; default stdout.
   */
  log?: (line: string) => void;
  /**
   * Called with the `messages` of every chat-completions request before it is answered (tests use it to see
   * exactly what context the agent sent; the stand-in never logs message text).
   */
  onChatRequest?: (messages: unknown[]) => void;
  /**
   * Instant mode, for benchmarks (instant.ts): `true` for the default catalog of known recordings
   * (`DEFAULT_RECORDINGS`, read and fingerprinted at start), or a catalog of one's own. Default: off
   * (pocketsphinx and espeak-ng).
   */
  instant?: InstantCatalog | true;
}

export interface DevOpenAI {
  /** Base URL for OpenAI clients, ending with `/v1`. */
  baseURL: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  readonly type: string;
  constructor(status: number, message: string, type = "invalid_request_error") {
    super(message);
    this.status = status;
    this.type = type;
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > BODY_MAX) throw new HttpError(413, "request body too large");
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function parseJson(raw: Buffer): Record<string, unknown> {
  try {
    const v = JSON.parse(raw.toString("utf8"));
    if (v && typeof v === "object") return v as Record<string, unknown>;
  } catch {
    // not JSON: the same 400 as JSON that is not an object
  }
  throw new HttpError(400, "body must be a JSON object");
}

/**
 * Answers `POST /v1/audio/transcriptions`. A `language` other than English is decoded with the English model all the
 * same (the one pocketsphinx has), and `unsupported` is told about it (the caller logs it once).
 * @param catalog instant mode: match the audio against these recordings (a PCM16 WAV file is read without sox)
 * @param unsupported called with the request's `language` when it is not English
 * @returns the response body `{text}`, and the log line's `language` (when given) and, in instant mode, `match`,
 *   `score` and `decode_ms`
 * @throws HttpError 400 for a body that is not multipart with a `file`
 */
async function transcriptions(
  req: IncomingMessage,
  raw: Buffer,
  catalog: InstantCatalog | null,
  unsupported: (language: string) => void,
): Promise<{ body: object; fields: object }> {
  const form = await new Response(new Uint8Array(raw), {
    headers: { "content-type": req.headers["content-type"] ?? "" },
  })
    .formData()
    .catch(() => {
      throw new HttpError(400, "body must be multipart/form-data with a `file` field");
    });
  const file = form.get("file");
  if (!(file instanceof Blob)) throw new HttpError(400, "missing `file`");
  const name = file instanceof File ? file.name : "audio.wav";
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? "wav";
  const bytes = Buffer.from(await file.arrayBuffer());
  const language = form.get("language");
  const given = typeof language === "string" && language ? { language } : {};
  if (given.language && !/^en(-|$)/i.test(given.language)) unsupported(given.language);
  if (catalog) {
    const audio = readWav(bytes) ?? {
      samples: samplesOf(await toPcm16k(bytes, ext === "raw" ? "wav" : ext)),
      rate: 16_000,
    };
    const match = catalog.match(audio.samples, audio.rate);
    const fields = {
      ...given,
      match: match.name,
      score: Math.round(match.score * 1000) / 1000,
      decode_ms: Math.round(match.ms * 10) / 10,
    };
    return { body: { text: match.transcript }, fields };
  }
  const pcm = await toPcm16k(bytes, ext === "raw" ? "wav" : ext);
  return { body: { text: await transcribe(pcm) }, fields: given };
}

/**
 * The request's function tools (`tools: [{type: "function", function: {name, description?, parameters?}}]`); tools
 * of other types are ignored, as the stand-in cannot call them.
 * @throws HttpError 400 when `tools` is not an array of objects or a function tool has no name
 */
function readTools(raw: unknown): FunctionTool[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new HttpError(400, "`tools` must be an array");
  const tools: FunctionTool[] = [];
  for (const [i, t] of raw.entries()) {
    if (!t || typeof t !== "object") throw new HttpError(400, `tools[${i}] must be an object`);
    const tool = t as { type?: unknown; function?: { name?: unknown } };
    if (tool.type !== "function") continue;
    if (typeof tool.function?.name !== "string" || !tool.function.name)
      throw new HttpError(400, `tools[${i}].function.name must be a non-empty string`);
    tools.push(t as FunctionTool);
  }
  return tools;
}

/**
 * The request's `tool_choice`: "auto" (default), "none", "required" or `{type: "function", function: {name}}`.
 * @throws HttpError 400 for another value, for a choice other than "none"/"auto" without tools, or for a named
 *   function that is not among the tools (as OpenAI answers)
 */
function readToolChoice(raw: unknown, tools: FunctionTool[]): ToolChoice | undefined {
  if (raw === undefined || raw === null || raw === "auto" || raw === "none") return raw ?? undefined;
  if (raw === "required") {
    if (!tools.length) throw new HttpError(400, "tool_choice `required` needs `tools`");
    return raw;
  }
  const name = (raw as { type?: unknown; function?: { name?: unknown } }).function?.name;
  if ((raw as { type?: unknown }).type !== "function" || typeof name !== "string")
    throw new HttpError(400, 'tool_choice must be "auto", "none", "required" or {type: "function", function: {name}}');
  if (!tools.some((t) => t.function.name === name))
    throw new HttpError(400, `tool_choice names function ${name}, which is not in \`tools\``);
  return { type: "function", function: { name } };
}

async function chat(
  res: ServerResponse,
  body: Record<string, unknown>,
  observe?: (messages: unknown[]) => void,
): Promise<object> {
  if (!Array.isArray(body.messages)) throw new HttpError(400, "`messages` must be an array");
  observe?.(body.messages);
  const model = typeof body.model === "string" ? body.model : "gpt-4o-mini";
  // A model named `error-<status>` fails on purpose, to exercise clients' error handling offline.
  const failure = /^error-(\d{3})$/.exec(model);
  if (failure) throw new HttpError(Number(failure[1]), `model ${model} fails on purpose (stand-in)`, "server_error");
  const tools = readTools(body.tools);
  const reply = respond(body.messages, tools, readToolChoice(body.tool_choice, tools));
  // What the log may say: the called tool's name (an intent name, no visitor text), or that it answered text.
  const fields =
    reply.kind === "tool"
      ? { reply: "tool_call", tool: reply.name }
      : { reply: isSummaryRequest(body.messages) ? "summary" : "text" };
  if (!body.stream) {
    json(res, 200, completionBody(model, reply, promptTokensOf(body.messages)));
    return fields;
  }
  const includeUsage = Boolean((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage);
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  for (const event of completionEvents(model, reply, includeUsage, promptTokensOf(body.messages))) {
    res.write(event);
  }
  res.end();
  return fields;
}

/**
 * Answers `POST /v1/audio/speech` with PCM16 mono 24 kHz: espeak-ng, in the voice of the language the text seems to
 * be in (engines.ts `speechLanguage`: English or Spanish), or in instant mode a buzz as long as the speech would be
 * (instant.ts `buzz`).
 * @returns the log line's `language` and `espeak_voice` (the voice chosen, also in instant mode)
 * @throws HttpError 400 for an empty `input` or a `response_format` other than "pcm"; the status of a model named
 *   `error-<status>`
 */
async function speech(res: ServerResponse, body: Record<string, unknown>, instant: boolean): Promise<object> {
  if (typeof body.input !== "string" || !body.input.trim()) throw new HttpError(400, "`input` must be non-empty text");
  const failure = /^error-(\d{3})$/.exec(typeof body.model === "string" ? body.model : "");
  if (failure)
    throw new HttpError(Number(failure[1]), `model ${String(body.model)} fails on purpose (stand-in)`, "server_error");
  const format = body.response_format ?? "mp3";
  if (format !== "pcm")
    throw new HttpError(400, `response_format ${String(format)} is not supported by the stand-in; use "pcm"`);
  const language = speechLanguage(body.input);
  const pcm = instant ? buzz(body.input) : await synthesize(body.input, undefined, language);
  // Chunked, as the API streams speech (OpenAI's text-to-speech guide): a client that waits for it all gains nothing.
  res.writeHead(200, { "content-type": "audio/pcm" });
  for (let at = 0; at < pcm.length; at += SPEECH_CHUNK_BYTES) res.write(pcm.subarray(at, at + SPEECH_CHUNK_BYTES));
  res.end();
  return { language, espeak_voice: ESPEAK_VOICES[language] };
}

/**
 * Starts the provider.
 * @returns its `/v1` base URL and a `close()` that stops it (and its sockets)
 * @throws the listen error (e.g. EADDRINUSE); in instant mode with the default catalog, an Error naming a missing
 *   recording (apt-get install pocketsphinx-testdata)
 */
export async function startDevOpenAI(opts: DevOpenAIOptions = {}): Promise<DevOpenAI> {
  const catalog = opts.instant === true ? InstantCatalog.load() : (opts.instant ?? null);
  const log = createLogger({
    component: "openai-dev",
    fields: { stand_in: true, ...(catalog ? { mode: "instant" } : {}) },
    write: opts.log ?? ((line) => void process.stdout.write(line + "\n")),
  });
  /** The transcription languages already logged as unsupported (once each). */
  const unsupportedLanguages = new Set<string>();
  const unsupported = (language: string) => {
    if (unsupportedLanguages.has(language)) return;
    unsupportedLanguages.add(language);
    log.warn("stand_in_unsupported_language", { language, decoded_as: "en", route: "/v1/audio/transcriptions" });
  };

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname.replace(/\/+$/, "");
    const started = Date.now();
    try {
      if (req.method === "GET" && path === "/v1/models") {
        return json(res, 200, {
          object: "list",
          data: MODELS.map((id) => ({ id, object: "model", created: 0, owned_by: "local-stand-in" })),
        });
      }
      if (req.method !== "POST") throw new HttpError(404, `no route ${req.method} ${path}`);
      const raw = await readBody(req);
      let fields: object = {};
      if (path === "/v1/audio/transcriptions") {
        const answer = await transcriptions(req, raw, catalog, unsupported);
        json(res, 200, answer.body);
        fields = answer.fields;
      } else if (path === "/v1/chat/completions") fields = await chat(res, parseJson(raw), opts.onChatRequest);
      else if (path === "/v1/audio/speech") fields = await speech(res, parseJson(raw), catalog !== null);
      else throw new HttpError(404, `no route POST ${path}`);
      log.info("stand_in_reply", { route: path, ms: Date.now() - started, ...fields });
    } catch (err) {
      const e =
        err instanceof HttpError
          ? err
          : err instanceof EngineMissingError
            ? new HttpError(503, err.message, "server_error")
            : new HttpError(500, (err as Error).message, "server_error");
      log.info("stand_in_error", { route: path, status: e.status, error: e.message });
      if (!res.headersSent) json(res, e.status, { error: { message: e.message, type: e.type, code: null } });
      else res.end();
    }
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url ?? "/", "http://x");
    const intent = url.searchParams.get("intent");
    if (url.pathname.replace(/\/+$/, "") !== "/v1/realtime" || (intent !== null && intent !== "transcription")) {
      socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const model = url.searchParams.get("model");
      log.info("stand_in_realtime_connected", { model, intent: intent ?? "conversation" });
      if (intent === "transcription") serveRealtimeTranscription(ws, log, catalog ?? undefined);
      else serveRealtimeConversation(ws, log, model ?? "gpt-realtime", catalog ?? undefined);
    });
  });

  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(":") ? `[${host}]` : host;
  const baseURL = `http://${shown}:${port}/v1`;
  const note = catalog
    ? `not the OpenAI API: instant mode: known recordings (${catalog.names.join(", ")}) by fingerprint, a buzz for speech, scripted replies, rule-based tool calls and deterministic summaries`
    : "not the OpenAI API: pocketsphinx, espeak-ng, scripted replies, rule-based tool calls and deterministic summaries";
  log.info("stand_in_listening", { base_url: baseURL, note });
  return {
    baseURL,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
