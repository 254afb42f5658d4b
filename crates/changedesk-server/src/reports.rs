//! Reports of the work (issue 21): the analytics of `changedesk_core::metrics`
//! for a caller's scope and a period, shared by the web page (`/reports`),
//! the API (`GET /api/v1/reports/analytics`) and the CLI (`changedesk report
//! analytics`), each as JSON, CSV or a page.
//!
//! The store reads the work items of the posts in scope that were open at
//! some time in the period (or its weeks); the tenant groups are the
//! archive's, each with its tenants in scope; the SLA targets and the
//! working days are `[analytics]`'s.

use changedesk_core::Timestamp;
use changedesk_core::metrics::{self, Analytics, AnalyticsSettings, Stats};
use changedesk_store::{Store, StoreError, TenantScope};

use crate::export;

/// The longest period a report covers.
pub const MAX_DAYS: i64 = 3 * 366;
/// The period without `since`: the last 90 days.
pub const DEFAULT_DAYS: i64 = 90;
/// The weeks of the weekly series without `weeks`.
pub const DEFAULT_WEEKS: usize = 13;
/// The most weeks a report shows.
pub const MAX_WEEKS: usize = 156;

/// What a report covers: `[from, to)` and the weeks before `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
    pub weeks: usize,
}

impl Period {
    /// The period of `days` days (1 to [`MAX_DAYS`]) up to `now`, with
    /// `weeks` weeks (1 to [`MAX_WEEKS`]); a value out of range is an error
    /// for people.
    pub fn last(days: i64, weeks: usize, now: Timestamp) -> Result<Period, String> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(format!("the period is 1 to {MAX_DAYS} days, not {days}"));
        }
        if !(1..=MAX_WEEKS).contains(&weeks) {
            return Err(format!("weeks is 1 to {MAX_WEEKS}, not {weeks}"));
        }
        Ok(Period {
            from: now.saturating_add(-time::Duration::days(days)),
            to: now,
            weeks,
        })
    }

    /// The earliest instant the report reads: the period's start or its
    /// first week's, whichever is earlier.
    pub fn since(&self) -> Timestamp {
        let weeks = self
            .to
            .saturating_add(-time::Duration::weeks(self.weeks as i64 + 1));
        std::cmp::min(self.from, weeks)
    }
}

/// What a report is about: the scope's tenants (the organisation, or one
/// tenant when the scope is that tenant), or one tenant group of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// A tenant group: only the items of posts some of its tenants see.
    pub group: Option<String>,
}

/// The work items of the posts `scope` sees that were open at some time
/// since `since`, with their groups; only `subject`'s group's when it names
/// one.
pub async fn items(
    store: &Store,
    scope: &TenantScope,
    groups: &[(String, Vec<String>)],
    subject: &Subject,
    since: Timestamp,
) -> Result<Vec<metrics::ItemFacts>, StoreError> {
    let mut items = store.analytics_items(scope, since, groups).await?;
    if let Some(g) = &subject.group {
        items.retain(|i| i.groups.iter().any(|x| x == g));
    }
    Ok(items)
}

/// What a report covers: the scope, its tenant groups (each with its
/// tenants in the scope), the subject and how many tenants that is.
#[derive(Debug, Clone)]
pub struct Covered {
    pub scope: TenantScope,
    pub groups: Vec<(String, Vec<String>)>,
    pub subject: Subject,
    pub tenants: usize,
}

impl Covered {
    /// What `scope` covers about `group` (none: the whole scope): its tenant
    /// groups with their tenants that `sees`, and how many tenants that is;
    /// `None` when `group` has none of them.
    pub async fn of(
        store: &Store,
        scope: TenantScope,
        sees: impl Fn(&str) -> bool,
        group: Option<&str>,
    ) -> Result<Option<Covered>, StoreError> {
        let groups = groups_in_scope(store, sees).await?;
        let tenants = match (group, &scope) {
            (Some(g), _) => match groups.iter().find(|(n, _)| n == g) {
                Some((_, members)) => members.len(),
                None => return Ok(None),
            },
            (None, TenantScope::Only(v)) => v.len(),
            (None, TenantScope::All) => store.tenant_names().await?.len(),
        };
        Ok(Some(Covered {
            scope,
            groups,
            subject: Subject {
                group: group.map(str::to_string),
            },
            tenants,
        }))
    }

    /// The items a report reading from `since` needs.
    pub async fn items_since(
        &self,
        store: &Store,
        since: Timestamp,
    ) -> Result<Vec<metrics::ItemFacts>, StoreError> {
        items(store, &self.scope, &self.groups, &self.subject, since).await
    }

    /// The items every report of `period` reads: from the earliest instant
    /// any of them reads (see [`Store::analytics_items`]: the items from an
    /// earlier instant hold those of a later one, so one read serves all).
    pub async fn items(
        &self,
        store: &Store,
        period: Period,
    ) -> Result<Vec<metrics::ItemFacts>, StoreError> {
        let since = std::cmp::min(health_since(period), maturity_since(period.to));
        self.items_since(store, since).await
    }
}

/// The analytics of `items` over `period`.
pub fn analytics(
    items: &[metrics::ItemFacts],
    settings: &AnalyticsSettings,
    period: Period,
) -> Analytics {
    metrics::analyze(items, settings, period.from, period.to, period.weeks)
}

/// The earliest instant the health score and its trend read (never later
/// than the analytics' own, `period.since()`).
pub fn health_since(period: Period) -> Timestamp {
    std::cmp::min(
        period.since(),
        period
            .to
            .saturating_add(-time::Duration::days(2 * metrics::health::WINDOW_DAYS)),
    )
}

/// The change health score of `items` at the end of `period` and its weekly
/// trend (docs/ANALYTICS.md).
pub fn health(
    items: &[metrics::ItemFacts],
    settings: &AnalyticsSettings,
    period: Period,
) -> (
    metrics::health::HealthScore,
    Vec<metrics::health::TrendPoint>,
) {
    (
        metrics::health::score(items, settings, period.to),
        metrics::health::trend(items, settings, period.to, period.weeks),
    )
}

/// The earliest instant the maturity level reads.
pub fn maturity_since(at: Timestamp) -> Timestamp {
    at.saturating_add(-time::Duration::days(
        2 * changedesk_core::maturity::DEFAULT_WINDOW_DAYS,
    ))
}

/// The maturity level (docs/MATURITY.md) from the behaviour of the last
/// 90 days: `items`, the workloads seen and owned (`ownership`), the
/// reviews recorded as held (the organisation's, or the group's), the rules'
/// routing, the feedback given to Microsoft, the scheduled reports delivered;
/// what changedesk cannot observe yet is not measured.
pub async fn maturity(
    store: &Store,
    covered: &Covered,
    items: Vec<metrics::ItemFacts>,
    settings: &AnalyticsSettings,
    ownership: &changedesk_core::triage::OwnershipMap,
    at: Timestamp,
) -> Result<changedesk_core::maturity::Maturity, StoreError> {
    use changedesk_core::maturity::{DEFAULT_WINDOW_DAYS, Observations};
    let window_start = at.saturating_add(-time::Duration::days(DEFAULT_WINDOW_DAYS));
    let mut workloads_seen: Vec<String> = items
        .iter()
        .filter(|i| i.created_at >= window_start && i.created_at < at)
        .flat_map(|i| i.workloads.iter().cloned())
        .collect();
    workloads_seen.sort();
    workloads_seen.dedup();
    let owned_workloads = workloads_seen
        .iter()
        .filter(|w| {
            ownership
                .owner_for(std::slice::from_ref(*w), None, &[])
                .is_some()
        })
        .cloned()
        .collect();
    let routing_scope = match &covered.subject.group {
        Some(g) => TenantScope::Only(
            covered
                .groups
                .iter()
                .find(|(n, _)| n == g)
                .map(|(_, t)| t.clone())
                .unwrap_or_default(),
        ),
        None => covered.scope.clone(),
    };
    let routing = store.routing_counts(&routing_scope, window_start).await?;
    let feedback = store.feedback_given(&routing_scope, window_start).await?;
    // the pilot groups' findings (their recommendations) in the window
    let pilot_findings = store.pilot_findings(&routing_scope, window_start).await?;
    // the scheduled reports delivered (the executive report, the weekly
    // status): the organisation's, whatever the scope
    let reports_sent = store.reports_delivered(window_start, at).await?;
    // communications sent in the window whose reach was measured
    // (delivered), for the scope's tenants (every one's without a limit)
    let communications_measured = store
        .comms_all(&changedesk_store::CommsQuery {
            sent_since: Some(window_start),
            ..Default::default()
        })
        .await?
        .iter()
        .filter(|c| c.sent_at.is_some_and(|t| t <= at) && c.delivered_at.is_some())
        .filter(|c| match &routing_scope {
            TenantScope::All => true,
            TenantScope::Only(names) => {
                !c.tenants.is_empty() && c.tenants.iter().all(|t| names.contains(t))
            }
        })
        .count();
    let reviews = store
        .reviews_held(
            covered.subject.group.as_deref().unwrap_or(""),
            window_start.as_datetime().date(),
        )
        .await?;
    let obs = Observations {
        items,
        workloads_seen,
        owned_workloads,
        reviews_held: reviews,
        tenants: covered.tenants,
        rule_assignments: routing.rule_assignments,
        reassigned_by_people: routing.reassigned_by_people,
        feedback_to_microsoft: Some(feedback),
        reports_sent: Some(reports_sent),
        communications_measured: Some(communications_measured),
        preview_engagement: Some(pilot_findings),
        ..Observations::new(at)
    };
    Ok(changedesk_core::maturity::assess(&obs, settings))
}

/// The archive's tenant groups, each with its tenants that `sees` (groups
/// with none left out), as [`analytics`] takes them.
pub async fn groups_in_scope(
    store: &Store,
    sees: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Vec<String>)>, StoreError> {
    let groups = store.groups().await?;
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let tenants = store.tenant_names().await?;
    Ok(groups
        .iter()
        .map(|g| {
            let members: Vec<String> = tenants
                .iter()
                .filter(|t| g.contains(t) && sees(t))
                .cloned()
                .collect();
            (g.name.clone(), members)
        })
        .filter(|(_, m)| !m.is_empty())
        .collect())
}

/// The tables of a report as CSV (`table`): `weekly`, `dimensions` (every
/// dimension's rows), `breaches` or `backlog` (the oldest open items).
pub const TABLES: [&str; 4] = ["weekly", "dimensions", "breaches", "backlog"];

/// Days with two decimals, or empty.
pub fn days(d: Option<f64>) -> String {
    d.map(|d| format!("{d:.2}")).unwrap_or_default()
}

/// A row of figures in [`STATS_HEADERS`]' order.
pub(crate) fn stats_cells(s: &Stats) -> Vec<String> {
    vec![
        s.items.to_string(),
        s.triaged.to_string(),
        days(s.triage_median),
        days(s.triage_p90),
        s.closed.to_string(),
        days(s.close_median),
        days(s.close_p90),
        s.open.to_string(),
        s.breaches.to_string(),
    ]
}

const STATS_HEADERS: [&str; 9] = [
    "items",
    "triaged",
    "triage_median_days",
    "triage_p90_days",
    "closed",
    "close_median_days",
    "close_p90_days",
    "open",
    "breaches",
];

/// One table of `a` as CSV; `None` for a table not in [`TABLES`].
pub fn csv(a: &Analytics, table: &str) -> Option<Result<Vec<u8>, csv::Error>> {
    Some(match table {
        "weekly" => export::write(
            &[
                "week",
                "new",
                "triaged",
                "closed",
                "backlog",
                "triage_median_days",
            ],
            a.weekly.iter().map(|w| {
                vec![
                    w.start.to_string(),
                    w.new.to_string(),
                    w.triaged.to_string(),
                    w.closed.to_string(),
                    w.backlog.to_string(),
                    days(w.triage_median),
                ]
            }),
        ),
        "dimensions" => {
            let mut headers = vec!["dimension", "value"];
            headers.extend(STATS_HEADERS);
            let mut rows = vec![{
                let mut r = vec!["all".to_string(), String::new()];
                r.extend(stats_cells(&a.overall));
                r
            }];
            for (d, values) in &a.by {
                for (value, s) in values {
                    let mut r = vec![d.name().to_string(), value.clone()];
                    r.extend(stats_cells(s));
                    rows.push(r);
                }
            }
            export::write(&headers, rows)
        }
        "breaches" => export::write(
            &[
                "post",
                "title",
                "owner",
                "major",
                "target",
                "target_days",
                "days",
                "still_open",
            ],
            a.breaches.iter().map(|b| {
                vec![
                    b.post_id.clone(),
                    b.title.clone(),
                    b.owner.clone().unwrap_or_default(),
                    export::flag(b.major),
                    b.kind.name().to_string(),
                    days(Some(b.target_days)),
                    days(Some(b.days)),
                    export::flag(b.open),
                ]
            }),
        ),
        "backlog" => export::write(
            &["post", "title", "owner", "state", "age_days"],
            a.backlog.oldest.iter().map(|o| {
                vec![
                    o.post_id.clone(),
                    o.title.clone(),
                    o.owner.clone().unwrap_or_default(),
                    o.state.as_str().to_string(),
                    days(Some(o.age_days)),
                ]
            }),
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn a_period_is_bounded_and_reads_from_its_first_week() {
        let now = at("2026-05-14T12:00:00Z");
        assert!(Period::last(0, 13, now).is_err());
        assert!(Period::last(MAX_DAYS + 1, 13, now).is_err());
        assert!(Period::last(30, 0, now).is_err());
        assert!(Period::last(30, MAX_WEEKS + 1, now).is_err());
        let p = Period::last(7, 13, now).unwrap();
        assert_eq!(p.from, at("2026-05-07T12:00:00Z"));
        // 14 weeks back: the first of 13 weeks starts before 13 weeks ago
        assert_eq!(p.since(), at("2026-02-05T12:00:00Z"));
        let p = Period::last(365, 4, now).unwrap();
        assert_eq!(p.since(), p.from);
    }

    #[test]
    fn every_table_is_csv_with_its_header_and_no_other_is() {
        let a = metrics::analyze(
            &[],
            &AnalyticsSettings::default(),
            at("2026-01-01T00:00:00Z"),
            at("2026-02-01T00:00:00Z"),
            2,
        );
        for t in TABLES {
            let bytes = csv(&a, t).unwrap().unwrap();
            assert!(!bytes.is_empty(), "{t}");
        }
        let weekly = String::from_utf8(csv(&a, "weekly").unwrap().unwrap()).unwrap();
        assert_eq!(
            weekly.lines().count(),
            3,
            "a header and two weeks: {weekly}"
        );
        let dims = String::from_utf8(csv(&a, "dimensions").unwrap().unwrap()).unwrap();
        assert!(dims.starts_with("dimension,value,items,"), "{dims}");
        assert!(csv(&a, "everything").is_none());
    }
}
