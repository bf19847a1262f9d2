// The transcript socket in Chromium against a real WebSocket server (ws): frames validated, a dropped
// socket re-opened with ?after=<last seq>, replayed frames delivered once, refusals not retried.
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { backoffDelay } from "../../web/src/transcript-socket.ts";
import { domPage, launch, type Browser } from "./support/browser.ts";
import "./support/types.ts";

let browser: Browser;
let page: Page;
let wss: WebSocketServer;
let origin: string;
/** Every upgrade's URL, in order; and what the test does with each connection. */
const upgrades: string[] = [];
let onConnection: (ws: WebSocket, n: number) => void = () => undefined;

beforeAll(async () => {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (ws, req) => {
    upgrades.push(req.url ?? "");
    onConnection(ws, upgrades.length);
  });
  await new Promise((r) => wss.once("listening", r));
  origin = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  browser = await launch({ microphone: false });
  page = await domPage(browser.context);
});
afterAll(async () => {
  await browser?.close();
  wss?.close();
});

const frame = (seq: number, text = `line ${seq}`) =>
  JSON.stringify({ role: "agent", text, final: true, seq, ts: 1_700_000_000_000 + seq });

/** Opens a TranscriptSocket in the page; resolves with what its handlers saw once `until` holds. */
async function runSocket(
  until: string,
  pingMs = 60_000,
): Promise<{ seqs: number[]; connections: boolean[]; fatal: string | null }> {
  return page.evaluate(
    async ([origin, until, pingMs]) => {
      const seen = { seqs: [] as number[], connections: [] as boolean[], fatal: null as string | null };
      const socket = new web.TranscriptSocket(
        "abcdefghijklmnopqrstuv",
        {
          onMessage: (m) => seen.seqs.push(m.seq),
          onConnection: (c) => seen.connections.push(c),
          onFatal: (code) => (seen.fatal = code),
        },
        origin,
        { initialMs: 20, maxMs: 100, giveUpMs: 1500, pingMs },
      );
      socket.open();
      const done = new Function("seen", `return ${until}`) as (s: typeof seen) => boolean;
      const deadline = Date.now() + 10_000;
      while (!done(seen) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 150)); // anything arriving late would show up here
      socket.close();
      return seen;
    },
    [origin, until, pingMs] as const,
  );
}

describe("TranscriptSocket", () => {
  it("re-opens a dropped socket with ?after=<last seq> and delivers replayed frames once", async () => {
    upgrades.length = 0;
    onConnection = (ws, n) => {
      if (n === 1) {
        for (const seq of [1, 2, 3]) ws.send(frame(seq));
        setTimeout(() => ws.terminate(), 50); // the network drops: no close frame
      } else {
        // The replay overlaps what was delivered (a live frame raced the drop), then live frames.
        for (const seq of [2, 3, 4, 5]) ws.send(frame(seq));
      }
    };
    const seen = await runSocket("seen.seqs.length >= 5");
    expect(seen.seqs).toEqual([1, 2, 3, 4, 5]);
    expect(upgrades).toEqual([
      "/ws/transcript/abcdefghijklmnopqrstuv",
      "/ws/transcript/abcdefghijklmnopqrstuv?after=3",
    ]);
    expect(seen.connections).toEqual([true, false, true]);
    expect(seen.fatal).toBeNull();
  });

  it("ignores frames that do not match the contract", async () => {
    upgrades.length = 0;
    onConnection = (ws) => {
      ws.send("not json");
      ws.send(JSON.stringify({ role: "agent", text: "no seq", final: true }));
      ws.send(JSON.stringify({ role: "system", text: "bad role", final: true, seq: 1, ts: 1 }));
      ws.send(frame(2));
    };
    const seen = await runSocket("seen.seqs.length >= 1");
    expect(seen.seqs).toEqual([2]);
  });

  it("delivers action frames, and drops one that does not match the contract", async () => {
    upgrades.length = 0;
    const action = {
      type: "action",
      call_id: "call_1",
      intent: "NEW_TASK",
      arguments: { title: "Call the dentist" },
      status: "ok",
      message: "Task added: Call the dentist",
      result: { task: { id: "task_1", title: "Call the dentist", due: null } },
      seq: 1,
      ts: 1,
    };
    onConnection = (ws) => {
      ws.send(JSON.stringify(action));
      ws.send(JSON.stringify({ ...action, status: "done", seq: 2 })); // not an ActionStatus
      ws.send(JSON.stringify({ ...action, call_id: undefined, seq: 3 }));
      ws.send(JSON.stringify({ ...action, status: "refused", message: "No.", result: undefined, seq: 4 }));
    };
    const seen = await runSocket("seen.seqs.length >= 2");
    expect(seen.seqs).toEqual([1, 4]);
  });

  it("does not reconnect after the session ended (state message, then close 1000)", async () => {
    upgrades.length = 0;
    onConnection = (ws) => {
      ws.send(frame(1));
      ws.send(JSON.stringify({ type: "session", status: "ended", reason: "stopped", seq: 2, ts: 2 }));
      ws.close(1000);
    };
    const seen = await runSocket("seen.seqs.length >= 2");
    expect(seen.seqs).toEqual([1, 2]);
    expect(upgrades).toHaveLength(1);
  });

  it("reports a refused socket ({type:'error'} then 1011) without retrying", async () => {
    upgrades.length = 0;
    onConnection = (ws) => {
      ws.send(JSON.stringify({ type: "error", code: "forbidden", message: "not your session" }));
      ws.close(1011);
    };
    const seen = await runSocket("seen.fatal !== null");
    expect(seen.fatal).toBe("forbidden");
    expect(upgrades).toHaveLength(1);
  });

  it("gives up with connection_lost when the server stays unreachable", async () => {
    upgrades.length = 0;
    onConnection = (ws) => ws.terminate();
    const seen = await runSocket("seen.fatal !== null");
    expect(seen.fatal).toBe("connection_lost");
    expect(upgrades.length).toBeGreaterThan(2);
  });
});

describe("TranscriptSocket keep-alive", () => {
  it("sends `ping` on an idle socket and takes the `pong` as no frame at all", async () => {
    upgrades.length = 0;
    const pings: string[] = [];
    onConnection = (ws) => {
      ws.send(frame(1));
      ws.on("message", (data) => {
        pings.push(String(data));
        if (String(data) === "ping") ws.send("pong");
        // After three answered pings, one more frame ends the test.
        if (pings.length === 3) ws.send(frame(2));
      });
    };
    const warnings: string[] = [];
    const onConsole = (m: { type(): string; text(): string }) => {
      if (m.type() === "warning" || m.type() === "error") warnings.push(m.text());
    };
    page.on("console", onConsole);
    const seen = await runSocket("seen.seqs.length >= 2", 100);
    page.off("console", onConsole);
    expect(seen.seqs).toEqual([1, 2]);
    expect(pings.length).toBeGreaterThanOrEqual(3);
    expect(new Set(pings)).toEqual(new Set(["ping"]));
    // Answered pings keep the one socket: no re-open, no warning about a frame that is not JSON.
    expect(upgrades).toHaveLength(1);
    expect(seen.connections).toEqual([true]);
    expect(warnings).toEqual([]);
  });

  it("re-opens a socket whose `pong` does not come (a half-open connection) with ?after=", async () => {
    upgrades.length = 0;
    onConnection = (ws, n) => {
      // The first connection goes silent without closing: pings vanish, as on a dead network path.
      if (n === 1) ws.send(frame(1));
      else ws.send(frame(2));
    };
    const seen = await runSocket("seen.seqs.length >= 2", 100);
    expect(seen.seqs).toEqual([1, 2]);
    expect(upgrades.slice(0, 2)).toEqual([
      "/ws/transcript/abcdefghijklmnopqrstuv",
      "/ws/transcript/abcdefghijklmnopqrstuv?after=1",
    ]);
    expect(seen.fatal).toBeNull();
  });
});

describe("backoffDelay", () => {
  it("doubles from initialMs up to maxMs, with jitter in [base/2, base]", () => {
    const o = { initialMs: 250, maxMs: 4000, giveUpMs: 20_000 };
    expect([0, 1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, o, () => 1))).toEqual([
      250, 500, 1000, 2000, 4000, 4000, 4000,
    ]);
    expect(backoffDelay(2, o, () => 0)).toBe(500);
  });
});
