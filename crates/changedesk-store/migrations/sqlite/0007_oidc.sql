-- changedesk sign-in, version 7: OpenID Connect (Entra ID). Like the rest of
-- the sign-in tables, nothing here lets someone who reads the database sign
-- in: the state is kept as its SHA-256 (hex), and the PKCE code verifier only
-- masked with a key derived from the state, which the database never holds.

-- Sign-ins under way, between the redirect to the identity provider and its
-- answer, so any changedesk instance can finish a sign-in another started.
-- Single-use: the answer deletes the row as it reads it. `return_to` is the
-- relative path to go to afterwards; expired rows are deleted as new
-- sign-ins start.
CREATE TABLE oidc_pending (
    state_hash TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    nonce TEXT NOT NULL,
    return_to TEXT NOT NULL,
    verifier TEXT NOT NULL
);
CREATE INDEX oidc_pending_expires ON oidc_pending (expires_at);

-- Accounts at an identity provider, linked to users: the issuer and the
-- provider's immutable id of the person (Entra ID: the `oid` claim). A user is
-- found by these at sign-in, never by a name people can change.
CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
