/**
 * The realtime conversation stand-in's session settings and conversation items (realtime-conversation.ts): reading
 * `session.update` and `conversation.item.create` in the GA shape that `@livekit/agents-plugin-openai` 1.9 sends
 * (`session.type: "realtime"`, `output_modalities`, `audio.input.{format, transcription, turn_detection}`,
 * `audio.output.{format, voice, speed}`, flat function tools `{type, name, description, parameters}`), the session
 * resource of `session.created` / `session.updated`, and the conversation as chat messages for the scripted LLM
 * (chat.ts `respond`, tools.ts).
 *
 * Wire shapes: OpenAI API reference, "Realtime client events" and "Realtime server events" (GA, 2025-08), and the
 * plugin's `src/realtime/api_proto.ts` and `realtime_model.ts` (`createSessionUpdateEvent`,
 * `createToolsUpdateEvent`, `livekitItemToOpenAIItem`, `openAIItemToLivekitItem`).
 */
import { PCM_RATE } from "./engines.ts";
import type { VadSettings } from "./realtime-vad.ts";
import type { ChatMessage, FunctionTool, JsonSchema, ToolChoice } from "./tools.ts";

/** A client event the stand-in refuses, answered with an `error` event in the API's shape. */
export class RealtimeError extends Error {
  readonly code: string;
  readonly param: string | null;
  constructor(message: string, code = "invalid_value", param: string | null = null) {
    super(message);
    this.code = code;
    this.param = param;
  }
}

/** The session's `turn_detection`: server VAD (realtime-vad.ts) and what happens at a turn's end. */
export interface TurnDetection extends VadSettings {
  /** "server_vad", or "semantic_vad" (served by the same energy detector). */
  type: "server_vad" | "semantic_vad";
  /** Commit and respond when speech stops (default true). */
  createResponse: boolean;
  /** Cancel the response in progress when speech starts (default true). */
  interruptResponse: boolean;
}

/** The session as the stand-in keeps it. */
export interface SessionConfig {
  id: string;
  model: string;
  instructions: string;
  outputModalities: Array<"audio" | "text">;
  voice: string;
  speed: number;
  tools: FunctionTool[];
  toolChoice: ToolChoice;
  /** null: the client commits the input buffer. */
  turnDetection: TurnDetection | null;
  /** `audio.input.transcription`; null: no transcription events (the stand-in still decodes, to answer). */
  transcription: { model: string; language?: string } | null;
  maxOutputTokens: number | "inf";
}

/** Server VAD defaults of the GA API (OpenAI API reference, `turn_detection`). */
const SERVER_VAD = { threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 };
/** The silence that ends a turn for `semantic_vad`, by eagerness (the stand-in's mapping; OpenAI's is a model). */
const SEMANTIC_SILENCE_MS: Record<string, number> = { low: 1200, medium: 700, high: 300, auto: 700 };
const FORMAT = { type: "audio/pcm", rate: PCM_RATE };

/** The session a connection starts with (the API's defaults). */
export function defaultSession(model: string, id: string): SessionConfig {
  return {
    id,
    model,
    instructions: "",
    outputModalities: ["audio"],
    voice: "alloy",
    speed: 1,
    tools: [],
    toolChoice: "auto",
    turnDetection: { type: "server_vad", ...SERVER_VAD, createResponse: true, interruptResponse: true },
    transcription: null,
    maxOutputTokens: "inf",
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

function readFormat(raw: unknown, param: string): void {
  if (raw === undefined || raw === null) return;
  const f = raw as { type?: unknown; rate?: unknown };
  if (!isObject(raw) || f.type !== "audio/pcm" || (f.rate !== undefined && f.rate !== PCM_RATE))
    throw new RealtimeError(
      `the stand-in supports only {"type":"audio/pcm","rate":${PCM_RATE}}`,
      "invalid_value",
      param,
    );
}

function readTurnDetection(raw: unknown): TurnDetection | null {
  if (raw === null) return null;
  const param = "session.audio.input.turn_detection";
  if (!isObject(raw)) throw new RealtimeError("turn_detection must be an object or null", "invalid_type", param);
  const { type, threshold, prefix_padding_ms, silence_duration_ms, eagerness } = raw;
  if (type !== "server_vad" && type !== "semantic_vad")
    throw new RealtimeError(
      'turn_detection.type must be "server_vad" or "semantic_vad"',
      "invalid_value",
      `${param}.type`,
    );
  const num = (v: unknown, name: string, min: number, max: number, dflt: number): number => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== "number" || !(v >= min && v <= max))
      throw new RealtimeError(`${name} must be a number from ${min} to ${max}`, "invalid_value", `${param}.${name}`);
    return v;
  };
  const semanticSilence = SEMANTIC_SILENCE_MS[typeof eagerness === "string" ? eagerness : "auto"];
  if (type === "semantic_vad" && semanticSilence === undefined)
    throw new RealtimeError(
      'eagerness must be "low", "medium", "high" or "auto"',
      "invalid_value",
      `${param}.eagerness`,
    );
  return {
    type,
    threshold: num(threshold, "threshold", 0, 1, SERVER_VAD.threshold),
    prefixPaddingMs: num(prefix_padding_ms, "prefix_padding_ms", 0, 10_000, SERVER_VAD.prefixPaddingMs),
    silenceDurationMs:
      type === "semantic_vad"
        ? semanticSilence!
        : num(silence_duration_ms, "silence_duration_ms", 0, 10_000, SERVER_VAD.silenceDurationMs),
    createResponse: raw.create_response !== false,
    interruptResponse: raw.interrupt_response !== false,
  };
}

/**
 * Function tools of the Realtime shape (`{type: "function", name, description?, parameters?}`) as chat-completions
 * tools for tools.ts; tools of other types are ignored.
 * @throws RealtimeError when `tools` is not an array or a function tool has no name
 */
export function readTools(raw: unknown, param = "session.tools"): FunctionTool[] {
  if (!Array.isArray(raw)) throw new RealtimeError("tools must be an array", "invalid_type", param);
  const tools: FunctionTool[] = [];
  for (const [i, t] of raw.entries()) {
    if (!isObject(t) || t.type !== "function") continue;
    if (typeof t.name !== "string" || !t.name)
      throw new RealtimeError("a function tool needs a name", "missing_required_parameter", `${param}[${i}].name`);
    const description = typeof t.description === "string" ? t.description : undefined;
    tools.push({ type: "function", function: { name: t.name, description, parameters: t.parameters as JsonSchema } });
  }
  return tools;
}

/**
 * A `tool_choice`: "auto", "none", "required", `{type: "function", name}` (the API's shape), or a bare function name
 * (what the plugin's `toOaiToolChoice` sends for a named tool).
 * @throws RealtimeError for another value
 */
export function readToolChoice(raw: unknown, param = "session.tool_choice"): ToolChoice {
  if (raw === "auto" || raw === "none" || raw === "required") return raw;
  const name = typeof raw === "string" ? raw : isObject(raw) && raw.type === "function" ? raw.name : undefined;
  if (typeof name !== "string" || !name)
    throw new RealtimeError(
      'tool_choice must be "auto", "none", "required" or {type: "function", name}',
      "invalid_value",
      param,
    );
  return { type: "function", function: { name } };
}

/** Output modalities: `["audio"]` or `["text"]`. @throws RealtimeError for anything else */
export function readModalities(raw: unknown, param: string): Array<"audio" | "text"> {
  if (!Array.isArray(raw) || raw.length !== 1 || (raw[0] !== "audio" && raw[0] !== "text"))
    throw new RealtimeError('output_modalities must be ["audio"] or ["text"]', "invalid_value", param);
  return [raw[0]];
}

/**
 * Applies a `session.update`'s `session` to the session; fields left out keep their values.
 * @returns the updated session (a copy)
 * @throws RealtimeError for a session that is not an object, a `type` other than "realtime", or a bad field
 */
export function updateSession(current: SessionConfig, raw: unknown): SessionConfig {
  if (!isObject(raw)) throw new RealtimeError("session must be an object", "invalid_type", "session");
  if (raw.type !== "realtime")
    throw new RealtimeError(
      raw.type === undefined ? "Missing required parameter: 'session.type'." : 'session.type must be "realtime"',
      raw.type === undefined ? "missing_required_parameter" : "invalid_value",
      "session.type",
    );
  const next: SessionConfig = { ...current };
  if (typeof raw.model === "string") next.model = raw.model;
  if (raw.instructions !== undefined) {
    if (typeof raw.instructions !== "string")
      throw new RealtimeError("instructions must be a string", "invalid_type", "session.instructions");
    next.instructions = raw.instructions;
  }
  if (raw.output_modalities !== undefined)
    next.outputModalities = readModalities(raw.output_modalities, "session.output_modalities");
  if (raw.tools !== undefined) next.tools = readTools(raw.tools);
  if (raw.tool_choice !== undefined) next.toolChoice = readToolChoice(raw.tool_choice);
  if (raw.max_output_tokens !== undefined && raw.max_output_tokens !== null) {
    const m = raw.max_output_tokens;
    if (m !== "inf" && !(typeof m === "number" && Number.isInteger(m) && m >= 1 && m <= 4096))
      throw new RealtimeError(
        'max_output_tokens must be 1–4096 or "inf"',
        "invalid_value",
        "session.max_output_tokens",
      );
    next.maxOutputTokens = m;
  }
  const audio = raw.audio;
  if (audio !== undefined && !isObject(audio))
    throw new RealtimeError("audio must be an object", "invalid_type", "session.audio");
  const input = audio?.input as Record<string, unknown> | undefined;
  const output = audio?.output as Record<string, unknown> | undefined;
  if (input) {
    readFormat(input.format, "session.audio.input.format");
    if (input.turn_detection !== undefined) next.turnDetection = readTurnDetection(input.turn_detection);
    const t = input.transcription;
    if (t === null) next.transcription = null;
    else if (t !== undefined) {
      if (!isObject(t) || typeof t.model !== "string")
        throw new RealtimeError("transcription needs a model", "invalid_value", "session.audio.input.transcription");
      next.transcription = { model: t.model, ...(typeof t.language === "string" ? { language: t.language } : {}) };
    }
  }
  if (output) {
    readFormat(output.format, "session.audio.output.format");
    if (typeof output.voice === "string") next.voice = output.voice;
    if (output.speed !== undefined && output.speed !== null) {
      if (typeof output.speed !== "number" || !(output.speed >= 0.25 && output.speed <= 1.5))
        throw new RealtimeError("speed must be from 0.25 to 1.5", "invalid_value", "session.audio.output.speed");
      next.speed = output.speed;
    }
  }
  return next;
}

/** The session resource of `session.created` / `session.updated` (GA shape). */
export function sessionResource(s: SessionConfig): object {
  const td = s.turnDetection;
  return {
    type: "realtime",
    object: "realtime.session",
    id: s.id,
    model: s.model,
    output_modalities: s.outputModalities,
    instructions: s.instructions,
    tools: s.tools.map((t) => ({ type: "function", ...t.function })),
    tool_choice:
      typeof s.toolChoice === "object" ? { type: "function", name: s.toolChoice.function.name } : s.toolChoice,
    max_output_tokens: s.maxOutputTokens,
    audio: {
      input: {
        format: FORMAT,
        transcription: s.transcription,
        noise_reduction: null,
        turn_detection: td && {
          type: td.type,
          threshold: td.threshold,
          prefix_padding_ms: td.prefixPaddingMs,
          silence_duration_ms: td.silenceDurationMs,
          create_response: td.createResponse,
          interrupt_response: td.interruptResponse,
        },
      },
      output: { format: FORMAT, voice: s.voice, speed: s.speed },
    },
  };
}

/** A content part of a message item. */
export interface ContentPart {
  type: "input_text" | "input_audio" | "output_text" | "output_audio" | "text" | "audio";
  text?: string;
  transcript?: string | null;
  audio?: string;
}

/** A conversation item (the API's item resource). */
export interface Item {
  id: string;
  object: "realtime.item";
  type: "message" | "function_call" | "function_call_output";
  status: "completed" | "incomplete" | "in_progress";
  role?: "user" | "assistant" | "system";
  content?: ContentPart[];
  call_id?: string;
  name?: string;
  arguments?: string;
  output?: string;
}

/**
 * Reads the item of a client's `conversation.item.create`: a message (user, assistant or system, with text parts,
 * and for a user `input_audio` parts whose `transcript` is read when given), a `function_call` or a
 * `function_call_output`.
 * @param newId the id to give an item without one
 * @throws RealtimeError for an item of another type or role, or without its required fields
 */
export function readItem(raw: unknown, newId: () => string): Item {
  if (!isObject(raw)) throw new RealtimeError("item must be an object", "invalid_type", "item");
  const id = raw.id === undefined || raw.id === null ? newId() : raw.id;
  if (typeof id !== "string" || !id || id.length > 64)
    throw new RealtimeError("item.id must be a string of 1–64 characters", "invalid_value", "item.id");
  const base = { id, object: "realtime.item" as const, status: "completed" as const };
  const str = (v: unknown, field: string) => {
    if (typeof v !== "string")
      throw new RealtimeError(
        `Missing required parameter: 'item.${field}'.`,
        "missing_required_parameter",
        `item.${field}`,
      );
    return v;
  };
  switch (raw.type) {
    case "message": {
      const role = raw.role;
      if (role !== "user" && role !== "assistant" && role !== "system")
        throw new RealtimeError('item.role must be "user", "assistant" or "system"', "invalid_value", "item.role");
      const content = Array.isArray(raw.content) ? raw.content : isObject(raw.content) ? [raw.content] : null;
      if (!content) throw new RealtimeError("item.content must be an array", "invalid_type", "item.content");
      const parts = content.map((c, i): ContentPart => {
        const p = c as Record<string, unknown>;
        const type = p?.type;
        if (type === "input_audio" && role === "user")
          return { type, transcript: typeof p.transcript === "string" ? p.transcript : null };
        if (typeof type === "string" && ["input_text", "output_text", "text"].includes(type))
          return { type: type as ContentPart["type"], text: str(p.text, `content[${i}].text`) };
        throw new RealtimeError(
          `item.content[${i}].type ${String(type)} is not supported for role ${role}`,
          "invalid_value",
          `item.content[${i}].type`,
        );
      });
      return { ...base, type: "message", role, content: parts };
    }
    case "function_call":
      return {
        ...base,
        type: "function_call",
        call_id: str(raw.call_id, "call_id"),
        name: str(raw.name, "name"),
        arguments: str(raw.arguments, "arguments"),
      };
    case "function_call_output":
      return {
        ...base,
        type: "function_call_output",
        call_id: str(raw.call_id, "call_id"),
        output: str(raw.output, "output"),
      };
    default:
      throw new RealtimeError(
        'item.type must be "message", "function_call" or "function_call_output"',
        "invalid_value",
        "item.type",
      );
  }
}

/** The words of a message item: its text parts and audio transcripts, joined by spaces. */
export function itemText(item: Item): string {
  return (item.content ?? [])
    .map((p) => p.text ?? p.transcript ?? "")
    .filter(Boolean)
    .join(" ");
}

/**
 * The conversation as chat-completions messages for the scripted LLM: the instructions as the system message, then
 * each item (a function call as an assistant message with `tool_calls`, its output as a `tool` message).
 */
export function chatMessages(instructions: string, items: readonly Item[]): ChatMessage[] {
  const messages: ChatMessage[] = instructions ? [{ role: "system", content: instructions }] : [];
  for (const item of items) {
    if (item.type === "message") messages.push({ role: item.role, content: itemText(item) });
    else if (item.type === "function_call")
      messages.push({
        role: "assistant",
        content: null,
        tool_calls: [{ id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } }],
      });
    else messages.push({ role: "tool", tool_call_id: item.call_id, content: item.output });
  }
  return messages;
}
