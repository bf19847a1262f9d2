-- The tutor's curriculum and the visitors' progress through it (Cloudflare D1, binding CURRICULUM).
-- Applied by `wrangler d1 migrations apply CURRICULUM` (--local under `npm run dev`, --remote on deploy) and by the
-- workerd tests (test/workerd/apply-migrations.ts). See docs/edge.md, "Curriculum (D1)".

-- One subtopic of a topic, taught in `position` order (1, 2, …) from its `content`.
CREATE TABLE subtopics (
  id INTEGER PRIMARY KEY,
  topic TEXT NOT NULL,
  subtopic TEXT NOT NULL,
  content TEXT NOT NULL,
  position INTEGER NOT NULL CHECK (position >= 1),
  UNIQUE (topic, position)
);

-- Where a visitor (`vid` cookie id) stands on a subtopic: `started`, then `understood` or `not_understood` after a
-- check of understanding (with the tutor's short `note`). `updated_at` is epoch ms.
CREATE TABLE progress (
  visitor_id TEXT NOT NULL,
  subtopic_id INTEGER NOT NULL REFERENCES subtopics (id),
  status TEXT NOT NULL CHECK (status IN ('started', 'understood', 'not_understood')),
  note TEXT CHECK (note IS NULL OR length(note) <= 500),
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (visitor_id, subtopic_id)
);

CREATE INDEX progress_latest ON progress (visitor_id, updated_at DESC);
