//! Due dates, overdue items and missed posts: the one definition of each
//! of the inbox's counts, which the web UI, the API, the CLI, the agenda,
//! the store's filters and the notifications all use.
//!
//! - **Awaiting triage** ([`awaiting_triage`]): the item is `new`.
//! - **Changed since triage** ([`changed_since_triage`]): the item is open
//!   (`new`, `triaged`, `in_progress`) and its post changed in a way the
//!   reopen policy watches since someone last looked. A closed item whose
//!   post changes is the reopen policy's business: it reopens the item (and
//!   then it counts) or leaves the decision standing.
//! - **Missed**: the item is open and its post's decision deadline
//!   ([`PostDates::decision_deadline`]: the act-by date, else the rollout
//!   start — the body's timeline's earliest start, else Graph's
//!   `startDateTime`) is past. A deadline counts only when it lies after changedesk
//!   first saw the post: nobody could have acted on a post whose act-by date
//!   or rollout came before it reached changedesk, so a first sync (the
//!   baseline) never makes anything missed. Graph's `startDateTime` is often
//!   the publication date, before the post was first seen: it is no deadline.
//! - **Overdue**: the item's own due date is past, it is open and not missed.
//! - **Due soon**: the nearer of the due date and the decision deadline is
//!   within the window (14 days by default).
//!
//! "Past" means strictly after: at the very instant of a deadline the item
//! is due (`DueSoon(0)`), not late. Closed items are always `OnTrack`.
//! Missed takes precedence over overdue.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::action::{Action, transition, transition_for_tenants};
use super::common::duration_text;
use super::item::{Decision, ExceptionCount, TenantOverride, WorkItem};
use super::log::{Actor, LogEntry};
use crate::timestamp::Timestamp;

/// How far ahead "due soon" looks by default: 14 days.
pub const DUE_SOON_DAYS: i64 = 14;

/// The label [`auto_close_missed`] adds.
pub const MISSED_LABEL: &str = "missed";

/// Where an item stands against its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// Nothing due within the window, or the item is closed.
    OnTrack,
    /// A deadline within the window: the whole days left (0: within a day).
    DueSoon(u32),
    /// Past the item's due date since `since`, still open.
    Overdue { since: Timestamp },
    /// Past the act-by date (or rollout start) `since`, still open.
    Missed { since: Timestamp },
}

text_enum! {
    /// The kinds of [`DeadlineStatus`], for filters (`--deadline overdue`).
    pub enum DeadlineKind: "deadline status" {
        /// [`DeadlineStatus::OnTrack`].
        OnTrack => "on_track",
        /// [`DeadlineStatus::DueSoon`].
        DueSoon => "due_soon",
        /// [`DeadlineStatus::Overdue`].
        Overdue => "overdue",
        /// [`DeadlineStatus::Missed`].
        Missed => "missed",
    }
}

impl DeadlineStatus {
    /// Which kind of status this is.
    pub fn kind(&self) -> DeadlineKind {
        match self {
            DeadlineStatus::OnTrack => DeadlineKind::OnTrack,
            DeadlineStatus::DueSoon(_) => DeadlineKind::DueSoon,
            DeadlineStatus::Overdue { .. } => DeadlineKind::Overdue,
            DeadlineStatus::Missed { .. } => DeadlineKind::Missed,
        }
    }
}

impl fmt::Display for DeadlineStatus {
    /// `on track`, `due within a day`, `due in 3 days`, `overdue since
    /// 2025-03-01`, `missed since 2025-03-01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeadlineStatus::OnTrack => f.write_str("on track"),
            DeadlineStatus::DueSoon(0) => f.write_str("due within a day"),
            DeadlineStatus::DueSoon(1) => f.write_str("due in 1 day"),
            DeadlineStatus::DueSoon(n) => write!(f, "due in {n} days"),
            DeadlineStatus::Overdue { since } => write!(f, "overdue since {}", since.date()),
            DeadlineStatus::Missed { since } => write!(f, "missed since {}", since.date()),
        }
    }
}

/// The dates of a post its deadlines come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostDates {
    /// The post's act-by date.
    pub act_by: Option<Timestamp>,
    /// The rollout start: the earliest start of the timeline read from the
    /// body ([`crate::timeline::Timeline::rollout_start`]), else Graph's
    /// `startDateTime` (a rollout start, or often the publication).
    pub start: Option<Timestamp>,
    /// When changedesk first saw the post.
    pub first_seen: Timestamp,
}

impl PostDates {
    /// The deadline by which a decision is needed: the act-by date, else
    /// the rollout start, each only when it lies after the post was first
    /// seen (see the module's definitions).
    pub fn decision_deadline(&self) -> Option<Timestamp> {
        [self.act_by, self.start]
            .into_iter()
            .flatten()
            .find(|d| *d > self.first_seen)
    }
}

/// Whether `item` awaits triage: it is `new`.
pub fn awaiting_triage(item: &WorkItem) -> bool {
    item.state == super::item::State::New
}

/// Whether `item` counts as changed since triage: open, with changes
/// flagged.
pub fn changed_since_triage(item: &WorkItem) -> bool {
    !item.state.is_closed() && !item.changed_since_triage.is_empty()
}

/// Where `item` stands at `now`, looking [`DUE_SOON_DAYS`] ahead.
pub fn deadline_status(item: &WorkItem, dates: &PostDates, now: Timestamp) -> DeadlineStatus {
    deadline_status_within(item, dates, now, time::Duration::days(DUE_SOON_DAYS))
}

/// As [`deadline_status`], looking `window` ahead.
pub fn deadline_status_within(
    item: &WorkItem,
    dates: &PostDates,
    now: Timestamp,
    window: time::Duration,
) -> DeadlineStatus {
    if item.state.is_closed() {
        return DeadlineStatus::OnTrack;
    }
    let deadline = dates.decision_deadline();
    if let Some(d) = deadline
        && now > d
    {
        return DeadlineStatus::Missed { since: d };
    }
    if let Some(due) = item.due
        && now > due
    {
        return DeadlineStatus::Overdue { since: due };
    }
    match [item.due, deadline].into_iter().flatten().min() {
        Some(next) => {
            let left = next.as_datetime() - now.as_datetime();
            if left <= window {
                let days = u32::try_from(left.whole_days().max(0)).unwrap_or(u32::MAX);
                DeadlineStatus::DueSoon(days)
            } else {
                DeadlineStatus::OnTrack
            }
        }
        None => DeadlineStatus::OnTrack,
    }
}

/// Where `item` stands at `now` for each of `tenants` (the tenants that see
/// its post): a tenant with an exception by its own state and due date, a
/// tenant for which the post is not applicable on track, the others by the
/// item's own. Returns the most urgent status (missed, then overdue, then
/// due soon, the earliest first) and the tenants where it holds; without
/// exceptions, the item's own status and every tenant. `unnamed` more
/// tenants see the post without an exception (the item's own status holds
/// for them too): weighed, though not in the list returned.
pub fn deadline_status_for_tenants(
    item: &WorkItem,
    dates: &PostDates,
    tenants: &[String],
    unnamed: usize,
    now: Timestamp,
) -> (DeadlineStatus, Vec<String>) {
    let shared = deadline_status(item, dates, now);
    if item.overrides.is_empty() {
        return (shared, tenants.to_vec());
    }
    let others = (unnamed > 0).then_some(shared);
    // each tenant beside its exception (the store names them in order):
    // found once, by a walk, not searched for twice
    let each: Vec<(&str, DeadlineStatus)> = item
        .overrides_along(tenants.iter().map(String::as_str))
        .map(|(t, o)| match o {
            None => (t, shared),
            Some(o) => (t, status_with_exception(item, o, dates, now)),
        })
        .collect();
    let worst = each
        .iter()
        .map(|(_, s)| s)
        .chain(others.as_ref())
        .max_by_key(|s| urgency(s))
        .copied()
        .unwrap_or(shared);
    let at = each
        .iter()
        .filter(|(_, s)| s.kind() == worst.kind())
        .map(|(t, _)| (*t).to_string())
        .collect();
    (worst, at)
}

/// The status of [`deadline_status_for_tenants`] (the most urgent in force
/// for any tenant that sees the post), from exceptions counted instead of
/// named: `counted` are the exceptions in force, each for its `tenants`
/// tenants, and the item itself holds for `unnamed` more. What the store's
/// counted item lists give (an MSP's items have hundreds of exceptions,
/// most alike): each distinct exception's status is computed once.
pub fn deadline_status_counted(
    item: &WorkItem,
    dates: &PostDates,
    counted: &[ExceptionCount],
    unnamed: usize,
    now: Timestamp,
) -> DeadlineStatus {
    let shared = deadline_status(item, dates, now);
    let held: Vec<&ExceptionCount> = counted.iter().filter(|c| c.tenants > 0).collect();
    if held.is_empty() {
        return shared;
    }
    held.iter()
        .map(|c| status_with_exception(item, &c.exception, dates, now))
        .chain((unnamed > 0).then_some(shared))
        .max_by_key(urgency)
        .unwrap_or(shared)
}

/// What is in force for a tenant with exception `o`: its own state and due
/// date over the item's; nothing to decide where the post does not apply.
fn status_with_exception(
    item: &WorkItem,
    o: &TenantOverride,
    dates: &PostDates,
    now: Timestamp,
) -> DeadlineStatus {
    if o.applicable == Some(false) {
        DeadlineStatus::OnTrack
    } else {
        deadline_status(&item.with_override(Some(o)), dates, now)
    }
}

/// How urgent a status is: missed over overdue over due soon over on
/// track; within one, the longer missed or overdue, the sooner due.
fn urgency(s: &DeadlineStatus) -> (u8, i64) {
    match s {
        DeadlineStatus::Missed { since } => (3, -since.unix_seconds()),
        DeadlineStatus::Overdue { since } => (2, -since.unix_seconds()),
        DeadlineStatus::DueSoon(days) => (1, -i64::from(*days)),
        DeadlineStatus::OnTrack => (0, 0),
    }
}

/// Whether missed items close themselves, and how long after the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissedPolicy {
    /// Off by default: missed items stay open for the review meeting.
    #[serde(default)]
    pub auto_close: bool,
    /// How long after the deadline an item closes (`7d` by default; text
    /// such as `7d`, `1d12h`).
    #[serde(default = "default_grace", with = "duration_text")]
    pub grace: time::Duration,
}

fn default_grace() -> time::Duration {
    time::Duration::days(7)
}

impl Default for MissedPolicy {
    fn default() -> Self {
        MissedPolicy {
            auto_close: false,
            grace: default_grace(),
        }
    }
}

/// Closes a missed item when the policy says so: once `now` is more than
/// `grace` past the act-by date (or rollout start) and the item is still
/// open, it is closed with the decision `missed`, labelled `missed`, by
/// `system`. Per tenant: the shared state closes when it is open, and so
/// does each tenant's own open state (for which the post applies), so a
/// tenant whose exception says "in progress" is not left open past the
/// deadline because the shared decision was taken. Returns the log
/// entries (a tenant's about its tenant), or `None` when nothing was done.
pub fn auto_close_missed(
    item: &mut WorkItem,
    dates: &PostDates,
    policy: &MissedPolicy,
    now: Timestamp,
) -> Option<Vec<LogEntry>> {
    if !policy.auto_close {
        return None;
    }
    let since = dates.decision_deadline().filter(|d| now > *d)?;
    let grace = if policy.grace.is_negative() {
        time::Duration::ZERO
    } else {
        policy.grace
    };
    if now <= since.saturating_add(grace) {
        return None;
    }
    let what = if dates.act_by == Some(since) {
        "the act-by date"
    } else {
        "the rollout start"
    };
    let close = Action::Close {
        decision: Decision::Missed,
        reason: Some(format!("{what} {} passed without a decision", since.date())),
    };
    let mut next = item.clone();
    let mut entries = Vec::new();
    if next.state.is_open() {
        // every open state allows closing as missed
        let t = transition(&next, close.clone(), &Actor::System, now).ok()?;
        next = t.item;
        entries = t.entries;
    }
    let open_own: Vec<String> = next
        .overrides
        .iter()
        .filter(|o| o.applicable != Some(false) && o.state.is_some_and(|s| s.is_open()))
        .map(|o| o.tenant.clone())
        .collect();
    if !open_own.is_empty() {
        let t = transition_for_tenants(&next, close, &open_own, &Actor::System, now).ok()?;
        next = t.transition.item;
        entries.extend(t.transition.entries);
    }
    if entries.is_empty() {
        return None;
    }
    let label = Action::AddLabel {
        label: MISSED_LABEL.to_string(),
    };
    let labelled = transition(&next, label, &Actor::System, now).ok()?;
    entries.extend(labelled.entries);
    *item = labelled.item;
    Some(entries)
}
