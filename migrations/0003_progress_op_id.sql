-- The action call that last moved a visitor on (`<session_id>:<call_id>`, worker/actions/index.ts `ActionContext.opId`),
-- so that NEXT_SUBTOPIC acts once per call: a copy of the call arriving while the first runs, or its retry after a
-- lost answer, finds its own row and moves no further. See docs/actions.md, "The tutor".
ALTER TABLE progress ADD COLUMN op_id TEXT;
