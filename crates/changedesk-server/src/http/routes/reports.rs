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
    OpenApiRouter::new()
        .routes(routes!(analytics))
        .routes(routes!(health))
        .routes(routes!(maturity))
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
    /// One tenant of the caller's: its posts only.
    pub tenant: Option<String>,
    /// One tenant group: the posts some of its tenants (of the caller's) see.
    pub group: Option<String>,
}

/// Which tenants a report may count.
type Sees = Box<dyn Fn(&str) -> bool + Send + Sync>;

impl ReportParams {
    /// What these parameters cover for `caller`: a tenant they do not see
    /// or a group with none of their tenants is a 404.
    pub(crate) async fn covered(
        &self,
        state: &AppState,
        caller: &Caller,
    ) -> ApiResult<reports::Covered> {
        caller.require(Need::Reports)?;
        let tenant = self
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let group = self
            .group
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty());
        let (scope, sees): (changedesk_store::TenantScope, Sees) = match tenant {
            Some(t) => {
                if !caller.sees(t) || !state.store.tenant_names().await?.iter().any(|n| n == t) {
                    return Err(ApiError::not_found(format!(
                        "tenant `{}` is not one of yours",
                        changedesk_core::text::clip_chars(t, 64)
                    )));
                }
                let only = t.to_string();
                (
                    changedesk_store::TenantScope::Only(vec![only.clone()]),
                    Box::new(move |x: &str| x == only),
                )
            }
            None => {
                let c = caller.clone();
                (scope_of(caller), Box::new(move |x: &str| c.sees(x)))
            }
        };
        reports::Covered::of(&state.store, scope, |t| sees(t), group)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "tenant group `{}` has none of your tenants",
                    changedesk_core::text::clip_chars(group.unwrap_or_default(), 64)
                ))
            })
    }
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

/// The analytics of `items` (what `c` covers) over `period`.
pub(crate) fn analytics_of(
    state: &AppState,
    items: &[changedesk_core::metrics::ItemFacts],
    period: Period,
) -> changedesk_core::metrics::Analytics {
    reports::analytics(items, &state.settings.analytics, period)
}

/// The change health score and its trend.
#[derive(serde::Serialize)]
pub(crate) struct HealthDto {
    #[serde(flatten)]
    pub score: changedesk_core::metrics::health::HealthScore,
    pub trend: Vec<changedesk_core::metrics::health::TrendPoint>,
}

/// The health score of `items` at the end of `period`, with its trend.
pub(crate) fn health_of(
    state: &AppState,
    items: &[changedesk_core::metrics::ItemFacts],
    period: Period,
) -> HealthDto {
    let (score, trend) = reports::health(items, &state.settings.analytics, period);
    HealthDto { score, trend }
}

/// The maturity level of what `c` covers, from `items`.
pub(crate) async fn maturity_of(
    state: &AppState,
    c: &reports::Covered,
    items: Vec<changedesk_core::metrics::ItemFacts>,
) -> ApiResult<changedesk_core::maturity::Maturity> {
    let ownership = changedesk_core::triage::OwnershipMap {
        entries: state.store.ownership().await?,
    };
    Ok(reports::maturity(
        &state.store,
        c,
        items,
        &state.settings.analytics,
        &ownership,
        state.now(),
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
    let c = p.covered(&state, &caller).await?;
    let items = c.items_since(&state.store, period.since()).await?;
    let a = analytics_of(&state, &items, period);
    match p.format.as_deref().map(str::trim) {
        None | Some("") | Some("json") => Ok(axum::Json(a).into_response()),
        Some("csv") => table_csv(&a, p.table.as_deref(), now),
        Some(other) => Err(ApiError::bad_request(format!(
            "format `{}` is not json or csv",
            changedesk_core::text::clip_chars(other, 40)
        ))),
    }
}

/// The change health score of the work in the caller's tenants (or one
/// tenant's, or one tenant group's): each component with its weight, base,
/// affected items and points, and the score week by week
/// (docs/ANALYTICS.md, "Change health score").
#[utoipa::path(get, path = "/api/v1/reports/health", tag = "reports", params(ReportParams),
    responses(
        (status = 200, description = "The score, its components and its trend"),
        (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, description = "A tenant or group not of the caller's", body = Problem)))]
async fn health(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ReportParams>,
) -> ApiResult<Response> {
    let period = p.period(state.now())?;
    let c = p.covered(&state, &caller).await?;
    let items = c
        .items_since(&state.store, reports::health_since(period))
        .await?;
    Ok(axum::Json(health_of(&state, &items, period)).into_response())
}

/// The organisation's (or a tenant's, or a tenant group's) maturity level
/// 100–500 from its behaviour in the last 90 days, each criterion with its
/// evidence, and what is missing for the next level (docs/MATURITY.md).
#[utoipa::path(get, path = "/api/v1/reports/maturity", tag = "reports", params(ReportParams),
    responses(
        (status = 200, description = "The level, the criteria with their evidence, what is missing"),
        (status = 401, body = Problem),
        (status = 404, description = "A tenant or group not of the caller's", body = Problem)))]
async fn maturity(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ReportParams>,
) -> ApiResult<Response> {
    let c = p.covered(&state, &caller).await?;
    let items = c
        .items_since(&state.store, reports::maturity_since(state.now()))
        .await?;
    Ok(axum::Json(maturity_of(&state, &c, items).await?).into_response())
}
