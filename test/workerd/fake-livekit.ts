/**
 * A fake of LiveKit's HTTP API (Twirp `AgentDispatchService/CreateDispatch`, `RoomService/DeleteRoom`,
 * `RoomService/ListParticipants` and `RoomService/SendData`)
 * at the fetch level, installed as Miniflare's `outboundService`: every outbound fetch of the Worker,
 * its Durable Objects and the tests lands here, so no test traffic leaves the process. The real
 * protocol is exercised end to end against the dev LiveKit server by the e2e tests.
 *
 * Behaviour is chosen by room name so that test files running in parallel do not interfere:
 * - rooms starting `refuse-` get a Twirp 400 error on CreateDispatch (LiveKit refuses),
 * - rooms starting `down-` get a network failure on CreateDispatch (LiveKit unreachable),
 * - every call is recorded; `GET http://livekit.control/calls?room=<room>` returns them as JSON;
 * - `POST http://livekit.control/participants?room=<room>` with a JSON array of `{sid, identity, kind}`
 *   (kind a `ParticipantInfo.Kind` name, e.g. "AGENT") sets what ListParticipants answers (default none);
 * - `POST http://livekit.control/fail?room=<room>&method=<method>&times=<n>` makes the next n calls of that
 *   method for that room fail with a Twirp 503 `unavailable` (LiveKit having an outage);
 * - `POST http://livekit.control/hold?room=<room>&method=<method>` makes the calls of that method for that room wait
 *   (recorded at once, answered later) until `POST http://livekit.control/release?room=<room>&method=<method>`: a
 *   call in progress, for what happens meanwhile (the Worker's LiveKit calls give up after 5 s).
 *
 * The same handler also serves a fake of OpenAI's chat completions at {@link FAKE_OPENAI_HOST}
 * ({@link fakeOpenAI}): the edge's summaries (edge/summary.ts) call that paid API.
 */
export interface LiveKitCall {
  method: "CreateDispatch" | "DeleteRoom" | string;
  room: string;
  body: Record<string, unknown>;
  /** Whether the request carried `Authorization: Bearer <jwt>`. */
  authorized: boolean;
}

/** Host the Worker is configured to use as LiveKit in tests (`LIVEKIT_URL=ws://livekit.test`). */
export const FAKE_LIVEKIT_HOST = "livekit.test";
export const CONTROL_HOST = "livekit.control";

const calls = new Map<string, LiveKitCall[]>();
const participants = new Map<string, unknown[]>();
/** `<room> <method>` → failures still to inject. */
const failures = new Map<string, number>();
/** `<room> <method>` → the gate its calls wait at until released. */
const holds = new Map<string, { gate: Promise<void>; release: () => void }>();

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

/** The `outboundService` handler. Anything not aimed at the fake is refused with 502. */
export async function fakeLiveKit(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host === CONTROL_HOST) {
    const room = url.searchParams.get("room") ?? "";
    if (url.pathname === "/calls") return json(200, calls.get(room) ?? []);
    if (url.pathname === "/participants") participants.set(room, (await request.json()) as unknown[]);
    if (url.pathname === "/fail") {
      failures.set(`${room} ${url.searchParams.get("method")}`, Number(url.searchParams.get("times") ?? "1"));
    }
    const holdKey = `${room} ${url.searchParams.get("method")}`;
    if (url.pathname === "/hold") {
      let release = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      holds.set(holdKey, { gate, release });
    }
    if (url.pathname === "/release") {
      holds.get(holdKey)?.release();
      holds.delete(holdKey);
    }
    return json(200, {});
  }
  if (url.host === FAKE_OPENAI_HOST || url.host === OPENAI_CONTROL_HOST) return fakeOpenAI(request);
  if (url.host !== FAKE_LIVEKIT_HOST) return new Response("outbound traffic is blocked in tests", { status: 502 });
  const method = url.pathname.split("/").pop() ?? "";
  const body = (await request.json().catch(() => ({}))) as Record<string, unknown>;
  const room = String(body.room ?? "");
  const list = calls.get(room) ?? [];
  list.push({ method, room, body, authorized: /^Bearer \S+$/.test(request.headers.get("Authorization") ?? "") });
  calls.set(room, list);
  await holds.get(`${room} ${method}`)?.gate;
  const toFail = failures.get(`${room} ${method}`) ?? 0;
  if (toFail > 0) {
    failures.set(`${room} ${method}`, toFail - 1);
    return json(503, { code: "unavailable", msg: "injected outage" });
  }
  if (method === "CreateDispatch") {
    if (room.startsWith("refuse-")) return json(400, { code: "invalid_argument", msg: "dispatch refused" });
    if (room.startsWith("down-")) throw new Error("connection refused");
    return json(200, {
      id: `AD_${list.length}`,
      agent_name: body.agentName ?? body.agent_name,
      room,
      metadata: body.metadata,
    });
  }
  if (method === "DeleteRoom" || method === "SendData") return json(200, {});
  if (method === "ListParticipants") return json(200, { participants: participants.get(room) ?? [] });
  return json(404, { code: "not_found", msg: `no such method ${method}` });
}

/* ------------------------------------------------------------------------------------------------------------ */

/**
 * A fake of OpenAI's chat completions API (a paid third-party API: "Create chat completion",
 * https://platform.openai.com/docs/api-reference/chat/create), at host {@link FAKE_OPENAI_HOST}: the tests set
 * `OPENAI_BASE_URL=https://openai.test/v1` and `OPENAI_API_KEY=`{@link FAKE_OPENAI_KEY} (vitest.config.ts). The real
 * wire format is exercised against the local stand-in (dev/openai/) by test/agent/openai-dev-summary.test.ts.
 *
 * - `POST /v1/chat/completions` with `Authorization: Bearer <FAKE_OPENAI_KEY>` answers a non-streamed completion
 *   whose content is {@link fakeSummary} of the last user message: `Summary of <N> lines: <its first line>`;
 *   another key gets 401 `invalid_api_key`, a body without `messages` 400, as OpenAI answers.
 * - Behaviour is chosen by a tag in the user message (any word of the transcript), so that test files running in
 *   parallel do not interfere: `POST http://openai.control/fail?tag=<tag>&status=<status>&times=<n>` makes the
 *   next n requests whose user message contains the tag fail with that status (default 503; a 429 carries code
 *   `rate_limit_exceeded`, any other `server_error`); `status=200` makes them an answer with empty content.
 *   (A network failure cannot be faked here: workerd turns a throwing outbound handler into a 500.)
 * - Every request is recorded: `GET http://openai.control/calls?tag=<tag>` returns those whose user message
 *   contains the tag, as {@link OpenAICall}s.
 */
export const FAKE_OPENAI_HOST = "openai.test";
export const OPENAI_CONTROL_HOST = "openai.control";
/** The `OPENAI_API_KEY` of the workerd tests (not a real key). */
export const FAKE_OPENAI_KEY = "sk-test-fake-openai-key";

/** One chat-completions request the fake received. */
export interface OpenAICall {
  /** The request's path, e.g. `/v1/chat/completions`. */
  path: string;
  /** The `Authorization` header as sent (a test key). */
  authorization: string | null;
  body: Record<string, unknown>;
  /** The HTTP status the fake answered. */
  status: number;
}

const openAICalls: OpenAICall[] = [];
/** Failures still to inject: tag → status and count. */
const openAIFailures = new Map<string, { status: number; times: number }>();

/** The fake's summary of a transcript: `Summary of <N> lines: <first line>`. */
export function fakeSummary(transcript: string): string {
  const lines = transcript.split("\n").filter((line) => line.trim());
  return `Summary of ${lines.length} lines: ${lines[0] ?? ""}`;
}

/** The text of the request's last user message ("" when there is none). */
function lastUserText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown; content?: unknown }[]) : [];
  const content = messages.filter((m) => m.role === "user").at(-1)?.content;
  return typeof content === "string" ? content : "";
}

const openAIError = (status: number, code: string, message: string) =>
  json(status, {
    error: { message, type: code === "invalid_api_key" ? "invalid_request_error" : code, param: null, code },
  });

/** The fake OpenAI's handler (see above); {@link fakeLiveKit} hands it requests for its hosts. */
export async function fakeOpenAI(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host === OPENAI_CONTROL_HOST) {
    const tag = url.searchParams.get("tag") ?? "";
    if (!tag) return json(400, { error: "tag is required" });
    if (url.pathname === "/calls")
      return json(
        200,
        openAICalls.filter((c) => lastUserText(c.body).includes(tag)),
      );
    if (url.pathname === "/fail") {
      openAIFailures.set(tag, {
        status: Number(url.searchParams.get("status") ?? "503"),
        times: Number(url.searchParams.get("times") ?? "1"),
      });
    }
    return json(200, {});
  }
  const body = (await request.json().catch(() => ({}))) as Record<string, unknown>;
  const call: OpenAICall = {
    path: url.pathname,
    authorization: request.headers.get("Authorization"),
    body,
    status: 200,
  };
  openAICalls.push(call);
  const answer = (status: number, response: Response) => ((call.status = status), response);
  if (request.method !== "POST" || url.pathname !== "/v1/chat/completions") {
    return answer(404, openAIError(404, "unknown_url", `Unknown request URL: ${request.method} ${url.pathname}`));
  }
  if (call.authorization !== `Bearer ${FAKE_OPENAI_KEY}`) {
    return answer(401, openAIError(401, "invalid_api_key", "Incorrect API key provided."));
  }
  if (!Array.isArray(body.messages)) return answer(400, openAIError(400, "invalid_value", "messages is required"));
  const transcript = lastUserText(body);
  for (const [tag, failure] of openAIFailures) {
    if (failure.times <= 0 || !transcript.includes(tag)) continue;
    failure.times -= 1;
    if (failure.status === 429) return answer(429, openAIError(429, "rate_limit_exceeded", "Rate limit reached."));
    if (failure.status !== 200) return answer(failure.status, openAIError(failure.status, "server_error", "injected"));
    return answer(200, completion(String(body.model ?? ""), ""));
  }
  return answer(200, completion(String(body.model ?? ""), fakeSummary(transcript)));
}

/** A non-streamed chat completion with `content`. */
function completion(model: string, content: string): Response {
  return json(200, {
    id: `chatcmpl-fake-${openAICalls.length}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: "assistant", content, refusal: null }, finish_reason: "stop" }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  });
}
