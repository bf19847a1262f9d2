/**
 * A session's profile (worker/session-start.ts `chooseProfile`, worker/profiles.ts, edge/config.ts): chosen at
 * `POST /session` among `ALLOWED_PROFILES` (`DEFAULT_PROFILE` when none is named), refused with 400
 * `unknown_profile` before anything is reserved, stored with the session, and carried with the visitor's time zone
 * in the dispatch metadata of the first agent and of a replacement.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError, readEdgeConfig } from "../../edge/config.ts";
import { HttpError } from "../../worker/errors.ts";
import app from "../../worker/index.ts";
import { checkProfileConfig, intentOf, profileById, profileIds } from "../../worker/profiles.ts";
import { chooseProfile, runSessionStart } from "../../worker/session-start.ts";
import { startWith, transcriptOf } from "./action-helpers.ts";
import {
  call,
  expectError,
  finalEvent,
  ingest,
  lifecycle,
  dispatches,
  liveKitCalls,
  newVisitor,
  ORIGIN,
  randomIp,
  uniqueRoom,
} from "./helpers.ts";

afterEach(() => vi.restoreAllMocks());

const post = (cookie: string, body: Record<string, unknown>) =>
  call("/session", {
    method: "POST",
    cookie,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ room: uniqueRoom(), identity: "visitor", ...body }),
  });

describe("POST /session {profile, timezone}", () => {
  it("starts an allowed profile, stores it and dispatches it with the visitor's time zone", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startWith(cookie, {
      profile: "planner",
      timezone: "America/Argentina/Buenos_Aires",
    });
    expect(await dispatches(room)).toEqual([
      { session_id: sessionId, profile: "planner", timezone: "America/Argentina/Buenos_Aires" },
    ]);
    expect((await transcriptOf(cookie, sessionId)).profile).toBe("planner");
  });

  it("gives a session that names none the default profile, and no time zone", async () => {
    const cookie = await newVisitor();
    const { room, sessionId } = await startWith(cookie);
    expect(await dispatches(room)).toEqual([{ session_id: sessionId, profile: "assistant" }]);
    expect((await transcriptOf(cookie, sessionId)).profile).toBe("assistant");
  });

  it("refuses an unknown profile with 400 unknown_profile, reserving nothing", async () => {
    const cookie = await newVisitor();
    const room = uniqueRoom();
    const res = await post(cookie, { room, profile: "coach" });
    const body = await expectError(res, 400, "unknown_profile");
    expect(body.error.message).toBe(
      'There is no profile "coach" here; choose one of: assistant, planner, tutor, asistente.',
    );
    expect(await env.ROOMS.get(env.ROOMS.idFromName(room)).activeSession(Date.now())).toBeNull();
    expect(await liveKitCalls(room)).toEqual([]);
  });

  it("refuses a malformed profile or time zone with 400 invalid_request", async () => {
    const cookie = await newVisitor();
    await expectError(await post(cookie, { profile: "Planner!" }), 400, "invalid_request");
    await expectError(await post(cookie, { timezone: "Europe/Berlin; DROP" }), 400, "invalid_request");
  });

  it("carries the profile and time zone into a replacement agent's dispatch", async () => {
    const cookie = await newVisitor();
    const { room, sessionId, jobId } = await startWith(cookie, { profile: "planner", timezone: "Europe/Berlin" });
    await ingest(sessionId, [finalEvent("hello")], { jobId });
    expect((await ingest(sessionId, [lifecycle("agent_left")], { jobId })).status).toBe(200);
    const [, replacement] = await dispatches(room);
    expect(replacement).toEqual({
      session_id: sessionId,
      profile: "planner",
      timezone: "Europe/Berlin",
      history: [{ role: "user", text: "hello" }],
    });
    await call(`/session/${sessionId}`, { method: "DELETE", cookie });
  });
});

describe("chooseProfile and runSessionStart", () => {
  const config = () => readEdgeConfig(env);

  it("chooses the named allowed profile, else the default; refuses others", () => {
    expect(chooseProfile(config(), { profile: "planner" })).toBe("planner");
    expect(chooseProfile(config(), {})).toBe("assistant");
    expect(chooseProfile({ ...config(), defaultProfile: "planner" }, {})).toBe("planner");
    const narrow = { ...config(), allowedProfiles: new Set(["assistant"]) };
    expect(() => chooseProfile(narrow, { profile: "planner" })).toThrow(HttpError);
    expect(() => chooseProfile(narrow, { profile: "planner" })).toThrow(
      'There is no profile "planner" here; choose one of: assistant.',
    );
  });

  it("refuses a profile the deployment does not allow before reserving anything", async () => {
    const deps = { env, config: { ...config(), allowedProfiles: new Set(["assistant"]) } };
    const caller = { visitorId: crypto.randomUUID(), clientIp: randomIp() };
    const room = uniqueRoom();
    const err = await runSessionStart(deps, { room, identity: "visitor", profile: "planner" }, caller).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpError);
    expect({ status: (err as HttpError).status, code: (err as HttpError).code }).toEqual({
      status: 400,
      code: "unknown_profile",
    });
    expect(await env.ROOMS.get(env.ROOMS.idFromName(room)).activeSession(Date.now())).toBeNull();
    expect(await env.VISITORS.get(env.VISITORS.idFromName(caller.visitorId)).count(Date.now())).toBe(0);
  });
});

describe("the profile registry", () => {
  it("holds the shipped profiles, and the planner's intents with their validators", () => {
    expect(profileIds()).toEqual(expect.arrayContaining(["assistant", "planner"]));
    expect(profileById("assistant")?.intents).toEqual([]);
    expect(profileById("nope")).toBeUndefined();
    expect(profileById("toString")).toBeUndefined();
    const newTask = intentOf("planner", "NEW_TASK");
    expect(newTask?.intent.confirm).toBe(false);
    expect(intentOf("planner", "RESCHEDULE_TASK")?.intent.confirm).toBe(true);
    expect(intentOf("assistant", "NEW_TASK")).toBeUndefined();
    expect(newTask?.validate({ title: "Call the dentist" })).toEqual([]);
    // Compiled once: the same entry again.
    expect(intentOf("planner", "NEW_TASK")).toBe(newTask);
  });
});

describe("ALLOWED_PROFILES and DEFAULT_PROFILE", () => {
  const envWith = (overrides: Record<string, string | undefined>) => ({ ...env, ...overrides }) as Env;
  const fault = (overrides: Record<string, string | undefined>) => {
    try {
      checkProfileConfig(readEdgeConfig(envWith(overrides)));
      return null;
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).message;
    }
  };

  it("are read into the configuration, with their defaults when blank", () => {
    const read = readEdgeConfig(envWith({ ALLOWED_PROFILES: " planner , assistant ,", DEFAULT_PROFILE: "planner" }));
    expect([...read.allowedProfiles]).toEqual(["planner", "assistant"]);
    expect(read.defaultProfile).toBe("planner");
    const blank = readEdgeConfig(envWith({ ALLOWED_PROFILES: "", DEFAULT_PROFILE: "" }));
    expect([...blank.allowedProfiles]).toEqual(["assistant", "planner", "tutor", "asistente"]);
    expect(blank.defaultProfile).toBe("assistant");
    expect(fault({ ALLOWED_PROFILES: "assistant" })).toBeNull();
  });

  it("refuse a profile the registry does not have, naming it", () => {
    expect(fault({ ALLOWED_PROFILES: "assistant,coach" })).toBe(
      'invalid Worker configuration: ALLOWED_PROFILES names "coach", which is not in the profile registry (profiles/coach/, built by npx node profiles/build.ts)',
    );
  });

  it("refuse a malformed id, an empty list and a default that is not allowed", () => {
    expect(fault({ ALLOWED_PROFILES: "assistant,Bad_Id" })).toContain(
      'ALLOWED_PROFILES has "Bad_Id", which is not a profile id',
    );
    expect(fault({ ALLOWED_PROFILES: " , " })).toContain("ALLOWED_PROFILES must name at least one profile");
    expect(fault({ ALLOWED_PROFILES: "assistant", DEFAULT_PROFILE: "planner" })).toContain(
      'DEFAULT_PROFILE is "planner", which is not in ALLOWED_PROFILES (assistant)',
    );
  });

  it("make a request answer 500 server_misconfigured, logging configuration_error", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await app.fetch(new Request(`${ORIGIN}/health`), envWith({ ALLOWED_PROFILES: "assistant,coach" }));
    await expectError(res, 500, "server_misconfigured");
    const lines = errors.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, string>);
    expect(lines.find((l) => l.msg === "configuration_error")?.error).toContain('ALLOWED_PROFILES names "coach"');
  });
});
