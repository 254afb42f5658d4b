-- changedesk triage, version 3: owners, tenant groups, workload ownership,
-- rules, work items with their per-tenant overrides, the append-only
-- decision log, notify intents, and the audit log of every change a person
-- makes. `source` says where a row came from: `config` rows are replaced
-- whenever the configuration file is seeded again; others are kept.

CREATE TABLE owners (
    name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL,
    teams TEXT,
    slack TEXT,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Tenant groups, in the order ownership resolution tries them.
CREATE TABLE tenant_groups (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    description TEXT NOT NULL,
    include_patterns TEXT NOT NULL,
    exclude_patterns TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Which owner owns a workload (a post's service), for every tenant
-- (scope_kind 'all', scope_name ''), a tenant group or one tenant.
CREATE TABLE ownership (
    workload TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_name TEXT NOT NULL,
    owner TEXT NOT NULL REFERENCES owners (name),
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (workload, scope_kind, scope_name)
);

-- Rules, in evaluation order; `spec` is the rule as JSON (when, then).
CREATE TABLE rules (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL,
    enabled BOOLEAN NOT NULL,
    spec TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One work item per post, triaged once for all tenants. The columns before
-- `item` are what lists filter and sort on; `item` is the whole item as JSON,
-- per-tenant overrides included. `version` grows with every save, so two
-- people changing the same item cannot overwrite each other unnoticed.
CREATE TABLE work_items (
    post_id TEXT PRIMARY KEY REFERENCES posts (id),
    state TEXT NOT NULL,
    decision TEXT,
    assignee TEXT,
    priority TEXT NOT NULL,
    due_at TEXT,
    changed BOOLEAN NOT NULL,
    created_at TEXT NOT NULL,
    first_triaged_at TEXT,
    started_at TEXT,
    closed_at TEXT,
    updated_at TEXT NOT NULL,
    evaluated_revision BIGINT NOT NULL,
    version BIGINT NOT NULL,
    item TEXT NOT NULL
);
CREATE INDEX work_items_state ON work_items (state, due_at);
CREATE INDEX work_items_assignee ON work_items (assignee, state);

-- Every change to a work item, and every comment: who, when, what, why.
-- `tenant` is the scope: NULL for the whole post, else that tenant only (a
-- user limited to some tenants never sees another tenant's entries).
CREATE TABLE decision_log (
    id INTEGER PRIMARY KEY,
    post_id TEXT NOT NULL REFERENCES work_items (post_id),
    tenant TEXT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    field TEXT,
    old_value TEXT,
    new_value TEXT,
    reason TEXT
);
CREATE INDEX decision_log_post ON decision_log (post_id, id);
CREATE INDEX decision_log_at ON decision_log (at);

-- Someone should be told (delivered by the notification issue).
CREATE TABLE notify_intents (
    id INTEGER PRIMARY KEY,
    post_id TEXT NOT NULL REFERENCES posts (id),
    tenant TEXT,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX notify_intents_pending ON notify_intents (delivered_at, id);

-- Every change a person makes to owners, groups, ownership and rules.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- The logs are append-only.
CREATE TRIGGER decision_log_no_update BEFORE UPDATE ON decision_log
BEGIN SELECT RAISE(ABORT, 'decision_log is append-only'); END;
CREATE TRIGGER decision_log_no_delete BEFORE DELETE ON decision_log
BEGIN SELECT RAISE(ABORT, 'decision_log is append-only'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
