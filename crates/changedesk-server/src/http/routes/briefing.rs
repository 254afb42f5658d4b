//! The executive report and the weekly status (`GET
//! /api/v1/reports/executive|weekly`, issue 21): one period's health score,
//! maturity level, counts and top risks for the caller's scope
//! (`crate::briefing`; definitions in docs/ANALYTICS.md).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use changedesk_core::metrics::briefing::Cadence;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::briefing::{self, Briefing};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::routes::reports::ReportParams;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(executive))
        .routes(routes!(weekly))
}

/// The period and subject of an executive report or a weekly status.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BriefingParams {
    /// The executive report's month, `YYYY-MM` (default: the last complete
    /// month).
    pub month: Option<String>,
    /// The weekly status's week: any day of it, `YYYY-MM-DD` (default: the
    /// last complete week, Monday to Sunday).
    pub week: Option<String>,
    /// One tenant of the caller's: its posts only.
    pub tenant: Option<String>,
    /// One tenant group: the posts some of its tenants (of the caller's) see.
    pub group: Option<String>,
}

impl BriefingParams {
    /// The month or week asked for.
    pub fn asked(&self, cadence: Cadence) -> Option<&str> {
        match cadence {
            Cadence::Monthly => self.month.as_deref(),
            Cadence::Weekly => self.week.as_deref(),
        }
    }
}

/// The report of `cadence` that `p` asks for, in `caller`'s scope: 400 for
/// a malformed or future period, 404 for a tenant or group not theirs.
pub(crate) async fn briefing_of(
    state: &AppState,
    caller: &Caller,
    p: &BriefingParams,
    cadence: Cadence,
) -> ApiResult<Briefing> {
    let now = state.now();
    let period =
        briefing::period_of(cadence, p.asked(cadence), now).map_err(ApiError::bad_request)?;
    let subject = ReportParams {
        tenant: p.tenant.clone(),
        group: p.group.clone(),
        ..ReportParams::default()
    };
    let covered = subject.covered(state, caller).await?;
    Ok(briefing::gather(
        &state.store,
        &covered,
        &state.settings.analytics,
        period,
        now,
    )
    .await?)
}

/// The monthly executive report of the work in the caller's tenants (or one
/// tenant's, or one tenant group's): the change health score at the month's
/// end with its components, its change over the month and its weekly trend;
/// the maturity level and what the next level lacks; the work items new,
/// triaged, closed, open and missed in the month; the top risks at its end
/// (docs/ANALYTICS.md, "Executive and weekly reports").
#[utoipa::path(get, path = "/api/v1/reports/executive", tag = "reports", params(BriefingParams),
    responses(
        (status = 200, description = "The executive report of the month"),
        (status = 400, description = "A month that is malformed or has not begun", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "A tenant or group not of the caller's", body = Problem)))]
async fn executive(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<BriefingParams>,
) -> ApiResult<Response> {
    Ok(axum::Json(briefing_of(&state, &caller, &p, Cadence::Monthly).await?).into_response())
}

/// The weekly status of the work in the caller's tenants (or one tenant's,
/// or one tenant group's): the executive report's figures for one ISO week
/// (Monday to Sunday).
#[utoipa::path(get, path = "/api/v1/reports/weekly", tag = "reports", params(BriefingParams),
    responses(
        (status = 200, description = "The weekly status of the week"),
        (status = 400, description = "A day that is malformed or a week that has not begun", body = Problem),
        (status = 401, body = Problem),
        (status = 404, description = "A tenant or group not of the caller's", body = Problem)))]
async fn weekly(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<BriefingParams>,
) -> ApiResult<Response> {
    Ok(axum::Json(briefing_of(&state, &caller, &p, Cadence::Weekly).await?).into_response())
}
