//! The figures of the executive and weekly reports (issue 21, item 8) that
//! the other reports do not already compute: the report's period (a
//! calendar month or an ISO week), what happened to the work items in it,
//! and the top risks at its end. The health score and the maturity level
//! come from [`super::health`] and [`crate::maturity`].
//!
//! As everywhere in [`super`]: days are UTC calendar days, a period is
//! half-open `[start, end)`, and the items' history is reconstructed from
//! their instants (created, triage decision, closed). `docs/ANALYTICS.md`
//! ("Executive and weekly reports") has every definition:
//!
//! - **new**: the items created in the period;
//! - **triaged**: the items whose triage decision fell in it;
//! - **closed**: the items closed in it (their `closed_at`);
//! - **open at the start / at the end**: open at `start` / at `end`;
//! - **missed**: the items whose decision deadline fell in the period and
//!   that were open at it (created before it, not closed before it): the
//!   deadlines' "missed" as it happened then.
//!
//! The **risks** are the items open at an instant `at`, each under the
//! first of these that applies, ranked in this order, then by their date
//! (earliest first; none last), then by post id:
//! 1. `deadline_missed`: the decision deadline passed (date: the deadline);
//! 2. `overdue`: past the due date a person set (date: the due date);
//! 3. `deadline_near`: the decision deadline within [`NEAR_DAYS`] days
//!    (date: the deadline);
//! 4. `major_untriaged`: a major change not triaged (date: when the item
//!    was opened);
//! 5. `changed_since_triage`: Microsoft changed the post since its triage,
//!    not acknowledged (date: the decision deadline, if any) — a flag known
//!    only as it is now, as in the health score.

use serde::{Deserialize, Serialize, Serializer};
use time::{Date, Duration, Month};

use super::{ItemFacts, Norm, midnight, monday_of};
use crate::timestamp::Timestamp;

/// A decision deadline within this many days is near: the health score's
/// "imminent" and the inbox's "due soon".
pub const NEAR_DAYS: i64 = super::health::IMMINENT_DAYS;

/// How many risks a report lists at most.
pub const TOP_RISKS: usize = 10;

/// Which report: the monthly executive report or the weekly status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// A calendar month: the executive report.
    Monthly,
    /// An ISO week (Monday to Sunday): the weekly status.
    Weekly,
}

impl Cadence {
    /// `monthly` or `weekly`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cadence::Monthly => "monthly",
            Cadence::Weekly => "weekly",
        }
    }

    /// `monthly` or `weekly`, case-insensitively, spaces around ignored.
    pub fn parse(s: &str) -> Result<Cadence, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "monthly" => Ok(Cadence::Monthly),
            "weekly" => Ok(Cadence::Weekly),
            _ => Err(format!(
                "`{}` is not a report's cadence (monthly or weekly)",
                crate::text::clip_chars(s.trim(), 20)
            )),
        }
    }
}

/// The period of a report: the days from `first_day` to the day before
/// `end_day` (UTC), i.e. `[first_day 00:00Z, end_day 00:00Z)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportPeriod {
    pub cadence: Cadence,
    /// The first day (serialised as `YYYY-MM-DD`).
    #[serde(serialize_with = "super::date_text")]
    pub first_day: Date,
    /// The day after the last (serialised as `YYYY-MM-DD`).
    #[serde(serialize_with = "super::date_text")]
    pub end_day: Date,
}

impl ReportPeriod {
    /// The calendar month `month` of `year`.
    pub fn month(year: i32, month: Month) -> Result<ReportPeriod, String> {
        let first = Date::from_calendar_date(year, month, 1)
            .map_err(|_| format!("{year}-{:02} is not a month changedesk knows", month as u8))?;
        let (ny, nm) = match month {
            Month::December => (year.checked_add(1), Month::January),
            m => (Some(year), m.next()),
        };
        let end = ny
            .and_then(|y| Date::from_calendar_date(y, nm, 1).ok())
            .ok_or_else(|| format!("{year}-{:02} is not a month changedesk knows", month as u8))?;
        Ok(ReportPeriod {
            cadence: Cadence::Monthly,
            first_day: first,
            end_day: end,
        })
    }

    /// The ISO week (Monday to Sunday) that holds `day`.
    pub fn week_of(day: Date) -> ReportPeriod {
        let monday = monday_of(day);
        ReportPeriod {
            cadence: Cadence::Weekly,
            first_day: monday,
            end_day: monday.checked_add(Duration::weeks(1)).unwrap_or(monday),
        }
    }

    /// A month written `YYYY-MM`; an error for people otherwise.
    pub fn parse_month(s: &str) -> Result<ReportPeriod, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "`{}` is not a month (YYYY-MM, e.g. 2026-03)",
                crate::text::clip_chars(t, 20)
            )
        };
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !all_digits(y) || !all_digits(m) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        let month = Month::try_from(month).map_err(|_| bad())?;
        ReportPeriod::month(year, month)
    }

    /// The ISO week of a day written `YYYY-MM-DD` (any day of the week);
    /// an error for people otherwise.
    pub fn parse_week(s: &str) -> Result<ReportPeriod, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "`{}` is not a day (YYYY-MM-DD, any day of the week, e.g. 2026-03-09)",
                crate::text::clip_chars(t, 20)
            )
        };
        let parts: Vec<&str> = t.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 || ![y, m, d].iter().all(|p| all_digits(p))
        {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        let day: u8 = d.parse().map_err(|_| bad())?;
        let month = Month::try_from(month).map_err(|_| bad())?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
        Ok(ReportPeriod::week_of(date))
    }

    /// The last complete period before `now`: the month before `now`'s
    /// month, or the week before `now`'s week (UTC).
    pub fn last_complete(cadence: Cadence, now: Timestamp) -> ReportPeriod {
        let today = now.as_datetime().date();
        match cadence {
            Cadence::Monthly => {
                let this = ReportPeriod::month(today.year(), today.month());
                match this {
                    Ok(p) => p.previous(),
                    Err(_) => ReportPeriod::week_of(today),
                }
            }
            Cadence::Weekly => ReportPeriod::week_of(today).previous(),
        }
    }

    /// The period before this one, of the same cadence (itself at the
    /// calendar's start).
    pub fn previous(&self) -> ReportPeriod {
        let Some(day_before) = self.first_day.previous_day() else {
            return *self;
        };
        match self.cadence {
            Cadence::Monthly => {
                ReportPeriod::month(day_before.year(), day_before.month()).unwrap_or(*self)
            }
            Cadence::Weekly => ReportPeriod::week_of(day_before),
        }
    }

    /// Its first instant.
    pub fn start(&self) -> Timestamp {
        midnight(self.first_day)
    }

    /// The instant after its last.
    pub fn end(&self) -> Timestamp {
        midnight(self.end_day)
    }

    /// Its last day.
    pub fn last_day(&self) -> Date {
        self.end_day.previous_day().unwrap_or(self.end_day)
    }

    /// What names it in a parameter and in a message id: `2026-03` for a
    /// month, the Monday `2026-03-09` for a week.
    pub fn key(&self) -> String {
        match self.cadence {
            Cadence::Monthly => {
                format!(
                    "{:04}-{:02}",
                    self.first_day.year(),
                    self.first_day.month() as u8
                )
            }
            Cadence::Weekly => self.first_day.to_string(),
        }
    }

    /// For people: `March 2026`, `week 11 of 2026 (2026-03-09 to
    /// 2026-03-15)`.
    pub fn label(&self) -> String {
        match self.cadence {
            Cadence::Monthly => format!("{} {}", self.first_day.month(), self.first_day.year()),
            Cadence::Weekly => {
                let (year, week, _) = self.first_day.to_iso_week_date();
                format!(
                    "week {week} of {year} ({} to {})",
                    self.first_day,
                    self.last_day()
                )
            }
        }
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// What happened to the work items in a period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PeriodCounts {
    /// Created in the period.
    pub new: usize,
    /// Whose triage decision fell in the period.
    pub triaged: usize,
    /// Closed in the period.
    pub closed: usize,
    /// Open at the period's start.
    pub open_at_start: usize,
    /// Open at its end.
    pub open_at_end: usize,
    /// Whose decision deadline fell in the period while they were open.
    pub missed: usize,
    /// Those missed, by post id (earliest deadline first).
    pub missed_items: Vec<String>,
}

/// The counts of `items` over `[start, end)` (the module's definitions).
pub fn counts(items: &[ItemFacts], start: Timestamp, end: Timestamp) -> PeriodCounts {
    let within = |t: Timestamp| start <= t && t < end;
    let mut c = PeriodCounts::default();
    let mut missed: Vec<(Timestamp, &str)> = Vec::new();
    for n in items.iter().map(Norm::new) {
        if within(n.item.created_at) {
            c.new += 1;
        }
        if let Some(super::When::At(t)) = n.triaged
            && within(t)
        {
            c.triaged += 1;
        }
        if let Some(super::When::At(t)) = n.closed
            && within(t)
        {
            c.closed += 1;
        }
        c.open_at_start += usize::from(n.open_at(start));
        c.open_at_end += usize::from(n.open_at(end));
        if let Some(d) = n.item.work.decision_deadline
            && within(d)
            && n.open_at(d)
        {
            missed.push((d, n.item.post_id.as_str()));
        }
    }
    missed.sort();
    c.missed = missed.len();
    c.missed_items = missed.into_iter().map(|(_, id)| id.to_string()).collect();
    c
}

/// Why an open item is a risk, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskKind {
    DeadlineMissed,
    Overdue,
    DeadlineNear,
    MajorUntriaged,
    ChangedSinceTriage,
}

impl RiskKind {
    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            RiskKind::DeadlineMissed => "Decision deadline passed",
            RiskKind::Overdue => "Past its due date",
            RiskKind::DeadlineNear => "Decision deadline near",
            RiskKind::MajorUntriaged => "Major change not triaged",
            RiskKind::ChangedSinceTriage => "Changed since triage",
        }
    }
}

fn opt_date<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.date()),
        None => s.serialize_none(),
    }
}

/// One open item at risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    pub kind: RiskKind,
    /// [`RiskKind::label`].
    pub label: &'static str,
    pub post_id: String,
    pub title: String,
    pub owner: Option<String>,
    pub major: bool,
    pub state: crate::triage::State,
    /// The date the risk is about (see the module's list; serialised as
    /// `YYYY-MM-DD`).
    #[serde(serialize_with = "opt_date")]
    pub date: Option<Timestamp>,
}

/// The risks at an instant: how many, and the first [`TOP_RISKS`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Risks {
    pub total: usize,
    pub top: Vec<Risk>,
}

/// The risks among `items` at `at`, ranked (the module's order), at most
/// `limit` listed.
pub fn risks(items: &[ItemFacts], at: Timestamp, limit: usize) -> Risks {
    let near = at.saturating_add(Duration::days(NEAR_DAYS));
    let mut all: Vec<Risk> = items
        .iter()
        .map(Norm::new)
        .filter(|n| n.open_at(at))
        .filter_map(|n| {
            let w = &n.item.work;
            let deadline = w.decision_deadline;
            let (kind, date) = if let Some(d) = deadline.filter(|d| *d < at) {
                (RiskKind::DeadlineMissed, Some(d))
            } else if let Some(d) = w.due.filter(|d| *d < at) {
                (RiskKind::Overdue, Some(d))
            } else if let Some(d) = deadline.filter(|d| *d <= near) {
                (RiskKind::DeadlineNear, Some(d))
            } else if n.item.major && !n.triaged_before(at) {
                (RiskKind::MajorUntriaged, Some(n.item.created_at))
            } else if w.changed_since_triage && n.triaged_before(at) {
                (RiskKind::ChangedSinceTriage, deadline)
            } else {
                return None;
            };
            Some(Risk {
                kind,
                label: kind.label(),
                post_id: n.item.post_id.clone(),
                title: n.item.title.clone(),
                owner: n.item.owner.clone(),
                major: n.item.major,
                state: n.item.state,
                date,
            })
        })
        .collect();
    all.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| (a.date.is_none(), a.date).cmp(&(b.date.is_none(), b.date)))
            .then_with(|| a.post_id.cmp(&b.post_id))
    });
    let total = all.len();
    all.truncate(limit);
    Risks { total, top: all }
}

#[cfg(test)]
#[path = "briefing_tests.rs"]
mod tests;
