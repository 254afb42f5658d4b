//! Deadline statuses at their boundaries, and closing missed items.

use super::*;

fn status(
    state: State,
    due: Option<Timestamp>,
    act_by: Option<Timestamp>,
    start: Option<Timestamp>,
    now: Timestamp,
) -> DeadlineStatus {
    let mut item = item_in(state);
    item.due = due;
    deadline_status(&item, &dates(act_by, start), now)
}

/// Dates of a post first seen long before every date of the tests.
fn dates(act_by: Option<Timestamp>, start: Option<Timestamp>) -> PostDates {
    PostDates {
        act_by,
        start,
        first_seen: days(-1000),
    }
}

/// `(label, state, due, act_by, start, now, expected)`
type Case = (
    &'static str,
    State,
    Option<Timestamp>,
    Option<Timestamp>,
    Option<Timestamp>,
    Timestamp,
    DeadlineStatus,
);

#[test]
fn statuses_at_their_boundaries() {
    use DeadlineStatus::*;
    let d = t0();
    let second = time::Duration::seconds(1);
    let before = d.saturating_add(-second);
    let after = d.saturating_add(second);
    let cases: Vec<Case> = vec![
        ("nothing set", State::Triaged, None, None, None, d, OnTrack),
        // act-by
        (
            "act-by far away",
            State::New,
            None,
            Some(days(15)),
            None,
            d,
            OnTrack,
        ),
        (
            "act-by just beyond the window",
            State::New,
            None,
            Some(days(14).saturating_add(second)),
            None,
            d,
            OnTrack,
        ),
        (
            "act-by exactly 14 days away",
            State::New,
            None,
            Some(days(14)),
            None,
            d,
            DueSoon(14),
        ),
        (
            "act-by in 13.5 days",
            State::New,
            None,
            Some(hours(13 * 24 + 12)),
            None,
            d,
            DueSoon(13),
        ),
        (
            "act-by in an hour",
            State::Triaged,
            None,
            Some(hours(1)),
            None,
            d,
            DueSoon(0),
        ),
        (
            "at the act-by instant",
            State::InProgress,
            None,
            Some(d),
            None,
            d,
            DueSoon(0),
        ),
        (
            "a second past act-by",
            State::InProgress,
            None,
            Some(d),
            None,
            after,
            Missed { since: d },
        ),
        (
            "act-by passed, new",
            State::New,
            None,
            Some(d),
            None,
            days(3),
            Missed { since: d },
        ),
        // start stands in for act-by only when there is none
        (
            "start passed, no act-by",
            State::Triaged,
            None,
            None,
            Some(d),
            after,
            Missed { since: d },
        ),
        (
            "start passed, act-by ahead",
            State::Triaged,
            None,
            Some(days(30)),
            Some(d),
            after,
            OnTrack,
        ),
        (
            "start soon, no act-by",
            State::Triaged,
            None,
            None,
            Some(days(2)),
            d,
            DueSoon(2),
        ),
        // due date
        (
            "due in 3 days",
            State::Triaged,
            Some(days(3)),
            None,
            None,
            d,
            DueSoon(3),
        ),
        (
            "at the due instant",
            State::Triaged,
            Some(d),
            None,
            None,
            d,
            DueSoon(0),
        ),
        (
            "a second past due",
            State::InProgress,
            Some(d),
            None,
            None,
            after,
            Overdue { since: d },
        ),
        (
            "due passed, act-by ahead",
            State::InProgress,
            Some(before),
            Some(days(20)),
            None,
            d,
            Overdue { since: before },
        ),
        // the nearer deadline counts
        (
            "due sooner than act-by",
            State::Triaged,
            Some(days(2)),
            Some(days(10)),
            None,
            d,
            DueSoon(2),
        ),
        (
            "act-by sooner than due",
            State::Triaged,
            Some(days(20)),
            Some(days(5)),
            None,
            d,
            DueSoon(5),
        ),
        // missed beats overdue
        (
            "both passed",
            State::Triaged,
            Some(before),
            Some(d),
            None,
            days(1),
            Missed { since: d },
        ),
        // closed items have nothing pending
        (
            "done, act-by passed",
            State::Done,
            Some(before),
            Some(before),
            None,
            days(1),
            OnTrack,
        ),
        (
            "dismissed, act-by passed",
            State::Dismissed,
            None,
            Some(before),
            None,
            days(1),
            OnTrack,
        ),
    ];
    for (label, state, due, act_by, start, now, want) in cases {
        assert_eq!(status(state, due, act_by, start, now), want, "{label}");
    }
}

#[test]
fn statuses_read_well_and_have_kinds() {
    use DeadlineStatus::*;
    let d = at("2025-03-01T00:00:00Z");
    assert_eq!(OnTrack.to_string(), "on track");
    assert_eq!(DueSoon(0).to_string(), "due within a day");
    assert_eq!(DueSoon(1).to_string(), "due in 1 day");
    assert_eq!(DueSoon(9).to_string(), "due in 9 days");
    assert_eq!(Overdue { since: d }.to_string(), "overdue since 2025-03-01");
    assert_eq!(Missed { since: d }.to_string(), "missed since 2025-03-01");
    assert_eq!(Missed { since: d }.kind(), DeadlineKind::Missed);
    assert_eq!(
        "due-soon".parse::<DeadlineKind>().unwrap(),
        DeadlineKind::DueSoon
    );
    assert_eq!(
        "late".parse::<DeadlineKind>().unwrap_err().to_string(),
        "unknown deadline status `late` (expected one of: on_track, due_soon, overdue, missed)"
    );
    let json = serde_json::to_value(Overdue { since: d }).unwrap();
    assert_eq!(json["overdue"]["since"], "2025-03-01T00:00:00.000000Z");
    assert_eq!(serde_json::to_value(DueSoon(3)).unwrap()["due_soon"], 3);
    let window = deadline_status_within(
        &item_in(State::New),
        &dates(Some(days(20)), None),
        t0(),
        time::Duration::days(30),
    );
    assert_eq!(window, DueSoon(20));
}

fn policy(grace_days: i64) -> MissedPolicy {
    MissedPolicy {
        auto_close: true,
        grace: time::Duration::days(grace_days),
    }
}

#[test]
fn auto_close_respects_the_policy_and_the_grace_period() {
    let act_by = Some(t0());
    let second = time::Duration::seconds(1);
    for state in [State::New, State::Triaged, State::InProgress] {
        let mut item = item_in(state);
        // off
        assert_eq!(
            auto_close_missed(
                &mut item,
                &dates(act_by, None),
                &MissedPolicy::default(),
                days(30)
            ),
            None
        );
        // within the grace period, at its very end
        assert_eq!(
            auto_close_missed(&mut item, &dates(act_by, None), &policy(7), days(7)),
            None,
            "{state}"
        );
        assert_eq!(item.state, state);
        // just past it
        let now = days(7).saturating_add(second);
        let entries = auto_close_missed(&mut item, &dates(act_by, None), &policy(7), now).unwrap();
        assert_eq!(item.state, State::Done, "{state}");
        assert_eq!(item.decision, Some(Decision::Missed));
        assert!(item.labels.contains(MISSED_LABEL));
        assert_eq!(item.closed_at, Some(now));
        let shape: Vec<(LogAction, Option<&str>, Option<&str>)> = entries
            .iter()
            .map(|e| (e.action, e.field.as_deref(), e.new.as_deref()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (LogAction::Close, Some("state"), Some("done")),
                (LogAction::Close, Some("decision"), Some("missed")),
                (LogAction::AddLabel, Some("labels"), Some("missed")),
            ]
        );
        assert!(
            entries
                .iter()
                .all(|e| e.actor == Actor::System && e.at == now)
        );
        assert_eq!(
            entries[1].reason.as_deref(),
            Some("the act-by date 2025-03-03 passed without a decision")
        );
        // closed now: nothing more
        assert_eq!(
            auto_close_missed(&mut item, &dates(act_by, None), &policy(0), days(60)),
            None
        );
    }
}

#[test]
fn auto_close_uses_the_start_without_act_by_and_skips_closed_items() {
    let mut item = item_in(State::Triaged);
    item.labels.insert(MISSED_LABEL.to_string());
    let entries =
        auto_close_missed(&mut item, &dates(None, Some(t0())), &policy(0), hours(1)).unwrap();
    // the label was there already: no label entry
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[1].reason.as_deref(),
        Some("the rollout start 2025-03-03 passed without a decision")
    );
    // not missed yet
    let mut item = item_in(State::Triaged);
    assert_eq!(
        auto_close_missed(&mut item, &dates(Some(days(1)), None), &policy(0), t0()),
        None
    );
    assert_eq!(
        auto_close_missed(&mut item, &dates(None, None), &policy(0), days(100)),
        None
    );
    // dismissed items are not missed
    let mut item = item_in(State::Dismissed);
    assert_eq!(
        auto_close_missed(&mut item, &dates(Some(t0()), None), &policy(0), days(9)),
        None
    );
    // a negative grace counts as none
    let mut item = item_in(State::New);
    let neg = MissedPolicy {
        auto_close: true,
        grace: time::Duration::days(-3),
    };
    assert!(auto_close_missed(&mut item, &dates(Some(t0()), None), &neg, hours(1)).is_some());
}

/// Per tenant: a tenant's own open state past the deadline closes as
/// missed too, whether the shared state is open (both close) or closed
/// already (only the tenant's); a tenant for which the post does not
/// apply, or whose own state is closed, is left as it is.
#[test]
fn auto_close_closes_each_tenants_own_open_state() {
    let who = Actor::person("alice").unwrap();
    let tenants = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let shared_done = {
        let item = item_in(State::InProgress);
        let t = transition_for_tenants(&item, Action::Start, &tenants(&["gamma"]), &who, t0());
        assert!(t.is_err(), "already in progress: {t:?}");
        let close = Action::Close {
            decision: Decision::Actioned,
            reason: None,
        };
        let mut item = transition(&item, close, &who, t0()).unwrap().item;
        // gamma reopens for itself; delta does not apply; epsilon,
        // reopened, is dismissed for itself
        for (action, names) in [
            (
                Action::Reopen {
                    reason: "gamma still works on it".into(),
                },
                &["gamma", "epsilon"][..],
            ),
            (
                Action::Dismiss {
                    reason: "not licensed".into(),
                },
                &["epsilon"][..],
            ),
        ] {
            item = transition_for_tenants(&item, action, &tenants(names), &who, t0())
                .unwrap()
                .transition
                .item;
        }
        let not_applicable = Action::SetOverride {
            tenant: "delta".into(),
            applicable: Some(false),
            assignee: None,
            due: None,
            note: None,
        };
        transition(&item, not_applicable, &who, t0()).unwrap().item
    };
    assert!(shared_done.state.is_closed());
    assert!(shared_done.is_open_for("gamma"), "{shared_done:?}");
    let now = days(8);
    let mut item = shared_done.clone();
    let entries = auto_close_missed(&mut item, &dates(Some(t0()), None), &policy(7), now).unwrap();
    // the shared decision stands; gamma's own state closed as missed
    assert_eq!(item.decision, Some(Decision::Actioned));
    assert_eq!(item.state_for("gamma"), State::Done);
    assert_eq!(item.decision_for("gamma"), Some(Decision::Missed));
    assert!(!item.is_open_for("gamma"));
    assert_eq!(item.state_for("epsilon"), State::Dismissed);
    assert_eq!(item.decision_for("alpha"), Some(Decision::Actioned));
    assert!(item.labels.contains(MISSED_LABEL));
    let gamma = LogScope::Tenant("gamma".into());
    let about: Vec<(&LogScope, Option<&str>)> = entries
        .iter()
        .map(|e| (&e.scope, e.new.as_deref()))
        .collect();
    assert_eq!(
        about,
        vec![
            (&gamma, Some("done")),
            (&gamma, Some("missed")),
            (&LogScope::Post, Some("missed")),
        ]
    );
    // nothing open any more: nothing to do
    assert_eq!(
        auto_close_missed(&mut item, &dates(Some(t0()), None), &policy(7), days(30)),
        None
    );

    // the shared state open too: both close, and gamma, missed like the
    // others, follows the shared state again
    let mut item = item_in(State::Triaged);
    item = transition_for_tenants(&item, Action::Start, &tenants(&["gamma"]), &who, t0())
        .unwrap()
        .transition
        .item;
    let entries = auto_close_missed(&mut item, &dates(Some(t0()), None), &policy(7), now).unwrap();
    assert_eq!(
        (item.state, item.decision),
        (State::Done, Some(Decision::Missed))
    );
    assert!(item.overrides.is_empty(), "{:?}", item.overrides);
    assert!(entries.iter().any(|e| e.scope == gamma));
    // within the grace period, nothing
    let mut item = shared_done;
    assert_eq!(
        auto_close_missed(&mut item, &dates(Some(t0()), None), &policy(7), days(7)),
        None
    );
}

#[test]
fn the_missed_policy_reads_durations_as_text() {
    let p: MissedPolicy = serde_json::from_str(r#"{"auto_close":true,"grace":"1d12h"}"#).unwrap();
    assert_eq!(p.grace, time::Duration::hours(36));
    let json = serde_json::to_value(p).unwrap();
    assert_eq!(json["grace"], "1d12h");
    let d: MissedPolicy = serde_json::from_str("{}").unwrap();
    assert_eq!(d, MissedPolicy::default());
    assert_eq!(d.grace, time::Duration::days(7));
    assert!(!d.auto_close);
    let e = serde_json::from_str::<MissedPolicy>(r#"{"grace":"soon"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`soon` is not a duration"), "{e}");
}

#[test]
fn a_deadline_counts_only_after_the_post_was_first_seen() {
    let item = item_in(State::New);
    let at = |act_by: Option<i64>, start: Option<i64>, first_seen: i64| PostDates {
        act_by: act_by.map(days),
        start: start.map(days),
        first_seen: days(first_seen),
    };
    // the act-by date, else the start, each only when after the first sighting
    assert_eq!(at(Some(5), Some(9), 0).decision_deadline(), Some(days(5)));
    assert_eq!(at(None, Some(9), 0).decision_deadline(), Some(days(9)));
    assert_eq!(at(Some(-5), Some(9), 0).decision_deadline(), Some(days(9)));
    assert_eq!(at(Some(-5), Some(-9), 0).decision_deadline(), None);
    // a start at the very instant of the first sighting is the publication
    assert_eq!(at(None, Some(0), 0).decision_deadline(), None);
    // posts whose dates came before changedesk saw them are never missed:
    // the first sync (the baseline) has nothing missed
    for dates in [
        at(Some(-5), None, 0),
        at(None, Some(-30), 0),
        at(Some(-1), Some(0), 0),
    ] {
        assert_eq!(
            deadline_status(&item, &dates, days(100)),
            DeadlineStatus::OnTrack,
            "{dates:?}"
        );
    }
    // a deadline after the first sighting, passed: missed
    assert_eq!(
        deadline_status(&item, &at(Some(5), None, 0), days(6)),
        DeadlineStatus::Missed { since: days(5) }
    );
    // an item's own due date still makes it overdue
    let mut due = item_in(State::Triaged);
    due.due = Some(days(1));
    assert_eq!(
        deadline_status(&due, &at(Some(-5), None, 0), days(2)),
        DeadlineStatus::Overdue { since: days(1) }
    );
}

#[test]
fn awaiting_triage_and_changed_since_triage() {
    for state in State::ALL {
        let mut item = item_in(*state);
        assert_eq!(awaiting_triage(&item), *state == State::New);
        assert!(!changed_since_triage(&item), "{state}: nothing flagged");
        item.changed_since_triage = vec!["act_by".into()];
        assert_eq!(changed_since_triage(&item), !state.is_closed(), "{state}");
    }
}

#[test]
fn accepting_the_baseline_closes_history_and_keeps_what_needs_a_decision() {
    let manager = Actor::Person("manager".into());
    let at = |act_by: Option<i64>, start: Option<i64>| PostDates {
        act_by: act_by.map(days),
        start: start.map(days),
        first_seen: days(0),
    };
    // history: no deadline after the first sighting
    for dates in [at(None, None), at(Some(-3), Some(-40)), at(None, Some(0))] {
        let mut item = item_in(State::New);
        assert_eq!(baseline_fate(&item, &dates), BaselineFate::Close);
        let entries = accept_baseline(&mut item, &dates, &manager, days(2)).unwrap();
        assert_eq!(item.state, State::Done);
        assert_eq!(item.decision, Some(Decision::NoActionNeeded));
        assert!(item.labels.contains(BASELINE_LABEL));
        assert_eq!(entries.len(), 3, "{entries:?}");
        assert!(entries.iter().all(|e| e.actor == manager));
        assert!(
            entries
                .iter()
                .any(|e| e.reason.as_deref() == Some(BASELINE_REASON))
        );
        // accepting again does nothing
        assert_eq!(accept_baseline(&mut item, &dates, &manager, days(3)), None);
    }
    // upcoming work, or a deadline already missed after the first sighting
    for dates in [at(Some(30), None), at(None, Some(9)), at(Some(1), None)] {
        let mut item = item_in(State::New);
        assert_eq!(baseline_fate(&item, &dates), BaselineFate::Keep);
        assert_eq!(accept_baseline(&mut item, &dates, &manager, days(2)), None);
        assert_eq!(item.state, State::New);
    }
    // triaged, dismissed or closed items are left alone
    for state in State::ALL.iter().filter(|s| **s != State::New) {
        let mut item = item_in(*state);
        assert_eq!(
            baseline_fate(&item, &at(None, None)),
            BaselineFate::Untouched
        );
        assert_eq!(
            accept_baseline(&mut item, &at(None, None), &manager, days(2)),
            None
        );
        assert_eq!(item.state, *state);
    }
}

#[test]
fn each_tenant_is_weighed_by_what_is_in_force_for_it() {
    let tenants = strings(&["a", "b", "c", "d"]);
    let now = days(10);
    // no exception: the item's own status, for every tenant
    let mut item = item_in(State::Triaged);
    item.due = Some(days(40));
    let (s, at) = deadline_status_for_tenants(&item, &dates(None, None), &tenants, 0, now);
    assert_eq!(s, DeadlineStatus::OnTrack);
    assert_eq!(at, tenants);
    // b's own due date is past, c's is closer past, d does not apply: the
    // most urgent status (the earliest overdue), for the tenants it holds for
    item.overrides = vec![
        TenantOverride {
            due: Some(days(5)),
            ..TenantOverride::empty("b")
        },
        TenantOverride {
            due: Some(days(8)),
            ..TenantOverride::empty("c")
        },
        TenantOverride {
            applicable: Some(false),
            due: Some(days(1)),
            ..TenantOverride::empty("d")
        },
    ];
    let (s, at) = deadline_status_for_tenants(&item, &dates(None, None), &tenants, 0, now);
    assert_eq!(s, DeadlineStatus::Overdue { since: days(5) });
    assert_eq!(at, strings(&["b", "c"]));
    // a missed decision deadline outranks an overdue date
    let (s, at) = deadline_status_for_tenants(&item, &dates(Some(days(9)), None), &tenants, 0, now);
    assert!(matches!(s, DeadlineStatus::Missed { .. }), "{s:?}");
    assert_eq!(at, strings(&["a", "b", "c"]), "d does not apply");
    // the same tenants with only those with an exception named: the others
    // (here a) are weighed by the item's own status, not named
    let named = strings(&["b", "c", "d"]);
    let (s, at) = deadline_status_for_tenants(&item, &dates(None, None), &named, 1, now);
    assert_eq!(s, DeadlineStatus::Overdue { since: days(5) });
    assert_eq!(at, strings(&["b", "c"]));
    let (s, at) = deadline_status_for_tenants(&item, &dates(Some(days(9)), None), &named, 1, now);
    assert!(matches!(s, DeadlineStatus::Missed { .. }), "{s:?}");
    assert_eq!(at, strings(&["b", "c"]), "a holds it too, unnamed");
    // only the unnamed tenants late: their status, no tenant named
    item.due = Some(days(2));
    item.overrides = vec![TenantOverride {
        due: Some(days(40)),
        ..TenantOverride::empty("b")
    }];
    let (s, at) = deadline_status_for_tenants(&item, &dates(None, None), &named[..1], 3, now);
    assert_eq!(s, DeadlineStatus::Overdue { since: days(2) });
    assert!(at.is_empty(), "{at:?}");
}

/// The exceptions of `item` for `tenants`, counted by what they override
/// (as the store's counted lists give them), and how many tenants have none.
fn counted_for(item: &WorkItem, tenants: &[String]) -> (Vec<ExceptionCount>, usize) {
    let mut counted: Vec<ExceptionCount> = Vec::new();
    let mut unnamed = 0;
    for (_, o) in item.overrides_along(tenants.iter().map(String::as_str)) {
        let Some(o) = o else {
            unnamed += 1;
            continue;
        };
        let key = TenantOverride {
            tenant: String::new(),
            ..o.clone()
        };
        match counted.iter_mut().find(|c| c.exception == key) {
            Some(c) => c.tenants += 1,
            None => counted.push(ExceptionCount {
                exception: key,
                tenants: 1,
            }),
        }
    }
    (counted, unnamed)
}

#[test]
fn counted_exceptions_weigh_as_named_ones() {
    let tenants = strings(&["a", "b", "c", "d", "e"]);
    let exceptions = [
        TenantOverride {
            due: Some(days(5)),
            ..TenantOverride::empty("b")
        },
        TenantOverride {
            due: Some(days(5)),
            ..TenantOverride::empty("c")
        },
        TenantOverride {
            applicable: Some(false),
            due: Some(days(1)),
            ..TenantOverride::empty("d")
        },
        TenantOverride {
            state: Some(State::Done),
            ..TenantOverride::empty("e")
        },
        TenantOverride {
            state: Some(State::InProgress),
            due: Some(days(12)),
            ..TenantOverride::empty("a")
        },
    ];
    let mut compared = 0;
    // every subset of the exceptions, on items open and closed, late or
    // not, with and without a decision deadline
    for mask in 0u32..(1 << exceptions.len()) {
        for (state, due) in [
            (State::Triaged, None),
            (State::Triaged, Some(days(2))),
            (State::New, Some(days(30))),
            (State::Done, None),
        ] {
            let mut item = item_in(state);
            item.due = due;
            item.overrides = exceptions
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, o)| o.clone())
                .collect();
            item.overrides.sort_by(|a, b| a.tenant.cmp(&b.tenant));
            for d in [
                dates(None, None),
                dates(Some(days(9)), None),
                dates(Some(days(20)), None),
            ] {
                for now in [days(3), days(10), days(15)] {
                    let (named, _) = deadline_status_for_tenants(&item, &d, &tenants, 0, now);
                    let (counted, unnamed) = counted_for(&item, &tenants);
                    let mut bare = item.clone();
                    bare.overrides.clear();
                    let got = deadline_status_counted(&bare, &d, &counted, unnamed, now);
                    assert_eq!(
                        got.kind(),
                        named.kind(),
                        "{mask:b} {state:?} {due:?} {d:?} {now:?}"
                    );
                    assert_eq!(got, named, "{mask:b} {state:?} {due:?} {d:?} {now:?}");
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 32 * 4 * 3 * 3);
}
