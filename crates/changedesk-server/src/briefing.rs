//! The monthly executive report and the weekly status (issue 21, item 8):
//! one period's change health score (with its components and trend), the
//! maturity level and what the next level lacks, what happened to the work
//! items (new, triaged, closed, open, missed) and the top risks, for a
//! caller's scope. One gathering shared by the pages (`/reports/executive`,
//! `/reports/weekly`), the API (`GET /api/v1/reports/executive|weekly`), the
//! CLI (`changedesk report executive|weekly`) and the scheduled e-mail
//! (`outbox::report_mail`). Every figure is computed from the store
//! ([`crate::reports`] and core's `metrics::briefing`); definitions in
//! docs/ANALYTICS.md ("Executive and weekly reports").

use changedesk_core::Timestamp;
use changedesk_core::maturity::{Criterion, Maturity};
use changedesk_core::metrics::briefing::{
    self, Cadence, PeriodCounts, ReportPeriod, Risks, TOP_RISKS,
};
use changedesk_core::metrics::health::{Component, TrendPoint};
use changedesk_core::metrics::{AnalyticsSettings, ItemFacts};
use changedesk_core::triage::OwnershipMap;
use changedesk_store::{Store, StoreError};
use serde::Serialize;

use crate::reports::{self, Covered, Period};

/// The weeks of the health score's trend: a quarter for the executive
/// report, two months for the weekly status.
pub fn trend_weeks(cadence: Cadence) -> usize {
    match cadence {
        Cadence::Monthly => 13,
        Cadence::Weekly => 8,
    }
}

/// The report's name for people.
pub fn title(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Monthly => "Executive report",
        Cadence::Weekly => "Weekly status",
    }
}

/// The period asked for (`month=YYYY-MM` for the executive report,
/// `week=YYYY-MM-DD` any day of it for the weekly status), else the last
/// complete one before `now`. A period that has not begun is an error for
/// people, as is a malformed one.
pub fn period_of(
    cadence: Cadence,
    asked: Option<&str>,
    now: Timestamp,
) -> Result<ReportPeriod, String> {
    let asked = asked.map(str::trim).filter(|s| !s.is_empty());
    let p = match (cadence, asked) {
        (c, None) => ReportPeriod::last_complete(c, now),
        (Cadence::Monthly, Some(m)) => ReportPeriod::parse_month(m)?,
        (Cadence::Weekly, Some(w)) => ReportPeriod::parse_week(w)?,
    };
    if p.start() > now {
        return Err(format!(
            "{} has not begun yet: ask for a period up to {}",
            p.label(),
            now.date()
        ));
    }
    Ok(p)
}

/// The health score at the end of the period, where it stood at its start,
/// and its weekly trend.
#[derive(Debug, Clone, Serialize)]
pub struct HealthPart {
    pub score: f64,
    /// The score at the period's start (the trend's change: `score -
    /// previous`).
    pub previous: f64,
    pub change: f64,
    pub components: Vec<Component>,
    pub trend: Vec<TrendPoint>,
}

/// The maturity level at the end of the period and what the next level
/// lacks (every criterion: the maturity report's).
#[derive(Debug, Clone, Serialize)]
pub struct MaturityPart {
    pub level: u16,
    pub name: &'static str,
    /// The next level (none at 500).
    pub next: Option<u16>,
    pub missing_for_next: Vec<Criterion>,
}

/// One report.
#[derive(Debug, Clone, Serialize)]
pub struct Briefing {
    /// `executive` or `weekly`.
    pub report: &'static str,
    pub title: &'static str,
    pub period: ReportPeriod,
    /// `March 2026`, `week 11 of 2026 (…)`.
    pub label: String,
    /// The instant the figures are as of: the period's end, or now for a
    /// period not over yet.
    pub at: Timestamp,
    /// Whether the period was over when the report was made.
    pub complete: bool,
    /// How many tenants the report covers.
    pub tenants: usize,
    pub health: HealthPart,
    pub maturity: MaturityPart,
    pub counts: PeriodCounts,
    pub risks: Risks,
}

impl Briefing {
    /// `executive` or `weekly`.
    pub fn report_name(cadence: Cadence) -> &'static str {
        match cadence {
            Cadence::Monthly => "executive",
            Cadence::Weekly => "weekly",
        }
    }
}

/// The report of `period` for what `covered` covers, as of the period's
/// end (or `now`, when earlier).
pub async fn gather(
    store: &Store,
    covered: &Covered,
    settings: &AnalyticsSettings,
    period: ReportPeriod,
    now: Timestamp,
) -> Result<Briefing, StoreError> {
    let at = std::cmp::min(period.end(), now);
    let span = Period {
        from: period.start(),
        to: at,
        weeks: trend_weeks(period.cadence),
    };
    let items: Vec<ItemFacts> = covered.items(store, span).await?;
    let (score, trend) = reports::health(&items, settings, span);
    let previous = changedesk_core::metrics::health::score(&items, settings, period.start());
    let counts = briefing::counts(&items, period.start(), at);
    let risks = briefing::risks(&items, at, TOP_RISKS);
    let ownership = OwnershipMap {
        entries: store.ownership().await?,
    };
    let Maturity {
        level,
        missing_for_next,
        ..
    } = reports::maturity(store, covered, items, settings, &ownership, at).await?;
    let change = ((score.score - previous.score) * 10.0).round() / 10.0;
    Ok(Briefing {
        report: Briefing::report_name(period.cadence),
        title: title(period.cadence),
        label: period.label(),
        period,
        at,
        complete: period.end() <= now,
        tenants: covered.tenants,
        health: HealthPart {
            score: score.score,
            previous: previous.score,
            change,
            components: score.components,
            trend,
        },
        maturity: MaturityPart {
            level,
            name: changedesk_core::maturity::level_name(level),
            next: (level < 500).then_some(level.saturating_add(100)),
            missing_for_next,
        },
        counts,
        risks,
    })
}

/// `+2.5`, `-1.0`, `+0.0`.
pub fn signed(change: f64) -> String {
    if change > 0.0 {
        format!("+{change:.1}")
    } else if change < 0.0 {
        format!("{change:.1}")
    } else {
        "+0.0".to_string()
    }
}

/// The report as text for people (the CLI's `--format text`).
pub fn text(b: &Briefing) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", b.title, b.label);
    let _ = writeln!(
        out,
        "{} tenant(s); figures as of {}{}",
        b.tenants,
        b.at.human(),
        if b.complete {
            ""
        } else {
            " (the period is not over)"
        }
    );
    let _ = writeln!(
        out,
        "\nChange health score: {:.1} of 100 ({} since {:.1} at the start)",
        b.health.score,
        signed(b.health.change),
        b.health.previous
    );
    for c in b.health.components.iter().filter(|c| c.measured) {
        let _ = writeln!(
            out,
            "  {:<40} {:>4} of {:<4} points {:>5.1}",
            c.label, c.affected, c.base, c.points
        );
    }
    let trend: Vec<String> = b
        .health
        .trend
        .iter()
        .map(|t| format!("{} {:.1}", t.week, t.score))
        .collect();
    let _ = writeln!(out, "  Trend: {}", trend.join(", "));
    let _ = writeln!(
        out,
        "\nMaturity level {}: {}",
        b.maturity.level, b.maturity.name
    );
    if let Some(next) = b.maturity.next {
        if b.maturity.missing_for_next.is_empty() {
            let _ = writeln!(out, "  Nothing is missing for level {next}.");
        } else {
            let _ = writeln!(out, "  Missing for level {next}:");
            for c in &b.maturity.missing_for_next {
                let _ = writeln!(
                    out,
                    "  - {} ({}): {}",
                    c.label,
                    c.status.label(),
                    c.evidence
                );
            }
        }
    }
    let c = &b.counts;
    let _ = writeln!(
        out,
        "\nWork items: {} new, {} triaged, {} closed, {} open at the end ({} at the start), {} missed their decision deadline",
        c.new, c.triaged, c.closed, c.open_at_end, c.open_at_start, c.missed
    );
    let _ = writeln!(out, "\nTop risks ({} in all):", b.risks.total);
    if b.risks.top.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for r in &b.risks.top {
        let _ = writeln!(
            out,
            "  {} {} — {} (owner {}, {}{})",
            r.post_id,
            r.title,
            r.label,
            r.owner.as_deref().unwrap_or("unassigned"),
            r.state.as_str(),
            r.date
                .map(|d| format!(", {}", d.date()))
                .unwrap_or_default()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn a_period_is_asked_or_the_last_complete_one() {
        let now = at("2026-03-11T09:00:00Z");
        assert_eq!(
            period_of(Cadence::Monthly, None, now).unwrap().key(),
            "2026-02"
        );
        assert_eq!(
            period_of(Cadence::Weekly, Some(" "), now).unwrap().key(),
            "2026-03-02"
        );
        assert_eq!(
            period_of(Cadence::Monthly, Some("2026-03"), now)
                .unwrap()
                .key(),
            "2026-03"
        );
        let e = period_of(Cadence::Monthly, Some("2026-04"), now).unwrap_err();
        assert!(e.contains("has not begun"), "{e}");
        let e = period_of(Cadence::Weekly, Some("2026-13-01"), now).unwrap_err();
        assert!(e.contains("is not a day"), "{e}");
        assert_eq!(signed(1.26), "+1.3");
        assert_eq!(signed(-3.0), "-3.0");
        assert_eq!(signed(0.0), "+0.0");
    }
}
