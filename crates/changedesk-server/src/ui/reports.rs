//! The reports page (`/reports`, issue 21): the analytics of the work in the
//! caller's tenants over a period, as charts drawn on the server (SVG, each
//! with its table of figures and a CSV of it), the figures by workload,
//! owner, tenant group, category and severity, the SLA breaches and the
//! oldest open items. The same figures as the API's and the CLI's.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use changedesk_core::metrics::{Analytics, Stats};

use super::chart::{self, Series};
use super::view::{self, Layout};
use super::{SignedIn, UiResult, html};
use crate::http::AppState;
use crate::http::routes::reports::{ReportParams, analytics_of, health_of, maturity_of, table_csv};
use crate::reports::days;

/// Rows shown per dimension (the CSV has them all).
const DIMENSION_ROWS: usize = 15;
/// Breaches shown (the CSV has them all).
const BREACH_ROWS: usize = 50;
/// The periods offered.
const PERIODS: [(i64, &str); 4] = [
    (30, "last 30 days"),
    (90, "last 90 days"),
    (180, "last 180 days"),
    (365, "last year"),
];

/// A row of figures.
struct StatRow {
    label: String,
    cells: Vec<String>,
}

fn stat_row(label: &str, s: &Stats) -> StatRow {
    StatRow {
        label: label.to_string(),
        cells: crate::reports::stats_cells(s),
    }
}

/// A chart with its figures.
struct ChartBlock {
    title: String,
    svg: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    csv: String,
}

struct DimBlock {
    title: String,
    rows: Vec<StatRow>,
    more: usize,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    layout: Layout,
    days: i64,
    weeks: usize,
    periods: Vec<(i64, &'static str)>,
    from: String,
    to: String,
    sla: String,
    working_days: String,
    overall: StatRow,
    charts: Vec<ChartBlock>,
    dimensions: Vec<DimBlock>,
    breaches: Vec<Vec<String>>,
    breaches_more: usize,
    oldest: Vec<Vec<String>>,
    /// The CSV of a table: `table` is appended.
    csv_base: String,
    json: String,
    scope: Option<String>,
    /// The subject chosen: a tenant group (or none), a tenant (or none), and
    /// the groups that may be chosen.
    group: String,
    tenant: String,
    group_names: Vec<String>,
    /// The change health score: its value, its components (label, weight,
    /// base, affected, share, points, items, explanation, measured) and
    /// its trend as a chart.
    score: String,
    components: Vec<HealthRow>,
    trend: ChartBlock,
    /// The maturity level, its name, every criterion and what the next
    /// level lacks.
    level: u16,
    level_name: &'static str,
    criteria: Vec<CriterionRow>,
    missing: Vec<CriterionRow>,
}

struct HealthRow {
    label: &'static str,
    measured: bool,
    weight: String,
    base: usize,
    affected: usize,
    share: String,
    points: String,
    items: Vec<String>,
    more: usize,
    explanation: String,
}

struct CriterionRow {
    level: u16,
    label: &'static str,
    status: &'static str,
    status_class: &'static str,
    evidence: String,
    threshold: String,
}

fn criterion_row(c: &changedesk_core::maturity::Criterion) -> CriterionRow {
    use changedesk_core::maturity::Status;
    CriterionRow {
        level: c.level,
        label: c.label,
        status: c.status.label(),
        status_class: match c.status {
            Status::Met => "met",
            Status::NotMet => "not-met",
            Status::NotMeasured => "not-measured",
            Status::NotApplicable => "not-applicable",
        },
        evidence: c.evidence.clone(),
        threshold: c.threshold.clone(),
    }
}

/// `GET /reports`: the page; with `format=csv`, one table (`table`).
pub(crate) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(p): Query<ReportParams>,
) -> UiResult<Response> {
    let now = state.now();
    let period = p.period(now)?;
    // what the page covers, and its items, read once for its three reports
    let covered = p.covered(&state, &user.caller).await?;
    if p.format.as_deref().map(str::trim) == Some("csv") {
        let items = covered.items_since(&state.store, period.since()).await?;
        return Ok(table_csv(
            &analytics_of(&state, &items, period),
            p.table.as_deref(),
            now,
        )?);
    }
    let items = covered.items(&state.store, period).await?;
    let a = analytics_of(&state, &items, period);
    let health = health_of(&state, &items, period);
    let maturity = maturity_of(&state, &covered, items).await?;
    let group_names = crate::reports::groups_in_scope(&state.store, |t| user.caller.sees(t))
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let group = p.group.as_deref().map(str::trim).unwrap_or("").to_string();
    let tenant = p.tenant.as_deref().map(str::trim).unwrap_or("").to_string();
    let days_shown = p.days.unwrap_or(crate::reports::DEFAULT_DAYS);
    let weeks = p.weeks.unwrap_or(crate::reports::DEFAULT_WEEKS);
    let query = view::query_string([
        ("days", days_shown.to_string().as_str()),
        ("weeks", weeks.to_string().as_str()),
        ("group", group.as_str()),
        ("tenant", tenant.as_str()),
    ]);
    let csv_base = format!("/reports{query}&format=csv&table=");
    let mut periods = PERIODS.to_vec();
    if !periods.iter().any(|(d, _)| *d == days_shown) {
        periods.push((days_shown, "as asked"));
    }
    let scope = (!user.caller.unrestricted()).then(|| {
        user.caller
            .tenants
            .names()
            .map(|n| n.iter().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    });
    html(&ReportsPage {
        layout: user.layout("Reports", "reports"),
        days: days_shown,
        weeks,
        periods,
        from: a.from.date(),
        to: a.to.date(),
        sla: sla_text(&a),
        working_days: a
            .settings
            .calendar
            .working_weekdays
            .iter()
            .map(|w| changedesk_core::metrics::weekday_name(*w))
            .collect::<Vec<_>>()
            .join(", "),
        overall: stat_row("All items", &a.overall),
        charts: charts(&a, &csv_base),
        dimensions: a
            .by
            .iter()
            .map(|(d, values)| DimBlock {
                title: d.label().to_string(),
                rows: values
                    .iter()
                    .take(DIMENSION_ROWS)
                    .map(|(v, s)| stat_row(v, s))
                    .collect(),
                more: values.len().saturating_sub(DIMENSION_ROWS),
            })
            .collect(),
        breaches: a
            .breaches
            .iter()
            .take(BREACH_ROWS)
            .map(|b| {
                vec![
                    b.post_id.clone(),
                    b.title.clone(),
                    b.owner.clone().unwrap_or_else(|| "unassigned".into()),
                    format!(
                        "{}{}",
                        b.kind.label(),
                        if b.major { " (major)" } else { "" }
                    ),
                    days(Some(b.target_days)),
                    format!(
                        "{}{}",
                        days(Some(b.days)),
                        if b.open { " and counting" } else { "" }
                    ),
                ]
            })
            .collect(),
        breaches_more: a.breaches.len().saturating_sub(BREACH_ROWS),
        oldest: a
            .backlog
            .oldest
            .iter()
            .map(|o| {
                vec![
                    o.post_id.clone(),
                    o.title.clone(),
                    o.owner.clone().unwrap_or_else(|| "unassigned".into()),
                    view::state_label(o.state.as_str()).to_string(),
                    format!("{:.0}", o.age_days),
                ]
            })
            .collect(),
        json: format!("/api/v1/reports/analytics{query}"),
        csv_base,
        scope,
        group,
        tenant,
        group_names,
        score: format!("{:.1}", health.score.score),
        components: health
            .score
            .components
            .iter()
            .map(|c| HealthRow {
                label: c.label,
                measured: c.measured,
                weight: format!("{:.1}", c.weight),
                base: c.base,
                affected: c.affected,
                share: format!("{:.1} %", c.share * 100.0),
                points: format!("{:.1}", c.points),
                items: c.items.iter().take(5).cloned().collect(),
                more: c.affected.saturating_sub(c.items.len().min(5)),
                explanation: c.explanation.clone(),
            })
            .collect(),
        trend: ChartBlock {
            title: "Change health score at the end of each week".into(),
            svg: chart::bars(
                "Change health score at the end of each week",
                &health
                    .trend
                    .iter()
                    .map(|t| t.week.to_string().chars().skip(5).collect::<String>())
                    .collect::<Vec<_>>(),
                &[Series {
                    name: "score",
                    class: "s1",
                    values: health.trend.iter().map(|t| t.score).collect(),
                }],
                "points",
            ),
            head: vec!["Week of".into(), "Score".into()],
            rows: health
                .trend
                .iter()
                .map(|t| vec![t.week.to_string(), format!("{:.1}", t.score)])
                .collect(),
            csv: String::new(),
        },
        level: maturity.level,
        level_name: changedesk_core::maturity::level_name(maturity.level),
        criteria: maturity.criteria.iter().map(criterion_row).collect(),
        missing: maturity
            .missing_for_next
            .iter()
            .map(criterion_row)
            .collect(),
    })
}

/// The SLA targets in words.
fn sla_text(a: &Analytics) -> String {
    let s = &a.settings.sla;
    let mut out = format!(
        "triage within {} working days ({} for major changes)",
        chart::number(s.triage_days),
        chart::number(s.major_triage_days)
    );
    if let Some(c) = s.close_days {
        out.push_str(&format!("; close within {} working days", chart::number(c)));
    }
    out
}

fn charts(a: &Analytics, csv_base: &str) -> Vec<ChartBlock> {
    let weeks: Vec<String> = a.weekly.iter().map(|w| w.start.to_string()).collect();
    let short: Vec<String> = weeks
        .iter()
        .map(|w| w.chars().skip(5).collect::<String>())
        .collect();
    let count = |f: &dyn Fn(&changedesk_core::metrics::Week) -> usize| -> Vec<f64> {
        a.weekly.iter().map(|w| f(w) as f64).collect()
    };
    let new = count(&|w| w.new);
    let closed = count(&|w| w.closed);
    let backlog = count(&|w| w.backlog);
    let median: Vec<f64> = a
        .weekly
        .iter()
        .map(|w| w.triage_median.unwrap_or(0.0))
        .collect();
    let weekly_csv = format!("{csv_base}weekly");
    vec![
        ChartBlock {
            title: "New and closed items per week".into(),
            svg: chart::bars(
                "New and closed items per week",
                &short,
                &[
                    Series {
                        name: "new",
                        class: "s1",
                        values: new,
                    },
                    Series {
                        name: "closed",
                        class: "s2",
                        values: closed,
                    },
                ],
                "items",
            ),
            head: vec![
                "Week of".into(),
                "New".into(),
                "Triaged".into(),
                "Closed".into(),
            ],
            rows: a
                .weekly
                .iter()
                .map(|w| {
                    vec![
                        w.start.to_string(),
                        w.new.to_string(),
                        w.triaged.to_string(),
                        w.closed.to_string(),
                    ]
                })
                .collect(),
            csv: weekly_csv.clone(),
        },
        ChartBlock {
            title: "Backlog at the end of each week".into(),
            svg: chart::bars(
                "Backlog at the end of each week",
                &short,
                &[Series {
                    name: "open items",
                    class: "s3",
                    values: backlog,
                }],
                "items",
            ),
            head: vec!["Week of".into(), "Open at its end".into()],
            rows: a
                .weekly
                .iter()
                .map(|w| vec![w.start.to_string(), w.backlog.to_string()])
                .collect(),
            csv: weekly_csv.clone(),
        },
        ChartBlock {
            title: "Median time to triage of the items triaged each week".into(),
            svg: chart::bars(
                "Median time to triage per week, in working days",
                &short,
                &[Series {
                    name: "median",
                    class: "s1",
                    values: median,
                }],
                "working days",
            ),
            head: vec!["Week of".into(), "Median (working days)".into()],
            rows: a
                .weekly
                .iter()
                .map(|w| vec![w.start.to_string(), days(w.triage_median)])
                .collect(),
            csv: weekly_csv,
        },
        ChartBlock {
            title: "Age of the open items".into(),
            svg: chart::bars(
                "Age of the open items",
                &a.backlog
                    .ages
                    .iter()
                    .map(|(l, _)| l.clone())
                    .collect::<Vec<_>>(),
                &[Series {
                    name: "open items",
                    class: "s3",
                    values: a.backlog.ages.iter().map(|(_, n)| *n as f64).collect(),
                }],
                "items",
            ),
            head: vec!["Age".into(), "Open items".into()],
            rows: a
                .backlog
                .ages
                .iter()
                .map(|(l, n)| vec![l.clone(), n.to_string()])
                .collect(),
            csv: format!("{csv_base}backlog"),
        },
    ]
}
