//! The health score on hand-computed fixtures. Every expected figure is
//! worked out in a comment from the fixture, not read back from the code.

use super::*;
use crate::metrics::{AnalyticsSettings, WorkFacts};
use crate::triage::State;
use time::macros::date;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

#[track_caller]
fn assert_close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

/// An item: id, state, created, first triaged, closed; the work facts
/// default (no due date, no deadline, no flag, no decision).
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
        workloads: vec!["Microsoft Teams".to_string()],
        owner: None,
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

fn due(mut i: ItemFacts, d: &str) -> ItemFacts {
    i.work.due = Some(at(d));
    i
}

fn changed(mut i: ItemFacts) -> ItemFacts {
    i.work.changed_since_triage = true;
    i
}

fn component<'a>(h: &'a HealthScore, key: &str) -> &'a Component {
    h.components.iter().find(|c| c.key == key).unwrap()
}

#[track_caller]
fn assert_component(
    h: &HealthScore,
    key: &str,
    weight: f64,
    base: usize,
    affected: usize,
    points: f64,
    items: &[&str],
) {
    let c = component(h, key);
    assert!(c.measured, "{key} measured");
    assert_close(c.weight, weight);
    assert_eq!(
        (c.base, c.affected),
        (base, affected),
        "{key}: base, affected"
    );
    let share = if base == 0 {
        0.0
    } else {
        affected as f64 / base as f64
    };
    assert_close(c.share, share);
    assert_close(c.points, points);
    assert_eq!(c.items, items, "{key}: items");
}

/// The fixture of the docs' worked example. Monday–Friday, no holidays,
/// targets triage 5, major 2; `at` = Wed 11 Mar 2026 12:00, so imminent
/// means a deadline by Wed 25 Mar 12:00 and the 90-day windows start Thu
/// 11 Dec 2025 12:00. 09:00 is 0.375 of a day, 12:00 0.5, 15:00 0.625.
///
/// | id | state | created | triaged | closed | deadline | due | notes |
/// |---|---|---|---|---|---|---|---|
/// | H1 | new | Mon 2 Mar 09:00 | — | — | 20 Mar | — | |
/// | H2 | triaged | Mon 2 Mar 09:00 | Wed 4 Mar 09:00 | — | 18 Mar | 10 Mar | changed |
/// | H3 | in progress | Mon 2 Feb 09:00 | Tue 3 Feb 09:00 | — | 1 Mar | 1 Apr | |
/// | H4 | done | Mon 5 Jan 09:00 | Tue 6 Jan 09:00 | 20 Jan | 15 Feb | — | |
/// | H5 | dismissed | Mon 9 Mar 09:00 | — | Mon 9 Mar 15:00 | 12 Mar | — | from new |
/// | H6 | done | Mon 12 Jan 09:00 | — | Mon 9 Feb 09:00 | 1 Feb | — | decision missed |
/// | H7 | new, major | Mon 9 Mar 09:00 | — | — | — | — | |
/// | H8 | triaged | 1 Oct 2025 | 2 Oct 2025 | — | 1 Jun | 1 Mar | changed |
/// | H9 | new | Mon 16 Feb 09:00 | — | — | 6 Mar | — | |
fn fixture() -> Vec<ItemFacts> {
    use State::*;
    let mut h6 = deadline(
        item(
            "H6",
            Done,
            "2026-01-12T09:00:00Z",
            None,
            Some("2026-02-09T09:00:00Z"),
        ),
        "2026-02-01",
    );
    h6.work.decision = Some(Decision::Missed);
    let mut h7 = item("H7", New, "2026-03-09T09:00:00Z", None, None);
    h7.major = true;
    vec![
        deadline(
            item("H1", New, "2026-03-02T09:00:00Z", None, None),
            "2026-03-20",
        ),
        changed(due(
            deadline(
                item(
                    "H2",
                    Triaged,
                    "2026-03-02T09:00:00Z",
                    Some("2026-03-04T09:00:00Z"),
                    None,
                ),
                "2026-03-18",
            ),
            "2026-03-10",
        )),
        due(
            deadline(
                item(
                    "H3",
                    InProgress,
                    "2026-02-02T09:00:00Z",
                    Some("2026-02-03T09:00:00Z"),
                    None,
                ),
                "2026-03-01",
            ),
            "2026-04-01",
        ),
        deadline(
            item(
                "H4",
                Done,
                "2026-01-05T09:00:00Z",
                Some("2026-01-06T09:00:00Z"),
                Some("2026-01-20T09:00:00Z"),
            ),
            "2026-02-15",
        ),
        deadline(
            item(
                "H5",
                Dismissed,
                "2026-03-09T09:00:00Z",
                None,
                Some("2026-03-09T15:00:00Z"),
            ),
            "2026-03-12",
        ),
        h6,
        h7,
        changed(due(
            deadline(
                item(
                    "H8",
                    Triaged,
                    "2025-10-01T09:00:00Z",
                    Some("2025-10-02T09:00:00Z"),
                    None,
                ),
                "2026-06-01",
            ),
            "2026-03-01",
        )),
        deadline(
            item("H9", New, "2026-02-16T09:00:00Z", None, None),
            "2026-03-06",
        ),
    ]
}

const AT: &str = "2026-03-11T12:00:00Z";

#[test]
fn the_worked_example_of_the_docs() {
    let h = score(&fixture(), &AnalyticsSettings::default(), at(AT));
    assert_eq!(h.at, at(AT));
    let keys: Vec<&str> = h.components.iter().map(|c| c.key).collect();
    assert_eq!(
        keys,
        [
            "untriaged_imminent",
            "overdue",
            "missed",
            "changed_unacknowledged",
            "sla_breaches",
            "comms_before_rollout"
        ]
    );
    // every component measured but comms: weights 25 + 20 + 20 + 15 + 20 =
    // 100, so the renormalised weights are the defaults

    // untriaged_imminent: open with a deadline by 25 Mar 12:00: H1 (20 Mar),
    // H2 (18 Mar), H3 (1 Mar, past), H9 (6 Mar, past) = 4 (H4, H5, H6
    // closed — H5 dismissed from new, so triaged too —; H7 none; H8 1 Jun
    // too far). Not triaged: H1, H9 = 2; share 0.5; points 25 × 0.5 = 12.5;
    // earliest deadline first: H9 (6 Mar), H1 (20 Mar).
    assert_component(&h, "untriaged_imminent", 25.0, 4, 2, 12.5, &["H9", "H1"]);
    // overdue: open with a due date: H2 (10 Mar), H3 (1 Apr), H8 (1 Mar) =
    // 3; past: H2, H8 = 2; share 2/3; points 20 × 1/3 = 6.667; longest
    // overdue first: H8, H2.
    assert_component(&h, "overdue", 20.0, 3, 2, 20.0 / 3.0, &["H8", "H2"]);
    // missed: deadline in [11 Dec 12:00, 11 Mar 12:00): H3 (1 Mar), H4 (15
    // Feb), H6 (1 Feb), H9 (6 Mar) = 4 (H5's 12 Mar is tomorrow); open: H3,
    // H9, and H6 closed as missed = 3 (H4 done in time); share 0.75; points
    // 20 × 0.25 = 5; earliest deadline first: H6, H3, H9.
    assert_component(&h, "missed", 20.0, 4, 3, 5.0, &["H6", "H3", "H9"]);
    // changed_unacknowledged: triaged and open: H2, H3, H8 = 3; flagged:
    // H2, H8 = 2; share 2/3; points 15 × 1/3 = 5; nearest deadline first:
    // H2 (18 Mar), H8 (1 Jun).
    assert_component(&h, "changed_unacknowledged", 15.0, 3, 2, 5.0, &["H2", "H8"]);
    // sla_breaches: created in [11 Dec 12:00, 11 Mar 12:00): all but H8 = 8.
    // Times to triage (working days): H2 Mon 09:00 → Wed 09:00 = 2.0; H3
    // 1.0; H4 1.0; H5 Mon 09:00 → 15:00 = 0.25 — within 5. H6 (closed from
    // new: triaged at its close) Mon 12 Jan 09:00 → Mon 9 Feb 09:00 = 0.625
    // + 19 + 0.375 = 20.0, over by 15. So far: H1 Mon 2 Mar 09:00 → Wed 11
    // Mar 12:00 = 0.625 + 6 + 0.5 = 7.125, over by 2.125; H7 (major, target
    // 2) Mon 9 Mar 09:00 → 0.625 + 1 + 0.5 = 2.125, over by 0.125; H9 Mon
    // 16 Feb 09:00 → 0.625 + 16 + 0.5 = 17.125, over by 12.125. Affected 4;
    // share 0.5; points 20 × 0.5 = 10; furthest over first: H6, H9, H1, H7.
    assert_component(
        &h,
        "sla_breaches",
        20.0,
        8,
        4,
        10.0,
        &["H6", "H9", "H1", "H7"],
    );
    // comms: not measured, weight 0, no points
    let comms = component(&h, "comms_before_rollout");
    assert!(!comms.measured);
    assert_eq!((comms.weight, comms.base, comms.points), (0.0, 0, 0.0));
    assert!(comms.items.is_empty());
    // score = 12.5 + 6.667 + 5 + 5 + 10 = 39.167 → 39.2
    assert_close(h.score, 39.2);
    let measured: f64 = h
        .components
        .iter()
        .filter(|c| c.measured)
        .map(|c| c.weight)
        .sum();
    assert_close(measured, 100.0);
}

#[test]
fn explanations_give_the_numbers() {
    let h = score(&fixture(), &AnalyticsSettings::default(), at(AT));
    let text = |key| component(&h, key).explanation.clone();
    assert_eq!(
        text("untriaged_imminent"),
        "Of the 4 open items whose decision deadline is by 2026-03-25 12:00 UTC (within 14 days \
         of 2026-03-11 12:00 UTC, or past), 2 are not triaged."
    );
    assert_eq!(
        text("overdue"),
        "Of the 3 open items with a due date, 2 are past it at 2026-03-11 12:00 UTC."
    );
    assert_eq!(
        text("missed"),
        "Of the 4 items whose decision deadline fell between 2025-12-11 12:00 UTC and \
         2026-03-11 12:00 UTC, 3 are still open or closed as missed."
    );
    assert_eq!(
        text("changed_unacknowledged"),
        "Of the 3 triaged open items, 2 have changes by Microsoft since triage that nobody \
         acknowledged yet."
    );
    assert_eq!(
        text("sla_breaches"),
        "Of the 8 items created since 2025-12-11 12:00 UTC, 4 are over the triage target (5 \
         working days, 2 for a major change) at 2026-03-11 12:00 UTC."
    );
    assert!(text("comms_before_rollout").starts_with("Not measured"));
    // the singular
    let one = [deadline(
        item("X", State::New, "2026-03-10T09:00:00Z", None, None),
        "2026-03-20",
    )];
    let h = score(&one, &AnalyticsSettings::default(), at(AT));
    assert!(
        component(&h, "untriaged_imminent")
            .explanation
            .starts_with("Of the 1 open item whose"),
    );
    assert!(
        component(&h, "untriaged_imminent")
            .explanation
            .ends_with("1 is not triaged.")
    );
}

#[test]
fn the_sla_component_is_the_reports_triage_breaches() {
    let items = fixture();
    let settings = AnalyticsSettings::default();
    let h = score(&items, &settings, at(AT));
    let a = analyze(&items, &settings, at("2025-12-11T12:00:00Z"), at(AT), 0);
    let c = component(&h, "sla_breaches");
    assert_eq!(c.base, a.overall.items);
    let ids: Vec<&str> = a.breaches.iter().map(|b| b.post_id.as_str()).collect();
    assert_eq!(c.items, ids);
    // a close target adds close breaches to the report, not to the score
    let mut close = settings.clone();
    close.sla.close_days = Some(1.0);
    let h = score(&items, &close, at(AT));
    assert_eq!(component(&h, "sla_breaches").affected, 4);
}

#[test]
fn no_items_score_100() {
    let h = score(&[], &AnalyticsSettings::default(), at(AT));
    assert_close(h.score, 100.0);
    for c in h.components.iter().filter(|c| c.measured) {
        assert_eq!((c.base, c.affected), (0, 0), "{}", c.key);
        assert_close(c.share, 0.0);
        assert_close(c.points, c.weight);
        assert!(c.items.is_empty());
    }
    assert_eq!(h.components.iter().filter(|c| c.measured).count(), 5);
}

/// Every measured component at share 1. `at` = Wed 11 Mar 2026 12:00.
///
/// - B1: new, created Mon 9 Feb 09:00, deadline 6 Mar, due 9 Mar: open and
///   untriaged past its deadline and its due date; untriaged for 22.125
///   working days (0.625 + 21 + 0.5).
/// - B2: triaged, created Mon 9 Feb 09:00, triaged Mon 2 Mar 09:00 (15
///   working days), changed; no deadline, no due date.
///
/// untriaged_imminent {B1}/{B1}, overdue {B1}/{B1}, missed {B1}/{B1},
/// changed {B2}/{B2}, sla {B1, B2}/{B1, B2}: every share 1, score 0.
#[test]
fn all_bad_scores_0() {
    let items = [
        due(
            deadline(
                item("B1", State::New, "2026-02-09T09:00:00Z", None, None),
                "2026-03-06",
            ),
            "2026-03-09",
        ),
        changed(item(
            "B2",
            State::Triaged,
            "2026-02-09T09:00:00Z",
            Some("2026-03-02T09:00:00Z"),
            None,
        )),
    ];
    let h = score(&items, &AnalyticsSettings::default(), at(AT));
    for c in h.components.iter().filter(|c| c.measured) {
        assert!(c.base > 0, "{}", c.key);
        assert_eq!(c.affected, c.base, "{}", c.key);
        assert_close(c.share, 1.0);
        assert_close(c.points, 0.0);
    }
    assert_eq!(component(&h, "sla_breaches").base, 2);
    assert_close(h.score, 0.0);
}

/// Worst first, at most 20: 25 untriaged items with deadlines 1 … 25
/// days before `at`'s imminence limit, given in a shuffled order; two
/// share a deadline (ordered by post id).
#[test]
fn items_are_listed_worst_first_at_most_20() {
    let mut items = Vec::new();
    for k in [
        7u32, 3, 19, 1, 25, 12, 4, 22, 9, 15, 2, 18, 6, 24, 11, 20, 5, 13, 23, 8,
    ] {
        items.push(deadline(
            item(&format!("D{k:02}"), State::New, "2026-01-01", None, None),
            &format!("2026-03-{k:02}"),
        ));
    }
    for k in [10u32, 14, 16, 17, 21] {
        items.push(deadline(
            item(&format!("D{k:02}"), State::New, "2026-01-01", None, None),
            &format!("2026-03-{k:02}"),
        ));
    }
    // same deadline as D03, a smaller id than D03 but listed after it
    items.push(deadline(
        item("D00", State::New, "2026-01-01", None, None),
        "2026-03-03",
    ));
    let h = score(&items, &AnalyticsSettings::default(), at(AT));
    let c = component(&h, "untriaged_imminent");
    // 26 items, every deadline by 25 Mar 12:00, none triaged
    assert_eq!((c.base, c.affected), (26, 26));
    assert_eq!(c.items.len(), MAX_LISTED);
    let want: Vec<String> = ["D01", "D02", "D00", "D03"]
        .into_iter()
        .map(str::to_string)
        .chain((4..=19).map(|k| format!("D{k:02}")))
        .collect();
    assert_eq!(c.items, want);
    // missed: deadlines 1 … 10 Mar (and D00's 3 Mar) are before `at`,
    // earliest first; 11 Mar 00:00 too (before 12:00)
    let m = component(&h, "missed");
    assert_eq!((m.base, m.affected), (12, 12));
    assert_eq!(m.items.first().map(String::as_str), Some("D01"));
    assert_eq!(m.items.last().map(String::as_str), Some("D11"));
}

#[test]
fn missed_follows_the_deadlines_definition() {
    let settings = AnalyticsSettings::default();
    let items = [
        // a deadline exactly at `at` is not past yet
        deadline(item("AT", State::New, "2026-03-01", None, None), AT),
        // 90 days before `at` exactly: in; a microsecond earlier: out
        deadline(
            item("EDGE", State::New, "2025-12-01", None, None),
            "2025-12-11T12:00:00Z",
        ),
        deadline(
            item("OLD", State::New, "2025-12-01", None, None),
            "2025-12-11T11:59:59.999999Z",
        ),
        // closed after the deadline, not as missed: decided, not missed
        deadline(
            item(
                "LATE",
                State::Done,
                "2026-02-01",
                Some("2026-02-02"),
                Some("2026-03-05"),
            ),
            "2026-03-01",
        ),
        // open at `at` though closed since: missed at `at`
        deadline(
            item(
                "LATER",
                State::Done,
                "2026-02-01",
                Some("2026-02-02"),
                Some("2026-03-12"),
            ),
            "2026-03-01",
        ),
    ];
    let h = score(&items, &settings, at(AT));
    let m = component(&h, "missed");
    // base: EDGE, LATE, LATER; affected: EDGE (open), LATER (open at `at`)
    assert_eq!((m.base, m.affected), (3, 2));
    assert_eq!(m.items, ["EDGE", "LATER"]);
}

#[test]
fn imminence_is_14_days_inclusive() {
    let items = [
        // at + 14 days exactly: imminent, as the inbox's "due soon"
        deadline(
            item("IN", State::New, "2026-03-10", None, None),
            "2026-03-25T12:00:00Z",
        ),
        deadline(
            item("OUT", State::New, "2026-03-10", None, None),
            "2026-03-25T12:00:00.000001Z",
        ),
        // triaged: in the base, not affected
        deadline(
            item(
                "OK",
                State::Triaged,
                "2026-03-10",
                Some("2026-03-10T10:00:00Z"),
                None,
            ),
            "2026-03-20",
        ),
        // triaged only after `at`: untriaged at `at`
        deadline(
            item(
                "SOON",
                State::Triaged,
                "2026-03-10",
                Some("2026-03-12"),
                None,
            ),
            "2026-03-20",
        ),
    ];
    let h = score(&items, &AnalyticsSettings::default(), at(AT));
    let c = component(&h, "untriaged_imminent");
    assert_eq!((c.base, c.affected), (3, 2));
    assert_eq!(c.items, ["SOON", "IN"]);
}

/// The trend fixture. `at` = Wed 18 Mar 2026 12:00, three weeks: Mondays 2,
/// 9 and 16 March, ending Mon 9 Mar 00:00, Mon 16 Mar 00:00 and `at`.
///
/// - T1: created Mon 2 Mar 09:00, triaged Tue 3 Mar 09:00 (1.0 working
///   day), done Thu 12 Mar 09:00; deadline Fri 13 Mar.
/// - T2: new, created Mon 2 Mar 09:00; deadline Fri 20 Mar, due Fri 13 Mar.
/// - T3: in progress, created Wed 11 Mar 09:00, triaged Thu 12 Mar 09:00
///   (1.0), changed; deadline 1 May.
fn trend_fixture() -> Vec<ItemFacts> {
    vec![
        deadline(
            item(
                "T1",
                State::Done,
                "2026-03-02T09:00:00Z",
                Some("2026-03-03T09:00:00Z"),
                Some("2026-03-12T09:00:00Z"),
            ),
            "2026-03-13",
        ),
        due(
            deadline(
                item("T2", State::New, "2026-03-02T09:00:00Z", None, None),
                "2026-03-20",
            ),
            "2026-03-13",
        ),
        changed(deadline(
            item(
                "T3",
                State::InProgress,
                "2026-03-11T09:00:00Z",
                Some("2026-03-12T09:00:00Z"),
                None,
            ),
            "2026-05-01",
        )),
    ]
}

#[test]
fn the_trend_follows_the_history() {
    let items = trend_fixture();
    let settings = AnalyticsSettings::default();
    let points = trend(&items, &settings, at("2026-03-18T12:00:00Z"), 3);
    let weeks: Vec<Date> = points.iter().map(|p| p.week).collect();
    assert_eq!(
        weeks,
        [
            date!(2026 - 03 - 02),
            date!(2026 - 03 - 09),
            date!(2026 - 03 - 16)
        ]
    );
    // Past points: changed_unacknowledged not measured, so the weights are
    // 25, 20, 20, 20 out of 85.
    //
    // End of week 1, Mon 9 Mar 00:00 (imminent by 23 Mar 00:00):
    // - untriaged_imminent: open T1 (13 Mar, triaged), T2 (20 Mar, not) =
    //   1 of 2 → 25 × 0.5 = 12.5
    // - overdue: T2 due 13 Mar, not yet: 0 of 1 → 20
    // - missed: no deadline before 9 Mar: 0 of 0 → 20
    // - sla: T1 (1.0), T2 so far Mon 2 Mar 09:00 → Mon 9 Mar 00:00 = 0.625
    //   + 4 + 0 = 4.625 ≤ 5: 0 of 2 → 20
    // score = 72.5 / 85 × 100 = 85.29 → 85.3
    let first = score_as_of(&items, &settings, at("2026-03-09T00:00:00Z"), false);
    assert!(!component(&first, "changed_unacknowledged").measured);
    assert_close(
        component(&first, "untriaged_imminent").weight,
        2500.0 / 85.0,
    );
    assert_close(component(&first, "overdue").weight, 2000.0 / 85.0);
    assert_close(points[0].score, 85.3);
    // End of week 2, Mon 16 Mar 00:00 (imminent by 30 Mar 00:00):
    // - untriaged_imminent: T1 closed 12 Mar; T2 (20 Mar) not triaged; T3's
    //   1 May too far: 1 of 1 → 0
    // - overdue: T2 due 13 Mar, past: 1 of 1 → 0
    // - missed: T1's 13 Mar, done on 12 Mar: 0 of 1 → 20
    // - sla: T1, T2, T3; T2 so far Mon 2 Mar 09:00 → Mon 16 Mar 00:00 =
    //   0.625 + 9 = 9.625 > 5: 1 of 3 → 20 × 2/3 = 13.33
    // score = 33.33 / 85 × 100 = 39.22 → 39.2
    assert_close(points[1].score, 39.2);
    // At Wed 18 Mar 12:00, now: every component measured, weights /100:
    // - untriaged_imminent: T2: 1 of 1 → 0
    // - overdue: T2: 1 of 1 → 0
    // - missed: T1 done in time: 0 of 1 → 20
    // - changed_unacknowledged: T3 triaged, open, changed: 1 of 1 → 0
    // - sla: T2 only: 1 of 3 → 20 × 2/3 = 13.33
    // score = 33.33 → 33.3
    assert_close(points[2].score, 33.3);
    let now = score(&items, &settings, at("2026-03-18T12:00:00Z"));
    assert_close(now.score, points[2].score);
    assert!(component(&now, "changed_unacknowledged").measured);
}

#[test]
fn the_trend_weeks_end_like_the_reports() {
    let items = trend_fixture();
    let settings = AnalyticsSettings::default();
    // `at` at Monday 00:00 ends the week before: the last point is the week
    // of 9 March, scored at `at` with every component measured
    let end = at("2026-03-16T00:00:00Z");
    let points = trend(&items, &settings, end, 2);
    assert_eq!(
        points.iter().map(|p| p.week).collect::<Vec<_>>(),
        [date!(2026 - 03 - 02), date!(2026 - 03 - 09)]
    );
    assert_close(points[0].score, 85.3);
    assert_close(points[1].score, score(&items, &settings, end).score);
    // at Mon 16 Mar 00:00 with the changed component (T3 triaged 12 Mar,
    // open, changed: 1 of 1 → 0): 0 + 0 + 20 + 0 + 13.33 = 33.3, not 39.2
    assert_close(points[1].score, 33.3);
    // no weeks, and a cap
    assert!(trend(&items, &settings, end, 0).is_empty());
    let many = trend(&items, &settings, end, usize::MAX);
    assert_eq!(many.len(), crate::metrics::MAX_WEEKS);
    // before the first item: nothing to count, 100
    assert_close(many[0].score, 100.0);
}

#[test]
fn never_panics_at_the_ends_of_time() {
    use time::{OffsetDateTime, PrimitiveDateTime};
    let min = Timestamp::from_datetime(PrimitiveDateTime::MIN.assume_utc());
    let max = Timestamp::from_datetime(PrimitiveDateTime::MAX.assume_utc());
    let epoch = Timestamp::from_datetime(OffsetDateTime::UNIX_EPOCH);
    let mut items = trend_fixture();
    let mut first = item("MIN", State::New, "2026-01-01", None, None);
    first.created_at = min;
    first.work.decision_deadline = Some(min);
    first.work.due = Some(max);
    let mut last = item("MAX", State::Done, "2026-01-01", None, None);
    last.created_at = max;
    last.closed_at = Some(max);
    last.work.decision_deadline = Some(max);
    items.push(first);
    items.push(last);
    let settings = AnalyticsSettings::default();
    for t in [min, epoch, max] {
        let h = score(&items, &settings, t);
        assert!((0.0..=100.0).contains(&h.score), "{t}: {}", h.score);
        for weeks in [0, 1, 3, 60] {
            let points = trend(&items, &settings, t, weeks);
            assert!(points.len() <= weeks);
            assert!(points.iter().all(|p| (0.0..=100.0).contains(&p.score)));
        }
    }
    assert_close(score(&[], &settings, min).score, 100.0);
    assert_close(score(&[], &settings, max).score, 100.0);
}

#[test]
fn serialises_for_the_api() {
    let h = score(&trend_fixture(), &AnalyticsSettings::default(), at(AT));
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["components"][0]["key"], "untriaged_imminent");
    assert_eq!(json["components"][5]["measured"], false);
    let points = trend(&trend_fixture(), &AnalyticsSettings::default(), at(AT), 1);
    let json = serde_json::to_value(&points).unwrap();
    assert_eq!(json[0]["week"], "2026-03-09");
}

#[test]
fn overdue_is_strictly_after_the_due_date() {
    let items = [
        // due exactly at `at`: due, not late (as the deadlines' "overdue")
        due(item("NOW", State::New, "2026-03-01", None, None), AT),
        due(
            item(
                "JUST",
                State::Triaged,
                "2026-03-01",
                Some("2026-03-02"),
                None,
            ),
            "2026-03-11T11:59:59.999999Z",
        ),
        // closed: not in the base, however late
        due(
            item(
                "DONE",
                State::Done,
                "2026-03-01",
                Some("2026-03-02"),
                Some("2026-03-03"),
            ),
            "2026-03-02",
        ),
        // not created yet at `at`
        due(
            item("LATER", State::New, "2026-03-12", None, None),
            "2026-03-01",
        ),
    ];
    let h = score(&items, &AnalyticsSettings::default(), at(AT));
    let c = component(&h, "overdue");
    // base: NOW, JUST; affected: JUST; 20 × (1 − 1/2) = 10
    assert_eq!((c.base, c.affected), (2, 1));
    assert_eq!(c.items, ["JUST"]);
    assert_close(c.points, 10.0);
}
