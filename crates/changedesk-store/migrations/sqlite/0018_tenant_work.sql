-- changedesk triage, version 18: per-tenant work state. A work item's
-- tenant exceptions (its own state, decision, assignee, due date, or "not
-- applicable") stay in the item's JSON, which is what is read and saved;
-- this table is their index, rewritten with the item, so lists, counts and
-- "My items" can ask what is in force for a tenant ("open for contoso",
-- "assigned to bob for any tenant") in SQL. An item without rows here is
-- decided by its own columns alone (a look at this primary key; not a
-- count column on work_items, which SQLite would read past each item's JSON).
CREATE TABLE work_item_tenants (
    post_id TEXT NOT NULL,
    tenant_id BIGINT NOT NULL,
    applicable BOOLEAN,
    state TEXT,
    decision TEXT,
    assignee TEXT,
    due_at TEXT,
    PRIMARY KEY (post_id, tenant_id)
) WITHOUT ROWID;
CREATE INDEX work_item_tenants_assignee ON work_item_tenants (assignee, post_id);
CREATE INDEX work_item_tenants_tenant ON work_item_tenants (tenant_id, post_id);

INSERT INTO work_item_tenants (post_id, tenant_id, applicable, state, decision, assignee, due_at)
    SELECT w.post_id, t.id, json_extract(o.value, '$.applicable'), json_extract(o.value, '$.state'),
           json_extract(o.value, '$.decision'), json_extract(o.value, '$.assignee'), json_extract(o.value, '$.due')
    FROM work_items w, json_each(w.item, '$.overrides') o
    JOIN tenants t ON t.name = json_extract(o.value, '$.tenant');
