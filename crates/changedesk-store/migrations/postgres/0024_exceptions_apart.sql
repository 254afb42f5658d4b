-- changedesk triage, version 24: a work item's tenant exceptions are kept
-- apart from the rest of the item (work_item_exceptions: the JSON array of
-- its `overrides`, a row only for an item with some), read with the item
-- wherever it may be changed, and left unread by lists that count them
-- (the agenda): at an MSP's shape (257,698 exceptions on 845 items of
-- 5,000) they were three quarters of the items' 24 MB of JSON, read and
-- parsed whole on each agenda. The item's JSON keeps an empty `overrides`.
-- Their counted variants tell the decision too (the agenda's views are by
-- state, decision, assignee and due date).
CREATE TABLE work_item_exceptions (
    post_id TEXT NOT NULL PRIMARY KEY,
    overrides TEXT NOT NULL
);

INSERT INTO work_item_exceptions (post_id, overrides)
    SELECT post_id, (item::jsonb -> 'overrides')::text FROM work_items
    WHERE jsonb_array_length(COALESCE(item::jsonb -> 'overrides', '[]'::jsonb)) > 0;
UPDATE work_items SET item = jsonb_set(item::jsonb, '{overrides}', '[]'::jsonb)::text
    WHERE jsonb_array_length(COALESCE(item::jsonb -> 'overrides', '[]'::jsonb)) > 0;

DROP TABLE work_item_variants;
CREATE TABLE work_item_variants (
    post_id TEXT NOT NULL,
    applicable BOOLEAN,
    state TEXT,
    decision TEXT,
    assignee TEXT,
    due_at TEXT,
    tenants BIGINT NOT NULL
);
CREATE INDEX work_item_variants_post ON work_item_variants (post_id);
INSERT INTO work_item_variants (post_id, applicable, state, decision, assignee, due_at, tenants)
    SELECT post_id, applicable, state, decision, assignee, due_at, COUNT(*)
    FROM work_item_tenants
    GROUP BY post_id, applicable, state, decision, assignee, due_at;
