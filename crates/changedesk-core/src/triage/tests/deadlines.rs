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
    deadline_status(&item, act_by, start, now)
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
        Some(days(20)),
        None,
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
            auto_close_missed(&mut item, act_by, None, &MissedPolicy::default(), days(30)),
            None
        );
        // within the grace period, at its very end
        assert_eq!(
            auto_close_missed(&mut item, act_by, None, &policy(7), days(7)),
            None,
            "{state}"
        );
        assert_eq!(item.state, state);
        // just past it
        let now = days(7).saturating_add(second);
        let entries = auto_close_missed(&mut item, act_by, None, &policy(7), now).unwrap();
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
            auto_close_missed(&mut item, act_by, None, &policy(0), days(60)),
            None
        );
    }
}

#[test]
fn auto_close_uses_the_start_without_act_by_and_skips_closed_items() {
    let mut item = item_in(State::Triaged);
    item.labels.insert(MISSED_LABEL.to_string());
    let entries = auto_close_missed(&mut item, None, Some(t0()), &policy(0), hours(1)).unwrap();
    // the label was there already: no label entry
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[1].reason.as_deref(),
        Some("the rollout start 2025-03-03 passed without a decision")
    );
    // not missed yet
    let mut item = item_in(State::Triaged);
    assert_eq!(
        auto_close_missed(&mut item, Some(days(1)), None, &policy(0), t0()),
        None
    );
    assert_eq!(
        auto_close_missed(&mut item, None, None, &policy(0), days(100)),
        None
    );
    // dismissed items are not missed
    let mut item = item_in(State::Dismissed);
    assert_eq!(
        auto_close_missed(&mut item, Some(t0()), None, &policy(0), days(9)),
        None
    );
    // a negative grace counts as none
    let mut item = item_in(State::New);
    let neg = MissedPolicy {
        auto_close: true,
        grace: time::Duration::days(-3),
    };
    assert!(auto_close_missed(&mut item, Some(t0()), None, &neg, hours(1)).is_some());
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
