//! Tenants: sync status, last error, counts; trigger a sync. Tenants added
//! to the database (one by one, or a CSV list), their admin-consent links and
//! the consent callback, access checks, removal.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use changedesk_store::{AccessCheck, ConsentAnswer, ConsentTaken, NewTenant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::dto::ts_opt;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::Path;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tenants, add_tenants))
        .routes(routes!(get_tenant, remove_tenant))
        .routes(routes!(sync_tenant))
        .routes(routes!(consent_link))
        .routes(routes!(check_tenant))
        .routes(routes!(rename_tenant))
        .routes(routes!(purge_tenant))
}

/// A tenant as the archive knows it.
#[derive(Serialize, ToSchema)]
pub struct TenantDto {
    pub name: String,
    pub created_at: String,
    pub last_sync_at: Option<String>,
    /// Why the last sync failed; absent when it succeeded.
    pub last_sync_error: Option<String>,
    /// When the last sync that succeeded ended.
    pub last_ok_sync_at: Option<String>,
    /// Syncs failed in a row.
    pub sync_failures: i64,
    /// `never_synced`, `ok`, `consent_lost`, `credential_rejected`,
    /// `tenant_not_found` or `failing`, told from the last sync.
    pub health: String,
    /// What to do about the health, when something can be done.
    pub health_advice: Option<String>,
    /// When the last complete listing of posts was stored.
    pub messages_complete_at: Option<String>,
    pub messages_watermark: Option<String>,
    pub posts_visible: i64,
    pub posts_seen: i64,
    pub incidents_visible: i64,
    /// `configuration` (a `[[tenants]]` table), `database` (added with
    /// `tenants add`, `tenants import` or this API, reached through `[app]`)
    /// or `archive` (known only from imported listings).
    pub source: String,
    pub display_name: Option<String>,
    /// The directory GUID (or, before consent, the domain) of a tenant added
    /// to the database.
    pub directory_id: Option<String>,
    /// Admin consent of a tenant added to the database: `not_asked`,
    /// `asked`, `granted` or `declined`.
    pub consent: Option<String>,
    pub consent_error: Option<String>,
    /// The application permissions the last access check found missing.
    pub missing_permissions: Vec<String>,
    /// Why the last access check failed.
    pub check_error: Option<String>,
    pub checked_at: Option<String>,
}

impl From<&changedesk_store::TenantRow> for TenantDto {
    fn from(t: &changedesk_store::TenantRow) -> TenantDto {
        let health = changedesk_core::onboard::Health::of(
            t.last_sync_at.is_some(),
            t.last_sync_error.as_deref(),
        );
        TenantDto {
            name: t.name.clone(),
            created_at: t.created_at.to_string(),
            last_sync_at: ts_opt(&t.last_sync_at),
            last_sync_error: t.last_sync_error.clone(),
            last_ok_sync_at: ts_opt(&t.last_ok_sync_at),
            sync_failures: t.sync_failures,
            health: health.as_str().to_owned(),
            health_advice: health.advice().map(str::to_owned),
            messages_complete_at: ts_opt(&t.messages_complete_at),
            messages_watermark: ts_opt(&t.messages_watermark),
            posts_visible: t.posts_visible,
            posts_seen: t.posts_seen,
            incidents_visible: t.incidents_visible,
            source: "archive".to_owned(),
            display_name: None,
            directory_id: None,
            consent: None,
            consent_error: None,
            missing_permissions: Vec::new(),
            check_error: None,
            checked_at: None,
        }
    }
}

impl TenantDto {
    /// With what the database keeps of a tenant added there.
    fn with_directory(mut self, d: &changedesk_store::DirectoryTenant) -> TenantDto {
        self.source = "database".to_owned();
        self.display_name.clone_from(&d.display_name);
        self.directory_id = Some(d.directory_id.clone());
        self.consent = Some(d.consent.as_str().to_owned());
        self.consent_error.clone_from(&d.consent_error);
        self.missing_permissions.clone_from(&d.missing_permissions);
        self.check_error.clone_from(&d.check_error);
        self.checked_at = ts_opt(&d.checked_at);
        self
    }
}

/// The names of the configured tenants this server knows.
/// A 409 when `name` is one of the `configured` tenants (ignoring case):
/// the configuration file, not the archive, says what it is.
fn refuse_configured(configured: &[String], name: &str, then: &str) -> ApiResult<()> {
    if configured
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name.trim()))
    {
        return Err(ApiError::conflict(format!(
            "tenant `{name}` is defined in the configuration file, {then}"
        )));
    }
    Ok(())
}

fn configured(state: &AppState) -> Vec<String> {
    let mut names = state.scheduled.clone();
    names.extend(state.configured.iter().cloned());
    if let Some(o) = &state.onboarding {
        names.extend(o.configured.iter().cloned());
    }
    names.sort();
    names.dedup();
    names
}

/// Which tenants `GET /api/v1/tenants` lists.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
pub struct TenantListParams {
    /// Part of a tenant's name, display name or directory, ignoring case.
    pub q: String,
    /// Only tenants whose last sync failed.
    pub failing: bool,
    /// Tenants to skip (by name).
    pub offset: i64,
    /// At most this many (default 100, at most 1000); `X-Total-Count` says
    /// how many the query takes in all.
    pub limit: Option<i64>,
}

/// The tenants in the caller's scope, by name, a page at a time.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", params(TenantListParams),
    responses((status = 200, body = Vec<TenantDto>, headers(("X-Total-Count" = i64, description = "How many tenants the query takes in all"))),
        (status = 401, body = Problem)))]
async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Query(params): axum::extract::Query<TenantListParams>,
) -> ApiResult<Response> {
    let limit = params.limit.unwrap_or(100).clamp(1, 1000);
    let (rows, page) = tenants(&state, &caller, &params, limit).await?;
    let mut r = axum::Json(rows).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&page.total.to_string()) {
        r.headers_mut().insert("x-total-count", v);
    }
    Ok(r)
}

/// A page of the tenants in `caller`'s scope (the API's list and the web
/// UI's tenants page), and how many the query takes in all.
pub(crate) async fn tenants(
    state: &AppState,
    caller: &Caller,
    params: &TenantListParams,
    limit: i64,
) -> ApiResult<(Vec<TenantDto>, changedesk_store::TenantPage)> {
    let only = match &caller.tenants {
        changedesk_core::access::TenantSet::All => None,
        changedesk_core::access::TenantSet::Only(names) => Some(names.iter().cloned().collect()),
    };
    let mut page = state
        .store
        .tenant_page(&changedesk_store::TenantQuery {
            only,
            search: params.q.clone(),
            failing: params.failing,
            offset: params.offset,
            limit,
        })
        .await?;
    let directory = state.store.directory_tenants().await?;
    let configured = configured(state);
    let rows = std::mem::take(&mut page.rows)
        .iter()
        .filter(|t| caller.sees(&t.name))
        .map(|t| dto(t, &directory, &configured))
        .collect();
    Ok((rows, page))
}

/// The names of the tenants in `caller`'s scope, by name (for choosers:
/// no counts read).
pub(crate) async fn names(state: &AppState, caller: &Caller) -> ApiResult<Vec<String>> {
    let mut names: Vec<String> = state
        .store
        .tenant_names()
        .await?
        .into_iter()
        .filter(|t| caller.sees(t))
        .collect();
    names.sort();
    Ok(names)
}

fn dto(
    t: &changedesk_store::TenantRow,
    directory: &[changedesk_store::DirectoryTenant],
    configured: &[String],
) -> TenantDto {
    let d = TenantDto::from(t);
    if configured.contains(&t.name) {
        return TenantDto {
            source: "configuration".to_owned(),
            ..d
        };
    }
    match directory.iter().find(|d| d.name == t.name) {
        Some(dir) => d.with_directory(dir),
        None => d,
    }
}

/// One tenant.
#[utoipa::path(get, path = "/api/v1/tenants/{name}", tag = "tenants",
    params(("name" = String, Path)),
    responses((status = 200, body = TenantDto), (status = 404, body = Problem)))]
async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<TenantDto>> {
    let not_found = || ApiError::not_found(format!("tenant `{name}` not found"));
    if !caller.sees(&name) {
        return Err(not_found());
    }
    let t = state.store.tenant(&name).await?.ok_or_else(not_found)?;
    let directory = state.store.directory_tenants().await?;
    Ok(axum::Json(dto(&t, &directory, &configured(&state))))
}

/// Asks the scheduler to sync a tenant now.
#[utoipa::path(post, path = "/api/v1/tenants/{name}/sync", tag = "tenants",
    params(("name" = String, Path)),
    responses((status = 202, description = "Queued"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 503, description = "No scheduler runs in this process", body = Problem)))]
async fn sync_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    request_sync(&state, &caller, &name).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Asks the scheduler to sync tenant `name` now, for `caller` (audited; the
/// API's and the web UI's "sync now").
pub(crate) async fn request_sync(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    let name = name.to_string();
    if !caller.sees(&name) {
        return Err(ApiError::not_found(format!("tenant `{name}` not found")));
    }
    caller.require(Need::Configure)?;
    let Some(tx) = &state.sync_now else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server runs no scheduler (start it with tenants configured)",
        ));
    };
    // only a configured tenant, or one added to the database that may be
    // synced, can be: an unknown name is not queued
    let added = state.onboarding.is_some()
        && state
            .store
            .directory_tenants()
            .await?
            .iter()
            .any(|t| t.name == name && t.syncable());
    if !added && !state.scheduled.contains(&name) {
        return Err(ApiError::not_found(format!(
            "tenant `{}` is not configured, or cannot be synced before its admin consent",
            changedesk_core::text::clip_chars(&name, 80)
        )));
    }
    tx.try_send(name.clone()).map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the sync queue is full; try again shortly",
        )
    })?;
    state
        .store
        .record_audit(
            &caller.actor(),
            "tenant.sync_requested",
            &name,
            &serde_json::json!({}),
            &state.now(),
        )
        .await?;
    Ok(())
}

/// A tenant to add.
#[derive(Deserialize, ToSchema)]
pub struct NewTenantDto {
    /// The short name used everywhere in changedesk (`contoso`).
    pub name: String,
    /// The directory (tenant) GUID, or a verified domain.
    pub directory_id: String,
    pub display_name: Option<String>,
}

/// Tenants to add (or update), all or none.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTenantsRequest {
    pub tenants: Vec<NewTenantDto>,
}

/// What adding did, by tenant name.
#[derive(Serialize, ToSchema)]
pub struct AddedTenantsDto {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Adds tenants to the database, reached through `[app]`: a JSON list, or a
/// CSV list (`Content-Type: text/csv`; a header line names the columns:
/// `name,tenant_id,display_name`, or a partner portal's export). All or
/// none; each is audited. Unrestricted admins only.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants",
    request_body(content(
        (AddTenantsRequest = "application/json"),
        (String = "text/csv"),
    )),
    responses((status = 200, body = AddedTenantsDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "A directory or name is taken, or a configured tenant's name", body = Problem),
        (status = 503, description = "No [app] is configured", body = Problem)))]
async fn add_tenants(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<AddedTenantsDto>> {
    caller.require(Need::Admin)?;
    let csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("text/csv"));
    let tenants = if csv {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_request("the CSV list is not UTF-8 text"))?;
        from_csv(text)?
    } else {
        let request: AddTenantsRequest = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("not a list of tenants: {e}")))?;
        request
            .tenants
            .into_iter()
            .map(|t| NewTenant {
                name: t.name,
                directory_id: t.directory_id,
                display_name: t.display_name,
            })
            .collect()
    };
    let added = add(&state, &caller, &tenants).await?;
    Ok(axum::Json(AddedTenantsDto {
        added: added.added,
        updated: added.updated,
        unchanged: added.unchanged,
    }))
}

/// The tenants of a CSV list; its problems, by line, as a 400.
pub(crate) fn from_csv(text: &str) -> ApiResult<Vec<NewTenant>> {
    let lines = changedesk_core::onboard::parse_tenant_csv(text)
        .map_err(|e| ApiError::bad_request(format!("the CSV list was not added:\n{e}")))?;
    Ok(lines
        .into_iter()
        .map(|l| NewTenant {
            name: l.name,
            directory_id: l.directory_id,
            display_name: l.display_name,
        })
        .collect())
}

/// Adds `tenants` for `caller` (the API's and the web UI's).
pub(crate) async fn add(
    state: &AppState,
    caller: &Caller,
    tenants: &[NewTenant],
) -> ApiResult<changedesk_store::AddedTenants> {
    caller.require(Need::Admin)?;
    if state.onboarding.is_none() {
        return Err(no_app());
    }
    if tenants.is_empty() {
        return Err(ApiError::bad_request("no tenants to add"));
    }
    let configured = configured(state);
    if let Some(t) = tenants
        .iter()
        .find(|t| configured.contains(&t.name.trim().to_owned()))
    {
        return Err(ApiError::conflict(format!(
            "tenant `{}` is defined in the configuration file; give the one to add another name",
            t.name.trim()
        )));
    }
    Ok(state
        .store
        .add_tenants(tenants, &caller.actor(), &state.now())
        .await?)
}

fn no_app() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::onboard::OnboardError::NoApp.to_string(),
    )
}

fn onboard_error(e: crate::onboard::OnboardError) -> ApiError {
    match e {
        crate::onboard::OnboardError::Store(e) => e.into(),
        other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    }
}

/// Stops syncing a tenant added to the database; its archive, links and
/// work stay (audited). Unrestricted admins only.
#[utoipa::path(delete, path = "/api/v1/tenants/{name}", tag = "tenants",
    params(("name" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "A configured tenant", body = Problem)))]
async fn remove_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    remove(&state, &caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes the database tenant `name` for `caller` (the API's and the web
/// UI's).
pub(crate) async fn remove(state: &AppState, caller: &Caller, name: &str) -> ApiResult<()> {
    caller.require(Need::Admin)?;
    if configured(state).iter().any(|c| c == name) {
        return Err(ApiError::conflict(format!(
            "tenant `{name}` is defined in the configuration file: remove it there"
        )));
    }
    state
        .store
        .remove_directory_tenant(name, &caller.actor(), &state.now())
        .await?;
    Ok(())
}

/// A tenant's new name.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameDto {
    /// Lowercase letters, digits, `-` or `_`; no tenant may have it.
    pub name: String,
}

/// Where a renamed tenant's name was rewritten.
#[derive(Serialize, ToSchema)]
pub struct RenamedDto {
    pub from: String,
    pub to: String,
    /// Work items with an exception for the tenant.
    pub work_items: i64,
    /// Decision log entries about the tenant alone.
    pub log_entries: i64,
    pub ownership: i64,
    /// Users and API tokens limited to the tenant.
    pub scopes: i64,
    pub channels: i64,
    /// Tenant groups whose patterns named the tenant (a wildcard pattern
    /// is left as it is).
    pub groups: Vec<String>,
    pub views: i64,
}

/// Renames a tenant everywhere changedesk keeps its name, in one
/// transaction (audited `tenant.rename`). A tenant of the configuration is
/// refused (409): rename it in the file first. Unrestricted admins only.
#[utoipa::path(post, path = "/api/v1/tenants/{name}/rename", tag = "tenants",
    params(("name" = String, Path)), request_body = RenameDto,
    responses((status = 200, body = RenamedDto), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "The name is taken, or a configured tenant", body = Problem)))]
async fn rename_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    crate::http::extract::Json(body): crate::http::extract::Json<RenameDto>,
) -> ApiResult<axum::Json<RenamedDto>> {
    Ok(axum::Json(
        rename(&state, &caller, &name, &body.name).await?,
    ))
}

/// Renames the tenant `from` to `to` for `caller` (the API's and the web
/// UI's).
pub(crate) async fn rename(
    state: &AppState,
    caller: &Caller,
    from: &str,
    to: &str,
) -> ApiResult<RenamedDto> {
    caller.require(Need::Admin)?;
    let configured = configured(state);
    refuse_configured(
        &configured,
        from,
        "where its name is its key: rename it there first",
    )?;
    let r = state
        .store
        .rename_tenant(from, to, &configured, &caller.actor(), &state.now())
        .await?;
    Ok(RenamedDto {
        from: r.from,
        to: r.to,
        work_items: r.work_items,
        log_entries: r.log_entries,
        ownership: r.ownership,
        scopes: r.scopes,
        channels: r.channels,
        groups: r.groups,
        views: r.views,
    })
}

/// What purging a tenant removed.
#[derive(Serialize, ToSchema)]
pub struct PurgedDto {
    pub name: String,
    /// Its links to posts, and to incidents.
    pub post_links: i64,
    pub incident_links: i64,
    /// Posts and incidents no other tenant saw: they stay in the archive,
    /// seen by no tenant.
    pub posts_seen_by_none: i64,
    pub incidents_seen_by_none: i64,
    /// Work items that had an exception for it.
    pub work_items: i64,
    /// Ownership entries for it alone.
    pub ownership: i64,
    /// Its service health rows and sync runs.
    pub health: i64,
    pub runs: i64,
    /// Notifications about it alone not yet delivered.
    pub notifications: i64,
}

/// Purges a decommissioned tenant: its links to posts and incidents, its
/// exceptions in work items, ownership entries, service health, sync runs
/// and undelivered notifications go, then the tenant itself, in one
/// transaction (audited `tenant.purge`, with the counts). Shared content
/// stays (posts, incidents, revisions, work items, logs). A tenant of the
/// configuration is refused (409): remove it there first. Unrestricted
/// admins only.
#[utoipa::path(post, path = "/api/v1/tenants/{name}/purge", tag = "tenants",
    params(("name" = String, Path)),
    responses((status = 200, body = PurgedDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "A configured tenant", body = Problem)))]
async fn purge_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<PurgedDto>> {
    Ok(axum::Json(purge(&state, &caller, &name).await?))
}

/// Purges the tenant `name` for `caller` (the API's and the web UI's).
pub(crate) async fn purge(state: &AppState, caller: &Caller, name: &str) -> ApiResult<PurgedDto> {
    caller.require(Need::Admin)?;
    let configured = configured(state);
    refuse_configured(
        &configured,
        name,
        "remove it there first, or it comes back at the next sync",
    )?;
    let r = state
        .store
        .purge_tenant(name, &configured, &caller.actor(), &state.now())
        .await?;
    Ok(PurgedDto {
        name: r.name,
        post_links: r.post_links,
        incident_links: r.incident_links,
        posts_seen_by_none: r.posts_seen_by_none,
        incidents_seen_by_none: r.incidents_seen_by_none,
        work_items: r.work_items,
        ownership: r.ownership,
        health: r.health,
        runs: r.runs,
        notifications: r.notifications,
    })
}

/// A new admin-consent link.
#[derive(Serialize, ToSchema)]
pub struct ConsentLinkDto {
    /// Send it to an administrator of the tenant: consenting there brings
    /// them back to this server's `/consent/callback`.
    pub url: String,
    /// The link is refused after this instant.
    pub expires_at: String,
}

/// Makes a new admin-consent link for a tenant added to the database (the
/// only one that counts from now on). Unrestricted admins only.
#[utoipa::path(post, path = "/api/v1/tenants/{name}/consent-link", tag = "tenants",
    params(("name" = String, Path)),
    responses((status = 200, body = ConsentLinkDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 503, description = "No [app] or no [server] public_url", body = Problem)))]
async fn consent_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<ConsentLinkDto>> {
    caller.require(Need::Admin)?;
    let now = state.now();
    let url = make_consent_link(&state, &caller, &name, &now).await?;
    let expires = changedesk_core::Timestamp::from_unix(
        now.unix_seconds() + crate::onboard::CONSENT_LINK_DAYS * 86_400,
    )
    .unwrap_or(now);
    Ok(axum::Json(ConsentLinkDto {
        url,
        expires_at: expires.to_string(),
    }))
}

/// A consent link for `name`, for `caller` (the API's and the web UI's).
pub(crate) async fn make_consent_link(
    state: &AppState,
    caller: &Caller,
    name: &str,
    now: &changedesk_core::Timestamp,
) -> ApiResult<String> {
    caller.require(Need::Admin)?;
    let o = state.onboarding.as_ref().ok_or_else(no_app)?;
    let url = crate::onboard::consent_link(
        &state.store,
        Some(&o.app),
        o.public_url.as_deref(),
        name,
        &caller.actor(),
        now,
    )
    .await
    .map_err(onboard_error)?;
    Ok(url.to_string())
}

/// What an access check found.
#[derive(Serialize, ToSchema)]
pub struct AccessCheckDto {
    /// The application permissions the tenant has not granted.
    pub missing_permissions: Vec<String>,
    /// Why no token or no answer could be had (then nothing is known of
    /// the permissions).
    pub error: Option<String>,
    pub ok: bool,
}

impl From<AccessCheck> for AccessCheckDto {
    fn from(c: AccessCheck) -> AccessCheckDto {
        AccessCheckDto {
            ok: c.error.is_none() && c.missing.is_empty(),
            missing_permissions: c.missing,
            error: c.error,
        }
    }
}

/// Checks access to a tenant added to the database now: a token, then each
/// listing (recorded). Unrestricted admins only.
#[utoipa::path(post, path = "/api/v1/tenants/{name}/check", tag = "tenants",
    params(("name" = String, Path)),
    responses((status = 200, body = AccessCheckDto), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 503, description = "No [app] is configured", body = Problem)))]
async fn check_tenant(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<AccessCheckDto>> {
    Ok(axum::Json(check(&state, &caller, &name).await?.into()))
}

/// Checks access to the database tenant `name` for `caller` (the API's and
/// the web UI's).
pub(crate) async fn check(state: &AppState, caller: &Caller, name: &str) -> ApiResult<AccessCheck> {
    caller.require(Need::Admin)?;
    let o = state.onboarding.as_ref().ok_or_else(no_app)?;
    let directory = state.store.directory_tenants().await?;
    let Some(t) = directory.iter().find(|t| t.name == name) else {
        return Err(ApiError::not_found(format!(
            "tenant `{}` (added to the database) not found",
            changedesk_core::text::clip_chars(name, 80)
        )));
    };
    let tenant = o.app.tenant(&t.name, &t.directory_id);
    let mut results = crate::onboard::check_tenants(
        &state.store,
        &o.graph,
        std::slice::from_ref(&tenant),
        &directory,
        1,
        &state.now(),
    )
    .await?;
    Ok(results.pop().map(|(_, c)| c).unwrap_or_default())
}

/// The answer of an admin consent (`GET /consent/callback`), as the
/// identity platform sends it.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ConsentCallback {
    admin_consent: Option<String>,
    tenant: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// What `GET /consent/callback` records: where an administrator comes back
/// after consenting (or not). Needs no sign-in: the link's state, made for
/// one tenant and used once, is the proof; an unknown state changes nothing.
/// The status, the page's title and its text.
pub(crate) async fn take_consent(
    state: &AppState,
    q: &ConsentCallback,
) -> (StatusCode, &'static str, String) {
    let Some(link_state) = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 256)
    else {
        return (
            StatusCode::BAD_REQUEST,
            "Not a consent answer",
            "This address receives the answer of an admin consent link made by changedesk; this request carries no state.".to_owned(),
        );
    };
    let answer = match (&q.error, q.admin_consent.as_deref(), &q.tenant) {
        (Some(error), _, _) => ConsentAnswer::Declined {
            error: match &q.error_description {
                Some(d) => format!("{error}: {d}"),
                None => error.clone(),
            },
        },
        (None, Some(yes), Some(tenant)) if yes.eq_ignore_ascii_case("true") => {
            ConsentAnswer::Granted {
                directory_id: tenant.clone(),
            }
        }
        _ => ConsentAnswer::Declined {
            error: "the answer said neither that consent was given nor why not".to_owned(),
        },
    };
    let taken = state
        .store
        .answer_consent(
            &crate::onboard::state_hash(link_state),
            &answer,
            crate::onboard::CONSENT_LINK_DAYS * 86_400,
            &state.now(),
        )
        .await;
    match taken {
        Ok(ConsentTaken::Recorded {
            tenant,
            consent: changedesk_store::Consent::Granted,
        }) => {
            if let Some(tx) = &state.sync_now {
                // the scheduler reads the tenants again and syncs this one
                let _ = tx.try_send(tenant.clone());
            }
            (
                StatusCode::OK,
                "Consent recorded",
                format!("Thank you: changedesk may now read the Message Center posts and service health of {tenant}. Its first sync starts shortly; you can close this page."),
            )
        }
        Ok(ConsentTaken::Recorded { tenant, .. }) => {
            let why = state
                .store
                .directory_tenants()
                .await
                .ok()
                .and_then(|d| d.into_iter().find(|t| t.name == tenant))
                .and_then(|t| t.consent_error)
                .unwrap_or_default();
            (
                StatusCode::OK,
                "Consent not given",
                format!("changedesk recorded that {tenant} did not consent ({why}). Ask for a new link to try again."),
            )
        }
        Ok(ConsentTaken::Expired { tenant }) => (
            StatusCode::GONE,
            "This consent link has expired",
            format!(
                "The link for {tenant} is older than {} days: ask for a new one.",
                crate::onboard::CONSENT_LINK_DAYS
            ),
        ),
        Ok(ConsentTaken::Unknown) => (
            StatusCode::NOT_FOUND,
            "Unknown consent link",
            "This link was replaced by a newer one, used already, or not made by this changedesk: ask for a new one.".to_owned(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot record a consent answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Not recorded",
                "changedesk could not record the answer now; open the link again in a moment.".to_owned(),
            )
        }
    }
}
