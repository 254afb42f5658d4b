//! The executive and weekly reports' own figures on hand-computed
//! fixtures: every expected figure is worked out in a comment.

use super::*;
use crate::metrics::WorkFacts;
use crate::triage::{Decision, State};
use time::macros::date;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// An item: id, state, created, first triaged, closed; no deadline.
fn item(
    id: &str,
    state: State,
    created: &str,
    triaged: Option<&str>,
    closed: Option<&str>,
) -> ItemFacts {
    ItemFacts {
        post_id: id.to_string(),
        title: format!("Title of {id}"),
        workloads: vec!["Exchange Online".to_string()],
        owner: Some("collab".to_string()),
        category: "planForChange".to_string(),
        severity: "normal".to_string(),
        major: false,
        groups: Vec::new(),
        state,
        created_at: at(created),
        first_triaged_at: triaged.map(at),
        closed_at: closed.map(at),
        work: WorkFacts::default(),
    }
}

fn deadline(mut i: ItemFacts, d: &str) -> ItemFacts {
    i.work.decision_deadline = Some(at(d));
    i
}

#[test]
fn months_and_weeks_parse_and_name_their_days() {
    let m = ReportPeriod::parse_month("2026-02").unwrap();
    assert_eq!(m.first_day, date!(2026 - 02 - 01));
    assert_eq!(m.end_day, date!(2026 - 03 - 01));
    assert_eq!(m.last_day(), date!(2026 - 02 - 28));
    assert_eq!(m.key(), "2026-02");
    assert_eq!(m.label(), "February 2026");
    assert_eq!(m.start(), at("2026-02-01T00:00:00Z"));
    assert_eq!(m.end(), at("2026-03-01T00:00:00Z"));
    let dec = ReportPeriod::parse_month(" 2025-12 ").unwrap();
    assert_eq!(dec.end_day, date!(2026 - 01 - 01));
    // Thursday 12 March 2026 is in the week of Monday 9 March (ISO week 11)
    let w = ReportPeriod::parse_week("2026-03-12").unwrap();
    assert_eq!(w.first_day, date!(2026 - 03 - 09));
    assert_eq!(w.end_day, date!(2026 - 03 - 16));
    assert_eq!(w.key(), "2026-03-09");
    assert_eq!(w.label(), "week 11 of 2026 (2026-03-09 to 2026-03-15)");
    for bad in [
        "",
        "2026",
        "2026-13",
        "2026-00",
        "26-03",
        "2026-3",
        "2026-03-01",
        "２０２６-03",
        "abcd-ef",
    ] {
        let e = ReportPeriod::parse_month(bad).unwrap_err();
        assert!(e.contains("is not a month"), "{bad}: {e}");
    }
    for bad in [
        "",
        "2026-02-30",
        "2026-03",
        "2026-3-1",
        "2026-03-1x",
        "2026-03-01-01",
        "é",
    ] {
        let e = ReportPeriod::parse_week(bad).unwrap_err();
        assert!(e.contains("is not a day"), "{bad}: {e}");
    }
}

#[test]
fn the_default_is_the_last_complete_period() {
    // Wednesday 11 March 2026: February, and the week of Monday 2 March
    let now = at("2026-03-11T09:00:00Z");
    let m = ReportPeriod::last_complete(Cadence::Monthly, now);
    assert_eq!(
        (m.first_day, m.end_day),
        (date!(2026 - 02 - 01), date!(2026 - 03 - 01))
    );
    let w = ReportPeriod::last_complete(Cadence::Weekly, now);
    assert_eq!(
        (w.first_day, w.end_day),
        (date!(2026 - 03 - 02), date!(2026 - 03 - 09))
    );
    // in January, the December before; on a Monday, the week before
    let jan = ReportPeriod::last_complete(Cadence::Monthly, at("2026-01-01T00:00:00Z"));
    assert_eq!(jan.key(), "2025-12");
    let monday = ReportPeriod::last_complete(Cadence::Weekly, at("2026-03-09T00:00:00Z"));
    assert_eq!(monday.key(), "2026-03-02");
    assert_eq!(jan.previous().key(), "2025-11");
    assert_eq!(monday.previous().key(), "2026-02-23");
    assert_eq!(Cadence::parse(" Weekly ").unwrap(), Cadence::Weekly);
    assert!(Cadence::parse("daily").is_err());
}

/// The period is February 2026, `[02-01, 03-01)`:
/// - A: created 20 Jan, triaged 3 Feb, closed 10 Feb: triaged and closed
///   in it, open at the start, not at the end;
/// - B: created 5 Feb, never triaged, deadline 20 Feb: new, open at the
///   end, and missed (open at its deadline);
/// - C: created 10 Feb, closed straight from new on 12 Feb (a dismissal: a
///   triage decision too), deadline 25 Feb: new, triaged, closed; not
///   missed (closed before its deadline);
/// - D: created 1 Mar: after the period, in nothing but no count;
/// - E: created 1 Jan, triaged 15 Jan, deadline 1 Feb 00:00 (the period's
///   first instant), closed 2 Mar as missed: open at both ends, missed;
/// - F: created 1 Jan, closed 31 Jan: in nothing.
#[test]
fn a_periods_counts_are_what_happened_in_it() {
    let items = vec![
        item(
            "A",
            State::Done,
            "2026-01-20T09:00:00Z",
            Some("2026-02-03T09:00:00Z"),
            Some("2026-02-10T09:00:00Z"),
        ),
        deadline(
            item("B", State::New, "2026-02-05T09:00:00Z", None, None),
            "2026-02-20T00:00:00Z",
        ),
        deadline(
            item(
                "C",
                State::Dismissed,
                "2026-02-10T09:00:00Z",
                None,
                Some("2026-02-12T09:00:00Z"),
            ),
            "2026-02-25T00:00:00Z",
        ),
        item("D", State::New, "2026-03-01T00:00:00Z", None, None),
        {
            let mut e = deadline(
                item(
                    "E",
                    State::Done,
                    "2026-01-01T09:00:00Z",
                    Some("2026-01-15T09:00:00Z"),
                    Some("2026-03-02T09:00:00Z"),
                ),
                "2026-02-01T00:00:00Z",
            );
            e.work.decision = Some(Decision::Missed);
            e
        },
        item(
            "F",
            State::Done,
            "2026-01-01T09:00:00Z",
            None,
            Some("2026-01-31T09:00:00Z"),
        ),
    ];
    let p = ReportPeriod::parse_month("2026-02").unwrap();
    let c = counts(&items, p.start(), p.end());
    assert_eq!(
        c,
        PeriodCounts {
            // B, C
            new: 2,
            // A (3 Feb), C (its dismissal on 12 Feb)
            triaged: 2,
            // A, C
            closed: 2,
            // A, E (F closed on 31 Jan)
            open_at_start: 2,
            // B, E (D is created at the end: not before it)
            open_at_end: 2,
            // E (1 Feb) then B (20 Feb)
            missed: 2,
            missed_items: vec!["E".into(), "B".into()],
        }
    );
    // nothing in an empty period
    assert_eq!(counts(&items, p.end(), p.end()).new, 0);
    assert_eq!(counts(&[], p.start(), p.end()), PeriodCounts::default());
}

/// At Wednesday 11 March 2026 09:00, near = by 25 March 09:00:
/// - M1: deadline 1 Mar (passed): deadline_missed, dated 1 Mar;
/// - M0: deadline 5 Mar (passed), also overdue: deadline_missed (first
///   applicable), dated 5 Mar, after M1;
/// - O: due 10 Mar, deadline 1 Apr: overdue;
/// - N: deadline 20 Mar, triaged: deadline_near;
/// - J: major, untriaged, created 2 Mar: major_untriaged, dated 2 Mar;
/// - K: triaged, changed since triage, no deadline: changed_since_triage,
///   no date (last);
/// - L: triaged, changed since triage, deadline 30 Apr: before K;
/// - X: open, nothing wrong: no risk; Y: closed with a passed deadline:
///   not open, no risk; Z: created after `at`: no risk.
#[test]
fn risks_rank_by_kind_then_date() {
    let open = |id: &str| item(id, State::New, "2026-03-02T09:00:00Z", None, None);
    let triaged = |id: &str| {
        item(
            id,
            State::Triaged,
            "2026-03-02T09:00:00Z",
            Some("2026-03-03T09:00:00Z"),
            None,
        )
    };
    let mut m0 = deadline(open("M0"), "2026-03-05T00:00:00Z");
    m0.work.due = Some(at("2026-03-04T00:00:00Z"));
    let mut o = deadline(open("O"), "2026-04-01T00:00:00Z");
    o.work.due = Some(at("2026-03-10T00:00:00Z"));
    let mut j = open("J");
    j.major = true;
    let mut k = triaged("K");
    k.work.changed_since_triage = true;
    let mut l = deadline(triaged("L"), "2026-04-30T00:00:00Z");
    l.work.changed_since_triage = true;
    let y = deadline(
        item(
            "Y",
            State::Done,
            "2026-02-02T09:00:00Z",
            None,
            Some("2026-03-01T00:00:00Z"),
        ),
        "2026-03-05T00:00:00Z",
    );
    let mut z = deadline(open("Z"), "2026-03-01T00:00:00Z");
    z.created_at = at("2026-03-12T00:00:00Z");
    let items = vec![
        k,
        o,
        j,
        m0,
        deadline(triaged("N"), "2026-03-20T00:00:00Z"),
        deadline(open("M1"), "2026-03-01T00:00:00Z"),
        l,
        open("X"),
        y,
        z,
    ];
    let r = risks(&items, at("2026-03-11T09:00:00Z"), TOP_RISKS);
    let got: Vec<(&str, RiskKind, Option<String>)> = r
        .top
        .iter()
        .map(|x| (x.post_id.as_str(), x.kind, x.date.map(|d| d.date())))
        .collect();
    let d = |s: &str| Some(s.to_string());
    assert_eq!(
        got,
        vec![
            ("M1", RiskKind::DeadlineMissed, d("2026-03-01")),
            ("M0", RiskKind::DeadlineMissed, d("2026-03-05")),
            ("O", RiskKind::Overdue, d("2026-03-10")),
            ("N", RiskKind::DeadlineNear, d("2026-03-20")),
            ("J", RiskKind::MajorUntriaged, d("2026-03-02")),
            ("L", RiskKind::ChangedSinceTriage, d("2026-04-30")),
            ("K", RiskKind::ChangedSinceTriage, None),
        ]
    );
    assert_eq!(r.total, 7);
    assert_eq!(r.top[0].owner.as_deref(), Some("collab"));
    assert_eq!(r.top[0].title, "Title of M1");
    // at most `limit`, the total still counted
    let two = risks(&items, at("2026-03-11T09:00:00Z"), 2);
    assert_eq!((two.total, two.top.len()), (7, 2));
    // the JSON names the kind and the day
    let json = serde_json::to_value(&r.top[0]).unwrap();
    assert_eq!(json["kind"], "deadline_missed");
    assert_eq!(json["date"], "2026-03-01");
    assert_eq!(
        serde_json::to_value(&r.top[6]).unwrap()["date"],
        serde_json::Value::Null
    );
}
