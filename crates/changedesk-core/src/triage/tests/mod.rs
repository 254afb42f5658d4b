//! Tests of the triage domain across modules.

mod agenda;
mod deadlines;
mod ownership;
mod props;
mod revision;
mod transitions;

use super::*;
use crate::timestamp::Timestamp;

/// 2025-03-03 09:00 UTC, a Monday.
pub(super) fn t0() -> Timestamp {
    at("2025-03-03T09:00:00Z")
}

pub(super) fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("test timestamp")
}

/// `t0` moved by `hours`.
pub(super) fn hours(h: i64) -> Timestamp {
    t0().saturating_add(time::Duration::hours(h))
}

/// `t0` moved by `days`.
pub(super) fn days(d: i64) -> Timestamp {
    t0().saturating_add(time::Duration::days(d))
}

pub(super) fn alice() -> Actor {
    Actor::Person("alice".into())
}

/// A `MC1` item brought to `state` through actions at `t0` (`done` through
/// triage; `dismissed` straight from `new`).
pub(super) fn item_in(state: State) -> WorkItem {
    let mut item = WorkItem::new("MC1", days(-10));
    let steps: Vec<Action> = match state {
        State::New => vec![],
        State::Triaged => vec![Action::Triage],
        State::InProgress => vec![Action::Triage, Action::Start],
        State::Done => vec![
            Action::Triage,
            Action::Close {
                decision: Decision::Actioned,
                reason: None,
            },
        ],
        State::Dismissed => vec![Action::Dismiss {
            reason: "not licensed".into(),
        }],
    };
    for a in steps {
        item.apply(a, &alice(), t0()).expect("setup step");
    }
    assert_eq!(item.state, state);
    item
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
