import { describe, expect, it } from "vitest";
import {
  ErrorBody,
  SessionCreateRequest,
  SessionId,
  SYSTEM_PROMPT_MAX,
  TokenQuery,
  VisitorIdentity,
} from "../../contract/index.ts";
import * as defaults from "../../contract/defaults.ts";
import * as rest from "../../contract/rest.ts";

describe("REST input rules", () => {
  it("accepts room and identity names of 1-64 safe characters", () => {
    expect(TokenQuery.safeParse({ room: "a", identity: "visitor_1-X" }).success).toBe(true);
    expect(TokenQuery.safeParse({ room: "r".repeat(64), identity: "v".repeat(64) }).success).toBe(true);
    expect(TokenQuery.safeParse({ identity: "v" }).success).toBe(true);
  });

  it.each([["r".repeat(65)], [""], ["a b"], ["ä"], ["a/b"], ["a.b"]])("rejects room %j", (room) => {
    expect(TokenQuery.safeParse({ room, identity: "v" }).success).toBe(false);
  });

  it("reserves identities starting with agent, in any case", () => {
    for (const id of ["agent", "agent-1", "Agent_x", "AGENTS"])
      expect(VisitorIdentity.safeParse(id).success).toBe(false);
    expect(VisitorIdentity.safeParse("my-agent").success).toBe(true);
  });

  it("takes display names up to 64 printable characters", () => {
    expect(TokenQuery.safeParse({ identity: "v", name: "Ada Lovelace 🎧" }).success).toBe(true);
    expect(TokenQuery.safeParse({ identity: "v", name: "x".repeat(65) }).success).toBe(false);
    expect(TokenQuery.safeParse({ identity: "v", name: "bad\nname" }).success).toBe(false);
    expect(TokenQuery.safeParse({ identity: "v", name: "bell\u0007" }).success).toBe(false);
  });

  it("bounds the system prompt and refuses unknown fields on POST /session", () => {
    const ok = { room: "r", identity: "v", system_prompt: "p".repeat(SYSTEM_PROMPT_MAX) };
    expect(SessionCreateRequest.safeParse(ok).success).toBe(true);
    expect(SessionCreateRequest.safeParse({ ...ok, system_prompt: "p".repeat(SYSTEM_PROMPT_MAX + 1) }).success).toBe(
      false,
    );
    expect(SessionCreateRequest.safeParse({ room: "r", identity: "v", extra: 1 }).success).toBe(false);
    expect(SessionCreateRequest.safeParse({ room: "r" }).success).toBe(false);
  });

  it("takes the prompt limit from the shared defaults (rest.ts re-exports it)", () => {
    expect(rest.SYSTEM_PROMPT_MAX).toBe(defaults.SYSTEM_PROMPT_MAX);
    expect(SYSTEM_PROMPT_MAX).toBe(4000);
  });

  it("session ids are exactly 22 base64url characters (128 bits)", () => {
    expect(SessionId.safeParse("AAAAAAAAAAAAAAAAAAAA-_").success).toBe(true);
    expect(SessionId.safeParse("AAAAAAAAAAAAAAAAAAAAA").success).toBe(false);
    expect(SessionId.safeParse("AAAAAAAAAAAAAAAAAAAA+/").success).toBe(false);
  });

  it("error bodies carry a snake_case code and a message", () => {
    expect(ErrorBody.safeParse({ error: { code: "bad_request", message: "room is invalid" } }).success).toBe(true);
    expect(ErrorBody.safeParse({ error: { code: "BadRequest", message: "x" } }).success).toBe(false);
    expect(ErrorBody.safeParse({ error: { code: "x", message: "" } }).success).toBe(false);
  });

  it("explains built-in failures in words (the Worker returns them in 400 bodies), not zod/mini's bare default", () => {
    const issue = TokenQuery.safeParse({ identity: "v", name: "x".repeat(65) }).error?.issues[0];
    expect(issue?.path).toEqual(["name"]);
    expect(issue?.message).not.toBe("Invalid input");
    expect(issue?.message).toMatch(/64/);
  });
});
