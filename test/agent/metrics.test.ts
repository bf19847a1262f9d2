/**
 * The worker's Prometheus metrics (agent/metrics.ts): names, labels and values as a scrape sees them, what a job
 * process's IPC message must look like to count, and `GET /metrics` over real HTTP.
 */
import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { JOB_METRIC_CASE, providerOf, WorkerMetrics } from "../../agent/metrics.ts";
import { NO_USAGE } from "../../contract/usage.ts";
import { sampleValue } from "../support/prometheus.ts";

const sample = sampleValue;

describe("worker metrics", () => {
  it("exposes every metric with its labels, and a turn, usage, an error and an ended job move them", async () => {
    let active = 2;
    const metrics = new WorkerMetrics(() => active, false);
    const before = await metrics.registry.metrics();
    for (const name of [
      "voice_agent_active_jobs",
      "voice_agent_jobs_ended_total",
      "voice_agent_turn_latency_seconds",
      "voice_agent_provider_errors_total",
      "voice_agent_llm_tokens_total",
      "voice_agent_stt_audio_seconds_total",
      "voice_agent_tts_characters_total",
      "voice_agent_tts_audio_seconds_total",
    ]) {
      expect(before).toContain(`# HELP ${name} `);
    }
    expect(sample(before, "voice_agent_active_jobs")).toBe(2);

    const turn = { total: 0.8, end_of_utterance: 0.6, transcription: 0.55, llm_ttft: 0.04, tts_ttfb: 0.12 };
    expect(metrics.receive({ case: JOB_METRIC_CASE, value: { kind: "turn", profile: "tutor", seconds: turn } })).toBe(
      true,
    );
    metrics.record({ kind: "turn", profile: "tutor", seconds: { total: 2.5, llm_ttft: undefined } });
    metrics.record({
      kind: "usage",
      profile: "tutor",
      usage: {
        ...NO_USAGE,
        llm_input_tokens: 900,
        llm_cached_input_tokens: 100,
        llm_output_tokens: 40,
        stt_audio_ms: 4500,
        tts_characters: 120,
        tts_audio_ms: 7250,
      },
    });
    metrics.record({ kind: "provider_error", profile: "tutor", provider: "llm", recoverable: true });
    metrics.record({ kind: "job_ended", reason: "room_disconnected" });
    active = 1;

    const after = await metrics.registry.metrics();
    expect(sample(after, "voice_agent_active_jobs")).toBe(1);
    const total = { profile: "tutor", stage: "total" };
    expect(sample(after, "voice_agent_turn_latency_seconds_count", total)).toBe(2);
    expect(sample(after, "voice_agent_turn_latency_seconds_sum", total)).toBeCloseTo(3.3);
    expect(sample(after, "voice_agent_turn_latency_seconds_bucket", { le: "1", ...total })).toBe(1);
    expect(sample(after, "voice_agent_turn_latency_seconds_bucket", { le: "+Inf", ...total })).toBe(2);
    for (const stage of ["end_of_utterance", "transcription", "llm_ttft", "tts_ttfb"]) {
      expect(sample(after, "voice_agent_turn_latency_seconds_count", { profile: "tutor", stage }), stage).toBe(1);
    }
    expect(sample(after, "voice_agent_llm_tokens_total", { profile: "tutor", kind: "input" })).toBe(900);
    expect(sample(after, "voice_agent_llm_tokens_total", { profile: "tutor", kind: "cached_input" })).toBe(100);
    expect(sample(after, "voice_agent_llm_tokens_total", { profile: "tutor", kind: "output" })).toBe(40);
    expect(sample(after, "voice_agent_stt_audio_seconds_total", { profile: "tutor" })).toBe(4.5);
    expect(sample(after, "voice_agent_tts_characters_total", { profile: "tutor" })).toBe(120);
    expect(sample(after, "voice_agent_tts_audio_seconds_total", { profile: "tutor" })).toBe(7.25);
    const error = { profile: "tutor", provider: "llm", recoverable: "true" };
    expect(sample(after, "voice_agent_provider_errors_total", error)).toBe(1);
    expect(sample(after, "voice_agent_jobs_ended_total", { reason: "room_disconnected" })).toBe(1);
  });

  it("ignores the framework's own IPC messages and anything else that is not a job metric", () => {
    const metrics = new WorkerMetrics(() => 0, false);
    for (const message of [
      { case: "pongResponse", value: { lastTimestamp: 1, timestamp: 2 } },
      { case: "done" },
      { case: JOB_METRIC_CASE },
      { case: JOB_METRIC_CASE, value: "turn" },
      null,
      "voiceAgentMetric",
    ]) {
      expect(metrics.receive(message), JSON.stringify(message)).toBe(false);
    }
  });

  it("names the provider of each framework error type", () => {
    expect(
      ["stt_error", "llm_error", "tts_error", "realtime_model_error", "interruption_error", undefined].map(providerOf),
    ).toEqual(["stt", "llm", "tts", "realtime", "other", "other"]);
  });

  it("serves GET /metrics in the text exposition format, HEAD without a body, and refuses other methods", async () => {
    const metrics = new WorkerMetrics(() => 3);
    const server = createServer((req, res) => void metrics.serve(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;
    try {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(sample(text, "voice_agent_active_jobs")).toBe(3);
      expect(text).toContain("# TYPE process_resident_memory_bytes gauge"); // prom-client's default metrics
      const head = await fetch(url, { method: "HEAD" });
      expect([head.status, await head.text()]).toEqual([200, ""]);
      const post = await fetch(url, { method: "POST" });
      expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
