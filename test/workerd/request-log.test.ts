/**
 * The Worker's request log (worker/request-log.ts): one `request` line per request, with the method, the route as
 * registered, the status and the wall time, and nothing of the visitor: no path values, query, cookie, address or
 * user agent. Real Worker in workerd; the lines are captured from the console.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, newVisitor, startSession } from "./helpers.ts";

interface Line {
  msg?: string;
  method?: string;
  route?: string;
  status?: number;
  ms?: number;
  [key: string]: unknown;
}

/**
 * Captures every console line while `run` runs; returns the `request` lines, parsed, and as text. (Other lines may
 * name a session: its id is an operational id, not the visitor's.)
 */
async function requestLines(run: () => Promise<unknown>): Promise<{ lines: Line[]; raw: string }> {
  const captured: string[] = [];
  const capture = (line: unknown) => void captured.push(String(line));
  for (const method of ["log", "info", "warn", "error"] as const) vi.spyOn(console, method).mockImplementation(capture);
  await run();
  vi.restoreAllMocks();
  const lines = captured.flatMap((l) => {
    try {
      const parsed = JSON.parse(l) as Line;
      return parsed.msg === "request" ? [parsed] : [];
    } catch {
      return [];
    }
  });
  return { lines, raw: JSON.stringify(lines) };
}

afterEach(() => vi.restoreAllMocks());

describe("the request log", () => {
  it("logs each request once: method, registered route, status and ms", async () => {
    const cookie = await newVisitor();
    const { sessionId } = await startSession(cookie);
    const { lines, raw } = await requestLines(async () => {
      await call(`/transcripts/${sessionId}?secret=query-words`, { cookie, ip: "198.51.100.7" });
      await call("/tutor/subtopics/abc", { cookie });
      await call("/no/such/path", { cookie });
      await call(`/session/${sessionId}`, { method: "DELETE", cookie });
    });
    expect(lines.map(({ method, route, status }) => ({ method, route, status }))).toEqual([
      { method: "GET", route: "/transcripts/:session_id", status: 200 },
      { method: "GET", route: "/tutor/subtopics/:id", status: 400 },
      { method: "GET", route: "(none)", status: 404 },
      { method: "DELETE", route: "/session/:session_id", status: 200 },
    ]);
    for (const line of lines) {
      expect(line).toMatchObject({ level: "info", component: "edge", ms: expect.any(Number) });
      expect(line.ms).toBeGreaterThanOrEqual(0);
      expect(Object.keys(line).sort()).toEqual([
        "component",
        "level",
        "method",
        "ms",
        "msg",
        "route",
        "status",
        "time",
      ]);
    }
    // Nothing of the visitor, the path's values or the query.
    for (const leak of [sessionId, "query-words", "198.51.100.7", cookie.split("=")[1]!.slice(0, 16), "abc"]) {
      expect(raw).not.toContain(leak);
    }
  });

  it("logs a request a middleware refuses (a foreign Origin) with no route", async () => {
    const { lines } = await requestLines(() => call("/chat", { headers: { Origin: "https://evil.example" } }));
    expect(lines).toEqual([expect.objectContaining({ method: "GET", route: "(none)", status: 403 })]);
  });
});
