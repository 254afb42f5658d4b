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
    /// The change's details (never a secret). Names are clipped to 256
    /// characters, and a detail longer than 16 KiB as JSON is given as
    /// `{"truncated": true, "bytes": …, "preview": …}`.
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

/// The most characters of an entry's actor, action or target shown.
const MAX_NAME_CHARS: usize = 256;
/// The most bytes of an entry's detail shown as JSON; a longer one (an
/// archive from before sign-in names were bounded held names of megabytes)
/// is shown as a clipped preview.
const MAX_DETAIL_BYTES: usize = 16 * 1024;

/// `s`, clipped to `max` characters (and `…`).
fn clipped(s: String, max: usize) -> String {
    match changedesk_core::text::clip_chars(&s, max) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(c) => c,
    }
}

/// An entry's detail, or a preview of it when its JSON is longer than
/// [`MAX_DETAIL_BYTES`]: `{"truncated": true, "bytes": …, "preview": …}`.
fn bounded_detail(detail: serde_json::Value) -> serde_json::Value {
    let text = detail.to_string();
    if text.len() <= MAX_DETAIL_BYTES {
        return detail;
    }
    serde_json::json!({
        "truncated": true,
        "bytes": text.len(),
        "preview": clipped(text, 2000),
    })
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
                actor: clipped(e.actor, MAX_NAME_CHARS),
                action: clipped(e.action, MAX_NAME_CHARS),
                target: clipped(e.target, MAX_NAME_CHARS),
                detail: bounded_detail(e.detail),
            })
            .collect(),
        next_before,
    })
}
