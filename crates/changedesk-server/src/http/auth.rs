//! Who is calling, and what they may do.
//!
//! A caller authenticates with a session cookie (from `POST /api/v1/session`,
//! local accounts with Argon2id passwords) or a personal API token
//! (`Authorization: Bearer cdk_…`). Sessions and tokens are stored hashed
//! (SHA-256); passwords as Argon2id PHC strings. A request that changes
//! something with a session cookie must carry the session's CSRF token in
//! `X-CSRF-Token` (API tokens are not sent by browsers, so they need none).
//!
//! Roles: `admin` (everything), `change_manager` (triage every item in scope,
//! manage owners, ownership and rules, trigger syncs), `owner` (act on the
//! items assigned to them, read the rest in scope), `comms` (read, and
//! draft, approve and send communications), `reader` (read only),
//! `analytics_reader` (the reports only: [`analytics_may_use`]). A
//! user or token limited to tenants or tenant groups sees nothing of the
//! others; changes that affect every tenant (owners, rules, groups, users)
//! need an unrestricted caller.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope, TenantSet};
use rand::RngCore;
use sha2::{Digest, Sha256};
use utoipa::Modify;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::AppState;
use super::error::{ApiError, ApiResult};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "changedesk_session";
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// API tokens start with this, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "cdk_";

/// What a caller may do (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Read what is in scope (posts, items, configuration): every role but
    /// `analytics_reader`.
    Read,
    /// Read the reports and their figures: every role.
    Reports,
    /// Draft, approve and send communications: `comms`, `change_manager`,
    /// `admin`.
    Comms,
    /// Act on any work item in scope.
    TriageAny,
    /// Manage owners, workload ownership and rules; trigger syncs.
    Configure,
    /// Manage users, tenant groups and other people's tokens; read the
    /// audit log.
    Admin,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    /// The scope as stored (for display).
    pub scope: Scope,
    /// The tenants the caller may see.
    pub tenants: TenantSet,
    pub via: Via,
}

#[derive(Debug, Clone)]
pub enum Via {
    Session {
        token_hash: String,
    },
    Token {
        id: i64,
    },
    /// A fetch of a saved view's feed (`ui::feeds`): read only, as the
    /// feed's user with their role and scope as they are now.
    Feed {
        id: i64,
    },
}

impl Caller {
    pub fn require(&self, need: Need) -> ApiResult<()> {
        let ok = match need {
            Need::Read => self.role.reads_archive(),
            Need::Reports => true,
            Need::Comms => self.role.handles_comms(),
            Need::TriageAny => matches!(self.role, Role::Admin | Role::ChangeManager),
            Need::Configure => {
                matches!(self.role, Role::Admin | Role::ChangeManager) && self.unrestricted()
            }
            Need::Admin => self.role == Role::Admin && self.unrestricted(),
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::forbidden(match need {
                Need::Read => format!(
                    "a {} sees the reports only (GET /api/v1/reports/…)",
                    self.role.as_str()
                ),
                Need::Reports => "reading needs a signed-in user".to_string(),
                Need::Comms => format!(
                    "a {} cannot draft, approve or send communications (needs comms, change_manager or admin)",
                    self.role.as_str()
                ),
                Need::TriageAny => format!(
                    "a {} cannot act on work items assigned to others (needs change_manager or admin)",
                    self.role.as_str()
                ),
                Need::Configure => {
                    "changing owners, ownership, rules or syncs needs a change_manager or admin without a tenant limit"
                        .to_string()
                }
                Need::Admin => "this needs an admin without a tenant limit".to_string(),
            }))
        }
    }

    /// Whether the caller may see every tenant.
    pub fn unrestricted(&self) -> bool {
        matches!(self.tenants, TenantSet::All)
    }

    /// Whether the caller may act on an item assigned to `assignee`.
    pub fn may_act_on(&self, assignee: Option<&str>) -> bool {
        match self.role {
            Role::Admin | Role::ChangeManager => true,
            Role::Owner => assignee.is_some_and(|a| a.eq_ignore_ascii_case(&self.name)),
            Role::Comms | Role::Reader | Role::AnalyticsReader => false,
        }
    }

    /// Whether the caller sees this tenant.
    pub fn sees(&self, tenant: &str) -> bool {
        self.tenants.contains(tenant)
    }

    /// Whether something meant for `tenants` (empty: every tenant's — a
    /// communication, a channel's filter) is within the caller's tenants:
    /// always without a limit; else only when it names tenants, all theirs.
    pub fn speaks_for(&self, tenants: &[String]) -> bool {
        self.unrestricted() || (!tenants.is_empty() && tenants.iter().all(|t| self.sees(t)))
    }

    /// The audit log's actor for this caller.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Session { .. } => self.name.clone(),
            Via::Token { id } => format!("{} (token {id})", self.name),
            Via::Feed { id } => format!("{} (feed {id})", self.name),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Caller> {
        let now = state.now();
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
            let Some(secret) = value.strip_prefix("Bearer ").map(str::trim) else {
                return Err(ApiError::unauthorized(
                    "use `Authorization: Bearer <API token>`",
                ));
            };
            let Some((token, user)) = state.store.token(&hash_secret(secret), &now).await? else {
                return Err(ApiError::unauthorized(
                    "the API token is unknown, revoked or expired",
                ));
            };
            let role = token.role.at_most(user.role);
            gate(role, parts.uri.path())?;
            // a token is limited by its own scope and its user's
            let tenants = resolve(state, &user.scope)
                .await?
                .intersect(&resolve(state, &token.scope).await?);
            return Ok(Caller {
                user_id: user.id,
                name: user.name,
                role,
                scope: token.scope,
                tenants,
                via: Via::Token { id: token.id },
            });
        }
        let session = UiSession::from_request_parts(parts, state).await?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !session.csrf_ok(sent) {
                return Err(ApiError::forbidden(
                    "missing or wrong X-CSRF-Token header (it comes with the sign-in answer and GET /api/v1/me)",
                ));
            }
        }
        Ok(session.caller)
    }
}

/// Whether an `analytics_reader` may ask for `path`: the reports (the
/// API's and the web UI's), their own settings and tokens, signing out.
/// Everything else is refused before any handler runs, so a route added
/// later is closed to them until listed here.
pub fn analytics_may_use(path: &str) -> bool {
    // a path and everything under it
    const TREES: &[&str] = &[
        "/api/v1/reports",
        "/api/v1/me/settings",
        "/api/v1/session",
        "/api/v1/tokens",
        "/reports",
        "/me/settings",
        "/tokens",
    ];
    // this path alone (`/api/v1/me/subscription` would mail posts)
    const EXACT: &[&str] = &["/api/v1/me", "/sign-out"];
    EXACT.contains(&path)
        || TREES.iter().any(|p| {
            path.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// Refuses a role that reads only the reports anything else (403).
fn gate(role: Role, path: &str) -> ApiResult<()> {
    if role.reads_archive() || analytics_may_use(path) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "an {} sees the reports only (/reports, GET /api/v1/reports/…)",
            role.as_str()
        )))
    }
}

/// A browser's session (the session cookie only: browsers send no API
/// token), with the session's CSRF token. The API's [`Caller`] checks that
/// token in the `X-CSRF-Token` header; the web UI's forms send it back in a
/// hidden field and check it with [`UiSession::csrf_ok`]. Rejected as 401
/// without a live session.
///
/// The web UI's router reads it once per request ([`UiSession::resolve`],
/// in its middleware, which also needs the user's time zone) and leaves it
/// in the request's extensions, where the extractor takes it instead of
/// reading the session again.
#[derive(Clone)]
pub struct UiSession {
    pub caller: Caller,
    pub csrf_token: String,
    /// The user's time zone for the web UI (`None`: UTC), as stored.
    pub time_zone: Option<String>,
}

/// A session already looked up for this request (see [`UiSession`]): the
/// session, or the reason there is none (a 401's detail).
#[derive(Clone)]
pub(crate) struct ResolvedSession(pub(crate) Result<UiSession, String>);

impl UiSession {
    /// Whether `sent` is the session's CSRF token (compared in constant
    /// time).
    pub fn csrf_ok(&self, sent: &str) -> bool {
        constant_time_eq(sent.as_bytes(), self.csrf_token.as_bytes())
    }
}

impl FromRequestParts<AppState> for UiSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<UiSession> {
        if let Some(ResolvedSession(resolved)) = parts.extensions.get::<ResolvedSession>() {
            let session = resolved.clone().map_err(ApiError::unauthorized)?;
            gate(session.caller.role, parts.uri.path())?;
            return Ok(session);
        }
        let session = UiSession::resolve(&parts.headers, state).await?;
        gate(session.caller.role, parts.uri.path())?;
        Ok(session)
    }
}

impl UiSession {
    /// The live session the request's cookie names, read from the store
    /// (and its expiry slid forward, written at most once a minute); 401
    /// without one.
    pub(crate) async fn resolve(
        headers: &axum::http::HeaderMap,
        state: &AppState,
    ) -> ApiResult<UiSession> {
        let now = state.now();
        let jar = CookieJar::from_headers(headers);
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(ApiError::unauthorized(
                "sign in first (POST /api/v1/session) or send an API token",
            ));
        };
        let token_hash = hash_secret(cookie.value());
        let Some((session, user)) = state.store.session(&token_hash, &now).await? else {
            return Err(ApiError::unauthorized(
                "the session has ended; sign in again",
            ));
        };
        // sliding expiry, written at most once a minute, in the background:
        // the write waits its turn behind a sync's (seconds, at an MSP's
        // shape), and the request, already authenticated, must not; one
        // write per session at a time
        let idle =
            time::Duration::try_from(state.settings.session_idle).unwrap_or(time::Duration::HOUR);
        let max =
            time::Duration::try_from(state.settings.session_max).unwrap_or(time::Duration::DAY);
        let last = session.last_seen_at.as_datetime();
        if now.as_datetime() - last > time::Duration::MINUTE {
            let until = Timestamp::from_datetime(std::cmp::min(
                now.as_datetime() + idle,
                session.created_at.as_datetime() + max,
            ));
            touch_in_background(state, &token_hash, now, until);
        }
        let tenants = resolve(state, &user.scope).await?;
        Ok(UiSession {
            caller: Caller {
                user_id: user.id,
                name: user.name,
                role: user.role,
                scope: user.scope,
                tenants,
                via: Via::Session { token_hash },
            },
            csrf_token: session.csrf_token,
            time_zone: user.time_zone,
        })
    }
}

/// Writes a session's sliding expiry in the background, unless a write of
/// it is already under way.
fn touch_in_background(state: &AppState, token_hash: &str, now: Timestamp, until: Timestamp) {
    let claimed = state
        .session_touches
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(token_hash.to_string());
    if !claimed {
        return;
    }
    let state = state.clone();
    let hash = token_hash.to_string();
    tokio::spawn(async move {
        if let Err(e) = state.store.touch_session(&hash, &now, &until).await {
            tracing::warn!(error = %e, "cannot extend a session's expiry; the next request tries again");
        }
        state
            .session_touches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&hash);
    });
}

/// The tenants a scope allows, against the archive's tenants and groups.
async fn resolve(state: &AppState, scope: &Scope) -> ApiResult<TenantSet> {
    if scope.is_unrestricted() {
        return Ok(TenantSet::All);
    }
    // the names alone (`tenants()` counts every tenant's posts), kept
    // between requests with the answer cache
    super::cache::resolve_scope(state, scope).await
}

/// SHA-256 of a session or API token, hex: what the store keeps.
pub fn hash_secret(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random secret: 32 bytes, URL-safe base64.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether two secrets are equal, in time that does not depend on where
/// they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An Argon2id PHC string for a password (CPU-heavy: call it off the async
/// threads, e.g. in `spawn_blocking`).
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches a stored PHC string (a damaged one matches
/// nothing).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The rules for a new password.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < 12 {
        return Err("a password needs at least 12 characters".to_string());
    }
    if password.len() > 1024 {
        return Err("a password can have at most 1024 bytes".to_string());
    }
    Ok(())
}

/// The session cookie for a new session.
pub fn session_cookie(secret: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, secret))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .build()
}

/// The cookie that removes the session cookie.
pub fn expired_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure);
    c.make_removal();
    c
}

/// Failed sign-ins per key (an account and client address, or a client
/// address across accounts): after `attempts` failures within `window`,
/// further attempts with that key are refused until the window has passed.
/// Kept in memory, at most [`LIMITER_KEYS`] keys: beyond, the keys that
/// block nothing are dropped first.
pub struct SignInLimiter {
    attempts: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// The most keys a [`SignInLimiter`] keeps.
pub const LIMITER_KEYS: usize = 100_000;

impl SignInLimiter {
    pub fn new(attempts: u32, window: Duration) -> SignInLimiter {
        SignInLimiter {
            attempts: attempts.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long until `key` may try again, if it is blocked.
    pub fn blocked(&self, key: &str) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let (n, since) = failures.get(key)?;
        let elapsed = since.elapsed();
        (*n >= self.attempts && elapsed < self.window).then(|| self.window - elapsed)
    }

    pub fn failed(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= LIMITER_KEYS {
            let (window, attempts) = (self.window, self.attempts);
            failures.retain(|_, (_, since)| since.elapsed() < window);
            if failures.len() >= LIMITER_KEYS {
                failures.retain(|_, (n, _)| *n >= attempts);
            }
            if failures.len() >= LIMITER_KEYS {
                failures.clear();
            }
        }
        let entry = failures
            .entry(key.to_string())
            .or_insert((0, Instant::now()));
        if entry.1.elapsed() >= self.window {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }

    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Forgets every key that starts with `prefix` (an admin's unlock of an
    /// account: `name|`).
    pub fn forget_prefix(&self, prefix: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| !k.starts_with(prefix));
    }
}

/// How long an account's next sign-in waits after `failures` failed ones
/// in a row (from the last failure): nothing for the first `free`, then 1 s,
/// doubling with each further failure, at most `max`. An account is slowed
/// down, never locked: its owner waits at most `max`, while someone
/// guessing from many addresses gets about one guess per `max`.
pub fn account_delay(failures: i64, free: u32, max: Duration) -> Duration {
    let Ok(beyond) = u32::try_from(failures - i64::from(free)) else {
        return Duration::ZERO;
    };
    Duration::from_secs(1u64 << beyond.min(30)).min(max)
}

/// The OpenAPI security schemes: the session cookie and API tokens.
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                SESSION_COOKIE,
                "From POST /api/v1/session; changes also need the X-CSRF-Token header",
            ))),
        );
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A personal API token (`cdk_…`), from POST /api/v1/tokens or `changedesk user token`"))
                    .build(),
            ),
        );
    }
}
