-- changedesk archive, version 22: how many tenants have seen each post and
-- incident, and how many return it now, kept by the write that links a
-- tenant, marks a link gone or sees it again (ops.rs, `count_links`), in the
-- same transaction. At an MSP's shape (2,000 tenants × 5,000 posts, 8.5M
-- links) counting them per request cost the inbox's facets 30 ms for "gone
-- or not", and the agenda 0.7 s to count each item's tenants.
ALTER TABLE posts ADD COLUMN tenants_seen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN tenants_visible BIGINT NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN tenants_seen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN tenants_visible BIGINT NOT NULL DEFAULT 0;

UPDATE posts SET
    tenants_seen = (SELECT COUNT(*) FROM post_tenants l WHERE l.post_id = posts.id),
    tenants_visible = (SELECT COUNT(*) FROM post_tenants l WHERE l.post_id = posts.id AND l.visible);
UPDATE incidents SET
    tenants_seen = (SELECT COUNT(*) FROM incident_tenants l WHERE l.incident_id = incidents.id),
    tenants_visible = (SELECT COUNT(*) FROM incident_tenants l WHERE l.incident_id = incidents.id AND l.visible);

-- The columns of a work item that say what is in force (with its key): the
-- facets and chips read them for every item, and the item's JSON in the
-- same row made each read a page (24 MB of items at that shape).
CREATE INDEX work_items_in_force ON work_items (post_id, state, assignee, due_at);
