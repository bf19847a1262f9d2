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
 *   method for that room fail with a Twirp 503 `unavailable` (LiveKit having an outage).
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
    return json(200, {});
  }
  if (url.host !== FAKE_LIVEKIT_HOST) return new Response("outbound traffic is blocked in tests", { status: 502 });
  const method = url.pathname.split("/").pop() ?? "";
  const body = (await request.json().catch(() => ({}))) as Record<string, unknown>;
  const room = String(body.room ?? "");
  const list = calls.get(room) ?? [];
  list.push({ method, room, body, authorized: /^Bearer \S+$/.test(request.headers.get("Authorization") ?? "") });
  calls.set(room, list);
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
