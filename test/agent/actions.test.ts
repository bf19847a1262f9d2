/**
 * The actions client (agent/actions.ts) against a real local HTTP server playing the Worker's actions endpoint
 * (test/agent/ingest-server.ts): it verifies the contract's signature (`verifyIngest`) and body (`ActionRequest`),
 * acts once per call_id, and can answer late, fail, or drop the connection.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTION_TIMEOUT_MS, ActionsClient, type ActionsClientOptions, failureText } from "../../agent/actions.ts";
import { ACTION_ARGUMENTS_MAX_BYTES, type ActionRequest, type ActionResponse } from "../../contract/index.ts";
import { createLogger } from "../../contract/log.ts";
import { type IngestServer, startIngestServer } from "./ingest-server.ts";

const SECRET = "test-ingest-secret-0123456789abcdef";
const SESSION = "AAAAAAAAAAAAAAAAAAAAAA";

let server: IngestServer;
beforeEach(async () => {
  server = await startIngestServer(SECRET);
});
afterEach(async () => {
  await server.close();
});

/** A logger that keeps every line, parsed. */
function recordingLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ component: "agent", level: "debug", write: (l) => void lines.push(JSON.parse(l)) });
  return { log, lines };
}

function client(extra: Partial<ActionsClientOptions> = {}) {
  const { log, lines } = recordingLog();
  const c = new ActionsClient({ ingestUrl: server.url, secret: SECRET, sessionId: SESSION, log, ...extra });
  return { client: c, lines };
}

const CALL: ActionRequest = {
  call_id: "call_abc123",
  intent: "NEW_TASK",
  arguments: { title: "Call the dentist", due: "2026-12-02T09:00:00+01:00" },
};

describe("actions client", () => {
  it("posts the call signed as ingest is, and returns the Worker's answer", async () => {
    const answer: ActionResponse = {
      call_id: CALL.call_id,
      intent: "NEW_TASK",
      status: "ok",
      message: "Task added: Call the dentist",
      result: { task: { id: "task_1", title: "Call the dentist" } },
    };
    server.actionAnswer = () => answer;
    const { client: c, lines } = client();
    const outcome = await c.call(CALL);
    expect(outcome).toEqual({ answered: true, response: answer });
    expect(server.actions).toHaveLength(1);
    const [sent] = server.actions;
    expect(sent).toMatchObject({ sessionId: SESSION, verdict: "ok", request: CALL });
    expect(JSON.parse(sent!.body)).toEqual(CALL);
    // One line, without the arguments or the answer's text.
    const logged = lines.filter((l) => l.msg === "action_called");
    expect(logged).toEqual([
      expect.objectContaining({
        intent: "NEW_TASK",
        call_id: CALL.call_id,
        status: "ok",
        attempts: 1,
        http_status: 200,
      }),
    ]);
    expect(logged[0]!.ms).toBeTypeOf("number");
    // (The due time, not its date: every line's own `time` may share the date.)
    expect(JSON.stringify(lines)).not.toMatch(/dentist|T09:00:00\+01:00/);
  });

  it("passes every status of an answer on: the LLM hears invalid, ambiguous and refused too", async () => {
    server.actionAnswer = (req) => ({
      call_id: req.call_id,
      intent: req.intent,
      status: "invalid",
      message: "The arguments do not match.",
      errors: [{ path: "/due", message: "must be a date-time" }],
    });
    const outcome = await client().client.call(CALL);
    expect(outcome).toMatchObject({ answered: true, response: { status: "invalid", errors: [{ path: "/due" }] } });
  });

  it("retries a 5xx once with the same call_id, and the Worker acts once", async () => {
    server.actionScript.push(503);
    const { client: c, lines } = client({ retryDelayMs: 10 });
    const outcome = await c.call(CALL);
    expect(outcome).toMatchObject({ answered: true, response: { call_id: CALL.call_id, status: "ok" } });
    expect(server.actions.map((a) => a.request?.call_id)).toEqual([CALL.call_id, CALL.call_id]);
    expect(server.actions[0]!.body).toBe(server.actions[1]!.body);
    expect(server.acted).toHaveLength(1);
    expect(lines.find((l) => l.msg === "action_called")).toMatchObject({ status: "ok", attempts: 2 });
  });

  it("retries a dropped connection once with the same call_id", async () => {
    server.actionScript.push("reset");
    const outcome = await client({ retryDelayMs: 10 }).client.call(CALL);
    expect(outcome.answered).toBe(true);
    expect(server.actions.map((a) => a.request?.call_id)).toEqual([CALL.call_id, CALL.call_id]);
  });

  it("gives up after the one retry: the LLM is told the server is not reachable", async () => {
    server.actionScript.push(503, 502);
    const { client: c, lines } = client({ retryDelayMs: 10 });
    const outcome = await c.call(CALL);
    expect(outcome).toEqual({ answered: false, failure: "unreachable", httpStatus: 502 });
    expect(server.actions).toHaveLength(2);
    expect(failureText(outcome as Extract<typeof outcome, { answered: false }>)).toBe(
      "The server is not reachable right now; nothing was done.",
    );
    expect(lines.find((l) => l.msg === "action_called")).toMatchObject({ status: "unreachable", attempts: 2 });

    server.down = true; // no answer at all
    expect(await client({ retryDelayMs: 10 }).client.call(CALL)).toEqual({ answered: false, failure: "unreachable" });
    expect(server.resets()).toBe(2);
  });

  it("stops waiting at the timeout, retry included, and says it is not known whether it was done", async () => {
    expect(ACTION_TIMEOUT_MS).toBe(8000);
    server.actionScript.push({ delayMs: 1000 });
    const { client: c, lines } = client({ timeoutMs: 200 });
    const began = Date.now();
    const outcome = await c.call(CALL);
    const waited = Date.now() - began;
    expect(outcome).toEqual({ answered: false, failure: "timeout" });
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(900);
    expect(failureText({ answered: false, failure: "timeout" })).toMatch(/not known whether this was done/);
    expect(lines.find((l) => l.msg === "action_called")).toMatchObject({ status: "timeout", attempts: 1 });
    // A retry that would outlast the timeout is not started: the deadline covers the whole call.
    server.actionScript.push(503, { delayMs: 1000 });
    expect(await client({ timeoutMs: 200, retryDelayMs: 10 }).client.call(CALL)).toEqual({
      answered: false,
      failure: "timeout",
    });
  });

  it("does not retry a 4xx: the request itself was refused", async () => {
    server.actionScript.push(409);
    const outcome = await client({ retryDelayMs: 10 }).client.call(CALL);
    expect(outcome).toEqual({ answered: false, failure: "refused", httpStatus: 409, code: "scripted" });
    expect(server.actions).toHaveLength(1);
    expect(failureText(outcome as Extract<typeof outcome, { answered: false }>)).toBe(
      "The server refused the request (scripted); nothing was done.",
    );
  });

  it("is refused with a wrong secret: the signature is what the Worker checks", async () => {
    const outcome = await client({ secret: "another-secret-0123456789abcdef0123" }).client.call(CALL);
    expect(outcome).toMatchObject({ answered: false, failure: "refused", httpStatus: 401, code: "signature_mismatch" });
    expect(server.actions[0]!.verdict).toBe("mismatch");
    expect(server.acted).toHaveLength(0);
  });

  it("sends nothing that breaks the contract", async () => {
    const big = { ...CALL, arguments: { title: "x".repeat(ACTION_ARGUMENTS_MAX_BYTES) } };
    const badId = { ...CALL, call_id: "call with spaces" };
    for (const request of [big, badId]) {
      expect(await client().client.call(request)).toEqual({ answered: false, failure: "invalid_request" });
    }
    expect(server.actions).toHaveLength(0);
  });

  it("does not take an answer to another call, or a body that is not an ActionResponse", async () => {
    server.actionAnswer = (req) => ({ ...req, call_id: "call_other", status: "ok", message: "Done" });
    expect(await client().client.call(CALL)).toEqual({ answered: false, failure: "bad_response", httpStatus: 200 });
    server.actionAnswer = () => ({ hello: "world" }) as unknown as ActionResponse;
    expect(await client().client.call({ ...CALL, call_id: "call_2" })).toMatchObject({ failure: "bad_response" });
  });
});
