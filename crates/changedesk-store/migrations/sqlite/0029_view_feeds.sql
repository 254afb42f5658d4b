-- changedesk web UI, version 29: feeds of saved views (issue 20). A person
-- subscribes a calendar (ICS) or a feed reader (Atom) to one of their saved
-- views at a secret URL. The archive never holds the secret: only its
-- SHA-256 (hex), which a fetch is looked up by, and `hint`, its first
-- characters, to tell a person's feeds apart. A feed belongs to its view's
-- user and goes with the view or the user; revoking it deletes the row.
-- Each fetch reads the view's query and the user's role and scope as they
-- are then. `last_used_at` is bookkeeping, written at most once an hour.
CREATE TABLE view_feeds (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    view_id BIGINT NOT NULL REFERENCES saved_views (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX view_feeds_user ON view_feeds (user_id, id);
CREATE INDEX view_feeds_view ON view_feeds (view_id);
