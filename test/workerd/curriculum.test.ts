/**
 * The tutor's curriculum in real D1 (the workerd test database, migrated by apply-migrations.ts exactly as
 * `wrangler d1 migrations apply` would): the migrations apply and are recorded, the seed is a real curriculum (at
 * least two topics of three or more subtopics, each with a few paragraphs and a check question, in contiguous
 * order), and the schema refuses what it must (a duplicate position, an unknown status, progress for a subtopic
 * that does not exist).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

interface SubtopicRow {
  id: number;
  topic: string;
  subtopic: string;
  content: string;
  position: number;
}

describe("curriculum (D1)", () => {
  it("applies the migrations and records them", async () => {
    const applied = await env.CURRICULUM.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>();
    expect(applied.results.map((r) => r.name)).toEqual(env.TEST_MIGRATIONS.map((m) => m.name));
    expect(applied.results.map((r) => r.name)).toEqual([
      "0001_curriculum.sql",
      "0002_seed_curriculum.sql",
      "0003_progress_op_id.sql",
    ]);
  });

  it("seeds at least two topics of three or more subtopics, in order, each taught in a few paragraphs", async () => {
    const { results } = await env.CURRICULUM.prepare(
      "SELECT id, topic, subtopic, content, position FROM subtopics ORDER BY topic, position",
    ).all<SubtopicRow>();
    const topics = new Map<string, SubtopicRow[]>();
    for (const r of results) topics.set(r.topic, [...(topics.get(r.topic) ?? []), r]);
    expect(topics.size).toBeGreaterThanOrEqual(2);
    for (const [topic, rows] of topics) {
      expect(rows.length, topic).toBeGreaterThanOrEqual(3);
      expect(
        rows.map((r) => r.position),
        topic,
      ).toEqual(rows.map((_, i) => i + 1));
      for (const r of rows) {
        const words = r.content.split(/\s+/).length;
        expect(words, `${topic} / ${r.subtopic}: words`).toBeGreaterThanOrEqual(100);
        expect(r.content.split(/\n\s*\n/).length, `${topic} / ${r.subtopic}: paragraphs`).toBeGreaterThanOrEqual(2);
        expect(r.content, `${topic} / ${r.subtopic}: a check question`).toMatch(/A good check question: .+\?/);
      }
    }
    expect([...topics.keys()]).toContain("Fractions");
  });

  it("refuses a second subtopic at a topic's position, an unknown progress status, and unknown subtopics", async () => {
    const db = env.CURRICULUM;
    await expect(
      db.prepare("INSERT INTO subtopics (topic, subtopic, content, position) VALUES ('Fractions', 'x', 'y', 1)").run(),
    ).rejects.toThrow(/UNIQUE/);
    await expect(
      db
        .prepare("INSERT INTO progress (visitor_id, subtopic_id, status, updated_at) VALUES ('v1', 1, 'maybe', 0)")
        .run(),
    ).rejects.toThrow(/CHECK/);
    await db.prepare("PRAGMA foreign_keys = ON").run();
    await expect(
      db
        .prepare("INSERT INTO progress (visitor_id, subtopic_id, status, updated_at) VALUES ('v1', 9999, 'started', 0)")
        .run(),
    ).rejects.toThrow(/FOREIGN KEY/);
  });

  it("keeps one progress row per visitor and subtopic", async () => {
    const db = env.CURRICULUM;
    const upsert = (visitor: string, status: string, at: number) =>
      db
        .prepare(
          `INSERT INTO progress (visitor_id, subtopic_id, status, updated_at) VALUES (?, 1, ?, ?)
           ON CONFLICT (visitor_id, subtopic_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
        )
        .bind(visitor, status, at)
        .run();
    await upsert("visitor-a", "started", 1);
    await upsert("visitor-a", "understood", 2);
    await upsert("visitor-b", "started", 3);
    const rows = await db
      .prepare(
        "SELECT visitor_id, status FROM progress WHERE visitor_id IN ('visitor-a', 'visitor-b') ORDER BY visitor_id",
      )
      .all();
    expect(rows.results).toEqual([
      { visitor_id: "visitor-a", status: "understood" },
      { visitor_id: "visitor-b", status: "started" },
    ]);
  });
});
