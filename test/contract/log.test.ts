import { describe, expect, it } from "vitest";
import { createLogger, errorSummary, EVENT_NAME, type LogLevel, parseLogLevel } from "../../contract/log.ts";

/** A logger whose lines are collected, parsed, with their level. */
function collect(level?: LogLevel) {
  const lines: { level: LogLevel; line: Record<string, unknown> }[] = [];
  const log = createLogger({
    component: "test",
    ...(level ? { level } : {}),
    write: (text, lineLevel) => lines.push({ level: lineLevel, line: JSON.parse(text) as Record<string, unknown> }),
  });
  return { log, lines };
}

describe("createLogger", () => {
  it("writes one JSON object per line: time, level, component, msg, then the fields", () => {
    const { log, lines } = collect();
    const before = Date.now();
    log.info("session_started", { session_id: "abc", room: "r1", count: 3 });
    expect(lines).toHaveLength(1);
    const { line } = lines[0]!;
    expect(Object.keys(line)).toEqual(["time", "level", "component", "msg", "session_id", "room", "count"]);
    expect(line).toMatchObject({
      level: "info",
      component: "test",
      msg: "session_started",
      session_id: "abc",
      count: 3,
    });
    expect(Date.parse(line.time as string)).toBeGreaterThanOrEqual(before - 1);
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("drops lines below its level and passes the level to the sink", () => {
    const { log, lines } = collect("warn");
    log.debug("a");
    log.info("b");
    log.warn("c");
    log.error("d");
    expect(lines.map((l) => [l.level, l.line.msg])).toEqual([
      ["warn", "c"],
      ["error", "d"],
    ]);
  });

  it("redacts fields whose names suggest secrets, in children too", () => {
    const { log, lines } = collect();
    const child = log.child({ job_id: "j1", api_key: "sk-live-123" });
    child.info("request_sent", {
      token: "eyJhbGciOi",
      signature: "t=1,v1=ff",
      authorization: "Bearer x",
      cookie: "vid=1",
      ingestSecret: "s",
      password: "p",
      status: 200,
    });
    const text = JSON.stringify(lines[0]!.line);
    for (const secret of ["sk-live-123", "eyJhbGciOi", "t=1,v1=ff", "Bearer x", "vid=1", '"s"', '"p"']) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]!.line).toMatchObject({ job_id: "j1", api_key: "[redacted]", token: "[redacted]", status: 200 });
  });

  it("summarises errors, stringifies bigints and leaves out undefined fields", () => {
    const { log, lines } = collect();
    const err = new TypeError("bad thing\n    at stack frame");
    log.error("job_failed", { error: err, bytes: 10n, missing: undefined });
    expect(lines[0]!.line).toEqual(expect.objectContaining({ error: "TypeError: bad thing", bytes: "10" }));
    expect("missing" in lines[0]!.line).toBe(false);
  });

  it("child loggers add their fields to every line without changing the parent", () => {
    const { log, lines } = collect();
    log.child({ session_id: "s1" }).child({ job_id: "j1" }).info("job_started");
    log.info("worker_started");
    expect(lines[0]!.line).toMatchObject({ session_id: "s1", job_id: "j1" });
    expect("session_id" in lines[1]!.line).toBe(false);
  });
});

describe("errorSummary", () => {
  it("gives name and first message line, at most 500 characters", () => {
    expect(errorSummary(new RangeError("out of range"))).toBe("RangeError: out of range");
    expect(errorSummary("plain\nsecond line")).toBe("plain");
    expect(errorSummary(new Error("x".repeat(1000))).length).toBe(500);
  });
});

describe("event names and levels", () => {
  it("accepts snake_case event names only", () => {
    for (const ok of ["turn", "session_started", "ingest_retry_scheduled", "stand_in_transcription", "ws_v2_open"]) {
      expect(EVENT_NAME.test(ok)).toBe(true);
    }
    for (const bad of ["job started", "Session_started", "session-started", "_x", "x_", "a__b", ""]) {
      expect(EVENT_NAME.test(bad)).toBe(false);
    }
  });

  it("parses LOG_LEVEL values, falling back for anything else", () => {
    expect(parseLogLevel("debug")).toBe("debug");
    expect(parseLogLevel("error")).toBe("error");
    expect(parseLogLevel(undefined)).toBe("info");
    expect(parseLogLevel("verbose", "warn")).toBe("warn");
    expect(parseLogLevel("toString")).toBe("info");
  });
});
