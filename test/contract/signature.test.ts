import { describe, expect, it } from "vitest";
import { signIngest, SIGNATURE_TOLERANCE_S, verifyIngest } from "../../contract/index.ts";

const secret = "test-secret";
const session = "AAAAAAAAAAAAAAAAAAAAAA";
const body = '{"events":[{"id":"j:1","ts":1,"type":"agent_joined"}]}';
const now = 1_800_000_000;

describe("ingest signature", () => {
  it("verifies what it signed", async () => {
    const header = await signIngest(secret, session, body, now);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(await verifyIngest(secret, session, body, header, now)).toBe("ok");
  });

  it("binds the body, the session and the secret", async () => {
    const header = await signIngest(secret, session, body, now);
    expect(await verifyIngest(secret, session, body.replace("j:1", "j:2"), header, now)).toBe("mismatch");
    expect(await verifyIngest(secret, "BBBBBBBBBBBBBBBBBBBBBB", body, header, now)).toBe("mismatch");
    expect(await verifyIngest("other", session, body, header, now)).toBe("mismatch");
  });

  it("refuses stale timestamps beyond the tolerance either way", async () => {
    const old = await signIngest(secret, session, body, now - SIGNATURE_TOLERANCE_S - 1);
    const future = await signIngest(secret, session, body, now + SIGNATURE_TOLERANCE_S + 1);
    const edge = await signIngest(secret, session, body, now - SIGNATURE_TOLERANCE_S);
    expect(await verifyIngest(secret, session, body, old, now)).toBe("stale");
    expect(await verifyIngest(secret, session, body, future, now)).toBe("stale");
    expect(await verifyIngest(secret, session, body, edge, now)).toBe("ok");
  });

  it.each([
    [null, "missing"],
    ["", "missing"],
    ["v1=abc", "malformed"],
    ["t=abc,v1=" + "0".repeat(64), "malformed"],
    [`t=${now},v1=` + "0".repeat(63), "malformed"],
    [`t=${now},v1=` + "g".repeat(64), "malformed"],
    [`t=${now},v1=` + "0".repeat(64), "mismatch"],
  ])("classifies header %j as %s", async (header, verdict) => {
    expect(await verifyIngest(secret, session, body, header, now)).toBe(verdict);
  });
});
