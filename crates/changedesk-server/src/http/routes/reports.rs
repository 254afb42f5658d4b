//! Reports (`/api/v1/reports/…`, issue 21): the analytics of the work in
//! the caller's scope (`crate::reports`; formulas in docs/ANALYTICS.md) as
//! JSON, or one of its tables as CSV.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::error::{ApiError, ApiResult, Problem};
use crate::http::routes::posts::{Csv, csv_answer, scope_of};
use crate::reports::{self, DEFAULT_DAYS, DEFAULT_WEEKS, Period, TABLES};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(analytics))
}

/// The period and shape of a report.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The period: the last this many days (default 90, at most 1,098).
    pub days: Option<i64>,
    /// The weeks of the weekly series (default 13, at most 156).
    pub weeks: Option<usize>,
    /// `csv`: one table (`table`) as CSV instead of JSON.
    pub format: Option<String>,
    /// With `format=csv`: `weekly`, `dimensions`, `breaches` or `backlog`.
    pub table: Option<String>,
}

impl ReportParams {
    /// The period these parameters ask for, up to `now`.
    pub fn period(&self, now: changedesk_core::Timestamp) -> ApiResult<Period> {
        Period::last(
            self.days.unwrap_or(DEFAULT_DAYS),
            self.weeks.unwrap_or(DEFAULT_WEEKS),
            now,
        )
        .map_err(ApiError::bad_request)
    }
}

/// The analytics of `caller`'s scope over `period`.
pub(crate) async fn analytics_for(
    state: &AppState,
    caller: &Caller,
    period: Period,
) -> ApiResult<changedesk_core::metrics::Analytics> {
    caller.require(Need::Read)?;
    let groups = reports::groups_in_scope(&state.store, |t| caller.sees(t)).await?;
    Ok(reports::analytics(
        &state.store,
        &scope_of(caller),
        &groups,
        &state.settings.analytics,
        period,
    )
    .await?)
}

/// One table of `a` as a CSV answer; 400 for an unknown table.
pub(crate) fn table_csv(
    a: &changedesk_core::metrics::Analytics,
    table: Option<&str>,
    now: changedesk_core::Timestamp,
) -> ApiResult<Response> {
    let table = table.map(str::trim).unwrap_or("");
    match reports::csv(a, table) {
        None => Err(ApiError::bad_request(format!(
            "table `{}` is not one of {}",
            changedesk_core::text::clip_chars(table, 40),
            TABLES.join(", ")
        ))),
        Some(Err(e)) => Err(ApiError::internal(&e)),
        Some(Ok(bytes)) => Ok(csv_answer(
            Csv { bytes, cut: None },
            &format!("analytics-{table}"),
            now,
        )),
    }
}

/// The analytics of the work in the caller's tenants: time to triage and to
/// close (median and 90th percentile, in working days) overall and by
/// workload, owner, tenant group, category and severity; new, triaged and
/// closed items and the backlog per week; the backlog's age; the items that
/// breach the SLA targets of `[analytics]` (docs/ANALYTICS.md). With
/// `format=csv`, one table.
#[utoipa::path(get, path = "/api/v1/reports/analytics", tag = "reports", params(ReportParams),
    responses(
        (status = 200, description = "The analytics (JSON), or one table as CSV (`format=csv`)"),
        (status = 400, description = "A period, weeks or table out of range", body = Problem),
        (status = 401, body = Problem)))]
async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ReportParams>,
) -> ApiResult<Response> {
    let now = state.now();
    let period = p.period(now)?;
    let a = analytics_for(&state, &caller, period).await?;
    match p.format.as_deref().map(str::trim) {
        None | Some("") | Some("json") => Ok(axum::Json(a).into_response()),
        Some("csv") => table_csv(&a, p.table.as_deref(), now),
        Some(other) => Err(ApiError::bad_request(format!(
            "format `{}` is not json or csv",
            changedesk_core::text::clip_chars(other, 40)
        ))),
    }
}
