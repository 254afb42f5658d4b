-- changedesk sign-in, version 5: users with their role and tenant scope,
-- browser sessions and API tokens. The archive never holds a password or a
-- token, only what the server made of them: an Argon2id PHC string for a
-- password, the SHA-256 (hex) of a session or API token. Timestamps are the
-- canonical text form, like everywhere else.

-- People who sign in. `name` is the lower-case sign-in name; `scope` is the
-- JSON of the tenants and tenant groups they may see (`{}`: every tenant);
-- `password_hash` is NULL for someone who signs in with OpenID Connect only.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL,
    oidc_subject TEXT UNIQUE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_sign_in_at TEXT,
    scope TEXT NOT NULL,
    password_hash TEXT
);

-- Signed-in browsers, by the hash of their cookie's token.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    csrf_token TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- API tokens, by the hash of the token; `prefix` is its first characters,
-- to tell tokens apart in lists. A token acts with at most its user's role
-- and within its own `scope` (JSON, as for users).
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT,
    scope TEXT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, id);

-- The audit log by actor (what did this person do?), newest first.
CREATE INDEX audit_log_actor ON audit_log (actor, id);
