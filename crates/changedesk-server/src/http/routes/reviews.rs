//! The change reviews recorded as held (`/api/v1/reviews`, issue 21): what
//! the maturity level's "a weekly review happens" observes. A review is
//! recorded for a week (its Monday) and the organisation or a tenant group,
//! once; recording it is audited (`review.held`).

use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::extract::Json;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_reviews, record_review))
}

/// The weeks shown without `weeks`.
const DEFAULT_WEEKS: i64 = 13;

pub(crate) use changedesk_core::metrics::monday_of;
use changedesk_core::timeline::iso;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    /// A tenant group's name; absent or empty: the organisation.
    pub tenant_group: Option<String>,
    /// The weeks back from this one (default 13, at most 520).
    pub weeks: Option<i64>,
}

/// The weeks whose review was recorded as held.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewsDto {
    /// The tenant group (`""`: the organisation).
    pub tenant_group: String,
    /// The first Monday looked at.
    pub since: String,
    /// The Mondays of the weeks recorded as held, oldest first.
    pub held: Vec<String>,
}

/// A review to record.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// A day of the week reviewed (`YYYY-MM-DD`; default: today): its
    /// Monday is recorded.
    pub week: Option<String>,
    /// A tenant group's name; absent or empty: the organisation.
    pub tenant_group: Option<String>,
    /// What was reviewed or decided (at most 2,000 characters).
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewRecordedDto {
    /// The Monday recorded.
    pub week: String,
    /// False when that week's review was already recorded.
    pub recorded: bool,
}

/// The Mondays of the last `weeks` weeks' reviews recorded as held for
/// `tenant_group`.
pub(crate) async fn held(
    state: &AppState,
    caller: &Caller,
    tenant_group: &str,
    weeks: i64,
) -> ApiResult<ReviewsDto> {
    caller.require(Need::Read)?;
    if !(1..=520).contains(&weeks) {
        return Err(ApiError::bad_request(format!(
            "weeks is 1 to 520, not {weeks}"
        )));
    }
    let this_week = monday_of(state.now().as_datetime().date());
    let since = this_week.saturating_sub(time::Duration::weeks(weeks - 1));
    let held = state.store.reviews_held(tenant_group, since).await?;
    Ok(ReviewsDto {
        tenant_group: tenant_group.to_string(),
        since: iso(since),
        held: held.into_iter().map(iso).collect(),
    })
}

/// Records a review as held: change managers and admins without a tenant
/// limit (a review is the organisation's or a whole group's).
pub(crate) async fn record(
    state: &AppState,
    caller: &Caller,
    req: &ReviewRequest,
) -> ApiResult<ReviewRecordedDto> {
    caller.require(Need::TriageAny)?;
    if !caller.unrestricted() {
        return Err(ApiError::forbidden(
            "recording a review is for change managers and admins without a tenant limit",
        ));
    }
    let now = state.now();
    let day = match req.week.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        None => now.as_datetime().date(),
        Some(w) => time::Date::parse(w, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "week `{}` is not a date like 2026-05-11",
                    changedesk_core::text::clip_chars(w, 40)
                ))
            })?,
    };
    if day > now.as_datetime().date() {
        return Err(ApiError::bad_request(
            "a review cannot be recorded for a week to come",
        ));
    }
    let group = req.tenant_group.as_deref().map(str::trim).unwrap_or("");
    if !group.is_empty() && !state.store.groups().await?.iter().any(|g| g.name == group) {
        return Err(ApiError::bad_request(format!(
            "there is no tenant group `{}`",
            changedesk_core::text::clip_chars(group, 64)
        )));
    }
    let week = monday_of(day);
    let recorded = state
        .store
        .record_review(
            week,
            group,
            req.note.as_deref().map(str::trim).unwrap_or(""),
            &caller.actor(),
            now,
        )
        .await?;
    Ok(ReviewRecordedDto {
        week: iso(week),
        recorded,
    })
}

/// The weeks whose change review was recorded as held (the organisation's,
/// or a tenant group's).
#[utoipa::path(get, path = "/api/v1/reviews", tag = "reports", params(ReviewParams),
    responses((status = 200, body = ReviewsDto), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list_reviews(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ReviewParams>,
) -> ApiResult<axum::Json<ReviewsDto>> {
    let group = p.tenant_group.as_deref().map(str::trim).unwrap_or("");
    Ok(axum::Json(
        held(&state, &caller, group, p.weeks.unwrap_or(DEFAULT_WEEKS)).await?,
    ))
}

/// Records this week's (or a past week's) change review as held; once per
/// week and tenant group, audited. Change managers and admins without a
/// tenant limit.
#[utoipa::path(post, path = "/api/v1/reviews", tag = "reports", request_body = ReviewRequest,
    responses((status = 200, body = ReviewRecordedDto),
        (status = 400, description = "A week to come, a bad date or an unknown group", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, description = "The body does not fit the schema", body = Problem)))]
async fn record_review(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ReviewRequest>,
) -> ApiResult<axum::Json<ReviewRecordedDto>> {
    Ok(axum::Json(record(&state, &caller, &body).await?))
}
