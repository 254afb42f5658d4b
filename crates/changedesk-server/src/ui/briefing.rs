//! The executive report (`/reports/executive?month=YYYY-MM`) and the weekly
//! status (`/reports/weekly?week=YYYY-MM-DD`), issue 21: one page each,
//! server-rendered, readable without script and printable (the stylesheet's
//! `@media print` leaves out the navigation and the forms, and keeps each
//! section and table row on one page). The figures are the API's
//! (`routes::briefing::briefing_of`), in the caller's scope.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use changedesk_core::metrics::briefing::Cadence;

use super::chart::{self, Series};
use super::view::{self, Layout};
use super::{SignedIn, UiResult, html};
use crate::briefing::{Briefing, signed};
use crate::http::AppState;
use crate::http::routes::briefing::{BriefingParams, briefing_of};

struct ComponentRow {
    label: &'static str,
    measured: bool,
    weight: String,
    base: usize,
    affected: usize,
    points: String,
    explanation: String,
}

struct MissingRow {
    label: &'static str,
    status: &'static str,
    evidence: String,
    threshold: String,
}

struct RiskRow {
    post_id: String,
    title: String,
    label: &'static str,
    date: String,
    owner: String,
    state: String,
    major: bool,
}

#[derive(Template)]
#[template(path = "briefing.html")]
struct BriefingPage {
    layout: Layout,
    title: &'static str,
    label: String,
    /// `month` or `week`: the parameter.
    param: &'static str,
    /// The period's key (`2026-03`, `2026-03-09`).
    key: String,
    previous_key: String,
    /// The next period's key, when it has begun.
    next_key: Option<String>,
    at: String,
    complete: bool,
    scope: Option<String>,
    tenants: usize,
    group: String,
    tenant: String,
    group_names: Vec<String>,
    score: String,
    previous_score: String,
    change: String,
    components: Vec<ComponentRow>,
    trend_svg: String,
    trend: Vec<(String, String)>,
    level: u16,
    level_name: &'static str,
    next_level: Option<u16>,
    missing: Vec<MissingRow>,
    counts: changedesk_core::metrics::briefing::PeriodCounts,
    risks_total: usize,
    risks: Vec<RiskRow>,
    json: String,
}

/// `GET /reports/executive`.
pub(crate) async fn executive(
    state: State<AppState>,
    user: SignedIn,
    p: Query<BriefingParams>,
) -> UiResult<Response> {
    page(state, user, p, Cadence::Monthly).await
}

/// `GET /reports/weekly`.
pub(crate) async fn weekly(
    state: State<AppState>,
    user: SignedIn,
    p: Query<BriefingParams>,
) -> UiResult<Response> {
    page(state, user, p, Cadence::Weekly).await
}

async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(p): Query<BriefingParams>,
    cadence: Cadence,
) -> UiResult<Response> {
    let b = briefing_of(&state, &user.caller, &p, cadence).await?;
    let group_names = crate::reports::groups_in_scope(&state.store, |t| user.caller.sees(t))
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let group = p.group.as_deref().map(str::trim).unwrap_or("").to_string();
    let tenant = p.tenant.as_deref().map(str::trim).unwrap_or("").to_string();
    let scope = (!user.caller.unrestricted()).then(|| {
        user.caller
            .tenants
            .names()
            .map(|n| n.iter().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    });
    html(&page_of(
        &b,
        user.layout(format!("{}: {}", b.title, b.label), "reports"),
        scope,
        group,
        tenant,
        group_names,
        state.now(),
    ))
}

fn page_of(
    b: &Briefing,
    layout: Layout,
    scope: Option<String>,
    group: String,
    tenant: String,
    group_names: Vec<String>,
    now: changedesk_core::Timestamp,
) -> BriefingPage {
    let param = match b.period.cadence {
        Cadence::Monthly => "month",
        Cadence::Weekly => "week",
    };
    // the period after this one, when it has begun
    let next_key = (b.period.end() <= now).then(|| match b.period.cadence {
        Cadence::Monthly => {
            let d = b.period.end_day;
            format!("{:04}-{:02}", d.year(), d.month() as u8)
        }
        Cadence::Weekly => b.period.end_day.to_string(),
    });
    let query = view::query_string([
        (param, b.period.key().as_str()),
        ("group", group.as_str()),
        ("tenant", tenant.as_str()),
    ]);
    let labels: Vec<String> = b
        .health
        .trend
        .iter()
        .map(|t| t.week.to_string().chars().skip(5).collect())
        .collect();
    BriefingPage {
        layout,
        title: b.title,
        label: b.label.clone(),
        param,
        key: b.period.key(),
        previous_key: b.period.previous().key(),
        next_key,
        at: view::when(&b.at),
        complete: b.complete,
        scope,
        tenants: b.tenants,
        group,
        tenant,
        group_names,
        score: format!("{:.1}", b.health.score),
        previous_score: format!("{:.1}", b.health.previous),
        change: signed(b.health.change),
        components: b
            .health
            .components
            .iter()
            .map(|c| ComponentRow {
                label: c.label,
                measured: c.measured,
                weight: format!("{:.1}", c.weight),
                base: c.base,
                affected: c.affected,
                points: format!("{:.1}", c.points),
                explanation: c.explanation.clone(),
            })
            .collect(),
        trend_svg: chart::bars(
            "Change health score at the end of each week",
            &labels,
            &[Series {
                name: "score",
                class: "s1",
                values: b.health.trend.iter().map(|t| t.score).collect(),
            }],
            "points",
        ),
        trend: b
            .health
            .trend
            .iter()
            .map(|t| (t.week.to_string(), format!("{:.1}", t.score)))
            .collect(),
        level: b.maturity.level,
        level_name: b.maturity.name,
        next_level: b.maturity.next,
        missing: b
            .maturity
            .missing_for_next
            .iter()
            .map(|c| MissingRow {
                label: c.label,
                status: c.status.label(),
                evidence: c.evidence.clone(),
                threshold: c.threshold.clone(),
            })
            .collect(),
        counts: b.counts.clone(),
        risks_total: b.risks.total,
        risks: b
            .risks
            .top
            .iter()
            .map(|r| RiskRow {
                post_id: r.post_id.clone(),
                title: r.title.clone(),
                label: r.label,
                date: r.date.map(|d| d.date()).unwrap_or_default(),
                owner: r.owner.clone().unwrap_or_else(|| "unassigned".into()),
                state: view::state_label(r.state.as_str()).to_string(),
                major: r.major,
            })
            .collect(),
        json: format!("/api/v1/reports/{}{query}", b.report),
    }
}
