-- changedesk archive, version 22: how many tenants have seen each post and
-- incident, and how many return it now, kept by the write that links a
-- tenant, marks a link gone or sees it again (ops.rs, `count_links`), in the
-- same transaction. At an MSP's shape (2,000 tenants × 5,000 posts, 8.5M
-- links) counting them per request cost the inbox's facets 30 ms for "gone
-- or not", and the agenda 0.7 s to count each item's tenants. Tables of
-- their own, narrow: a tenant's first listing moves thousands of counts, and
-- as columns of `posts` each move rewrote the post's row with its body (on
-- PostgreSQL a new version of it: seeding 2,000 tenants grew `posts` to 3 GB).
CREATE TABLE post_link_counts (
    post_id TEXT PRIMARY KEY,
    seen BIGINT NOT NULL,
    visible BIGINT NOT NULL
) WITHOUT ROWID;
CREATE TABLE incident_link_counts (
    incident_id TEXT PRIMARY KEY,
    seen BIGINT NOT NULL,
    visible BIGINT NOT NULL
) WITHOUT ROWID;

INSERT INTO post_link_counts (post_id, seen, visible)
    SELECT post_id, COUNT(*), SUM(CASE WHEN visible THEN 1 ELSE 0 END) FROM post_tenants GROUP BY post_id;
INSERT INTO incident_link_counts (incident_id, seen, visible)
    SELECT incident_id, COUNT(*), SUM(CASE WHEN visible THEN 1 ELSE 0 END) FROM incident_tenants GROUP BY incident_id;

-- The columns of a work item that say what is in force (with its key): the
-- facets and chips read them for every item, and the item's JSON in the
-- same row made each read a page (24 MB of items at that shape).
CREATE INDEX work_items_in_force ON work_items (post_id, state, assignee, due_at);
