//! Service Health incidents and each tenant's current service health,
//! limited to the caller's tenants like posts: an incident no tenant in
//! scope sees or saw is "not found", and one seen by several tenants shows
//! only those in scope.

use axum::extract::State;
use changedesk_store::{IncidentFilter, PostState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::posts::scope_of;
use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::dto::{RevisionDto, TenantLinkDto, ts, ts_opt};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::{Path, Query};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents))
        .routes(routes!(get_incident))
        .routes(routes!(list_health))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IncidentParams {
    /// Only incidents this tenant sees (or saw).
    pub tenant: Option<String>,
    /// Only this service (any case), e.g. `Exchange Online`.
    pub service: Option<String>,
    /// `false`: open only; `true`: resolved only.
    pub resolved: Option<bool>,
    /// `active` (a tenant in scope returns it now) or `expired`.
    pub state: Option<String>,
    /// 1 to 5000 (default 500).
    pub limit: Option<i64>,
}

/// An incident in a list.
#[derive(Serialize, ToSchema)]
pub struct IncidentSummaryDto {
    /// The Service Health id, e.g. `EX1044221`.
    pub id: String,
    pub title: String,
    pub service: String,
    pub feature: String,
    /// `incident` or `advisory`.
    pub classification: String,
    /// Graph's status, e.g. `serviceDegradation`, `serviceRestored`.
    pub status: String,
    pub is_resolved: bool,
    pub start: Option<String>,
    pub end: Option<String>,
    pub last_modified: Option<String>,
    pub revision: i64,
    /// `active` (a tenant in scope returns it now) or `expired`.
    pub state: String,
    /// Tenants in scope that return it now.
    pub tenants_visible: i64,
    /// Tenants in scope that ever returned it.
    pub tenants_seen: i64,
}

impl From<&changedesk_store::IncidentSummary> for IncidentSummaryDto {
    fn from(i: &changedesk_store::IncidentSummary) -> IncidentSummaryDto {
        IncidentSummaryDto {
            id: i.id.clone(),
            title: i.title.clone(),
            service: i.service.clone(),
            feature: i.feature.clone(),
            classification: i.classification.clone(),
            status: i.status.clone(),
            is_resolved: i.is_resolved,
            start: ts_opt(&i.start),
            end: ts_opt(&i.end),
            last_modified: ts_opt(&i.last_modified),
            revision: i.revision,
            state: i.state.as_str().to_string(),
            tenants_visible: i.tenants_visible,
            tenants_seen: i.tenants_seen,
        }
    }
}

/// Lists incidents, most recently changed first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentParams),
    responses((status = 200, body = Vec<IncidentSummaryDto>), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<IncidentParams>,
) -> ApiResult<axum::Json<Vec<IncidentSummaryDto>>> {
    Ok(axum::Json(incidents(&state, &caller, p).await?))
}

/// The incidents `p` asks for that `caller` may see (the API's list and the
/// web UI's service health page).
pub(crate) async fn incidents(
    state: &AppState,
    caller: &Caller,
    p: IncidentParams,
) -> ApiResult<Vec<IncidentSummaryDto>> {
    caller.require(Need::Read)?;
    let incident_state = p
        .state
        .as_deref()
        .map(|s| {
            PostState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("state `{s}` is not one of active, expired"))
            })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to 5000 (got {limit})"
        )));
    }
    let tenant = p.tenant.map(|t| t.trim().to_ascii_lowercase());
    if let Some(t) = &tenant
        && !caller.sees(t)
    {
        return Ok(Vec::new());
    }
    let rows = state
        .store
        .list_incidents_scoped(
            &IncidentFilter {
                tenant,
                service: p.service.filter(|s| !s.trim().is_empty()),
                resolved: p.resolved,
                state: incident_state,
                limit: Some(limit),
            },
            &scope_of(caller),
        )
        .await?;
    Ok(rows.iter().map(IncidentSummaryDto::from).collect())
}

/// An update Microsoft posted to an incident.
#[derive(Serialize, ToSchema)]
pub struct IncidentPostDto {
    pub created: Option<String>,
    /// `regular`, `quick` or `strategic`.
    pub post_type: String,
    /// Microsoft's text, sanitised: safe to insert into a page.
    pub description_html: String,
}

/// A status the incident had, and when it was first seen.
#[derive(Serialize, ToSchema)]
pub struct StatusChangeDto {
    pub status: String,
    pub is_resolved: bool,
    pub observed_at: String,
    pub last_modified: Option<String>,
    /// The tenant whose listing showed it (only if in scope).
    pub tenant: Option<String>,
}

/// An incident with everything the archive knows of it, for the caller's
/// tenants.
#[derive(Serialize, ToSchema)]
pub struct IncidentDetailDto {
    #[serde(flatten)]
    pub incident: IncidentSummaryDto,
    pub feature_group: String,
    /// `microsoft`, `thirdParty` or `customer`.
    pub origin: String,
    pub impact_description: String,
    pub high_impact: Option<bool>,
    pub posts: Vec<IncidentPostDto>,
    pub tenants: Vec<TenantLinkDto>,
    pub revisions: Vec<RevisionDto>,
    pub status_history: Vec<StatusChangeDto>,
}

/// One incident.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Service Health id")),
    responses((status = 200, body = IncidentDetailDto), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<IncidentDetailDto>> {
    Ok(axum::Json(incident(&state, &caller, &id).await?))
}

/// One incident as `caller` may see it (the API's and the web UI's).
pub(crate) async fn incident(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> ApiResult<IncidentDetailDto> {
    caller.require(Need::Read)?;
    let d = state
        .store
        .get_incident_scoped(id.trim(), &scope_of(caller))
        .await?;
    let c = &d.content;
    Ok(IncidentDetailDto {
        incident: IncidentSummaryDto::from(&d.summary),
        feature_group: c.feature_group.clone(),
        origin: c.origin.as_str().to_string(),
        impact_description: c.impact_description.clone(),
        high_impact: c.high_impact,
        posts: d
            .posts
            .iter()
            .map(|p| IncidentPostDto {
                created: ts_opt(&p.created),
                post_type: p.post_type.clone(),
                description_html: crate::http::sanitize::body(&p.description_html),
            })
            .collect(),
        tenants: d.tenants.iter().map(TenantLinkDto::from).collect(),
        revisions: d
            .revisions
            .iter()
            .map(|r| RevisionDto::new(r, caller))
            .collect(),
        status_history: d
            .status_history
            .iter()
            .map(|h| StatusChangeDto {
                status: h.status.clone(),
                is_resolved: h.is_resolved,
                observed_at: ts(&h.observed_at),
                last_modified: ts_opt(&h.last_modified),
                tenant: h.tenant.clone().filter(|t| caller.sees(t)),
            })
            .collect(),
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HealthParams {
    /// Only this tenant.
    pub tenant: Option<String>,
}

/// One service's current status in one tenant.
#[derive(Serialize, ToSchema)]
pub struct ServiceHealthDto {
    pub tenant: String,
    /// Graph's service id, e.g. `Exchange`.
    pub service_id: String,
    pub service: String,
    /// Graph's status, e.g. `serviceOperational`, `serviceDegradation`.
    pub status: String,
    /// Since when it has this status.
    pub since: String,
    /// When a health overview last showed it.
    pub last_seen: String,
}

/// Each tenant's current service health (the tenants in scope), by tenant
/// and service.
#[utoipa::path(get, path = "/api/v1/health", tag = "incidents", params(HealthParams),
    responses((status = 200, body = Vec<ServiceHealthDto>), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list_health(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<HealthParams>,
) -> ApiResult<axum::Json<Vec<ServiceHealthDto>>> {
    Ok(axum::Json(health(&state, &caller, p).await?))
}

/// Each tenant's current service health, for the tenants in `caller`'s
/// scope (the API's and the web UI's service health page).
pub(crate) async fn health(
    state: &AppState,
    caller: &Caller,
    p: HealthParams,
) -> ApiResult<Vec<ServiceHealthDto>> {
    caller.require(Need::Read)?;
    let tenant = p.tenant.map(|t| t.trim().to_ascii_lowercase());
    if let Some(t) = &tenant
        && !caller.sees(t)
    {
        return Ok(Vec::new());
    }
    let rows = state.store.health(tenant.as_deref()).await?;
    Ok(rows
        .iter()
        .filter(|h| caller.sees(&h.tenant))
        .map(|h| ServiceHealthDto {
            tenant: h.tenant.clone(),
            service_id: h.service_id.clone(),
            service: h.service.clone(),
            status: h.status.clone(),
            since: ts(&h.since),
            last_seen: ts(&h.last_seen),
        })
        .collect())
}
