//! Sign-in, sign-out and who am I.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{self, Caller, Via};
use crate::http::dto::CallerDto;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ClientIp, Json};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The user name.
    pub name: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    pub user: CallerDto,
    /// Send it as `X-CSRF-Token` with every change made with this session.
    pub csrf_token: String,
    pub expires_at: String,
}

/// Signs in with a local account; the answer sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", security(()),
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in", body = SignedIn),
        (status = 401, description = "Wrong user name or password", body = Problem),
        (status = 429, description = "Too many failed attempts", body = Problem),
    ))]
async fn sign_in(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    jar: CookieJar,
    Json(body): Json<SignIn>,
) -> ApiResult<impl IntoResponse> {
    let client = peer.map(|ip| ip.to_string()).unwrap_or_default();
    let user = check_password_sign_in(&state, &body.name, body.password, &client).await?;
    let (jar, signed_in) = open_session(&state, &user, &client, "session.sign_in", jar).await?;
    Ok((jar, axum::Json(signed_in)))
}

/// The longest user name a sign-in accepts (names are at most 64 characters
/// of `a-z 0-9 . _ -`; this leaves room, and no more).
const MAX_NAME_CHARS: usize = 256;
/// The longest password a sign-in accepts.
const MAX_PASSWORD_BYTES: usize = 1024;
/// How long a sign-in waits for a hashing permit before 503.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Checks a local account's user name and password, under the per-account
/// and per-client sign-in limit; a failure is audited and is the same answer
/// whether the user exists or not.
pub(crate) async fn check_password_sign_in(
    state: &AppState,
    name: &str,
    password: String,
    client: &str,
) -> ApiResult<changedesk_store::User> {
    // nothing unauthenticated grows without bound: a name longer than any
    // user's is refused before it reaches the limiter or the audit log
    if name.chars().count() > MAX_NAME_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request(format!(
            "a user name has at most {MAX_NAME_CHARS} characters and a password at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let name = name.trim().to_ascii_lowercase();
    let key = format!("{name}|{client}");
    let client_key = format!("client|{client}");
    // one address guessing over many accounts
    if let Some(wait) = state.client_limiter.blocked(&client_key) {
        return Err(ApiError::too_many(
            format!(
                "too many failed sign-ins from your address; try again in {} s",
                wait.as_secs().max(1)
            ),
            wait,
        ));
    }
    // one address guessing one account
    if let Some(wait) = state.limiter.blocked(&key) {
        return Err(ApiError::too_many(
            format!(
                "too many failed sign-ins for {name}; try again in {} s",
                wait.as_secs().max(1)
            ),
            wait,
        ));
    }
    let user = state.store.user_by_name(&name).await?;
    let now = state.now();
    // many addresses guessing one account: each failure beyond the free
    // ones doubles the wait before the next attempt (bounded), so the owner
    // is slowed down, never locked out
    if let Some(u) = &user
        && let Some(last) = u.last_failed_sign_in_at
    {
        let delay = auth::account_delay(
            u.failed_sign_ins,
            state.settings.sign_in_attempts,
            state.settings.sign_in_max_delay,
        );
        let elapsed = now.as_datetime() - last.as_datetime();
        let wait = time::Duration::try_from(delay).unwrap_or(time::Duration::ZERO) - elapsed;
        if wait.is_positive() {
            let wait = std::time::Duration::try_from(wait).unwrap_or(delay);
            return Err(ApiError::too_many(
                format!(
                    "{} failed sign-ins for {name} in a row; try again in {} s",
                    u.failed_sign_ins,
                    wait.as_secs().max(1)
                ),
                wait,
            ));
        }
    }
    let phc = user
        .as_ref()
        .filter(|u| !u.disabled)
        .and_then(|u| u.password_hash.clone());
    // at most `hash_concurrency` hashes at once (19 MiB each): beyond, a
    // short wait, then 503 with Retry-After
    let permit = tokio::time::timeout(HASH_WAIT, state.hashing.clone().acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-ins at once; try again in a second",
            )
        })?;
    // an unknown user costs the same time as a wrong password
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        match phc {
            Some(phc) => auth::verify_password(&password, &phc),
            None => {
                let _ = auth::verify_password(&password, dummy_phc());
                false
            }
        }
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let user = match user {
        Some(u) if ok => u,
        Some(u) => {
            state.limiter.failed(&key);
            state.client_limiter.failed(&client_key);
            let failures = state.store.record_failed_sign_in(u.id, &now).await?;
            state
                .store
                .record_audit(
                    &name,
                    "session.sign_in_failed",
                    &name,
                    &serde_json::json!({ "client": client, "failures_in_a_row": failures }),
                    &now,
                )
                .await?;
            return Err(ApiError::unauthorized("wrong user name or password"));
        }
        None => {
            // a name no account has: counted against the address, logged,
            // and not stored (anyone could fill the audit log with names)
            state.limiter.failed(&key);
            state.client_limiter.failed(&client_key);
            let shown = changedesk_core::text::clip_chars(&name, 64);
            let shown = changedesk_core::text::escape_controls(&shown, false);
            tracing::warn!(client = %client, name = %shown, "sign-in failed: no such user");
            return Err(ApiError::unauthorized("wrong user name or password"));
        }
    };
    state.limiter.succeeded(&key);
    Ok(user)
}

/// Starts a session for `user`, who has just proved who they are (password,
/// OpenID Connect, …): stores it, records the sign-in and audits it as
/// `action`, and adds the session cookie to `jar`.
pub(crate) async fn open_session(
    state: &AppState,
    user: &changedesk_store::User,
    client: &str,
    action: &str,
    jar: CookieJar,
) -> ApiResult<(CookieJar, SignedIn)> {
    let now = state.now();
    let secret = auth::new_secret();
    let csrf = auth::new_secret();
    let idle =
        time::Duration::try_from(state.settings.session_idle).unwrap_or(time::Duration::HOUR);
    let expires = changedesk_core::Timestamp::from_datetime(now.as_datetime() + idle);
    state
        .store
        .create_session(&changedesk_store::NewSession {
            token_hash: auth::hash_secret(&secret),
            user_id: user.id,
            csrf_token: csrf.clone(),
            created_at: now,
            expires_at: expires,
        })
        .await?;
    state.store.record_sign_in(user.id, &now).await?;
    state
        .store
        .record_audit(
            &user.name,
            action,
            &user.name,
            &serde_json::json!({ "client": client }),
            &now,
        )
        .await?;
    let jar = jar.add(auth::session_cookie(secret, state.settings.secure_cookies));
    let caller = CallerDto {
        name: user.name.clone(),
        display_name: Some(user.display_name.clone()).filter(|d| !d.is_empty()),
        role: user.role.as_str().to_string(),
        tenants: user.scope.tenants.clone(),
        tenant_groups: user.scope.groups.clone(),
        via: "session".to_string(),
    };
    Ok((
        jar,
        SignedIn {
            user: caller,
            csrf_token: csrf,
            expires_at: expires.to_string(),
        },
    ))
}

/// A valid Argon2id hash of a random password, verified against when the
/// user does not exist (so that costs the same time).
fn dummy_phc() -> &'static str {
    static PHC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PHC.get_or_init(|| auth::hash_password(&auth::new_secret()).unwrap_or_default())
}

/// Signs out: ends the session and removes its cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem)))]
async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
    jar: CookieJar,
) -> ApiResult<impl IntoResponse> {
    let Via::Session { token_hash } = &caller.via else {
        return Err(ApiError::bad_request(
            "an API token has no session to end; revoke the token instead",
        ));
    };
    close_session(&state, &caller, token_hash).await?;
    Ok((
        jar.add(auth::expired_session_cookie(state.settings.secure_cookies)),
        StatusCode::NO_CONTENT,
    ))
}

/// Ends the caller's session (`token_hash`) and audits the sign-out.
pub(crate) async fn close_session(
    state: &AppState,
    caller: &Caller,
    token_hash: &str,
) -> ApiResult<()> {
    state.store.delete_session(token_hash).await?;
    state
        .store
        .record_audit(
            &caller.actor(),
            "session.sign_out",
            &caller.name,
            &serde_json::json!({}),
            &state.now(),
        )
        .await?;
    Ok(())
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: CallerDto,
    /// The session's CSRF token (absent for API tokens).
    pub csrf_token: Option<String>,
}

/// The signed-in user, role and tenant scope.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn me(
    State(state): State<AppState>,
    caller: Caller,
    _h: HeaderMap,
) -> ApiResult<axum::Json<Me>> {
    let csrf_token = match &caller.via {
        Via::Session { token_hash } => state
            .store
            .session(token_hash, &state.now())
            .await?
            .map(|(s, _)| s.csrf_token),
        Via::Token { .. } | Via::Feed { .. } => None,
    };
    Ok(axum::Json(Me {
        user: CallerDto::from(&caller),
        csrf_token,
    }))
}
