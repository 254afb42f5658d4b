//! Analytics of the work items (issue 21): time to triage and time to close
//! (median and 90th percentile) overall and by workload, owner, tenant
//! group, category and severity; new, triaged and closed items and the
//! backlog week by week; the backlog now and its age; and the items that
//! breach the SLA targets of `[analytics]`.
//!
//! No IO: the caller reads one [`ItemFacts`] per work item from the store
//! and passes the window `[from, to)`; [`analyze`] computes everything in
//! memory. `docs/ANALYTICS.md` has every formula with a worked example;
//! in short:
//!
//! - **Working days.** Durations are in working days ([`WorkCalendar`]):
//!   the part of the elapsed time that falls on a working day (a working
//!   weekday that is not a holiday; UTC calendar days), fractional. Monday
//!   09:00 to Thursday 09:00 is 3.0; Friday 12:00 to Monday 12:00 is 1.0.
//! - **Triaged.** An item is triaged at its *triage decision*: its
//!   `first_triaged_at` (set when it first became `triaged`, or was started
//!   straight from `new`), else — for an item closed straight from `new`,
//!   which the lifecycle allows (`dismiss`, or `close` as `no_action_needed`
//!   / `missed`) and which does **not** set `first_triaged_at` — its
//!   `closed_at`: a dismissal is a triage decision as well as a close.
//! - **Closed.** An item is closed when its state is `done` or `dismissed`
//!   ([`State::is_closed`]), at its `closed_at` (the latest close: reopening
//!   clears it, so a reopened item counts as open since it was created). A
//!   closed item without `closed_at` (changedesk's actions always set it)
//!   counts as closed and triaged at an unknown time: never open, in no
//!   duration, no week and no breach.
//! - **At `to`.** An instant at or after `to` has not happened yet: an item
//!   triaged or closed then is untriaged or open at `to`; an item created
//!   then is left out. The window is half-open, `[from, to)`.
//! - **Time to triage** = triage decision − `created_at`, **time to close**
//!   = `closed_at` − `created_at`, in working days. Medians and 90th
//!   percentiles are nearest-rank ([`percentile`]).
//! - **SLA.** The triage target is `major_triage_days` for a major post,
//!   `triage_days` otherwise; an item breaches it when its time to triage
//!   exceeds it, or when it is still untriaged at `to` and has been open
//!   longer (`open: true`). Likewise for the close target, when there is
//!   one.
//!
//! `overall`, `by` and `breaches` are about the items created in
//! `[from, to)`; `weekly` and `backlog` about every item given.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Serialize, Serializer};
use time::{Date, Duration, Weekday};

use crate::timestamp::Timestamp;
use crate::triage::State;

/// The workload of an item that names none.
pub use crate::triage::NO_WORKLOAD;

/// The owner of an item assigned to nobody.
pub const UNASSIGNED: &str = "unassigned";

/// The category or severity of an item that has none (a blank text).
pub const NONE: &str = "(none)";

/// How many weeks [`analyze`] reports at most, whatever it is asked.
pub const MAX_WEEKS: usize = 1040;

/// How many of the oldest open items [`Backlog::oldest`] lists.
pub const OLDEST: usize = 10;

/// The age buckets of the backlog: each label with the age (calendar days)
/// it starts at; the last bucket has no end.
pub const AGE_BUCKETS: [(&str, f64); 5] = [
    ("under 1 week", 0.0),
    ("1–2 weeks", 7.0),
    ("2–4 weeks", 14.0),
    ("1–3 months", 28.0),
    ("over 3 months", 90.0),
];

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Which days are working days: the working weekdays, less the holidays.
/// Days are UTC calendar days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkCalendar {
    /// The working weekdays (serialised as `monday` … `sunday`).
    #[serde(serialize_with = "weekday_names")]
    pub working_weekdays: Vec<Weekday>,
    /// Days off (serialised as `YYYY-MM-DD`).
    #[serde(serialize_with = "date_texts")]
    pub holidays: BTreeSet<Date>,
}

impl Default for WorkCalendar {
    /// Monday to Friday, no holidays.
    fn default() -> Self {
        WorkCalendar {
            working_weekdays: vec![
                Weekday::Monday,
                Weekday::Tuesday,
                Weekday::Wednesday,
                Weekday::Thursday,
                Weekday::Friday,
            ],
            holidays: BTreeSet::new(),
        }
    }
}

impl WorkCalendar {
    /// The working weekdays as a bit set (bit 0 Monday … bit 6 Sunday);
    /// duplicates count once.
    fn weekday_mask(&self) -> u8 {
        self.working_weekdays
            .iter()
            .fold(0u8, |m, w| m | weekday_bit(*w))
    }

    /// Whether `day` is a working day: a working weekday, not a holiday.
    pub fn is_working_day(&self, day: Date) -> bool {
        self.weekday_mask() & weekday_bit(day.weekday()) != 0 && !self.holidays.contains(&day)
    }

    /// The elapsed time from `from` to `to` that falls on working days (UTC
    /// calendar days), in days, fractional (0 when `to <= from`).
    ///
    /// The first and last days count for the part of them inside the
    /// interval; the days between by arithmetic on whole weeks and the
    /// holidays among them (no loop over the days).
    pub fn working_days(&self, from: Timestamp, to: Timestamp) -> f64 {
        if to <= from {
            return 0.0;
        }
        let mask = self.weekday_mask();
        let works = |d: Date| mask & weekday_bit(d.weekday()) != 0 && !self.holidays.contains(&d);
        let (f, t) = (from.as_datetime(), to.as_datetime());
        let (first, last) = (f.date(), t.date());
        if first == last {
            return if works(first) {
                (t - f).as_seconds_f64() / SECONDS_PER_DAY
            } else {
                0.0
            };
        }
        let mut days = 0.0;
        if works(first) {
            days += 1.0 - day_fraction(f);
        }
        if works(last) {
            days += day_fraction(t);
        }
        if let Some(next) = first.next_day() {
            days += self.whole_working_days(mask, next, last) as f64;
        }
        days
    }

    /// The working days among the days from `start` (included) to `end`
    /// (excluded).
    fn whole_working_days(&self, mask: u8, start: Date, end: Date) -> i64 {
        if end <= start {
            return 0;
        }
        let n = (end - start).whole_days();
        let per_week = i64::from(mask.count_ones());
        let rest = (0..n % 7)
            .filter(|i| {
                let day = start.weekday().nth_next(u8::try_from(*i).unwrap_or(0));
                mask & weekday_bit(day) != 0
            })
            .count();
        let holidays = self
            .holidays
            .range(start..end)
            .filter(|d| mask & weekday_bit(d.weekday()) != 0)
            .count();
        (n / 7) * per_week + as_i64(rest) - as_i64(holidays)
    }
}

fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn weekday_bit(w: Weekday) -> u8 {
    1u8 << w.number_days_from_monday()
}

/// The part of its UTC day that has passed at `dt` (0 at midnight).
fn day_fraction(dt: time::OffsetDateTime) -> f64 {
    let (h, m, s, micro) = dt.time().as_hms_micro();
    (f64::from(h) * 3600.0 + f64::from(m) * 60.0 + f64::from(s) + f64::from(micro) / 1e6)
        / SECONDS_PER_DAY
}

/// A weekday's name in lower case: `monday` … `sunday`.
pub fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "monday",
        Weekday::Tuesday => "tuesday",
        Weekday::Wednesday => "wednesday",
        Weekday::Thursday => "thursday",
        Weekday::Friday => "friday",
        Weekday::Saturday => "saturday",
        Weekday::Sunday => "sunday",
    }
}

/// The weekday named `s` (`monday` … `sunday`, case-insensitive, spaces
/// around ignored).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    let mut w = Weekday::Monday;
    for _ in 0..7 {
        if weekday_name(w).eq_ignore_ascii_case(s.trim()) {
            return Some(w);
        }
        w = w.next();
    }
    None
}

fn weekday_names<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(days.iter().map(|d| weekday_name(*d)))
}

fn date_texts<S: Serializer>(days: &BTreeSet<Date>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(days.iter().map(Date::to_string))
}

fn date_text<S: Serializer>(day: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(day)
}

/// The SLA targets, in working days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaTargets {
    /// Triage within this many working days (5).
    pub triage_days: f64,
    /// Triage a major change within this many working days (2).
    pub major_triage_days: f64,
    /// Close within this many working days; no close target when `None`
    /// (the default).
    pub close_days: Option<f64>,
}

impl Default for SlaTargets {
    fn default() -> Self {
        SlaTargets {
            triage_days: 5.0,
            major_triage_days: 2.0,
            close_days: None,
        }
    }
}

impl SlaTargets {
    /// The triage target of a post: major or not.
    pub fn triage_target(&self, major: bool) -> f64 {
        if major {
            self.major_triage_days
        } else {
            self.triage_days
        }
    }
}

/// `[analytics]`: the calendar and the targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AnalyticsSettings {
    pub calendar: WorkCalendar,
    pub sla: SlaTargets,
}

/// What the analytics need of one work item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemFacts {
    pub post_id: String,
    pub title: String,
    /// The post's services.
    pub workloads: Vec<String>,
    /// The item's assignee.
    pub owner: Option<String>,
    pub category: String,
    pub severity: String,
    /// A major change.
    pub major: bool,
    /// tenant groups some of whose tenants see the post
    pub groups: Vec<String>,
    /// The item's state now.
    pub state: State,
    /// When changedesk opened the item.
    pub created_at: Timestamp,
    pub first_triaged_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// The rest of the item's work, for the health score and the maturity
    /// level.
    pub work: WorkFacts,
}

/// What the health score and the maturity level read of a work item
/// beyond its times.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkFacts {
    /// The due date a person set.
    pub due: Option<Timestamp>,
    /// When the post's own dates ask for a decision: its act-by date, else
    /// its rollout start (read from its body, else Graph's start), when
    /// later than changedesk's first sight of it (the deadlines' model).
    pub decision_deadline: Option<Timestamp>,
    /// Microsoft changed the post since it was triaged, not acknowledged.
    pub changed_since_triage: bool,
    /// How a closed item was decided.
    pub decision: Option<crate::triage::Decision>,
    /// The triage said the change needs a change request / communication.
    pub requires_change_request: bool,
    pub requires_communication: bool,
    /// How many tenants see or saw the post.
    pub tenants: usize,
}

/// What the analytics are broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Workload,
    Owner,
    TenantGroup,
    Category,
    Severity,
}

impl Dimension {
    /// Every dimension, in the order of [`Analytics::by`].
    pub const ALL: &'static [Dimension] = &[
        Dimension::Workload,
        Dimension::Owner,
        Dimension::TenantGroup,
        Dimension::Category,
        Dimension::Severity,
    ];

    /// The name in URLs and JSON: `workload`, `owner`, `tenant_group`,
    /// `category`, `severity`.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Workload => "workload",
            Dimension::Owner => "owner",
            Dimension::TenantGroup => "tenant_group",
            Dimension::Category => "category",
            Dimension::Severity => "severity",
        }
    }

    /// The name for people: `Workload`, `Owner`, `Tenant group`, …
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Workload => "Workload",
            Dimension::Owner => "Owner",
            Dimension::TenantGroup => "Tenant group",
            Dimension::Category => "Category",
            Dimension::Severity => "Severity",
        }
    }

    /// The dimension named `s` (as [`Dimension::name`] writes it).
    pub fn parse(s: &str) -> Option<Dimension> {
        Dimension::ALL
            .iter()
            .copied()
            .find(|d| d.name().eq_ignore_ascii_case(s.trim()))
    }
}

/// The figures of a set of items (created in the window).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Items created in the window.
    pub items: usize,
    /// Of them, triaged before `to`.
    pub triaged: usize,
    /// Nearest-rank median of their times to triage (working days).
    pub triage_median: Option<f64>,
    /// Nearest-rank 90th percentile of their times to triage.
    pub triage_p90: Option<f64>,
    /// Of them, closed before `to`.
    pub closed: usize,
    /// Nearest-rank median of their times to close (working days).
    pub close_median: Option<f64>,
    /// Nearest-rank 90th percentile of their times to close.
    pub close_p90: Option<f64>,
    /// Of them, open at `to` (`items - closed`).
    pub open: usize,
    /// Their breaches (an item may breach both targets).
    pub breaches: usize,
}

/// One ISO week (Monday to Sunday, UTC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Week {
    /// Its Monday (serialised as `YYYY-MM-DD`).
    #[serde(serialize_with = "date_text")]
    pub start: Date,
    /// Items created in the week.
    pub new: usize,
    /// Items first triaged in the week.
    pub triaged: usize,
    /// Items closed in the week.
    pub closed: usize,
    /// Items open at the week's end (created before it, not closed by it).
    pub backlog: usize,
    /// The median time to triage of the items first triaged in the week.
    pub triage_median: Option<f64>,
}

/// An item open at `to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenItem {
    pub post_id: String,
    pub title: String,
    pub owner: Option<String>,
    /// The item's state now (as given).
    pub state: State,
    /// Calendar days since the item was created.
    pub age_days: f64,
}

/// The items open at `to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backlog {
    /// How many.
    pub open: usize,
    /// How many in each age bucket ([`AGE_BUCKETS`]; calendar days), every
    /// bucket listed, youngest first.
    pub ages: Vec<(String, usize)>,
    /// The [`OLDEST`] oldest, oldest first.
    pub oldest: Vec<OpenItem>,
}

/// Which target an item breached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    Triage,
    Close,
}

impl BreachKind {
    /// `triage` or `close`.
    pub fn name(self) -> &'static str {
        match self {
            BreachKind::Triage => "triage",
            BreachKind::Close => "close",
        }
    }

    /// `Time to triage` or `Time to close`.
    pub fn label(self) -> &'static str {
        match self {
            BreachKind::Triage => "Time to triage",
            BreachKind::Close => "Time to close",
        }
    }
}

/// An item over one of its SLA targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    pub post_id: String,
    pub title: String,
    pub owner: Option<String>,
    pub major: bool,
    pub kind: BreachKind,
    /// The target (working days).
    pub target_days: f64,
    /// The time to triage or close; while `open`, the working days so far.
    pub days: f64,
    /// still not triaged / closed at `to`
    pub open: bool,
}

impl Breach {
    /// How far over the target: `days - target_days`.
    pub fn over(&self) -> f64 {
        self.days - self.target_days
    }
}

/// Everything [`analyze`] computes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analytics {
    pub from: Timestamp,
    pub to: Timestamp,
    pub settings: AnalyticsSettings,
    /// The items created in `[from, to)`.
    pub overall: Stats,
    /// The same items by each of [`Dimension::ALL`], in that order; within a
    /// dimension, by item count (most first), then name.
    pub by: Vec<(Dimension, Vec<(String, Stats)>)>,
    /// The weeks, oldest first, the last one containing `to` (every item).
    pub weekly: Vec<Week>,
    /// The items open at `to` (every item).
    pub backlog: Backlog,
    /// The breaches of the items created in `[from, to)`, furthest over
    /// first.
    pub breaches: Vec<Breach>,
}

/// Nearest-rank percentile (p in 0..=100) of sorted values; None when empty.
///
/// The value at rank ⌈p/100 × n⌉ (counting from 1, at least 1): of
/// `[1, 2, 3, 4, 5]`, p50 is 3 and p90 is 5; of `[1, 2, 3, 4]`, p50 is 2
/// (the lower middle value: always one of the values, never an average).
/// `p` outside 0..=100 is taken as the nearer end; NaN as 0.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 100.0) };
    // p × n first, then / 100: exact for whole p (0.9 × 10 is not 9)
    let rank = (p * n as f64 / 100.0).ceil();
    // a float-to-int `as` saturates; rank is at most n
    let rank = (rank as usize).clamp(1, n);
    sorted.get(rank - 1).copied()
}

/// When something happened: at an instant, or at a time not recorded.
#[derive(Debug, Clone, Copy)]
enum When {
    At(Timestamp),
    Undated,
}

impl When {
    /// Whether it happened before `t`.
    fn before(self, t: Timestamp) -> bool {
        match self {
            When::At(x) => x < t,
            When::Undated => true,
        }
    }
}

/// An item with its triage decision and close worked out.
struct Norm<'a> {
    item: &'a ItemFacts,
    triaged: Option<When>,
    closed: Option<When>,
}

impl<'a> Norm<'a> {
    fn new(item: &'a ItemFacts) -> Self {
        let closed = item
            .state
            .is_closed()
            .then(|| item.closed_at.map_or(When::Undated, When::At));
        let triaged = match (item.first_triaged_at, closed) {
            (Some(t), Some(When::At(c))) => Some(When::At(t.min(c))),
            (Some(t), _) => Some(When::At(t)),
            (None, c) => c,
        };
        Norm {
            item,
            triaged,
            closed,
        }
    }

    fn triaged_before(&self, t: Timestamp) -> bool {
        self.triaged.is_some_and(|w| w.before(t))
    }

    fn closed_before(&self, t: Timestamp) -> bool {
        self.closed.is_some_and(|w| w.before(t))
    }

    /// Whether the item existed and was open at `t`.
    fn open_at(&self, t: Timestamp) -> bool {
        self.item.created_at < t && !self.closed_before(t)
    }
}

/// An item's triage decision (the module's notes): `None` without one,
/// `Some(None)` when it happened at a time not recorded. For `maturity`.
pub(crate) fn triage_decision(item: &ItemFacts) -> Option<Option<Timestamp>> {
    Norm::new(item).triaged.map(|w| match w {
        When::At(t) => Some(t),
        When::Undated => None,
    })
}

/// What one item of the window contributes at `to`.
struct Eval {
    triaged: bool,
    triage_days: Option<f64>,
    closed: bool,
    close_days: Option<f64>,
    breaches: usize,
}

/// Computes the analytics of `items` over `[from, to)`, with `weeks` weeks
/// (at most [`MAX_WEEKS`]) ending with the week that holds the last instant
/// before `to` (the last one cut at `to`). Never panics: `to <= from` gives
/// an empty window, `weeks = 0` no weeks.
pub fn analyze(
    items: &[ItemFacts],
    settings: &AnalyticsSettings,
    from: Timestamp,
    to: Timestamp,
    weeks: usize,
) -> Analytics {
    let cal = &settings.calendar;
    let sla = &settings.sla;
    let norms: Vec<Norm<'_>> = items.iter().map(Norm::new).collect();

    let mut window: Vec<(&Norm<'_>, Eval)> = Vec::new();
    let mut breaches: Vec<Breach> = Vec::new();
    for n in &norms {
        let created = n.item.created_at;
        if created < from || created >= to {
            continue;
        }
        let duration = |w: When| match w {
            When::At(x) => Some(cal.working_days(created, x)),
            When::Undated => None,
        };
        let so_far = cal.working_days(created, to);
        let triaged = n.triaged_before(to);
        let triage_days = n.triaged.filter(|_| triaged).and_then(duration);
        let closed = n.closed_before(to);
        let close_days = n.closed.filter(|_| closed).and_then(duration);
        let before = breaches.len();
        let mut breach = |kind, target: f64, done: bool, days: Option<f64>| {
            let (days, open) = if done {
                (days, false)
            } else {
                (Some(so_far), true)
            };
            if let Some(days) = days
                && days > target
            {
                breaches.push(Breach {
                    post_id: n.item.post_id.clone(),
                    title: n.item.title.clone(),
                    owner: n.item.owner.clone(),
                    major: n.item.major,
                    kind,
                    target_days: target,
                    days,
                    open,
                });
            }
        };
        breach(
            BreachKind::Triage,
            sla.triage_target(n.item.major),
            triaged,
            triage_days,
        );
        if let Some(target) = sla.close_days {
            breach(BreachKind::Close, target, closed, close_days);
        }
        let e = Eval {
            triaged,
            triage_days,
            closed,
            close_days,
            breaches: breaches.len() - before,
        };
        window.push((n, e));
    }
    breaches.sort_by(|a, b| {
        b.over()
            .total_cmp(&a.over())
            .then_with(|| a.post_id.cmp(&b.post_id))
            .then_with(|| a.kind.cmp(&b.kind))
    });

    let overall = stats(window.iter().map(|(_, e)| e));
    let by = Dimension::ALL
        .iter()
        .map(|d| (*d, breakdown(*d, &window)))
        .collect();

    Analytics {
        from,
        to,
        settings: settings.clone(),
        overall,
        by,
        weekly: weekly(&norms, cal, to, weeks),
        backlog: backlog(&norms, to),
        breaches,
    }
}

/// The figures of some items of the window.
fn stats<'a>(evals: impl Iterator<Item = &'a Eval>) -> Stats {
    let mut s = Stats::default();
    let mut triage = Vec::new();
    let mut close = Vec::new();
    for e in evals {
        s.items += 1;
        s.triaged += usize::from(e.triaged);
        s.closed += usize::from(e.closed);
        s.breaches += e.breaches;
        triage.extend(e.triage_days);
        close.extend(e.close_days);
    }
    s.open = s.items - s.closed;
    triage.sort_by(f64::total_cmp);
    close.sort_by(f64::total_cmp);
    s.triage_median = percentile(&triage, 50.0);
    s.triage_p90 = percentile(&triage, 90.0);
    s.close_median = percentile(&close, 50.0);
    s.close_p90 = percentile(&close, 90.0);
    s
}

/// The values of `item` in `d`: each once; none for a tenant group when
/// the item has none.
fn values(d: Dimension, item: &ItemFacts) -> BTreeSet<&str> {
    let named = |s: &&str| !s.trim().is_empty();
    match d {
        Dimension::Workload => {
            let set: BTreeSet<&str> = item
                .workloads
                .iter()
                .map(String::as_str)
                .filter(|s| named(s))
                .collect();
            if set.is_empty() {
                BTreeSet::from([NO_WORKLOAD])
            } else {
                set
            }
        }
        Dimension::Owner => BTreeSet::from([item
            .owner
            .as_deref()
            .filter(|s| named(s))
            .unwrap_or(UNASSIGNED)]),
        Dimension::TenantGroup => item
            .groups
            .iter()
            .map(String::as_str)
            .filter(|s| named(s))
            .collect(),
        Dimension::Category => BTreeSet::from([Some(item.category.as_str())
            .filter(|s| named(s))
            .unwrap_or(NONE)]),
        Dimension::Severity => BTreeSet::from([Some(item.severity.as_str())
            .filter(|s| named(s))
            .unwrap_or(NONE)]),
    }
}

/// The window's items by the values of `d`: most items first, then by name.
fn breakdown(d: Dimension, window: &[(&Norm<'_>, Eval)]) -> Vec<(String, Stats)> {
    let mut groups: BTreeMap<&str, Vec<&Eval>> = BTreeMap::new();
    for (n, e) in window {
        for v in values(d, n.item) {
            groups.entry(v).or_default().push(e);
        }
    }
    let mut out: Vec<(String, Stats)> = groups
        .into_iter()
        .map(|(name, evals)| (name.to_string(), stats(evals.into_iter())))
        .collect();
    out.sort_by(|a, b| b.1.items.cmp(&a.1.items).then_with(|| a.0.cmp(&b.0)));
    out
}

/// The Monday of `day`'s ISO week.
pub fn monday_of(day: Date) -> Date {
    let back = i64::from(day.weekday().number_days_from_monday());
    day.checked_sub(Duration::days(back)).unwrap_or(day)
}

fn midnight(day: Date) -> Timestamp {
    Timestamp::from_datetime(day.midnight().assume_utc())
}

/// The Mondays of `weeks` weeks (at most [`MAX_WEEKS`]), oldest first,
/// ending with the week that holds the last instant before `to`: a `to` at
/// Monday midnight ends the week before rather than opening an empty one.
pub(crate) fn week_mondays(to: Timestamp, weeks: usize) -> Vec<Date> {
    let n = weeks.min(MAX_WEEKS);
    if n == 0 {
        return Vec::new();
    }
    let last = to.saturating_add(Duration::microseconds(-1));
    let mut mondays = vec![monday_of(last.as_datetime().date())];
    while mondays.len() < n {
        match mondays
            .last()
            .and_then(|m| m.checked_sub(Duration::weeks(1)))
        {
            Some(m) => mondays.push(m),
            None => break,
        }
    }
    mondays.reverse();
    mondays
}

/// `weeks` weeks (at most [`MAX_WEEKS`]) ending with the week of the last
/// instant before `to`, the last one ending at `to`.
fn weekly(norms: &[Norm<'_>], cal: &WorkCalendar, to: Timestamp, weeks: usize) -> Vec<Week> {
    let mondays = week_mondays(to, weeks);
    if mondays.is_empty() {
        return Vec::new();
    }
    let starts: Vec<Timestamp> = mondays.iter().map(|d| midnight(*d)).collect();
    let mut ends: Vec<Timestamp> = starts.iter().skip(1).copied().collect();
    ends.push(to);
    let n = starts.len();

    // the week of instant t: the first whose end is after t, if it starts
    // at or before t
    let week_of = |t: Timestamp| {
        let i = ends.partition_point(|e| *e <= t);
        starts.get(i).filter(|s| **s <= t).map(|_| i)
    };
    let mut out: Vec<Week> = mondays
        .iter()
        .map(|d| Week {
            start: *d,
            new: 0,
            triaged: 0,
            closed: 0,
            backlog: 0,
            triage_median: None,
        })
        .collect();
    let mut triage_days: Vec<Vec<f64>> = vec![Vec::new(); n];
    // +1 where an item enters the backlog, -1 where it leaves
    let mut delta: Vec<i64> = vec![0; n + 1];
    for norm in norms {
        let created = norm.item.created_at;
        if let Some(w) = week_of(created).and_then(|i| out.get_mut(i)) {
            w.new += 1;
        }
        if let Some(When::At(t)) = norm.triaged
            && let Some(i) = week_of(t)
        {
            if let Some(w) = out.get_mut(i) {
                w.triaged += 1;
            }
            if let Some(v) = triage_days.get_mut(i) {
                v.push(cal.working_days(created, t));
            }
        }
        if let Some(When::At(t)) = norm.closed
            && let Some(w) = week_of(t).and_then(|i| out.get_mut(i))
        {
            w.closed += 1;
        }
        // open at the end of week i: created before it and not closed by it
        let enters = ends.partition_point(|e| *e <= created);
        let leaves = match norm.closed {
            None => n,
            Some(When::At(c)) => ends.partition_point(|e| *e <= c),
            Some(When::Undated) => enters,
        };
        if enters < leaves {
            if let Some(d) = delta.get_mut(enters) {
                *d += 1;
            }
            if let Some(d) = delta.get_mut(leaves) {
                *d -= 1;
            }
        }
    }
    let mut running = 0i64;
    for ((w, d), mut days) in out.iter_mut().zip(&delta).zip(triage_days) {
        running += d;
        w.backlog = usize::try_from(running).unwrap_or(0);
        days.sort_by(f64::total_cmp);
        w.triage_median = percentile(&days, 50.0);
    }
    out
}

/// The items open at `to`, and their ages.
fn backlog(norms: &[Norm<'_>], to: Timestamp) -> Backlog {
    let mut open: Vec<OpenItem> = norms
        .iter()
        .filter(|n| n.open_at(to))
        .map(|n| OpenItem {
            post_id: n.item.post_id.clone(),
            title: n.item.title.clone(),
            owner: n.item.owner.clone(),
            state: n.item.state,
            age_days: (to.as_datetime() - n.item.created_at.as_datetime()).as_seconds_f64()
                / SECONDS_PER_DAY,
        })
        .collect();
    let mut ages: Vec<(String, usize)> = AGE_BUCKETS
        .iter()
        .map(|(label, _)| ((*label).to_string(), 0))
        .collect();
    for item in &open {
        let bucket = AGE_BUCKETS
            .iter()
            .rposition(|(_, start)| item.age_days >= *start)
            .unwrap_or(0);
        if let Some((_, count)) = ages.get_mut(bucket) {
            *count += 1;
        }
    }
    open.sort_by(|a, b| {
        b.age_days
            .total_cmp(&a.age_days)
            .then_with(|| a.post_id.cmp(&b.post_id))
    });
    let count = open.len();
    open.truncate(OLDEST);
    Backlog {
        open: count,
        ages,
        oldest: open,
    }
}

pub mod briefing;
pub mod health;

#[cfg(test)]
mod tests;
