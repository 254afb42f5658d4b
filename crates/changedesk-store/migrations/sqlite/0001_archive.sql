-- changedesk archive, version 1.
-- Instants are TEXT in the canonical fixed-width form 2025-02-14T01:18:26.963000Z
-- (see changedesk_core::Timestamp), so they sort and compare as text on both databases.
-- In every table the small, often-read columns come first and bulky ones (bodies, JSON) last:
-- SQLite stores a row's tail in overflow pages, which a read of a later column has to walk.

CREATE TABLE tenants (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    messages_complete_at TEXT,
    issues_complete_at TEXT
);

-- A Message Center post, stored once however many tenants see it: the shared content
-- of its current revision.
CREATE TABLE posts (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    services TEXT NOT NULL,
    tags TEXT NOT NULL,
    is_major BOOLEAN NOT NULL,
    start_at TEXT,
    end_at TEXT,
    act_by TEXT,
    last_modified TEXT,
    has_attachments BOOLEAN NOT NULL,
    digest TEXT NOT NULL,
    revision BIGINT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_text TEXT NOT NULL
);
CREATE INDEX posts_last_modified ON posts (last_modified);
CREATE INDEX posts_act_by ON posts (act_by);

CREATE TABLE post_services (
    post_id TEXT NOT NULL REFERENCES posts (id),
    service TEXT NOT NULL,
    PRIMARY KEY (post_id, service)
);
CREATE INDEX post_services_service ON post_services (service);

CREATE TABLE post_tags (
    post_id TEXT NOT NULL REFERENCES posts (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (post_id, tag)
);

-- Every version of a post's shared content, with what changed from the one before.
CREATE TABLE post_revisions (
    post_id TEXT NOT NULL REFERENCES posts (id),
    revision BIGINT NOT NULL,
    last_modified TEXT,
    recorded_at TEXT NOT NULL,
    tenant_id BIGINT REFERENCES tenants (id),
    digest TEXT NOT NULL,
    changes TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (post_id, revision)
);

-- A tenant's link to a post: what is the tenant's own.
CREATE TABLE post_tenants (
    post_id TEXT NOT NULL REFERENCES posts (id),
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    details_digest TEXT NOT NULL,
    seen_last_modified TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    visible BOOLEAN NOT NULL,
    gone_at TEXT,
    details TEXT NOT NULL,
    rollout TEXT NOT NULL,
    PRIMARY KEY (post_id, tenant_id)
);
CREATE INDEX post_tenants_tenant ON post_tenants (tenant_id, visible);

-- Service Health issues, the same way.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    service TEXT NOT NULL,
    feature TEXT NOT NULL,
    feature_group TEXT NOT NULL,
    classification TEXT NOT NULL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    is_resolved BOOLEAN NOT NULL,
    impact_description TEXT NOT NULL,
    start_at TEXT,
    end_at TEXT,
    last_modified TEXT,
    high_impact BOOLEAN,
    digest TEXT NOT NULL,
    revision BIGINT NOT NULL,
    first_seen TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX incidents_service ON incidents (service);

CREATE TABLE incident_revisions (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    revision BIGINT NOT NULL,
    last_modified TEXT,
    recorded_at TEXT NOT NULL,
    tenant_id BIGINT REFERENCES tenants (id),
    digest TEXT NOT NULL,
    changes TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (incident_id, revision)
);

CREATE TABLE incident_tenants (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    details_digest TEXT NOT NULL,
    seen_last_modified TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    visible BOOLEAN NOT NULL,
    gone_at TEXT,
    details TEXT NOT NULL,
    PRIMARY KEY (incident_id, tenant_id)
);
CREATE INDEX incident_tenants_tenant ON incident_tenants (tenant_id, visible);

-- The updates Microsoft posted to an incident, each kept once.
CREATE TABLE incident_posts (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    digest TEXT NOT NULL,
    created_at TEXT,
    post_type TEXT NOT NULL,
    description_html TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (incident_id, digest)
);

-- An incident's status as successive snapshots saw it change.
CREATE TABLE incident_status_history (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    is_resolved BOOLEAN NOT NULL,
    observed_at TEXT NOT NULL,
    last_modified TEXT,
    tenant_id BIGINT REFERENCES tenants (id),
    PRIMARY KEY (incident_id, seq)
);

-- Each tenant's service health: the current status, and every change seen.
CREATE TABLE health_current (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    service_id TEXT NOT NULL,
    service TEXT NOT NULL,
    status TEXT NOT NULL,
    since TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (tenant_id, service_id)
);

CREATE TABLE health_history (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    service_id TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (tenant_id, service_id, observed_at)
);

-- One row per load of a listing (file import or sync).
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    complete BOOLEAN NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    items BIGINT NOT NULL,
    new_items BIGINT NOT NULL,
    updated_items BIGINT NOT NULL,
    gone_items BIGINT NOT NULL,
    rejected_items BIGINT NOT NULL,
    note TEXT
);
CREATE INDEX runs_tenant ON runs (tenant_id, id);
