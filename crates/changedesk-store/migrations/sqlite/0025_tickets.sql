-- changedesk change control, version 25: the tickets connectors raised in
-- change-control systems (ServiceNow, Jira, GLPI), one per connector and
-- correlation id (the post and whom it is for: all, tenant:NAME or
-- group:NAME), linked to the post's work item. A connector is a channel;
-- removing it keeps its tickets (named by `connector`), unlinked.
CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    channel_id BIGINT REFERENCES channels (id) ON DELETE SET NULL,
    connector TEXT NOT NULL,
    post_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    number TEXT NOT NULL,
    url TEXT NOT NULL,
    state TEXT NOT NULL,
    progress TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (connector, correlation_id)
);
CREATE INDEX tickets_post ON tickets (post_id, id);

-- Who is raising a ticket now (a delivery, by its message id), until when:
-- two deliveries of the same request (asked twice, by two workers or
-- replicas) never raise it at once, so the look-up before each create
-- always sees the other's ticket. A lock past its time is taken over.
CREATE TABLE ticket_locks (
    connector TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    until TEXT NOT NULL,
    PRIMARY KEY (connector, correlation_id)
);
