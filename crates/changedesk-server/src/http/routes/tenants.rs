//! Tenants: sync status, last error, counts; trigger a sync.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
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
        .routes(routes!(list_tenants))
        .routes(routes!(get_tenant))
        .routes(routes!(sync_tenant))
}

/// A tenant as the archive knows it.
#[derive(Serialize, ToSchema)]
pub struct TenantDto {
    pub name: String,
    pub created_at: String,
    pub last_sync_at: Option<String>,
    /// Why the last sync failed; absent when it succeeded.
    pub last_sync_error: Option<String>,
    /// When the last complete listing of posts was stored.
    pub messages_complete_at: Option<String>,
    pub messages_watermark: Option<String>,
    pub posts_visible: i64,
    pub posts_seen: i64,
    pub incidents_visible: i64,
}

impl From<&changedesk_store::TenantRow> for TenantDto {
    fn from(t: &changedesk_store::TenantRow) -> TenantDto {
        TenantDto {
            name: t.name.clone(),
            created_at: t.created_at.to_string(),
            last_sync_at: ts_opt(&t.last_sync_at),
            last_sync_error: t.last_sync_error.clone(),
            messages_complete_at: ts_opt(&t.messages_complete_at),
            messages_watermark: ts_opt(&t.messages_watermark),
            posts_visible: t.posts_visible,
            posts_seen: t.posts_seen,
            incidents_visible: t.incidents_visible,
        }
    }
}

/// The tenants in the caller's scope.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    responses((status = 200, body = Vec<TenantDto>), (status = 401, body = Problem)))]
async fn list_tenants(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<axum::Json<Vec<TenantDto>>> {
    Ok(axum::Json(tenants(&state, &caller).await?))
}

/// The tenants in `caller`'s scope (the API's list and the web UI's tenants
/// page).
pub(crate) async fn tenants(state: &AppState, caller: &Caller) -> ApiResult<Vec<TenantDto>> {
    let rows = state.store.tenants().await?;
    Ok(rows
        .iter()
        .filter(|t| caller.sees(&t.name))
        .map(TenantDto::from)
        .collect())
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
    Ok(axum::Json(TenantDto::from(&t)))
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
    // only a configured tenant can be synced: an unknown name is not queued
    let Some(name) = state.scheduled.iter().find(|t| **t == name).cloned() else {
        return Err(ApiError::not_found(format!(
            "tenant `{}` is not configured, so it cannot be synced",
            changedesk_core::text::clip_chars(&name, 80)
        )));
    };
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
