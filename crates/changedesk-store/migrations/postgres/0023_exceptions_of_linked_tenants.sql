-- changedesk triage, version 23: the index of a work item's tenant
-- exceptions (work_item_tenants, and its counted variants) holds a row only
-- for a tenant linked to the post (one that sees it or saw it; links go only
-- with their tenant, which takes its exceptions along). An exception is set
-- only for a tenant that sees the post, so this drops nothing an action
-- made. A list then names the tenants with an exception that see a post now
-- by subtracting the few links no longer visible from the item's rows,
-- instead of looking up each exception's link: at an MSP's shape
-- (257,698 exceptions on 845 items) that lookup cost the agenda 0.5 s.
DELETE FROM work_item_tenants
    WHERE NOT EXISTS (
        SELECT 1 FROM post_tenants pt
        WHERE pt.post_id = work_item_tenants.post_id AND pt.tenant_id = work_item_tenants.tenant_id
    );
DELETE FROM work_item_variants;
INSERT INTO work_item_variants (post_id, applicable, state, assignee, due_at, tenants)
    SELECT post_id, applicable, state, assignee, due_at, COUNT(*)
    FROM work_item_tenants
    GROUP BY post_id, applicable, state, assignee, due_at;
