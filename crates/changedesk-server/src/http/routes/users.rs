//! Users and API tokens. Users are managed by admins without a tenant limit;
//! everyone signed in manages their own API tokens (admins anyone's). A
//! token's secret is shown once, in the answer that creates it, and stored
//! only as its SHA-256. Passwords are Argon2id hashes, computed off the
//! async threads. A user's sessions end when their password changes or they
//! are disabled. The store audits every change with the caller as actor.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use changedesk_core::access::{Role, Scope, validate_user_name};
use changedesk_store::{ApiTokenRow, NewToken, NewUser, StoreError, User, UserUpdate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need, TOKEN_PREFIX, Via, check_password, hash_secret, new_secret};
use crate::http::dto::{ts, ts_opt};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Json, Path, Query};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(unlock_user))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

fn role(s: &str) -> ApiResult<Role> {
    s.parse::<Role>()
        .map_err(|e| ApiError::bad_request(format!("role: {e}")))
}

/// Names as given, trimmed, without empty ones.
fn names(v: &[String]) -> Vec<String> {
    v.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The most names a user's or token's scope may hold (a tenant group
/// covers more).
const MAX_SCOPE_NAMES: usize = 10_000;

/// Checks a scope to store: well-formed names, at most
/// [`MAX_SCOPE_NAMES`], each new one (not in `before`) a tenant of the
/// archive or the configuration, or a tenant group; 400 naming the others.
async fn checked_scope(state: &AppState, scope: &Scope, before: &Scope) -> ApiResult<Scope> {
    if scope.name_count() > MAX_SCOPE_NAMES {
        return Err(ApiError::bad_request(format!(
            "a scope names at most {MAX_SCOPE_NAMES} tenants and tenant groups; use a tenant group"
        )));
    }
    let scope = scope.normalized().map_err(ApiError::bad_request)?;
    let new = scope.added_since(before);
    if new.is_unrestricted() {
        return Ok(scope);
    }
    let tenants = state.known_tenants().await?;
    let groups = state.store.groups().await?;
    let unknown = new.unknown_names(&tenants, &groups);
    if let Some(first) = unknown.first() {
        let more = match unknown.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(ApiError::bad_request(format!(
            "unknown {first}{more}: a scope names tenants and tenant groups that exist"
        )));
    }
    Ok(scope)
}

/// The scope a new user or token asks for, checked ([`checked_scope`]).
async fn new_scope(state: &AppState, tenants: &[String], groups: &[String]) -> ApiResult<Scope> {
    let asked = Scope {
        tenants: names(tenants),
        groups: names(groups),
    };
    checked_scope(state, &asked, &Scope::all()).await
}

/// Checks a new password and hashes it off the async threads.
async fn hash(password: String) -> ApiResult<String> {
    check_password(&password).map_err(ApiError::bad_request)?;
    tokio::task::spawn_blocking(move || crate::http::hash_password(&password))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot hash a password");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server could not complete the request; the details are in its log",
            )
        })
}

// ---------------------------------------------------------------- users

/// Someone who signs in.
#[derive(Serialize, ToSchema)]
pub struct UserDto {
    /// The lower-case sign-in name.
    pub name: String,
    pub display_name: String,
    pub email: String,
    /// `admin`, `change_manager`, `owner` or `reader`.
    pub role: String,
    /// Tenants the user is limited to (none and no groups: every tenant).
    pub tenants: Vec<String>,
    /// Tenant groups the user is limited to.
    pub tenant_groups: Vec<String>,
    /// A disabled user cannot sign in, and their sessions and tokens do not
    /// work.
    pub disabled: bool,
    /// Whether they sign in with a password.
    pub has_password: bool,
    pub created_at: String,
    pub updated_at: String,
    pub last_sign_in_at: Option<String>,
    /// Failed sign-ins in a row: beyond a few, each further attempt waits
    /// (up to a minute) until a sign-in works or an admin unlocks them.
    pub failed_sign_ins: i64,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> UserDto {
        UserDto {
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone(),
            role: u.role.as_str().to_string(),
            tenants: u.scope.tenants.clone(),
            tenant_groups: u.scope.groups.clone(),
            disabled: u.disabled,
            has_password: u.has_password(),
            created_at: ts(&u.created_at),
            updated_at: ts(&u.updated_at),
            last_sign_in_at: ts_opt(&u.last_sign_in_at),
            failed_sign_ins: u.failed_sign_ins,
        }
    }
}

/// Clears a user's failed sign-ins, so their next sign-in is not delayed,
/// and the server's per-address limits on their account (admins only;
/// audited as `user.unlock`).
#[utoipa::path(post, path = "/api/v1/users/{name}/unlock", tag = "users",
    params(("name" = String, Path)),
    responses((status = 200, body = UserDto), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn unlock_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<UserDto>> {
    Ok(axum::Json(UserDto::from(
        &unlock(&state, &caller, &name).await?,
    )))
}

/// An admin clears an account's failed sign-ins (its delay) and the
/// server's per-address limits on it (audited as `user.unlock`).
pub(crate) async fn unlock(state: &AppState, caller: &Caller, name: &str) -> ApiResult<User> {
    caller.require(Need::Admin)?;
    let name = name.trim().to_ascii_lowercase();
    let user = match state
        .store
        .unlock_user(&name, &caller.actor(), &state.now())
        .await
    {
        Ok(u) => u,
        Err(StoreError::NotFound(_)) => {
            return Err(ApiError::not_found(format!("user `{name}` not found")));
        }
        Err(e) => return Err(e.into()),
    };
    state.limiter.forget_prefix(&format!("{name}|"));
    Ok(user)
}

/// Every user, by name.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserDto>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<UserDto>>> {
    Ok(axum::Json(users(&state, &caller).await?))
}

/// Every user, by name (the API's list and the web UI's users page).
pub(crate) async fn users(state: &AppState, caller: &Caller) -> ApiResult<Vec<UserDto>> {
    caller.require(Need::Admin)?;
    let users = state.store.users().await?;
    Ok(users.iter().map(UserDto::from).collect())
}

/// A user to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The sign-in name (lower-cased).
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    /// `admin`, `change_manager`, `owner` or `reader`.
    pub role: String,
    /// Limit the user to these tenants (with `tenant_groups`; none: every
    /// tenant).
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub tenant_groups: Vec<String>,
    /// At least 12 characters.
    pub password: String,
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = CreateUser,
    responses((status = 201, description = "Created", body = UserDto), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "The name is taken", body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<UserDto>)> {
    let user = add_user(&state, &caller, body).await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// Creates a user for `caller` (audited).
pub(crate) async fn add_user(
    state: &AppState,
    caller: &Caller,
    body: CreateUser,
) -> ApiResult<UserDto> {
    caller.require(Need::Admin)?;
    let name = validate_user_name(&body.name).map_err(ApiError::bad_request)?;
    let role = role(&body.role)?;
    let scope = new_scope(state, &body.tenants, &body.tenant_groups).await?;
    let password_hash = hash(body.password).await?;
    let user = state
        .store
        .create_user(
            &NewUser {
                name,
                display_name: body.display_name,
                email: body.email,
                role,
                scope,
                password_hash: Some(password_hash),
                oidc_subject: None,
                disabled: false,
                at: state.now(),
            },
            &caller.actor(),
        )
        .await?;
    Ok(UserDto::from(&user))
}

/// What to change of a user; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// `admin`, `change_manager`, `owner` or `reader`.
    pub role: Option<String>,
    /// The tenants the user is limited to (replaces the list).
    pub tenants: Option<Vec<String>>,
    /// The tenant groups the user is limited to (replaces the list).
    pub tenant_groups: Option<Vec<String>>,
    /// Disabling ends the user's sessions; their tokens stop working.
    pub disabled: Option<bool>,
    /// A new password (at least 12 characters); ends the user's sessions.
    pub password: Option<String>,
}

/// Changes a user. Refused when it would leave no enabled admin.
#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path)),
    request_body = UpdateUser,
    responses((status = 200, body = UserDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "It would leave no enabled admin", body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<axum::Json<UserDto>> {
    Ok(axum::Json(change_user(&state, &caller, &name, body).await?))
}

/// Changes user `name` for `caller` (audited; a new password or disabling
/// ends the user's sessions), unless it would leave no enabled admin.
pub(crate) async fn change_user(
    state: &AppState,
    caller: &Caller,
    name: &str,
    body: UpdateUser,
) -> ApiResult<UserDto> {
    caller.require(Need::Admin)?;
    let name = name.trim().to_ascii_lowercase();
    let not_found = || ApiError::not_found(format!("user `{name}` not found"));
    let current = state
        .store
        .user_by_name(&name)
        .await?
        .ok_or_else(not_found)?;
    let scope = if body.tenants.is_some() || body.tenant_groups.is_some() {
        let asked = Scope {
            tenants: names(body.tenants.as_deref().unwrap_or(&current.scope.tenants)),
            groups: names(
                body.tenant_groups
                    .as_deref()
                    .unwrap_or(&current.scope.groups),
            ),
        };
        Some(checked_scope(state, &asked, &current.scope).await?)
    } else {
        None
    };
    let new_password = body.password.is_some();
    let password_hash = match body.password {
        Some(p) => Some(Some(hash(p).await?)),
        None => None,
    };
    let update = UserUpdate {
        display_name: body.display_name,
        email: body.email,
        role: body.role.as_deref().map(role).transpose()?,
        scope,
        disabled: body.disabled,
        password_hash,
        oidc_subject: None,
    };
    // the store refuses too; asked here first for a 409 that says why
    let after = User {
        role: update.role.unwrap_or(current.role),
        disabled: update.disabled.unwrap_or(current.disabled),
        scope: update
            .scope
            .as_ref()
            .map(|s| s.normalized().map_err(ApiError::bad_request))
            .transpose()?
            .unwrap_or_else(|| current.scope.clone()),
        ..current.clone()
    };
    if current.administers() && !after.administers() {
        let others = state
            .store
            .users()
            .await?
            .iter()
            .filter(|u| u.administers() && u.id != current.id)
            .count();
        if others == 0 {
            return Err(ApiError::conflict(format!(
                "`{name}` is the last enabled admin without a tenant limit: make another user such an admin first"
            )));
        }
    }
    let user = match state
        .store
        .update_user(&name, &update, &caller.actor(), &state.now())
        .await
    {
        Ok(u) => u,
        Err(StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if new_password || (user.disabled && !current.disabled) {
        // a new password or a disabled account ends the open sessions
        let ended = state.store.delete_sessions_of(user.id).await?;
        if ended > 0 {
            state
                .store
                .record_audit(
                    &caller.actor(),
                    "session.end_all",
                    &user.name,
                    &serde_json::json!({
                        "sessions": ended,
                        "because": if new_password { "password changed" } else { "disabled" },
                    }),
                    &state.now(),
                )
                .await?;
        }
    }
    Ok(UserDto::from(&user))
}

/// Deletes a user with their sessions and tokens. Refused for the last
/// enabled admin.
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "The last enabled admin", body = Problem)))]
async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    remove_user(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes user `name` with their sessions and tokens, for `caller`
/// (audited), unless they are the last enabled admin.
pub(crate) async fn remove_user(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Admin)?;
    match state
        .store
        .delete_user(name, &caller.actor(), &state.now())
        .await
    {
        Ok(()) => Ok(()),
        // the only refusal: the last enabled admin
        Err(StoreError::Invalid(m)) => Err(ApiError::conflict(m)),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- tokens

/// An API token (never its secret).
#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub id: i64,
    /// The user it acts for.
    pub user: String,
    /// What it is for.
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    /// The most it may do (it acts with at most its user's current role).
    pub role: String,
    /// Tenants it is limited to, within its user's scope.
    pub tenants: Vec<String>,
    pub tenant_groups: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Not revoked and not expired.
    pub active: bool,
}

impl TokenDto {
    fn new(t: &ApiTokenRow, now: &changedesk_core::Timestamp) -> TokenDto {
        TokenDto {
            id: t.id,
            user: t.user.clone(),
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            role: t.role.as_str().to_string(),
            tenants: t.scope.tenants.clone(),
            tenant_groups: t.scope.groups.clone(),
            created_at: ts(&t.created_at),
            expires_at: ts_opt(&t.expires_at),
            last_used_at: ts_opt(&t.last_used_at),
            revoked_at: ts_opt(&t.revoked_at),
            active: t.is_active(now),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TokenParams {
    /// Another user's tokens (admins only; default: the caller's).
    pub user: Option<String>,
}

/// The caller's API tokens (an admin may ask for another user's), revoked
/// and expired ones included, oldest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenParams),
    responses((status = 200, body = Vec<TokenDto>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<TokenParams>,
) -> ApiResult<axum::Json<Vec<TokenDto>>> {
    Ok(axum::Json(tokens(&state, &caller, p).await?))
}

/// `caller`'s API tokens, or (for an admin) another user's (the API's list
/// and the web UI's tokens page).
pub(crate) async fn tokens(
    state: &AppState,
    caller: &Caller,
    p: TokenParams,
) -> ApiResult<Vec<TokenDto>> {
    caller.require(Need::Reports)?;
    let user = match p.user.as_deref().map(|u| u.trim().to_ascii_lowercase()) {
        Some(u) if u != caller.name => {
            caller.require(Need::Admin)?;
            u
        }
        _ => caller.name.clone(),
    };
    let rows = match state.store.tokens(Some(&user)).await {
        Ok(rows) => rows,
        Err(StoreError::NotFound(_)) => {
            return Err(ApiError::not_found(format!("user `{user}` not found")));
        }
        Err(e) => return Err(e.into()),
    };
    let now = state.now();
    Ok(rows
        .iter()
        .filter(|t| manages(caller, t))
        .map(|t| TokenDto::new(t, &now))
        .collect())
}

/// Whether `caller` may see and revoke token `t`: a signed-in user manages
/// all their tokens; a token manages only tokens within its own limits (at
/// most its role, within its tenant scope), so a reader token limited to one
/// tenant cannot find or revoke its user's admin token.
fn manages(caller: &Caller, t: &ApiTokenRow) -> bool {
    match caller.via {
        Via::Session { .. } => true,
        Via::Token { .. } | Via::Feed { .. } => {
            caller.role.is_at_least(t.role) && t.scope.within(&caller.scope)
        }
    }
}

/// A token to create for the caller.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What it is for (1–100 characters).
    pub name: String,
    /// At most the caller's role (default: the caller's role).
    pub role: Option<String>,
    /// Limit it to these tenants (with `tenant_groups`; none: the caller's
    /// scope).
    #[serde(default)]
    pub tenants: Vec<String>,
    #[serde(default)]
    pub tenant_groups: Vec<String>,
    /// How long it works, e.g. `90d` (default: until revoked).
    pub expires_in: Option<String>,
}

/// A new token with its secret: shown this once, keep it safe.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenDto,
    /// Send it as `Authorization: Bearer <secret>`. It cannot be shown
    /// again.
    pub secret: String,
}

/// Creates an API token for the caller, with at most the caller's role and
/// within the caller's scope. The answer holds the secret, which is stored
/// only hashed.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens",
    request_body = CreateToken,
    responses((status = 201, description = "Created; the secret is in the answer", body = CreatedToken),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, description = "A role above the caller's, or a scope beyond the caller's token", body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateToken>,
) -> ApiResult<Response> {
    let created = add_token(&state, &caller, body).await?;
    let mut response = (StatusCode::CREATED, axum::Json(created)).into_response();
    // the secret must not linger in a cache
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Creates an API token for `caller` (audited) and returns it with its
/// secret, which is stored only hashed and cannot be shown again.
pub(crate) async fn add_token(
    state: &AppState,
    caller: &Caller,
    body: CreateToken,
) -> ApiResult<CreatedToken> {
    caller.require(Need::Reports)?;
    let role = match body.role.as_deref() {
        Some(r) => role(r)?,
        None => caller.role,
    };
    if !caller.role.is_at_least(role) {
        return Err(ApiError::forbidden(format!(
            "a token cannot have more than your role ({}); it asks for {}",
            caller.role, role
        )));
    }
    let mut scope = new_scope(state, &body.tenants, &body.tenant_groups).await?;
    // a token acts within its user's scope; one made with a limited token
    // stays within that token's limit too
    if matches!(caller.via, Via::Token { .. }) && !caller.scope.is_unrestricted() {
        let limit = caller.scope.normalized().map_err(ApiError::bad_request)?;
        if scope.is_unrestricted() {
            scope = limit;
        } else if !scope.within(&limit) {
            return Err(ApiError::forbidden(format!(
                "the token you are using is limited to {}; a token made with it cannot reach further",
                limit
            )));
        }
    }
    let now = state.now();
    let expires_at = body
        .expires_in
        .as_deref()
        .map(|s| {
            changedesk_core::duration::parse_duration(s)
                .map(|d| now.saturating_add(d))
                .map_err(|e| ApiError::bad_request(format!("expires_in: {e}")))
        })
        .transpose()?;
    let secret = format!("{TOKEN_PREFIX}{}", new_secret());
    let row = state
        .store
        .create_token(
            &NewToken {
                user: caller.name.clone(),
                name: body.name,
                token_hash: hash_secret(&secret),
                prefix: secret
                    .chars()
                    .take(TOKEN_PREFIX.chars().count() + 6)
                    .collect(),
                role,
                scope,
                created_at: now,
                expires_at,
            },
            &caller.actor(),
        )
        .await?;
    Ok(CreatedToken {
        token: TokenDto::new(&row, &now),
        secret,
    })
}

/// Revokes an API token: one of the caller's, or anyone's for an admin
/// (someone else's token is not found). Revoking a revoked token changes
/// nothing.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    revoke(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes API token `id` for `caller` (audited): one of the caller's, or
/// anyone's for an admin (someone else's token is not found).
pub(crate) async fn revoke(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.require(Need::Reports)?;
    let not_found = || ApiError::not_found(format!("API token {id} not found"));
    let tokens = state.store.tokens(None).await?;
    let token = tokens.iter().find(|t| t.id == id).ok_or_else(not_found)?;
    if (token.user_id != caller.user_id && caller.require(Need::Admin).is_err())
        || !manages(caller, token)
    {
        return Err(not_found());
    }
    match state
        .store
        .revoke_token(id, &caller.actor(), &state.now())
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}
