//! The change health score (issue 21, item 2): one figure from 0 to 100
//! for a set of work items (an organisation, a tenant or a tenant group:
//! the caller chooses the items), made of components that each show their
//! weight, their base, the items that count against them and a sentence
//! with the numbers. No black box: `docs/ANALYTICS.md` ("Change health
//! score") defines every component and works an example by hand.
//!
//! - Each component is a share: of `base` items, `affected` are bad;
//!   `share = affected / base` (0 when `base = 0`).
//! - Its points = its weight, renormalised so that the weights of the
//!   *measured* components sum to 100, × (1 − share).
//! - The score = the sum of the points, rounded to one decimal.
//!
//! The components ([`COMPONENTS`], default weights): imminent changes not
//! triaged (25), items past their due date (20), decision deadlines missed
//! (20), changes since triage not acknowledged (15), triage SLA breaches
//! (20), and communications sent before the rollout (0, not measured:
//! changedesk cannot observe it yet).
//!
//! Everything is as it stood at `at`, reconstructed from the items'
//! instants as [`super::analyze`] does ([`super::Norm`]): created before
//! `at`, triaged (the *triage decision*) before `at`, closed before `at`.
//! The due date, the decision deadline and the decision are today's
//! values; whether a change is unacknowledged is known only now, so the
//! points of [`trend`] before the last leave that component unmeasured.

use serde::Serialize;
use time::{Date, Duration};

use super::{AnalyticsSettings, BreachKind, ItemFacts, Norm, analyze, midnight};
use crate::timestamp::Timestamp;
use crate::triage::Decision;

/// An item's decision deadline within this many days of `at` (or past) is
/// imminent: the inbox's "due soon" window.
pub const IMMINENT_DAYS: i64 = 14;

// one window for "imminent" and the inbox's "due soon"
const _: () = assert!(IMMINENT_DAYS == crate::triage::DUE_SOON_DAYS);

/// How far back the missed deadlines and the SLA breaches look: the items
/// whose deadline fell, or that were created, in the 90 days before `at`.
pub const WINDOW_DAYS: i64 = 90;

/// How many affected post ids a component lists at most.
pub const MAX_LISTED: usize = 20;

/// Each component: its key, its label for people and its default weight,
/// in the order of [`HealthScore::components`].
pub const COMPONENTS: [(&str, &str, f64); 6] = [
    (UNTRIAGED_IMMINENT, "Imminent changes not triaged", 25.0),
    (OVERDUE, "Items past their due date", 20.0),
    (MISSED, "Decision deadlines missed", 20.0),
    (
        CHANGED_UNACKNOWLEDGED,
        "Changes since triage not acknowledged",
        15.0,
    ),
    (SLA_BREACHES, "Triage SLA breaches", 20.0),
    (
        COMMS_BEFORE_ROLLOUT,
        "Communications sent before the rollout",
        0.0,
    ),
];

const UNTRIAGED_IMMINENT: &str = "untriaged_imminent";
const OVERDUE: &str = "overdue";
const MISSED: &str = "missed";
const CHANGED_UNACKNOWLEDGED: &str = "changed_unacknowledged";
const SLA_BREACHES: &str = "sla_breaches";
const COMMS_BEFORE_ROLLOUT: &str = "comms_before_rollout";

/// One component of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// `untriaged_imminent`, `overdue`, `missed`, `changed_unacknowledged`,
    /// `sla_breaches`, `comms_before_rollout`.
    pub key: &'static str,
    /// For people: "Imminent changes not triaged", …
    pub label: &'static str,
    /// Measured: its default weight × 100 / the sum of the measured
    /// components' default weights (so the measured weights sum to 100).
    /// Not measured: its default weight, left out of that sum.
    pub weight: f64,
    /// false: changedesk cannot observe it (yet, or at that instant): no
    /// points, its weight left out.
    pub measured: bool,
    /// The items it is a share of.
    pub base: usize,
    /// How many of them are bad.
    pub affected: usize,
    /// `affected / base` (0 when `base = 0`).
    pub share: f64,
    /// What it contributes to the score: `weight × (1 − share)` (0 when not
    /// measured).
    pub points: f64,
    /// The affected post ids, at most [`MAX_LISTED`], worst first.
    pub items: Vec<String>,
    /// One sentence: what counts as base and as affected, with the numbers.
    pub explanation: String,
}

/// The health score of a set of items at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthScore {
    pub at: Timestamp,
    /// 0–100, one decimal: the sum of the components' points.
    pub score: f64,
    /// Every component of [`COMPONENTS`], in that order.
    pub components: Vec<Component>,
}

/// The score at the end of one week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// The week's Monday (serialised as `YYYY-MM-DD`).
    #[serde(serialize_with = "super::date_text")]
    pub week: Date,
    pub score: f64,
}

/// The health score of `items` at `at`. Never panics; no items give 100.
pub fn score(items: &[ItemFacts], settings: &AnalyticsSettings, at: Timestamp) -> HealthScore {
    score_as_of(&by_creation(items), settings, at, true)
}

/// The score at the end of each of `weeks` (at most [`super::MAX_WEEKS`]) ISO
/// weeks ending with the week that holds the last instant before `at` (the
/// last one at `at`), from the items' history, oldest first. The last point
/// is [`score`] at `at`; the others leave `changed_unacknowledged`
/// unmeasured (the flag is known only now).
pub fn trend(
    items: &[ItemFacts],
    settings: &AnalyticsSettings,
    at: Timestamp,
    weeks: usize,
) -> Vec<TrendPoint> {
    // the weeks of metrics::weekly: an `at` at Monday 00:00 ends the week before
    let mondays = super::week_mondays(at, weeks);
    if mondays.is_empty() {
        return Vec::new();
    }
    let count = mondays.len();
    let items = by_creation(items);
    mondays
        .iter()
        .enumerate()
        .map(|(i, week)| {
            let now = i + 1 == count;
            // a week ends at the next one's Monday, the last one at `at`
            let end = match mondays.get(i + 1) {
                Some(next) if !now => midnight(*next),
                _ => at,
            };
            TrendPoint {
                week: *week,
                score: score_as_of(&items, settings, end, now).score,
            }
        })
        .collect()
}

/// `items` sorted by `created_at` (stable), so that the items created in
/// a window are one slice.
fn by_creation(items: &[ItemFacts]) -> Vec<ItemFacts> {
    let mut sorted = items.to_vec();
    sorted.sort_by_key(|i| i.created_at);
    sorted
}

/// The score at `at` of `items` (sorted by [`by_creation`]); `now`: whether
/// `at` is the present, the only instant at which `changed_since_triage` is
/// known.
fn score_as_of(
    items: &[ItemFacts],
    settings: &AnalyticsSettings,
    at: Timestamp,
    now: bool,
) -> HealthScore {
    let norms: Vec<Norm<'_>> = items.iter().map(Norm::new).collect();
    let parts = [
        untriaged_imminent(&norms, at),
        overdue(&norms, at),
        missed(&norms, at),
        if now {
            changed_unacknowledged(&norms, at)
        } else {
            Part::unmeasured(
                "Not measured at a past instant: whether a change since triage was \
                 acknowledged is known only now.",
            )
        },
        sla_breaches(items, settings, at),
        Part::unmeasured(
            "Not measured: changedesk cannot observe yet whether communications were sent \
             before the rollout (there is no communications feature); its weight is left out.",
        ),
    ];
    let total: f64 = COMPONENTS
        .iter()
        .zip(&parts)
        .filter(|(_, p)| p.measured)
        .map(|((_, _, w), _)| *w)
        .sum();
    let components: Vec<Component> = COMPONENTS
        .iter()
        .zip(parts)
        .map(|((key, label, nominal), p)| {
            let weight = if p.measured && total > 0.0 {
                nominal / total * 100.0
            } else {
                *nominal
            };
            let share = if p.base == 0 {
                0.0
            } else {
                p.affected as f64 / p.base as f64
            };
            let points = if p.measured {
                weight * (1.0 - share)
            } else {
                0.0
            };
            Component {
                key,
                label,
                weight,
                measured: p.measured,
                base: p.base,
                affected: p.affected,
                share,
                points,
                items: p.items,
                explanation: p.explanation,
            }
        })
        .collect();
    let sum: f64 = components.iter().map(|c| c.points).sum();
    let score = if total > 0.0 {
        ((sum * 10.0).round() / 10.0).clamp(0.0, 100.0)
    } else {
        100.0
    };
    HealthScore {
        at,
        score,
        components,
    }
}

/// A component before weighing.
struct Part {
    measured: bool,
    base: usize,
    affected: usize,
    items: Vec<String>,
    explanation: String,
}

impl Part {
    fn unmeasured(why: &str) -> Part {
        Part {
            measured: false,
            base: 0,
            affected: 0,
            items: Vec::new(),
            explanation: why.to_string(),
        }
    }

    /// A measured part: `affected` (each with its sort key, worst first by
    /// the key, then by post id) of `base` items.
    fn measured<K: Ord>(base: usize, mut affected: Vec<(K, &str)>, explanation: String) -> Part {
        affected.sort();
        let count = affected.len();
        Part {
            measured: true,
            base,
            affected: count,
            items: affected
                .into_iter()
                .take(MAX_LISTED)
                .map(|(_, id)| id.to_string())
                .collect(),
            explanation,
        }
    }
}

/// `1 open item` / `2 open items`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn is_are(n: usize) -> &'static str {
    if n == 1 { "is" } else { "are" }
}

/// Base: the items open at `at` whose decision deadline is at or before
/// `at + IMMINENT_DAYS` (past ones included); affected: those without a
/// triage decision before `at`. Worst first: the earliest deadline.
fn untriaged_imminent(norms: &[Norm<'_>], at: Timestamp) -> Part {
    let limit = at.saturating_add(Duration::days(IMMINENT_DAYS));
    let mut base = 0;
    let mut affected = Vec::new();
    for n in norms {
        let Some(deadline) = n.item.work.decision_deadline else {
            continue;
        };
        if !n.open_at(at) || deadline > limit {
            continue;
        }
        base += 1;
        if !n.triaged_before(at) {
            affected.push((deadline, n.item.post_id.as_str()));
        }
    }
    let explanation = format!(
        "Of the {} whose decision deadline is by {} (within {IMMINENT_DAYS} days of {}, or \
         past), {} not triaged.",
        count(base, "open item"),
        limit.human(),
        at.human(),
        count_verb(affected.len()),
    );
    Part::measured(base, affected, explanation)
}

/// `0 are` / `1 is` / `2 are`.
fn count_verb(n: usize) -> String {
    format!("{n} {}", is_are(n))
}

/// Base: the items open at `at` with a due date; affected: those due
/// before `at`. Worst first: the longest overdue (earliest due date).
fn overdue(norms: &[Norm<'_>], at: Timestamp) -> Part {
    let mut base = 0;
    let mut affected = Vec::new();
    for n in norms {
        let Some(due) = n.item.work.due else {
            continue;
        };
        if !n.open_at(at) {
            continue;
        }
        base += 1;
        if due < at {
            affected.push((due, n.item.post_id.as_str()));
        }
    }
    let explanation = format!(
        "Of the {} with a due date, {} past it at {}.",
        count(base, "open item"),
        count_verb(affected.len()),
        at.human(),
    );
    Part::measured(base, affected, explanation)
}

/// Base: the items created before `at` whose decision deadline fell in the
/// [`WINDOW_DAYS`] days before `at` (`at − 90 days ≤ deadline < at`);
/// affected: those still open at `at` (the deadlines' "missed") or closed
/// with the decision `missed`. Worst first: the earliest deadline.
fn missed(norms: &[Norm<'_>], at: Timestamp) -> Part {
    let from = at.saturating_add(Duration::days(-WINDOW_DAYS));
    let mut base = 0;
    let mut affected = Vec::new();
    for n in norms {
        let Some(deadline) = n.item.work.decision_deadline else {
            continue;
        };
        if n.item.created_at >= at || deadline < from || deadline >= at {
            continue;
        }
        base += 1;
        let closed_missed = n.closed_before(at) && n.item.work.decision == Some(Decision::Missed);
        if n.open_at(at) || closed_missed {
            affected.push((deadline, n.item.post_id.as_str()));
        }
    }
    let explanation = format!(
        "Of the {} whose decision deadline fell between {} and {}, {} still open or closed \
         as missed.",
        count(base, "item"),
        from.human(),
        at.human(),
        count_verb(affected.len()),
    );
    Part::measured(base, affected, explanation)
}

/// Base: the items open at `at` with a triage decision before it;
/// affected: those flagged `changed_since_triage` (known only now). Worst
/// first: the nearest decision deadline (none last).
fn changed_unacknowledged(norms: &[Norm<'_>], at: Timestamp) -> Part {
    let mut base = 0;
    let mut affected = Vec::new();
    for n in norms {
        if !n.open_at(at) || !n.triaged_before(at) {
            continue;
        }
        base += 1;
        if n.item.work.changed_since_triage {
            let deadline = n.item.work.decision_deadline;
            // Some before None: a deadline is nearer than none
            affected.push(((deadline.is_none(), deadline), n.item.post_id.as_str()));
        }
    }
    let n = affected.len();
    let explanation = format!(
        "Of the {}, {n} {} changes by Microsoft since triage that nobody acknowledged yet.",
        count(base, "triaged open item"),
        if n == 1 { "has" } else { "have" },
    );
    Part::measured(base, affected, explanation)
}

/// Base: the items created in the [`WINDOW_DAYS`] days before `at`;
/// affected: those over their triage target at `at` — exactly the triage
/// breaches of [`analyze`] over `[at − 90 days, at)`, in its order
/// (furthest over first). `items` sorted by [`by_creation`]: analyze is
/// given only the slice created in the window (what its breaches and
/// `overall` count anyway), not the whole history at every trend point.
fn sla_breaches(items: &[ItemFacts], settings: &AnalyticsSettings, at: Timestamp) -> Part {
    let from = at.saturating_add(Duration::days(-WINDOW_DAYS));
    let start = items.partition_point(|i| i.created_at < from);
    let end = items.partition_point(|i| i.created_at < at);
    let window = items.get(start..end.max(start)).unwrap_or_default();
    let a = analyze(window, settings, from, at, 0);
    let breaches: Vec<&str> = a
        .breaches
        .iter()
        .filter(|b| b.kind == BreachKind::Triage)
        .map(|b| b.post_id.as_str())
        .collect();
    let sla = &settings.sla;
    let explanation = format!(
        "Of the {} created since {}, {} over the triage target ({} working days, {} for a major \
         change) at {}.",
        count(a.overall.items, "item"),
        from.human(),
        count_verb(breaches.len()),
        sla.triage_days,
        sla.major_triage_days,
        at.human(),
    );
    // already worst first: the rank keeps analyze's order
    let ranked: Vec<(usize, &str)> = breaches.into_iter().enumerate().collect();
    Part::measured(a.overall.items, ranked, explanation)
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
