-- changedesk triage, version 13: the baseline. A post new to the archive in
-- the first load of posts of a tenant was in Message Center before
-- changedesk synced that tenant: it is in the baseline, which a change
-- manager accepts in one action (history closes; upcoming work and misses
-- stay). Set when the post is written; for an existing archive, from its
-- runs: the post's earliest tenant link no later than that tenant's first
-- load of posts.
ALTER TABLE posts ADD COLUMN baseline BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE posts SET baseline = TRUE
WHERE EXISTS (
    SELECT 1 FROM post_tenants pt
    WHERE pt.post_id = posts.id
      AND pt.first_seen <= posts.first_seen
      AND pt.first_seen <= (
          SELECT r.finished_at FROM runs r
          WHERE r.tenant_id = pt.tenant_id AND r.kind = 'messages'
          ORDER BY r.id LIMIT 1
      )
);
