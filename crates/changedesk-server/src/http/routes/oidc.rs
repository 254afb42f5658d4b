//! Sign-in with Entra ID (OpenID Connect): which ways to sign in there are,
//! the start of a sign-in and the provider's answer. See `http::oidc` for
//! the flow and its checks.
//!
//! A sign-in is bound to the browser that started it by a short-lived
//! cookie holding its `state` (so nobody can sign someone else's browser
//! into their own account by sending them a callback link), and to the
//! database by the state's hash (single-use, 10 minutes, on any instance).
//! Every refused callback is audited as
//! `session.sign_in_failed` with the reason; a success as
//! `session.sign_in_oidc`, and the user's creation or role change as
//! `user.create` / `user.update` by actor `oidc`.
//!
//! Someone in too many groups for the ID token (Entra's groups overage
//! claim) has their groups read from Microsoft Graph when the
//! configuration maps groups (`[oidc.groups]` or `[oidc.group_scopes]`);
//! a failure to read them is a refusal like the others. Without group
//! maps, only app roles count and Graph is not called.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use changedesk_core::access::validate_user_name;
use changedesk_store::{OidcIdentity, OidcProfile, OidcSignIn, PendingSignIn, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::hash_secret;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{ClientIp, Query};
use crate::http::oidc::{Oidc, PENDING_LIFETIME, Refusal, safe_return_path};
use crate::http::routes::session::open_session;

/// The cookie that binds a sign-in under way to its browser.
pub const STATE_COOKIE: &str = "changedesk_oidc";
const COOKIE_PATH: &str = "/api/v1/session/oidc";

/// The audit log's actor for changes the provider's claims make.
const ACTOR: &str = "oidc";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in_providers))
        .routes(routes!(oidc_start))
        .routes(routes!(oidc_callback))
}

fn not_configured() -> ApiError {
    ApiError::not_found("OpenID Connect is not configured")
}

fn oidc(state: &AppState) -> ApiResult<&Oidc> {
    state.oidc.as_deref().ok_or_else(not_configured)
}

/// How people can sign in.
#[derive(Serialize, ToSchema)]
pub struct SignInProviders {
    /// Local accounts with a password (`POST /api/v1/session`).
    pub password: bool,
    /// OpenID Connect (Entra ID), when configured.
    pub oidc: Option<OidcProvider>,
}

#[derive(Serialize, ToSchema)]
pub struct OidcProvider {
    /// A label for the button.
    pub label: String,
    /// Where the browser goes to sign in (add `?return_to=/path`).
    pub start_url: String,
}

/// The ways to sign in, for a sign-in page: whether "Sign in with
/// Microsoft" is offered.
#[utoipa::path(get, path = "/api/v1/session/providers", tag = "session", security(()),
    responses((status = 200, body = SignInProviders)))]
async fn sign_in_providers(State(state): State<AppState>) -> axum::Json<SignInProviders> {
    axum::Json(SignInProviders {
        password: true,
        oidc: state.oidc.as_ref().map(|_| OidcProvider {
            label: "Sign in with Microsoft".to_string(),
            start_url: COOKIE_PATH.to_string(),
        }),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StartParams {
    /// Where to go once signed in: a path on this server (default `/`).
    pub return_to: Option<String>,
    /// Passed to the provider to preselect the account.
    pub login_hint: Option<String>,
}

/// Starts a sign-in with the identity provider: answers with a redirect to
/// its authorization endpoint (authorization code with PKCE S256), and a
/// short-lived cookie that binds the sign-in to this browser.
#[utoipa::path(get, path = "/api/v1/session/oidc", tag = "session", security(()),
    params(StartParams),
    responses(
        (status = 302, description = "To the identity provider"),
        (status = 400, description = "A return path that is not on this server", body = Problem),
        (status = 404, description = "OpenID Connect is not configured", body = Problem),
        (status = 502, description = "The identity provider cannot be reached", body = Problem),
    ))]
async fn oidc_start(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(p): Query<StartParams>,
) -> ApiResult<Response> {
    let oidc = oidc(&state)?;
    let return_to =
        safe_return_path(p.return_to.as_deref().unwrap_or("")).map_err(ApiError::bad_request)?;
    let started = oidc
        .start(p.login_hint.as_deref())
        .await
        .map_err(|r| ApiError::new(r.status, r.detail))?;
    let now = state.now();
    let lifetime =
        time::Duration::try_from(PENDING_LIFETIME).unwrap_or(time::Duration::minutes(10));
    state
        .store
        .create_pending_sign_in(&PendingSignIn {
            state_hash: hash_secret(&started.state),
            verifier: started.masked_verifier,
            nonce: started.nonce,
            return_to,
            created_at: now,
            expires_at: now.saturating_add(lifetime),
        })
        .await
        .map_err(|e| match e {
            changedesk_store::StoreError::Busy => {
                tracing::warn!(
                    "too many sign-ins under way; refusing another until some finish or expire"
                );
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many sign-ins are under way; try again in a minute",
                )
            }
            e => e.into(),
        })?;
    let cookie = Cookie::build((STATE_COOKIE, started.state))
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .same_site(SameSite::Lax)
        .max_age(lifetime)
        .build();
    let location = HeaderValue::from_str(started.authorize_url.as_str()).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "the identity provider's authorization URL is not usable",
        )
    })?;
    let mut response = (jar.add(cookie), StatusCode::FOUND).into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The provider's answer (`code` and `state`, or `error`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent at the start, unchanged.
    pub state: Option<String>,
    /// Set instead of `code` when the sign-in failed at the provider.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The identity provider's answer: checks it, finds or creates the user,
/// and starts a session (the session cookie is set) before redirecting to
/// the return path given at the start. Every refusal is audited.
#[utoipa::path(get, path = "/api/v1/session/oidc/callback", tag = "session", security(()),
    params(CallbackParams),
    responses(
        (status = 303, description = "Signed in: to the return path"),
        (status = 400, description = "Unknown, used or expired sign-in, or one started in another browser", body = Problem),
        (status = 401, description = "The provider refused, or its ID token does not pass the checks", body = Problem),
        (status = 403, description = "No role for this person, a disabled user, or no user and none may be created", body = Problem),
        (status = 404, description = "OpenID Connect is not configured", body = Problem),
        (status = 409, description = "The user name is taken by a user not linked to this account", body = Problem),
        (status = 502, description = "The identity provider cannot be reached or answers wrongly", body = Problem),
    ))]
async fn oidc_callback(
    State(state): State<AppState>,
    ClientIp(peer): ClientIp,
    jar: CookieJar,
    Query(p): Query<CallbackParams>,
) -> ApiResult<Response> {
    let oidc = oidc(&state)?;
    let client = peer.map(|ip| ip.to_string()).unwrap_or_default();
    let fail = Failure {
        state: &state,
        client: &client,
    };
    let Some(sent_state) = p.state.as_deref().filter(|s| !s.is_empty()) else {
        return fail
            .refuse(
                None,
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "no state",
                    "the answer has no state; start the sign-in again",
                ),
            )
            .await;
    };
    let bound = jar
        .get(STATE_COOKIE)
        .is_some_and(|c| constant_time_eq(c.value().as_bytes(), sent_state.as_bytes()));
    if !bound {
        return fail
            .refuse(
                None,
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "another browser",
                    "this sign-in was not started in this browser (or its cookie expired); start it again here",
                ),
            )
            .await;
    }
    let now = state.now();
    let Some(pending) = state
        .store
        .take_pending_sign_in(&hash_secret(sent_state))
        .await?
    else {
        return fail
            .refuse(
                None,
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "unknown or replayed state",
                    "this sign-in is unknown or was already used; start it again",
                ),
            )
            .await;
    };
    if pending.expires_at <= now {
        return fail
            .refuse(
                None,
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "expired sign-in",
                    "this sign-in took longer than 10 minutes; start it again",
                ),
            )
            .await;
    }
    if let Some(error) = p.error.as_deref() {
        let description: String = p
            .error_description
            .as_deref()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        return fail
            .refuse(
                None,
                Refusal::new(
                    StatusCode::UNAUTHORIZED,
                    "refused by the provider",
                    format!("the identity provider did not sign you in ({error}): {description}"),
                ),
            )
            .await;
    }
    let Some(code) = p.code.as_deref().filter(|c| !c.is_empty()) else {
        return fail
            .refuse(
                None,
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "no code",
                    "the answer has no code; start the sign-in again",
                ),
            )
            .await;
    };
    let finished = match oidc
        .finish(code, sent_state, &pending.verifier, &pending.nonce, &now)
        .await
    {
        Ok(f) => f,
        Err(r) => return fail.refuse(None, r).await,
    };
    let mut claims = finished.claims;
    let who = claims
        .preferred_username
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| claims.email.clone().filter(|e| !e.trim().is_empty()))
        .unwrap_or_else(|| claims.subject().to_string())
        .trim()
        .to_ascii_lowercase();
    let config = oidc.config();
    // too many groups for the token: read them from Graph when groups
    // matter (the overage wins over a `groups` claim sent with it)
    let graph_groups = claims.groups_overage() && config.maps_groups();
    if graph_groups {
        match oidc.member_groups(finished.access_token.as_ref()).await {
            Ok(groups) => claims.groups = groups,
            Err(r) => return fail.refuse(Some(&who), r).await,
        }
    }
    // the access token is not needed any more
    drop(finished.access_token);
    let Some(role) = config.role_for(&claims.roles, &claims.groups) else {
        let overage = if claims.groups_overage() && !graph_groups {
            " (the token could not list your groups: you are in too many; use app roles instead)"
        } else {
            ""
        };
        let values: Vec<&str> = config.app_roles.iter().map(|(v, _)| v.as_str()).collect();
        return fail
            .refuse(
                Some(&who),
                Refusal::new(
                    StatusCode::FORBIDDEN,
                    "no role",
                    format!(
                        "your account has no changedesk role: ask an administrator of your directory to assign you one of the app roles {}{}{overage}",
                        values.join(", "),
                        if config.groups.is_empty() { "" } else { " or to add you to a group changedesk maps to a role" },
                    ),
                ),
            )
            .await;
    };
    let scope = match config.scope_for(&claims.groups) {
        None => None,
        Some(Some(s)) => Some(s),
        Some(None) => {
            return fail
                .refuse(
                    Some(&who),
                    Refusal::new(
                        StatusCode::FORBIDDEN,
                        "no tenant scope",
                        "your account is in none of the groups that give access to tenants; ask an administrator",
                    ),
                )
                .await;
        }
    };
    // a new user's name: the sign-in name if it is a valid user name, else
    // the immutable id
    let name = validate_user_name(&who).unwrap_or_else(|_| claims.subject().to_ascii_lowercase());
    let identity = OidcIdentity {
        issuer: claims.iss.clone(),
        subject: claims.subject().to_string(),
    };
    let profile = OidcProfile {
        name,
        display_name: claims
            .name
            .clone()
            .unwrap_or_default()
            .chars()
            .take(128)
            .collect(),
        email: claims
            .email
            .clone()
            .unwrap_or_default()
            .chars()
            .take(254)
            .collect(),
        role,
        scope,
    };
    let outcome = state
        .store
        .oidc_sign_in(&identity, &profile, config.allow_create, ACTOR, &now)
        .await;
    let user = match outcome {
        Ok(OidcSignIn::Created(u)) => {
            tracing::info!(user = %u.name, role = %u.role, "user created at their first OpenID Connect sign-in");
            u
        }
        Ok(OidcSignIn::Existing { user, changed }) => {
            if !changed.is_empty() {
                tracing::info!(user = %user.name, changed = ?changed, "user updated from OpenID Connect claims");
            }
            user
        }
        Ok(OidcSignIn::Disabled(u)) => {
            return fail
                .refuse(
                    Some(&u.name),
                    Refusal::new(
                        StatusCode::FORBIDDEN,
                        "disabled",
                        "your changedesk account is disabled; ask an administrator",
                    ),
                )
                .await;
        }
        Ok(OidcSignIn::Unknown) => {
            return fail
                .refuse(
                    Some(&who),
                    Refusal::new(
                        StatusCode::FORBIDDEN,
                        "no user",
                        "no changedesk user is linked to this account, and new users are not created at sign-in ([oidc] allow_create is off); ask an administrator",
                    ),
                )
                .await;
        }
        Err(StoreError::Conflict(m)) => {
            return fail
                .refuse(
                    Some(&who),
                    Refusal::new(
                        StatusCode::CONFLICT,
                        "name taken",
                        format!("{m}; ask an administrator to rename or remove it"),
                    ),
                )
                .await;
        }
        Err(StoreError::Invalid(m)) => {
            return fail
                .refuse(
                    Some(&who),
                    Refusal::new(StatusCode::FORBIDDEN, "refused by the store", m),
                )
                .await;
        }
        Err(e) => return Err(e.into()),
    };
    let (jar, _) = open_session(&state, &user, &client, "session.sign_in_oidc", jar).await?;
    let mut removal = Cookie::build((STATE_COOKIE, "")).path(COOKIE_PATH).build();
    removal.make_removal();
    let location =
        HeaderValue::from_str(&pending.return_to).unwrap_or(HeaderValue::from_static("/"));
    let mut response = (jar.add(removal), StatusCode::SEE_OTHER).into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Audits a refused sign-in and answers it.
struct Failure<'a> {
    state: &'a AppState,
    client: &'a str,
}

impl Failure<'_> {
    async fn refuse(&self, who: Option<&str>, r: Refusal) -> ApiResult<Response> {
        let who = who.unwrap_or("anonymous");
        tracing::info!(user = %who, reason = r.reason, status = r.status.as_u16(), "OpenID Connect sign-in refused");
        self.state
            .store
            .record_audit(
                who,
                "session.sign_in_failed",
                who,
                &serde_json::json!({"method": "oidc", "reason": r.reason, "client": self.client}),
                &self.state.now(),
            )
            .await?;
        Err(ApiError::new(r.status, r.detail))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
