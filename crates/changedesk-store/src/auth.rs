//! Sign-in: users with their role and tenant scope, browser sessions, API
//! tokens, and the audit of sign-ins.
//!
//! The store never sees a password or a token in clear: the server hashes
//! them (an Argon2id PHC string for a password, the SHA-256 in hex of a
//! session or API token) and the store keeps and looks up the hashes. The
//! operations are in `auth_ops.rs`, compiled for each backend like `ops.rs`.
//!
//! Every change a person makes to users and tokens is in the audit log, with
//! the `actor` given. Sessions are not audited: the server records sign-ins,
//! failed sign-ins and sign-outs with [`Store::record_audit`].

use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};
use serde::Serialize;

use super::{AuditEntry, Backend, Result, Store, postgres, sqlite};

/// How long a token's `last_used_at` may lag: a token used again within this
/// many seconds of its recorded use is not written again.
pub const TOKEN_USE_GRANULARITY_SECS: i64 = 60;

/// Views of the inbox less than this many seconds apart are one visit
/// ([`Store::inbox_visit`]).
pub const VISIT_GAP_SECS: i64 = 3600;

/// A view of the inbox within this many seconds of the last one recorded
/// writes nothing.
pub const VISIT_WRITE_GRANULARITY_SECS: i64 = 60;

/// Someone who signs in.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    /// The lower-case sign-in name.
    pub name: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    /// The tenants they may see (the empty scope: every tenant).
    pub scope: Scope,
    /// The Argon2id PHC string of their password; `None` for someone who
    /// signs in with OpenID Connect only. Never serialised.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// Their OpenID Connect subject, once linked.
    pub oidc_subject: Option<String>,
    /// A disabled user cannot sign in, and their sessions and tokens do not
    /// work.
    pub disabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_sign_in_at: Option<Timestamp>,
    /// Failed sign-ins since the last successful one (or an admin's
    /// unlock): the server delays further attempts once there are several.
    pub failed_sign_ins: i64,
    pub last_failed_sign_in_at: Option<Timestamp>,
    /// The IANA time zone the web UI shows them dates and times in
    /// (`Europe/Paris`); `None`: UTC. Set with [`Store::set_user_time_zone`]
    /// (migration 0032); read with the session, so a page costs no extra
    /// query.
    pub time_zone: Option<String>,
}

impl User {
    /// Whether they can administer: an enabled admin with no tenant limit
    /// (a tenant-limited admin cannot manage users or configuration). The
    /// last such admin cannot be demoted, disabled, limited or deleted.
    pub fn administers(&self) -> bool {
        self.role == Role::Admin && !self.disabled && self.scope.is_unrestricted()
    }

    /// Whether they have a password (else only OpenID Connect).
    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "…"))
            .field("oidc_subject", &self.oidc_subject)
            .field("disabled", &self.disabled)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("last_sign_in_at", &self.last_sign_in_at)
            .field("time_zone", &self.time_zone)
            .finish()
    }
}

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    /// The sign-in name (checked and lower-cased with
    /// [`changedesk_core::access::validate_user_name`]).
    pub name: String,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    /// Checked and put in canonical form ([`Scope::normalized`]).
    pub scope: Scope,
    /// An Argon2id PHC string, or `None` for OpenID Connect only.
    pub password_hash: Option<String>,
    pub oidc_subject: Option<String>,
    pub disabled: bool,
    /// When it is created.
    pub at: Timestamp,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "…"))
            .field("oidc_subject", &self.oidc_subject)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// What to change of a user: `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub disabled: Option<bool>,
    /// `Some(Some(hash))` sets the password, `Some(None)` removes it.
    pub password_hash: Option<Option<String>>,
    /// `Some(Some(subject))` links an OpenID Connect subject, `Some(None)`
    /// unlinks it.
    pub oidc_subject: Option<Option<String>>,
}

impl std::fmt::Debug for UserUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpdate")
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("disabled", &self.disabled)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|h| h.as_ref().map(|_| "…")),
            )
            .field("oidc_subject", &self.oidc_subject)
            .finish()
    }
}

/// A signed-in browser.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The SHA-256 (hex) of the session cookie's token.
    pub token_hash: String,
    pub user_id: i64,
    /// The token forms and scripts must send back with each change.
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRow")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen_at", &self.last_seen_at)
            .finish_non_exhaustive()
    }
}

/// A session to create.
#[derive(Clone)]
pub struct NewSession {
    /// The SHA-256 (hex) of the session cookie's token.
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// An API token as stored (without its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    /// The name of the user it acts for.
    pub user: String,
    /// What it is for, for people.
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    /// The most it may do; it acts with at most its user's current role.
    pub role: Role,
    /// The tenants it may see, within its user's scope.
    pub scope: Scope,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// When it was last used, to the minute
    /// ([`TOKEN_USE_GRANULARITY_SECS`]).
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiTokenRow {
    /// Whether it works at `now`: not revoked and not expired (its user
    /// must be enabled too).
    pub fn is_active(&self, now: &Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > *now)
    }
}

/// An API token to create.
#[derive(Clone)]
pub struct NewToken {
    /// The name of the user it acts for.
    pub user: String,
    /// What it is for: 1–100 characters, no control characters.
    pub name: String,
    /// The SHA-256 (hex) of the token.
    pub token_hash: String,
    /// The token's first characters, for display.
    pub prefix: String,
    /// At most the user's role.
    pub role: Role,
    pub scope: Scope,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("user", &self.user)
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("role", &self.role)
            .field("scope", &self.scope)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Which audit entries to list, newest first. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor's entries (exact).
    pub actor: Option<String>,
    /// Only actions starting with this (`user.`, `sign_in`), case-sensitive.
    pub action_prefix: Option<String>,
    /// At most this many (100 when `None`).
    pub limit: Option<i64>,
    /// Only entries older than this id: the last id of the previous page.
    pub before_id: Option<i64>,
}

impl Store {
    /// Creates a user (audited as `actor`, action `user.create`).
    /// [`StoreError::Invalid`](crate::StoreError::Invalid) for a bad name or
    /// scope; [`StoreError::Conflict`](crate::StoreError::Conflict) when the
    /// name or the OpenID subject is taken.
    pub async fn create_user(&self, user: &NewUser, actor: &str) -> Result<User> {
        let writer = &*self.writer;
        dispatch_write!(self.create_user(writer, user, actor))
    }

    /// The user with this sign-in name (any case).
    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        dispatch!(self.user_by_name(name))
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        dispatch!(self.user_by_id(id))
    }

    /// The user linked to this OpenID Connect subject.
    pub async fn user_by_oidc_subject(&self, subject: &str) -> Result<Option<User>> {
        dispatch!(self.user_by_oidc_subject(subject))
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        dispatch!(self.list_users())
    }

    /// Changes a user (audited as `actor`, action `user.update`, with the
    /// fields changed; a password is recorded as changed, never its hash).
    /// A change that changes nothing writes nothing. Refused
    /// ([`StoreError::Invalid`](crate::StoreError::Invalid)) when it would
    /// leave no enabled admin.
    pub async fn update_user(
        &self,
        name: &str,
        update: &UserUpdate,
        actor: &str,
        at: &Timestamp,
    ) -> Result<User> {
        let writer = &*self.writer;
        dispatch_write!(self.update_user(writer, name, update, actor, at))
    }

    /// Deletes a user with their sessions and tokens (audited as `actor`,
    /// action `user.delete`). Refused for the last enabled admin.
    pub async fn delete_user(&self, name: &str, actor: &str, at: &Timestamp) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.delete_user(writer, name, actor, at))
    }

    /// Counts a failed sign-in of the user, at `at`, and returns how many
    /// have failed since the last success (not audited: the server records
    /// the failure with [`Store::record_audit`]).
    pub async fn record_failed_sign_in(&self, user_id: i64, at: &Timestamp) -> Result<i64> {
        let writer = &*self.writer;
        dispatch_write!(self.record_failed_sign_in(writer, user_id, at))
    }

    /// Clears user `name`'s failed sign-ins, so the next attempt is not
    /// delayed (audited as `user.unlock`).
    pub async fn unlock_user(&self, name: &str, actor: &str, at: &Timestamp) -> Result<User> {
        let writer = &*self.writer;
        dispatch_write!(self.unlock_user(writer, name, actor, at))
    }

    /// Records a successful sign-in's time on the user, clearing its failed
    /// sign-ins (not audited: the server records the sign-in with
    /// [`Store::record_audit`]).
    pub async fn record_sign_in(&self, user_id: i64, at: &Timestamp) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.record_sign_in(writer, user_id, at))
    }

    /// Creates a session (not audited).
    pub async fn create_session(&self, session: &NewSession) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.create_session(writer, session))
    }

    /// The session with this token hash and its user, if it has not expired
    /// at `now` and the user is enabled.
    pub async fn session(
        &self,
        token_hash: &str,
        now: &Timestamp,
    ) -> Result<Option<(SessionRow, User)>> {
        dispatch!(self.session(token_hash, now))
    }

    /// Records a view of the inbox by the user at `now`; returns when their
    /// previous visit was (`None` on the first). Views less than an hour
    /// apart are one visit (see [`VISIT_GAP_SECS`]).
    pub async fn inbox_visit(&self, user_id: i64, now: &Timestamp) -> Result<Option<Timestamp>> {
        let writer = &*self.writer;
        dispatch_write!(self.inbox_visit(writer, user_id, now))
    }

    /// Marks a session seen at `now` and moves its expiry to `new_expiry`.
    /// `false` when there is no such session, or it had expired.
    pub async fn touch_session(
        &self,
        token_hash: &str,
        now: &Timestamp,
        new_expiry: &Timestamp,
    ) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.touch_session(writer, token_hash, now, new_expiry))
    }

    /// Ends a session (sign-out); `false` when there was none.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.delete_session(writer, token_hash))
    }

    /// Ends every session of a user; returns how many.
    pub async fn delete_sessions_of(&self, user_id: i64) -> Result<u64> {
        let writer = &*self.writer;
        dispatch_write!(self.delete_sessions_of(writer, user_id))
    }

    /// Deletes the sessions expired at `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: &Timestamp) -> Result<u64> {
        let writer = &*self.writer;
        dispatch_write!(self.delete_expired_sessions(writer, now))
    }

    /// Creates an API token for a user (audited as `actor`, action
    /// `token.create`, target the user). Refused when the token's role is
    /// above the user's, the user is disabled, or it expires before it is
    /// created.
    pub async fn create_token(&self, token: &NewToken, actor: &str) -> Result<ApiTokenRow> {
        let writer = &*self.writer;
        dispatch_write!(self.create_token(writer, token, actor))
    }

    /// The API token with this hash and its user, when it works at `now`:
    /// not revoked, not expired, user enabled. Records its use, at most once
    /// every [`TOKEN_USE_GRANULARITY_SECS`] so a busy token does not write
    /// on every request. The caller acts with
    /// `token.role.at_most(user.role)` within both scopes.
    pub async fn token(
        &self,
        token_hash: &str,
        now: &Timestamp,
    ) -> Result<Option<(ApiTokenRow, User)>> {
        let Some((mut token, user)) = dispatch!(self.token_lookup(token_hash, now))? else {
            return Ok(None);
        };
        let stale_before = now.saturating_add(time::Duration::seconds(-TOKEN_USE_GRANULARITY_SECS));
        if token.last_used_at.is_none_or(|t| t <= stale_before) {
            let id = token.id;
            // one request of this process writes it; the others (a busy
            // token's concurrent requests) go on instead of queueing for
            // the write lock behind it
            let mine = {
                let mut uses = self.token_uses.lock().unwrap_or_else(|e| e.into_inner());
                match uses.get(&id) {
                    Some(t) if *t > stale_before => false,
                    _ => {
                        if uses.len() >= 100_000 {
                            uses.clear();
                        }
                        uses.insert(id, *now);
                        true
                    }
                }
            };
            if mine {
                let writer = &*self.writer;
                let written = dispatch_write!(self.token_used(writer, id, now, &stale_before));
                if let Err(e) = written {
                    self.token_uses
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&id);
                    return Err(e);
                }
            }
            token.last_used_at = Some(*now);
        }
        Ok(Some((token, user)))
    }

    /// API tokens, revoked and expired ones included, oldest first: every
    /// user's, or one user's.
    pub async fn tokens(&self, user: Option<&str>) -> Result<Vec<ApiTokenRow>> {
        dispatch!(self.list_tokens(user))
    }

    /// Revokes an API token (audited as `actor`, action `token.revoke`,
    /// target its user). `false` when it was already revoked (nothing
    /// written); [`StoreError::NotFound`](crate::StoreError::NotFound) when
    /// there is no such token.
    pub async fn revoke_token(&self, id: i64, actor: &str, at: &Timestamp) -> Result<bool> {
        let writer = &*self.writer;
        dispatch_write!(self.revoke_token(writer, id, actor, at))
    }

    /// Appends an entry to the audit log: sign-ins, failed sign-ins,
    /// sign-outs, anything the server does for a person that the store does
    /// not audit itself. `detail` must hold no secret.
    pub async fn record_audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        detail: &serde_json::Value,
        at: &Timestamp,
    ) -> Result<()> {
        let writer = &*self.writer;
        dispatch_write!(self.record_audit(writer, actor, action, target, detail, at))
    }

    /// Audit entries, newest first, a page at a time (pass the last id of a
    /// page as `before_id` for the next).
    pub async fn audit_log_filtered(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        dispatch!(self.audit_log_filtered(filter))
    }
}
