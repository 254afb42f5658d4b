-- changedesk web UI, version 9: saved views. A person saves the inbox's
-- query string under a name and finds it in the menu. Each view belongs to
-- one user and goes with them. `name_key` is the name as the store
-- compares it (lower-cased), so one user's names are unique in any case;
-- `query` is the inbox's query string, without the leading `?`.
CREATE TABLE saved_views (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name_key TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    query TEXT NOT NULL,
    UNIQUE (user_id, name_key)
);
