/**
 * Tutor benchmark: the tutor's tool round trip, agent → Worker → D1 → agent, through the real Worker, `SessionDO`
 * and local D1 under `wrangler dev` (workerd), started as every test starts it (test/support/wrangler.ts, which
 * applies the D1 migrations, curriculum seed included, before the start).
 *
 * Each call goes through the agent's own actions client (agent/actions.ts: validated, signed with
 * `AGENT_INGEST_SECRET`, `POST /session/{id}/actions`, answer parsed), on a session started with profile "tutor";
 * its time runs from `call()` to the resolved outcome. After {@link WARM_UP} calls, {@link SAMPLES} rounds of
 * START_TOPIC (write), CURRENT_SUBTOPIC (read) and CHECK_UNDERSTANDING (write), each with a fresh `call_id`.
 *
 * Figures: p50/p95/max per intent and overall, against the 50 ms p50 goal (issue #15), and where the time goes:
 * a bare `GET /health` (HTTP through `wrangler dev`, no storage), a signed action the tutor profile does not have
 * (signature check and the two `SessionDO` steps, no handler, no D1), a raw signed `CURRENT_SUBTOPIC` POST without the
 * client's checks, `GET /tutor` (one D1 batch behind the cookie),
 * and, with the argument `worker-log`, the Worker's own time per call (its `action_handled` log line's `ms`, from
 * reading the body to answering; wrangler then prints every request and log line, which costs a little). LiveKit's
 * HTTP API is a local stub; no traffic leaves loopback. Results: docs/actions.md, "Tutor tool round trip".
 * Run: `npx node bench/run.ts tutor-actions [worker-log]` (or `npm run bench -- tutor-actions`).
 */
import { randomUUID } from "node:crypto";
import { type ActionOutcome, ActionsClient } from "../agent/actions.ts";
import { postSigned } from "../agent/signed-post.ts";
import type { ActionRequest } from "../contract/index.ts";
import { createLogger } from "../contract/log.ts";
import { sleep } from "../test/support/wait.ts";
import { startLiveKitApiStub } from "../test/support/livekit-api-stub.ts";
import { startWranglerDev } from "../test/support/wrangler.ts";

/** Measured rounds; each round makes one call of every intent in {@link ROUND}. */
const SAMPLES = 200;
/** Calls made first and not counted (the Worker, the objects and D1 warm up). */
const WARM_UP = 20;
/** Samples of each split measurement (health, refused action, `GET /tutor`). */
const SPLIT_SAMPLES = 200;
/** `worker-log`: wrangler shows the Worker's log lines, for its `action_handled` ms. */
const WORKER_LOG = process.argv.includes("worker-log");
/** The goal for the p50 round trip, ms. */
const GOAL_P50_MS = 50;

/** One round, in the order a lesson uses them. */
const ROUND: ReadonlyArray<Pick<ActionRequest, "intent" | "arguments">> = [
  { intent: "START_TOPIC", arguments: { topic: "fractions" } },
  { intent: "CURRENT_SUBTOPIC", arguments: {} },
  { intent: "CHECK_UNDERSTANDING", arguments: { understood: true, note: "Explained it back in their own words." } },
];
/** An intent the tutor profile does not have: answered `refused` before any handler or D1 query. */
const FOREIGN_INTENT: Pick<ActionRequest, "intent" | "arguments"> = { intent: "GOAL", arguments: { title: "Bench" } };

/** p50/p95/max of `ms` (nearest rank), rounded to 0.1 ms. */
function stats(ms: readonly number[]): { p50: number; p95: number; max: number; samples: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (p: number) => Number(s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1));
  return { p50: at(0.5), p95: at(0.95), max: Number(s[s.length - 1]!.toFixed(1)), samples: s.length };
}

/** Wall time of `fn` in ms. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * The Worker's own ms per call (its `action_handled` log lines), by intent, in a stretch of wrangler's output; empty
 * unless wrangler shows the Worker's log lines (`worker-log`).
 */
function workerTimes(output: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of output.split("\n")) {
    const brace = line.indexOf("{");
    if (brace < 0 || !line.includes('"action_handled"')) continue;
    try {
      const l = JSON.parse(line.slice(brace)) as { msg?: string; intent?: string; ms?: number };
      if (l.msg !== "action_handled" || typeof l.ms !== "number" || !l.intent) continue;
      out.set(l.intent, [...(out.get(l.intent) ?? []), l.ms]);
    } catch {
      // Not a log line of the Worker.
    }
  }
  return out;
}

// LiveKit's server API: CreateDispatch, ListParticipants and DeleteRoom succeed.
const liveKit = await startLiveKitApiStub();

// No agent joins and no page opens a socket: the session's join and grace timers are pushed past the run.
const worker = await startWranglerDev(
  {
    LIVEKIT_URL: liveKit.url,
    AGENT_JOIN_TIMEOUT_S: "300",
    CLIENT_JOIN_TIMEOUT_S: "300",
    CLIENT_GRACE_S: "300",
  },
  { logLevel: WORKER_LOG ? "log" : "error", timeoutMs: 60_000 },
).catch((err: unknown) => {
  liveKit.close();
  throw err;
});
const base = worker.origin;

try {
  const health = await fetch(`${base}/health`);
  const cookie = health.headers.get("set-cookie")!.split(";")[0]!;
  const created = await fetch(`${base}/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Cookie: cookie },
    body: JSON.stringify({ room: "bench-tutor", identity: "visitor", profile: "tutor" }),
  });
  if (created.status !== 201) throw new Error(`POST /session answered ${created.status}: ${await created.text()}`);
  const { session_id: sessionId } = (await created.json()) as { session_id: string };

  const quiet = createLogger({ component: "agent", level: "error" });
  const client = new ActionsClient({ ingestUrl: base, secret: worker.ingestSecret, sessionId, log: quiet });
  let n = 0;
  /** One call as the agent makes it, with a fresh `call_id`; anything but an answer stops the bench. */
  const call = async (req: Pick<ActionRequest, "intent" | "arguments">): Promise<number> => {
    let outcome: ActionOutcome | undefined;
    const ms = await timed(async () => {
      outcome = await client.call({ call_id: `bench-${++n}-${randomUUID().slice(0, 8)}`, ...req });
    });
    if (!outcome!.answered) throw new Error(`${req.intent}: no answer (${JSON.stringify(outcome)})`);
    return ms;
  };

  const first = await client.call({ call_id: "bench-first", ...ROUND[0]! });
  if (!first.answered || first.response.status !== "ok") {
    throw new Error(`START_TOPIC is not answered ok: ${JSON.stringify(first)}`);
  }
  for (let i = 0; i < WARM_UP; i++) await call(ROUND[i % ROUND.length]!);
  /** Where wrangler's output has got to, once the log lines of the calls so far have arrived. */
  const logMark = async () => (WORKER_LOG && (await sleep(300)), worker.output().length);
  const roundsFrom = await logMark();

  const byIntent = new Map<string, number[]>(ROUND.map((r) => [r.intent, []]));
  for (let i = 0; i < SAMPLES; i++) for (const r of ROUND) byIntent.get(r.intent)!.push(await call(r));

  const roundsTo = await logMark();

  // Where the time goes.
  const healthMs: number[] = [];
  for (let i = 0; i < SPLIT_SAMPLES + WARM_UP; i++) {
    const ms = await timed(async () => (await fetch(`${base}/health`, { headers: { Cookie: cookie } })).arrayBuffer());
    if (i >= WARM_UP) healthMs.push(ms);
  }
  const refusedMs: number[] = [];
  for (let i = 0; i < SPLIT_SAMPLES + WARM_UP; i++) {
    const ms = await call(FOREIGN_INTENT);
    if (i >= WARM_UP) refusedMs.push(ms);
  }
  const refusedTo = await logMark();
  // The raw signed POST alone (no client-side validation or answer parsing), for the client's share.
  const rawMs: number[] = [];
  const url = `${base}/session/${sessionId}/actions`;
  for (let i = 0; i < SPLIT_SAMPLES + WARM_UP; i++) {
    const body = JSON.stringify({ call_id: `raw-${i}-${randomUUID().slice(0, 8)}`, ...ROUND[1]! });
    const ms = await timed(async () => {
      const res = await postSigned({ url, secret: worker.ingestSecret, sessionId, body });
      if (!res.ok) throw new Error(`raw CURRENT_SUBTOPIC answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    if (i >= WARM_UP) rawMs.push(ms);
  }
  const tutorMs: number[] = [];
  let tutorStatus = 0;
  for (let i = 0; i < SPLIT_SAMPLES + WARM_UP; i++) {
    const ms = await timed(async () => {
      const res = await fetch(`${base}/tutor`, { headers: { Cookie: cookie } });
      tutorStatus = res.status;
      await res.arrayBuffer();
    });
    if (i >= WARM_UP) tutorMs.push(ms);
  }

  const all = [...byIntent.values()].flat();
  const output = worker.output();
  const workerRounds = workerTimes(output.slice(roundsFrom, roundsTo));
  const workerRefused = workerTimes(output.slice(roundsTo, refusedTo)).get(FOREIGN_INTENT.intent) ?? [];
  const workerSplit = workerRounds.size
    ? {
        worker_action_handled: {
          ...Object.fromEntries([...workerRounds].map(([intent, ms]) => [intent, stats(ms)])),
          overall: stats([...workerRounds.values()].flat()),
          ...(workerRefused.length ? { refused_action: stats(workerRefused) } : {}),
        },
      }
    : {};
  const overall = stats(all);
  console.log(
    JSON.stringify(
      {
        bench: "tutor-actions",
        round_trip_ms: {
          ...Object.fromEntries([...byIntent].map(([intent, ms]) => [intent, stats(ms)])),
          overall,
        },
        split_ms: {
          health: stats(healthMs),
          refused_action: stats(refusedMs),
          raw_signed_current_subtopic: stats(rawMs),
          ...(tutorStatus === 200 ? { get_tutor: stats(tutorMs) } : { get_tutor: `status ${tutorStatus}` }),
          ...workerSplit,
        },
      },
      null,
      2,
    ),
  );
  const verdict = overall.p50 <= GOAL_P50_MS ? "meets" : "misses";
  console.log(
    `tutor tool round trip p50 ${overall.p50} ms, p95 ${overall.p95} ms: ${verdict} the ≤ ${GOAL_P50_MS} ms p50 goal`,
  );
} finally {
  await worker.close();
  liveKit.close();
}
process.exit(0);
