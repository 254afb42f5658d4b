-- changedesk notifications, version 14: the outbox. An event is written in
-- the same transaction as the change that caused it; a dispatcher fans it out
-- to the channels that hear of it (one delivery per event and channel, its
-- message rendered once so every attempt sends the same bytes under the same
-- id); workers claim due deliveries with a lease, send, and record the
-- outcome. A claim whose lease ran out (a crash mid-send) is claimed again
-- and counted in `resends`. Channel credentials are stored sealed only
-- (changedesk-secrets: cdsec1 text); the plaintext never reaches this schema.
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    post_id TEXT,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    dispatched_at TEXT
);
CREATE INDEX events_pending ON events (dispatched_at, id);
CREATE INDEX events_post ON events (post_id, id);

CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    url_sealed TEXT NOT NULL,
    secret_sealed TEXT,
    filter TEXT NOT NULL,
    allow_private BOOLEAN NOT NULL DEFAULT FALSE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    disabled_reason TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES events (id),
    channel_id BIGINT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    resends BIGINT NOT NULL DEFAULT 0,
    taken_over BOOLEAN NOT NULL DEFAULT FALSE,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT,
    last_status BIGINT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    body TEXT NOT NULL,
    UNIQUE (event_id, channel_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at, id);
CREATE INDEX deliveries_channel ON deliveries (channel_id, id);
