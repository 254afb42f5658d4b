-- changedesk, version 34: communications of changes (issue 21, item 4). A
-- communication is asked for a post (by a person, or once by the rules: the
-- partial unique index), drafted, approved, then sent once through a
-- channel: its delivery is the outbox's row named by `message_id`, whose
-- `delivered_at` is when it reached its audience (`audience`, fixed when it
-- is sent). `tenants` (a JSON array; empty for everyone's) says whose
-- people it is for: a tenant-limited user sees only those of their tenants.
-- Every change a person makes is audited (`comms.*`). `comms_acks` holds
-- each distinct acknowledger once (an address or a name in lower case),
-- never more than the audience.
CREATE TABLE comms (
    id INTEGER PRIMARY KEY,
    post_id TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    tenants TEXT NOT NULL DEFAULT '[]',
    audience_label TEXT NOT NULL DEFAULT '',
    audience_size BIGINT,
    channel TEXT NOT NULL DEFAULT '',
    assignee TEXT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    approved_by TEXT,
    approved_at TEXT,
    sent_by TEXT,
    sent_at TEXT,
    audience BIGINT,
    message_id TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX comms_post ON comms (post_id, id);
CREATE INDEX comms_sent ON comms (sent_at);
CREATE UNIQUE INDEX comms_by_rules ON comms (post_id) WHERE requested_by = 'rules';
CREATE TABLE comms_acks (
    comms_id BIGINT NOT NULL REFERENCES comms (id) ON DELETE CASCADE,
    who TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (comms_id, who)
);
