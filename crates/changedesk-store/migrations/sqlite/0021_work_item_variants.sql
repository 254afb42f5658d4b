-- changedesk triage, version 21: each work item's distinct tenant
-- exceptions (what is in force differs by applicability, state, assignee and
-- due date only), with how many tenants have each. Rewritten with the
-- item's exceptions (work_item_tenants). A question about what is in force
-- for *some* tenant ("open for any tenant", "assigned to bob anywhere", the
-- owner and state facets) reads these few rows instead of every exception:
-- an MSP's rules leave hundreds of exceptions per item (a rollout not
-- supported for most tenants), and at 2,000 tenants × 5,000 posts reading
-- them all made the inbox's facets take 2.4 s.
CREATE TABLE work_item_variants (
    post_id TEXT NOT NULL,
    applicable BOOLEAN,
    state TEXT,
    assignee TEXT,
    due_at TEXT,
    tenants BIGINT NOT NULL
);
CREATE INDEX work_item_variants_post ON work_item_variants (post_id);

INSERT INTO work_item_variants (post_id, applicable, state, assignee, due_at, tenants)
    SELECT post_id, applicable, state, assignee, due_at, COUNT(*)
    FROM work_item_tenants
    GROUP BY post_id, applicable, state, assignee, due_at;
