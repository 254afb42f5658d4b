//! The baseline: what Message Center held before changedesk first synced a
//! tenant.
//!
//! A first sync brings hundreds of posts at once, most of them history that
//! nobody could have acted on in changedesk. They are in the *baseline*
//! (which posts belong to it is the store's to say: those first seen by the
//! first load of the tenant that saw them first). Accepting the baseline is
//! one action of a change manager that closes the baseline's items nobody
//! needs to triage, so day one is not a thousand items awaiting triage:
//!
//! - an item still awaiting triage whose post has no decision deadline
//!   after it was first seen ([`PostDates::decision_deadline`]) is history:
//!   accepting closes it as `no_action_needed`, labelled `baseline`;
//! - one with such a deadline, ahead or already passed, is upcoming work or
//!   a real miss: it stays for triage;
//! - an item someone (or a rule) already triaged, dismissed or closed is
//!   left alone.

use super::action::{Action, transition};
use super::deadlines::{PostDates, awaiting_triage};
use super::item::{Decision, WorkItem};
use super::log::{Actor, LogEntry};
use crate::timestamp::Timestamp;

/// The label accepting the baseline adds.
pub const BASELINE_LABEL: &str = "baseline";

/// The reason recorded on each item the baseline closes.
pub const BASELINE_REASON: &str =
    "baseline: in Message Center before changedesk first synced its tenant, with no deadline since";

/// What accepting the baseline does with an item of the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineFate {
    /// History: closed as `no_action_needed`, labelled `baseline`.
    Close,
    /// A decision deadline after the post was first seen: upcoming work or
    /// a miss, kept for triage.
    Keep,
    /// Not awaiting triage: left alone.
    Untouched,
}

/// What accepting the baseline does with `item`, a baseline post's item.
pub fn baseline_fate(item: &WorkItem, dates: &PostDates) -> BaselineFate {
    if !awaiting_triage(item) {
        BaselineFate::Untouched
    } else if dates.decision_deadline().is_some() {
        BaselineFate::Keep
    } else {
        BaselineFate::Close
    }
}

/// Accepts the baseline for `item`, a baseline post's item: when its fate
/// is [`BaselineFate::Close`], closes it as `no_action_needed` with
/// [`BASELINE_REASON`] and adds [`BASELINE_LABEL`], by `actor`. Returns the
/// log entries, or `None` when nothing was done.
pub fn accept_baseline(
    item: &mut WorkItem,
    dates: &PostDates,
    actor: &Actor,
    now: Timestamp,
) -> Option<Vec<LogEntry>> {
    if baseline_fate(item, dates) != BaselineFate::Close {
        return None;
    }
    let close = Action::Close {
        decision: Decision::NoActionNeeded,
        reason: Some(BASELINE_REASON.to_string()),
    };
    // a `new` item may always be closed as no_action_needed
    let mut t = transition(item, close, actor, now).ok()?;
    let label = Action::AddLabel {
        label: BASELINE_LABEL.to_string(),
    };
    let labelled = transition(&t.item, label, actor, now).ok()?;
    t.entries.extend(labelled.entries);
    *item = labelled.item;
    Some(t.entries)
}
