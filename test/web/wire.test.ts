// The page validates frames with a zod/mini mirror of the contract (web/src/wire.ts; classic zod would
// not fit the page's 150 KB budget). These tests fail as soon as the two disagree.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import * as zm from "zod/mini";
import * as contract from "../../contract/index.ts";
import * as wire from "../../web/src/wire.ts";

const pairs = [
  ["ServerMessage", contract.ServerMessage, wire.ServerMessage],
  ["SocketErrorMessage", contract.SocketErrorMessage, wire.SocketErrorMessage],
  ["TokenResponse", contract.TokenResponse, wire.TokenResponse],
  ["SessionCreateResponse", contract.SessionCreateResponse, wire.SessionCreateResponse],
  ["ErrorBody", contract.ErrorBody, wire.ErrorBody],
] as const;

describe("web/src/wire.ts mirrors the contract", () => {
  for (const [name, classic, mini] of pairs) {
    it(`${name} has the contract's JSON Schema`, () => {
      expect(zm.toJSONSchema(mini, { io: "output", unrepresentable: "any" })).toEqual(
        z.toJSONSchema(classic, { io: "output", unrepresentable: "any" }),
      );
    });
  }

  it("accepts and rejects the same transcript frames as the contract (property)", () => {
    const frame = fc.record(
      {
        type: fc.constantFrom("session", "error", "other"),
        status: fc.constantFrom("starting", "active", "ended", "gone"),
        reason: fc.constantFrom("stopped", "timeout", "agent_lost", "agent_unavailable", "error", "nope"),
        role: fc.constantFrom("user", "agent", "system"),
        text: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
        final: fc.oneof(fc.boolean(), fc.constant("yes")),
        event: fc.constantFrom("speech_started", "speech_ended", "cough"),
        seq: fc.oneof(fc.integer({ min: -2, max: 1000 }), fc.double()),
        ts: fc.oneof(fc.integer({ min: -1, max: 2e12 }), fc.constant("now")),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(frame, (f) => {
        expect(wire.ServerMessage.safeParse(f).success).toBe(contract.ServerMessage.safeParse(f).success);
      }),
      { numRuns: 2000 },
    );
  });
});
