//! The audit log: who changed what, newest first, a page at a time. Admins
//! without a tenant limit only.

use axum::extract::State;
use changedesk_store::AuditFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::dto::ts;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::Query;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only this actor's entries (exact, e.g. `alice` or `alice (token 3)`).
    pub actor: Option<String>,
    /// Only actions starting with this, e.g. `user.` or `rule.put`.
    pub action: Option<String>,
    /// Only entries older than this id: the previous page's `next_before`.
    pub before: Option<i64>,
    /// 1 to 500 (default 100).
    pub limit: Option<i64>,
}

/// One entry of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: i64,
    pub at: String,
    /// Who: a user's name (with the token used, if any), `config` or
    /// `rules`.
    pub actor: String,
    /// What, e.g. `user.create`, `rule.put`, `session.sign_in`.
    pub action: String,
    /// What it was done to, e.g. the user's or rule's name.
    pub target: String,
    /// The change's details (never a secret).
    pub detail: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPageDto {
    pub items: Vec<AuditEntryDto>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPageDto), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<AuditParams>,
) -> ApiResult<axum::Json<AuditPageDto>> {
    Ok(axum::Json(audit_page(&state, &caller, p).await?))
}

/// A page of the audit log for `caller` (the API's and the web UI's).
pub(crate) async fn audit_page(
    state: &AppState,
    caller: &Caller,
    p: AuditParams,
) -> ApiResult<AuditPageDto> {
    caller.require(Need::Admin)?;
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1 to 500 (got {limit})"
        )));
    }
    let entries = state
        .store
        .audit_log_filtered(&AuditFilter {
            actor: p.actor.filter(|a| !a.is_empty()),
            action_prefix: p.action.filter(|a| !a.is_empty()),
            limit: Some(limit),
            before_id: p.before,
        })
        .await?;
    let next_before = if entries.len() as i64 == limit {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(AuditPageDto {
        items: entries
            .into_iter()
            .map(|e| AuditEntryDto {
                id: e.id,
                at: ts(&e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect(),
        next_before,
    })
}
