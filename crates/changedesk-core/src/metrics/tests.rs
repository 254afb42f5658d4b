//! The analytics on hand-computed fixtures. Every expected figure is worked
//! out in a comment from the fixture, not read back from the code.

use proptest::prelude::*;
use time::macros::date;

use super::*;

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn mon_fri() -> WorkCalendar {
    WorkCalendar::default()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[track_caller]
fn assert_days(got: f64, want: f64) {
    assert!(close(got, want), "got {got}, want {want}");
}

// ---- working days ----

#[test]
fn working_days_within_one_day() {
    let c = mon_fri();
    // Monday 09:00 → 15:00: six hours of a working day
    assert_days(
        c.working_days(at("2026-03-02T09:00:00Z"), at("2026-03-02T15:00:00Z")),
        0.25,
    );
    // Saturday: nothing
    assert_days(
        c.working_days(at("2026-03-07T09:00:00Z"), at("2026-03-07T15:00:00Z")),
        0.0,
    );
    // a whole working day, midnight to midnight
    assert_days(
        c.working_days(at("2026-03-03T00:00:00Z"), at("2026-03-04T00:00:00Z")),
        1.0,
    );
}

#[test]
fn working_days_across_a_weekend() {
    let c = mon_fri();
    // Friday 12:00 → Monday 12:00: Friday's half + Monday's half
    assert_days(
        c.working_days(at("2026-03-06T12:00:00Z"), at("2026-03-09T12:00:00Z")),
        1.0,
    );
    // Monday 09:00 → Thursday 09:00: 0.625 + Tue + Wed + 0.375
    assert_days(
        c.working_days(at("2026-03-02T09:00:00Z"), at("2026-03-05T09:00:00Z")),
        3.0,
    );
    // Saturday → Sunday: nothing; Saturday → next Saturday: five days
    assert_days(
        c.working_days(at("2026-03-07T10:00:00Z"), at("2026-03-08T10:00:00Z")),
        0.0,
    );
    assert_days(
        c.working_days(at("2026-03-07T10:00:00Z"), at("2026-03-14T10:00:00Z")),
        5.0,
    );
    // Monday 09:00 → Monday 09:00 three weeks later: 15
    assert_days(
        c.working_days(at("2026-03-02T09:00:00Z"), at("2026-03-23T09:00:00Z")),
        15.0,
    );
}

#[test]
fn working_days_skip_holidays() {
    let mut c = mon_fri();
    // Friday 25 December 2026
    c.holidays.insert(date!(2026 - 12 - 25));
    // a holiday on a weekend changes nothing
    c.holidays.insert(date!(2026 - 12 - 26));
    // Wednesday 23 Dec 12:00 → Tuesday 29 Dec 12:00: Wed ½ + Thu 1 + (Fri
    // holiday, Sat, Sun) + Mon 1 + Tue ½ = 3
    assert_days(
        c.working_days(at("2026-12-23T12:00:00Z"), at("2026-12-29T12:00:00Z")),
        3.0,
    );
    // inside the holiday: nothing
    assert_days(
        c.working_days(at("2026-12-25T08:00:00Z"), at("2026-12-25T18:00:00Z")),
        0.0,
    );
    // starting on the holiday: Fri 0 + Mon 1 + Tue ¼
    assert_days(
        c.working_days(at("2026-12-25T08:00:00Z"), at("2026-12-29T06:00:00Z")),
        1.25,
    );
    assert!(!c.is_working_day(date!(2026 - 12 - 25)));
    assert!(c.is_working_day(date!(2026 - 12 - 24)));
}

#[test]
fn working_days_partial_days_count_by_the_microsecond() {
    let c = mon_fri();
    // Tuesday 18:00 → Wednesday 06:00: 6 h + 6 h = half a day
    assert_days(
        c.working_days(at("2026-03-03T18:00:00Z"), at("2026-03-04T06:00:00Z")),
        0.5,
    );
    let d = c.working_days(
        at("2026-03-03T23:59:59.999999Z"),
        at("2026-03-04T00:00:00.000001Z"),
    );
    assert_days(d, 2e-6 / 86_400.0);
}

#[test]
fn working_days_is_zero_when_to_is_not_after_from() {
    let c = mon_fri();
    let t = at("2026-03-04T09:00:00Z");
    assert_eq!(c.working_days(t, t), 0.0);
    assert_eq!(c.working_days(t, at("2026-03-02T09:00:00Z")), 0.0);
}

#[test]
fn working_days_with_another_week_and_duplicates() {
    // Sunday to Thursday, Sunday listed twice
    let c = WorkCalendar {
        working_weekdays: vec![
            Weekday::Sunday,
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Sunday,
        ],
        holidays: BTreeSet::new(),
    };
    // Thursday 12:00 → Sunday 12:00: Thu ½ + (Fri, Sat) + Sun ½
    assert_days(
        c.working_days(at("2026-03-05T12:00:00Z"), at("2026-03-08T12:00:00Z")),
        1.0,
    );
    // two weeks: ten days
    assert_days(
        c.working_days(at("2026-03-05T12:00:00Z"), at("2026-03-19T12:00:00Z")),
        10.0,
    );
    // no working day at all
    let none = WorkCalendar {
        working_weekdays: vec![],
        holidays: BTreeSet::new(),
    };
    assert_eq!(
        none.working_days(at("2026-03-05T12:00:00Z"), at("2027-03-19T12:00:00Z")),
        0.0
    );
}

#[test]
fn working_days_far_apart_are_counted_without_walking_the_days() {
    let c = mon_fri();
    // 1 Jan 1900 was a Monday; 1 Jan 2100 a Friday. 73,049 days apart:
    // 10,435 weeks (52,175 working days) and 4 days (Mon–Thu: 4).
    assert_days(
        c.working_days(at("1900-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z")),
        52_179.0,
    );
}

#[test]
fn weekday_names_read_in_any_case() {
    assert_eq!(parse_weekday("Monday"), Some(Weekday::Monday));
    assert_eq!(parse_weekday(" SUNDAY "), Some(Weekday::Sunday));
    assert_eq!(parse_weekday("funday"), None);
    assert_eq!(parse_weekday("mon"), None);
    assert_eq!(weekday_name(Weekday::Wednesday), "wednesday");
}

// ---- percentile ----

#[test]
fn percentile_is_nearest_rank() {
    let v = [1.0, 2.0, 3.0, 4.0, 5.0];
    assert_eq!(percentile(&v, 50.0), Some(3.0));
    assert_eq!(percentile(&v, 90.0), Some(5.0));
    assert_eq!(percentile(&v, 0.0), Some(1.0));
    assert_eq!(percentile(&v, 100.0), Some(5.0));
    assert_eq!(percentile(&v, 20.0), Some(1.0));
    assert_eq!(percentile(&v, 21.0), Some(2.0));
    assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
    // ten values: p90 is the 9th
    let ten: Vec<f64> = (1..=10).map(f64::from).collect();
    assert_eq!(percentile(&ten, 90.0), Some(9.0));
    // a hundred: p7 is the 7th (0.07 × 100 is 7.000…1 in floating point,
    // which would give the 8th)
    let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&hundred, 7.0), Some(7.0));
    assert_eq!(percentile(&[7.5], 50.0), Some(7.5));
    assert_eq!(percentile(&[7.5], 90.0), Some(7.5));
    assert_eq!(percentile(&[], 50.0), None);
    assert_eq!(percentile(&v, -5.0), Some(1.0));
    assert_eq!(percentile(&v, 500.0), Some(5.0));
    assert_eq!(percentile(&v, f64::NAN), Some(1.0));
}

// ---- analyze ----

#[allow(clippy::too_many_arguments)]
fn item(
    id: &str,
    workloads: &[&str],
    owner: Option<&str>,
    category: &str,
    severity: &str,
    major: bool,
    groups: &[&str],
    state: State,
    created: &str,
    triaged: Option<&str>,
    closed: Option<&str>,
) -> ItemFacts {
    ItemFacts {
        post_id: id.to_string(),
        title: format!("Title of {id}"),
        workloads: workloads.iter().map(|s| s.to_string()).collect(),
        owner: owner.map(str::to_string),
        category: category.to_string(),
        severity: severity.to_string(),
        major,
        groups: groups.iter().map(|s| s.to_string()).collect(),
        state,
        created_at: at(created),
        first_triaged_at: triaged.map(at),
        closed_at: closed.map(at),
        work: Default::default(),
    }
}

const TEAMS: &str = "Microsoft Teams";
const EXO: &str = "Exchange Online";
const SPO: &str = "SharePoint Online";

/// The fixture. Calendar Monday–Friday, no holidays; window
/// [Mon 2 Mar 2026 00:00, Mon 23 Mar 2026 12:00); targets: triage 5, major
/// 2, close 10. 09:00 is 0.375 of a day, 12:00 0.5, 15:00 0.625.
///
/// | id | created | triage decision | closed | notes |
/// |---|---|---|---|---|
/// | MC1 A | Mon 2 Mar 09:00 | Thu 5 Mar 09:00 = 3.0 | Fri 6 Mar 09:00 = 4.0 | major: 3 > 2, breach |
/// | MC2 B | Mon 2 Mar 09:00 | Fri 6 Mar 09:00 = 4.0 | open (15.125 so far) | normal: 4 ≤ 5; close breach, open |
/// | MC3 C | Fri 13 Mar 12:00 | none (6.0 so far) | open | untriaged 6 > 5: breach, open |
/// | MC4 D | Tue 3 Mar 09:00 | dismissed Wed 4 Mar 15:00 = 1.25 | same, 1.25 | no first_triaged_at |
/// | MC5 E | Wed 4 Mar 09:00 | Mon 9 Mar 09:00 = 3.0 | Thu 19 Mar 09:00 = 11.0 | close 11 > 10: breach |
/// | MC6 F | Thu 19 Mar 09:00 | Tue 24 Mar (after to) | done Tue 24 Mar (after to) | major, untriaged at to: 0.625 + 1 + 0.5 = 2.125 > 2 |
/// | MC7 G | Sun 1 Mar 09:00 (before from) | Mon 2 Mar 09:00 = 0.375 | open | not in the window |
/// | MC8 H | Tue 24 Mar 09:00 (after to) | — | open | ignored everywhere |
/// | MC9 I | Tue 10 Mar 09:00 | Tue 10 Mar 15:00 = 0.25 | Wed 11 Mar 09:00 = 1.0 | |
/// | MC10 J | Mon 23 Feb 12:00 (before from) | — | open | exactly 28 days old at to |
fn fixture() -> Vec<ItemFacts> {
    use State::*;
    vec![
        item(
            "MC1",
            &[TEAMS],
            Some("alice"),
            "planForChange",
            "normal",
            true,
            &["emea"],
            Done,
            "2026-03-02T09:00:00Z",
            Some("2026-03-05T09:00:00Z"),
            Some("2026-03-06T09:00:00Z"),
        ),
        item(
            "MC2",
            &[EXO],
            Some("bob"),
            "planForChange",
            "normal",
            false,
            &["emea", "us"],
            InProgress,
            "2026-03-02T09:00:00Z",
            Some("2026-03-06T09:00:00Z"),
            None,
        ),
        item(
            "MC3",
            &[TEAMS, SPO],
            None,
            "stayInformed",
            "normal",
            false,
            &[],
            New,
            "2026-03-13T12:00:00Z",
            None,
            None,
        ),
        item(
            "MC4",
            &[EXO],
            Some("bob"),
            "preventOrFixIssue",
            "high",
            false,
            &["us"],
            Dismissed,
            "2026-03-03T09:00:00Z",
            None,
            Some("2026-03-04T15:00:00Z"),
        ),
        item(
            "MC5",
            &[],
            Some("alice"),
            "stayInformed",
            "normal",
            false,
            &["emea"],
            Done,
            "2026-03-04T09:00:00Z",
            Some("2026-03-09T09:00:00Z"),
            Some("2026-03-19T09:00:00Z"),
        ),
        item(
            "MC6",
            &[SPO],
            Some("carol"),
            "planForChange",
            "normal",
            true,
            &["us"],
            Done,
            "2026-03-19T09:00:00Z",
            Some("2026-03-24T09:00:00Z"),
            Some("2026-03-24T10:00:00Z"),
        ),
        item(
            "MC7",
            &[TEAMS],
            Some("alice"),
            "planForChange",
            "normal",
            false,
            &["emea"],
            Triaged,
            "2026-03-01T09:00:00Z",
            Some("2026-03-02T09:00:00Z"),
            None,
        ),
        item(
            "MC8",
            &[TEAMS],
            Some("alice"),
            "planForChange",
            "normal",
            true,
            &["emea"],
            New,
            "2026-03-24T09:00:00Z",
            None,
            None,
        ),
        item(
            "MC9",
            &[EXO],
            Some("bob"),
            "preventOrFixIssue",
            "critical",
            false,
            &["emea"],
            Done,
            "2026-03-10T09:00:00Z",
            Some("2026-03-10T15:00:00Z"),
            Some("2026-03-11T09:00:00Z"),
        ),
        item(
            "MC10",
            &[EXO],
            None,
            "stayInformed",
            "normal",
            false,
            &[],
            New,
            "2026-02-23T12:00:00Z",
            None,
            None,
        ),
    ]
}

fn settings(close_days: Option<f64>) -> AnalyticsSettings {
    AnalyticsSettings {
        calendar: WorkCalendar::default(),
        sla: SlaTargets {
            close_days,
            ..SlaTargets::default()
        },
    }
}

const FROM: &str = "2026-03-02T00:00:00Z";
const TO: &str = "2026-03-23T12:00:00Z";

fn run(close_days: Option<f64>) -> Analytics {
    analyze(&fixture(), &settings(close_days), at(FROM), at(TO), 4)
}

#[allow(clippy::too_many_arguments)]
fn st(
    items: usize,
    triaged: usize,
    triage: Option<(f64, f64)>,
    closed: usize,
    close: Option<(f64, f64)>,
    open: usize,
    breaches: usize,
) -> Stats {
    Stats {
        items,
        triaged,
        triage_median: triage.map(|t| t.0),
        triage_p90: triage.map(|t| t.1),
        closed,
        close_median: close.map(|c| c.0),
        close_p90: close.map(|c| c.1),
        open,
        breaches,
    }
}

#[test]
fn overall_counts_the_window() {
    let a = run(Some(10.0));
    // window: MC1 MC2 MC3 MC4 MC5 MC6 MC9 (MC7, MC10 before; MC8 after)
    // triaged before to: MC1 3, MC2 4, MC4 1.25, MC5 3, MC9 0.25 (MC3 none,
    //   MC6 after to) → sorted [0.25, 1.25, 3, 3, 4]: median rank ⌈2.5⌉ = 3
    //   → 3.0; p90 rank ⌈4.5⌉ = 5 → 4.0
    // closed before to: MC1 4, MC4 1.25, MC5 11, MC9 1 (MC6 after to) →
    //   [1, 1.25, 4, 11]: median rank 2 → 1.25; p90 rank ⌈3.6⌉ = 4 → 11
    // open: MC2, MC3, MC6; breaches: 5 (below)
    assert_eq!(
        a.overall,
        st(7, 5, Some((3.0, 4.0)), 4, Some((1.25, 11.0)), 3, 5)
    );
    assert_eq!(a.from, at(FROM));
    assert_eq!(a.to, at(TO));
}

#[test]
fn breaches_are_listed_furthest_over_first() {
    let a = run(Some(10.0));
    // MC2 close: open, 0.625 + 4 + 5 + 5 + 0.5 = 15.125 so far, 5.125 over
    // MC1 triage: major, 3 > 2, 1.0 over
    // MC3 triage: untriaged, 0.5 + 5 + 0.5 = 6 so far, 1.0 over
    // MC5 close: 11 > 10, 1.0 over
    // MC6 triage: major, untriaged (triaged after to), 2.125 so far, 0.125 over
    // (ties by post id: MC1, MC3, MC5); MC2's triage in 4 ≤ 5 is no breach
    let got: Vec<(&str, BreachKind, f64, f64, bool, bool)> = a
        .breaches
        .iter()
        .map(|b| {
            (
                b.post_id.as_str(),
                b.kind,
                b.target_days,
                b.days,
                b.open,
                b.major,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("MC2", BreachKind::Close, 10.0, 15.125, true, false),
            ("MC1", BreachKind::Triage, 2.0, 3.0, false, true),
            ("MC3", BreachKind::Triage, 5.0, 6.0, true, false),
            ("MC5", BreachKind::Close, 10.0, 11.0, false, false),
            ("MC6", BreachKind::Triage, 2.0, 2.125, true, true),
        ]
    );
    assert_eq!(a.breaches[0].title, "Title of MC2");
    assert_eq!(a.breaches[0].owner.as_deref(), Some("bob"));
    assert_eq!(a.breaches[4].over(), 0.125);

    // without a close target: only the three triage breaches
    let a = run(None);
    let ids: Vec<&str> = a.breaches.iter().map(|b| b.post_id.as_str()).collect();
    assert_eq!(ids, ["MC1", "MC3", "MC6"]);
    assert!(a.breaches.iter().all(|b| b.kind == BreachKind::Triage));
    assert_eq!(a.overall.breaches, 3);
}

fn dimension(a: &Analytics, d: Dimension) -> &[(String, Stats)] {
    &a.by.iter().find(|(x, _)| *x == d).unwrap().1
}

fn names(rows: &[(String, Stats)]) -> Vec<(&str, usize)> {
    rows.iter().map(|(n, s)| (n.as_str(), s.items)).collect()
}

#[test]
fn by_workload() {
    let a = run(Some(10.0));
    let by: Vec<Dimension> = a.by.iter().map(|(d, _)| *d).collect();
    assert_eq!(by, Dimension::ALL);
    let rows = dimension(&a, Dimension::Workload);
    // Exchange: MC2 MC4 MC9; Teams: MC1 MC3; SharePoint: MC3 MC6 (MC3 in
    // both); no workload: MC5. Ties by name: M < S.
    assert_eq!(
        names(rows),
        [(EXO, 3), (TEAMS, 2), (SPO, 2), (NO_WORKLOAD, 1)]
    );
    // Exchange: triage [0.25, 1.25, 4] → median rank 2 = 1.25, p90 rank 3 =
    // 4; closed MC4 1.25, MC9 1 → [1, 1.25]: median rank 1 = 1, p90 rank 2 =
    // 1.25; open MC2; breaches: MC2 close
    assert_eq!(
        rows[0].1,
        st(3, 3, Some((1.25, 4.0)), 2, Some((1.0, 1.25)), 1, 1)
    );
    // Teams: MC1 triaged 3, closed 4; MC3 open; breaches MC1 + MC3 triage
    assert_eq!(
        rows[1].1,
        st(2, 1, Some((3.0, 3.0)), 1, Some((4.0, 4.0)), 1, 2)
    );
    // SharePoint: MC3 and MC6 both untriaged and open at to; two breaches
    assert_eq!(rows[2].1, st(2, 0, None, 0, None, 2, 2));
    // no workload: MC5, triaged 3, closed 11, close breach
    assert_eq!(
        rows[3].1,
        st(1, 1, Some((3.0, 3.0)), 1, Some((11.0, 11.0)), 0, 1)
    );
}

#[test]
fn by_owner() {
    let a = run(Some(10.0));
    let rows = dimension(&a, Dimension::Owner);
    // bob: MC2 MC4 MC9; alice: MC1 MC5; carol: MC6; unassigned: MC3
    assert_eq!(
        names(rows),
        [("bob", 3), ("alice", 2), ("carol", 1), (UNASSIGNED, 1)]
    );
    // bob has the same items as Exchange Online
    assert_eq!(rows[0].1, dimension(&a, Dimension::Workload)[0].1);
    // alice: triage [3, 3]; close [4, 11]: median rank 1 = 4, p90 rank 2 =
    // 11; breaches MC1 triage + MC5 close
    assert_eq!(
        rows[1].1,
        st(2, 2, Some((3.0, 3.0)), 2, Some((4.0, 11.0)), 0, 2)
    );
    assert_eq!(rows[2].1, st(1, 0, None, 0, None, 1, 1));
    assert_eq!(rows[3].1, st(1, 0, None, 0, None, 1, 1));
}

#[test]
fn by_tenant_group() {
    let a = run(Some(10.0));
    let rows = dimension(&a, Dimension::TenantGroup);
    // emea: MC1 MC2 MC5 MC9; us: MC2 MC4 MC6; MC3 has no group: left out
    assert_eq!(names(rows), [("emea", 4), ("us", 3)]);
    // emea: triage [0.25, 3, 3, 4] → median rank 2 = 3, p90 rank 4 = 4;
    // close [1, 4, 11] → median rank 2 = 4, p90 rank 3 = 11; open MC2;
    // breaches MC1 triage, MC2 close, MC5 close
    assert_eq!(
        rows[0].1,
        st(4, 4, Some((3.0, 4.0)), 3, Some((4.0, 11.0)), 1, 3)
    );
    // us: triage [1.25, 4] → median rank 1 = 1.25, p90 rank 2 = 4; close
    // [1.25]; open MC2 MC6; breaches MC2 close, MC6 triage
    assert_eq!(
        rows[1].1,
        st(3, 2, Some((1.25, 4.0)), 1, Some((1.25, 1.25)), 2, 2)
    );
}

#[test]
fn by_category_and_severity() {
    let a = run(Some(10.0));
    // planForChange: MC1 MC2 MC6; preventOrFixIssue: MC4 MC9; stayInformed:
    // MC3 MC5
    let rows = dimension(&a, Dimension::Category);
    assert_eq!(
        names(rows),
        [
            ("planForChange", 3),
            ("preventOrFixIssue", 2),
            ("stayInformed", 2)
        ]
    );
    // planForChange: triage [3, 4]: median 3, p90 4; close [4]; open MC2
    // MC6; breaches MC1 triage, MC2 close, MC6 triage
    assert_eq!(
        rows[0].1,
        st(3, 2, Some((3.0, 4.0)), 1, Some((4.0, 4.0)), 2, 3)
    );
    // normal: MC1 MC2 MC3 MC5 MC6; critical: MC9; high: MC4
    let rows = dimension(&a, Dimension::Severity);
    assert_eq!(names(rows), [("normal", 5), ("critical", 1), ("high", 1)]);
    // high: MC4, the dismissal: triaged and closed at 1.25
    assert_eq!(
        rows[2].1,
        st(1, 1, Some((1.25, 1.25)), 1, Some((1.25, 1.25)), 0, 0)
    );
}

#[test]
fn weekly_rows_count_every_item() {
    let a = run(Some(10.0));
    // weeks: 2 Mar, 9 Mar, 16 Mar, 23 Mar (ending at to, Mon 12:00)
    // new: W1 MC1 MC2 MC4 MC5; W2 MC3 MC9; W3 MC6; W4 none (MC8 after to)
    // triaged: W1 MC1 (3) MC2 (4) MC4 (1.25, dismissal) MC7 (0.375, created
    //   before the window) → median of [0.375, 1.25, 3, 4] rank 2 = 1.25;
    //   W2 MC5 (3) MC9 (0.25) → rank 1 = 0.25; W3, W4 none (MC6 after to)
    // closed: W1 MC1 MC4; W2 MC9; W3 MC5; W4 none (MC6 after to)
    // backlog at each week's end:
    //   9 Mar: created MC1 MC2 MC4 MC5 MC7 MC10, closed MC1 MC4 → 4
    //   16 Mar: + MC3 MC9, closed + MC9 → MC2 MC5 MC7 MC10 MC3 = 5
    //   23 Mar: + MC6, closed + MC5 → MC2 MC7 MC10 MC3 MC6 = 5
    //   to: the same 5
    let w = |start, new, triaged, closed, backlog, triage_median| Week {
        start,
        new,
        triaged,
        closed,
        backlog,
        triage_median,
    };
    assert_eq!(
        a.weekly,
        vec![
            w(date!(2026 - 03 - 02), 4, 4, 2, 4, Some(1.25)),
            w(date!(2026 - 03 - 09), 2, 2, 1, 5, Some(0.25)),
            w(date!(2026 - 03 - 16), 1, 0, 1, 5, None),
            w(date!(2026 - 03 - 23), 0, 0, 0, 5, None),
        ]
    );
}

#[test]
fn backlog_at_to() {
    let a = run(Some(10.0));
    // open at to: MC10 (28.0 days), MC7 (22 d 3 h = 22.125), MC2 (21.125),
    // MC3 (10.0), MC6 (4.125; done, but after to)
    assert_eq!(a.backlog.open, 5);
    let ages: Vec<(&str, usize)> = a
        .backlog
        .ages
        .iter()
        .map(|(l, n)| (l.as_str(), *n))
        .collect();
    assert_eq!(
        ages,
        [
            ("under 1 week", 1),
            ("1–2 weeks", 1),
            ("2–4 weeks", 2),
            ("1–3 months", 1),
            ("over 3 months", 0),
        ]
    );
    let oldest: Vec<(&str, f64, State)> = a
        .backlog
        .oldest
        .iter()
        .map(|o| (o.post_id.as_str(), o.age_days, o.state))
        .collect();
    assert_eq!(
        oldest,
        [
            ("MC10", 28.0, State::New),
            ("MC7", 22.125, State::Triaged),
            ("MC2", 21.125, State::InProgress),
            ("MC3", 10.0, State::New),
            ("MC6", 4.125, State::Done),
        ]
    );
    assert_eq!(a.backlog.oldest[1].owner.as_deref(), Some("alice"));
    assert_eq!(a.backlog.oldest[1].title, "Title of MC7");
    // the last week ends at to
    assert_eq!(a.weekly.last().unwrap().backlog, a.backlog.open);
}

#[test]
fn only_the_ten_oldest_are_listed() {
    let items: Vec<ItemFacts> = (0..15)
        .map(|i| {
            item(
                &format!("MC{i:02}"),
                &[],
                None,
                "",
                "",
                false,
                &[],
                State::New,
                &format!("2026-01-{:02}T00:00:00Z", i + 1),
                None,
                None,
            )
        })
        .collect();
    let a = analyze(
        &items,
        &AnalyticsSettings::default(),
        at("2026-01-01T00:00:00Z"),
        at("2026-05-01T00:00:00Z"),
        1,
    );
    assert_eq!(a.backlog.open, 15);
    let ids: Vec<&str> = a
        .backlog
        .oldest
        .iter()
        .map(|o| o.post_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "MC00", "MC01", "MC02", "MC03", "MC04", "MC05", "MC06", "MC07", "MC08", "MC09"
        ]
    );
    // every one is over 90 days old (1 Jan + 14 days → 1 May: 106 days)
    assert_eq!(a.backlog.ages.last().unwrap().1, 15);
    // blank category and severity: (none)
    assert_eq!(names(dimension(&a, Dimension::Category)), [(NONE, 15)]);
    assert_eq!(names(dimension(&a, Dimension::Severity)), [(NONE, 15)]);
    assert!(dimension(&a, Dimension::TenantGroup).is_empty());
}

#[test]
fn a_week_ending_at_monday_midnight_is_the_week_before() {
    // to = Monday 9 Mar 00:00: the last week is 2–8 March, not an empty one
    let a = analyze(
        &fixture(),
        &settings(None),
        at(FROM),
        at("2026-03-09T00:00:00Z"),
        2,
    );
    let starts: Vec<Date> = a.weekly.iter().map(|w| w.start).collect();
    assert_eq!(starts, [date!(2026 - 02 - 23), date!(2026 - 03 - 02)]);
    // week of 23 Feb: MC10 new, MC7 created Sun 1 Mar; backlog at 2 Mar 00:00
    // MC10 and MC7
    assert_eq!(a.weekly[0].new, 2);
    assert_eq!(a.weekly[0].backlog, 2);
    assert_eq!(a.weekly[1].new, 4);
}

#[test]
fn instants_at_to_or_at_a_week_boundary_belong_to_what_follows() {
    let plain = |id: &str, created: &str, triaged: Option<&str>, closed: Option<&str>| {
        let state = if closed.is_some() {
            State::Done
        } else {
            State::Triaged
        };
        item(
            id,
            &[EXO],
            None,
            "planForChange",
            "normal",
            false,
            &[],
            state,
            created,
            triaged,
            closed,
        )
    };
    let items = [
        // triaged and closed exactly at to: untriaged and open at to
        plain("MC1", "2026-03-16T12:00:00Z", Some(TO), Some(TO)),
        // created exactly at to: not in the window, not in the backlog
        plain("MC2", TO, None, None),
        // created exactly at from: in the window
        plain("MC3", FROM, Some("2026-03-02T12:00:00Z"), None),
        // closed exactly at Monday 16 March 00:00: open at the end of the
        // week of 9 March, closed in the week of 16 March
        plain(
            "MC4",
            "2026-03-10T00:00:00Z",
            Some("2026-03-11T00:00:00Z"),
            Some("2026-03-16T00:00:00Z"),
        ),
    ];
    let a = analyze(&items, &settings(None), at(FROM), at(TO), 3);
    // window: MC1 MC3 MC4; triaged MC3 (0.5), MC4 (1); closed MC4 (Tue
    // 00:00 → Mon 00:00: Tue–Fri = 4); open MC1 MC3
    assert_eq!(
        a.overall,
        st(3, 2, Some((0.5, 1.0)), 1, Some((4.0, 4.0)), 2, 0)
    );
    let rows: Vec<(usize, usize, usize, usize)> = a
        .weekly
        .iter()
        .map(|w| (w.new, w.triaged, w.closed, w.backlog))
        .collect();
    // weeks of 9, 16 and 23 March: MC3 is before them (backlog 1 from the
    // start); MC4 new and triaged in the first, still open at its end (2),
    // closed in the second, where MC1 is new (2); MC1 and MC2 nothing at to
    assert_eq!(rows, [(1, 1, 0, 2), (1, 0, 1, 2), (0, 0, 0, 2)]);
    assert_eq!(a.backlog.open, 2);
}

#[test]
fn each_week_backlog_is_the_last_plus_new_less_closed() {
    let a = run(None);
    // before the first week (2 March 00:00): MC7 (1 March) and MC10 open
    let mut backlog = 2;
    for w in &a.weekly {
        backlog = backlog + w.new - w.closed;
        assert_eq!(w.backlog, backlog, "{w:?}");
    }
}

#[test]
fn several_workloads_and_groups_count_once_each() {
    let mut i = item(
        "MC1",
        &[TEAMS, TEAMS, " "],
        Some(" "),
        "planForChange",
        "normal",
        false,
        &["emea", "emea", "us"],
        State::New,
        "2026-03-02T09:00:00Z",
        None,
        None,
    );
    let a = analyze(
        std::slice::from_ref(&i),
        &AnalyticsSettings::default(),
        at(FROM),
        at(TO),
        1,
    );
    assert_eq!(names(dimension(&a, Dimension::Workload)), [(TEAMS, 1)]);
    assert_eq!(names(dimension(&a, Dimension::Owner)), [(UNASSIGNED, 1)]);
    assert_eq!(
        names(dimension(&a, Dimension::TenantGroup)),
        [("emea", 1), ("us", 1)]
    );
    // only blank workloads: (no workload)
    i.workloads = vec![String::new()];
    let a = analyze(&[i], &AnalyticsSettings::default(), at(FROM), at(TO), 1);
    assert_eq!(
        names(dimension(&a, Dimension::Workload)),
        [(NO_WORKLOAD, 1)]
    );
}

#[test]
fn a_closed_item_without_a_close_time_is_closed_and_undated() {
    // closed in state but no closed_at (not made by changedesk's actions)
    let i = item(
        "MC1",
        &[EXO],
        None,
        "planForChange",
        "normal",
        true,
        &[],
        State::Done,
        "2026-03-02T09:00:00Z",
        None,
        None,
    );
    let a = analyze(&[i], &settings(Some(1.0)), at(FROM), at(TO), 4);
    assert_eq!(a.overall, st(1, 1, None, 1, None, 0, 0));
    assert!(a.breaches.is_empty());
    assert_eq!(a.backlog.open, 0);
    assert!(a.weekly.iter().all(|w| w.backlog == 0 && w.closed == 0));
    assert_eq!(a.weekly[0].new, 1);
}

#[test]
fn an_open_item_with_a_stale_close_time_is_open() {
    // state open: closed_at is not believed (reopening clears it)
    let i = item(
        "MC1",
        &[EXO],
        None,
        "planForChange",
        "normal",
        false,
        &[],
        State::Triaged,
        "2026-03-02T09:00:00Z",
        Some("2026-03-03T09:00:00Z"),
        Some("2026-03-04T09:00:00Z"),
    );
    let a = analyze(&[i], &settings(None), at(FROM), at(TO), 4);
    assert_eq!(a.overall, st(1, 1, Some((1.0, 1.0)), 0, None, 1, 0));
    assert_eq!(a.backlog.open, 1);
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let s = AnalyticsSettings::default();
    let a = analyze(&[], &s, at(FROM), at(TO), 4);
    assert_eq!(a.overall, Stats::default());
    assert!(a.by.iter().all(|(_, rows)| rows.is_empty()));
    assert_eq!(a.weekly.len(), 4);
    assert!(a.weekly.iter().all(|w| w.new == 0 && w.backlog == 0));
    assert_eq!(a.backlog.open, 0);
    assert_eq!(a.backlog.ages.len(), AGE_BUCKETS.len());

    // to before from: an empty window, but the weeks and backlog at to
    let a = analyze(&fixture(), &s, at(TO), at(FROM), 2);
    assert_eq!(a.overall.items, 0);
    assert!(a.breaches.is_empty());
    assert_eq!(a.weekly.len(), 2);

    // no weeks
    let a = analyze(&fixture(), &s, at(FROM), at(TO), 0);
    assert!(a.weekly.is_empty());

    // far too many weeks, and instants at the ends of time
    let a = analyze(&fixture(), &s, at(FROM), at(TO), usize::MAX);
    assert_eq!(a.weekly.len(), MAX_WEEKS);
    let a = analyze(
        &fixture(),
        &s,
        at("0001-01-01T00:00:00Z"),
        at("9999-12-31T23:59:59Z"),
        usize::MAX,
    );
    assert_eq!(a.overall.items, 10);
    // the first instant there is: no week before it
    let min = Timestamp::from_unix(-377_705_116_800).unwrap();
    let a = analyze(
        &fixture(),
        &s,
        min,
        min.saturating_add(Duration::days(3)),
        usize::MAX,
    );
    assert!(a.weekly.len() < 3, "{:?}", a.weekly);
    let a = analyze(&fixture(), &s, min, min, 3);
    assert!(a.weekly.len() <= 3);
}

#[test]
fn names_and_labels() {
    let names: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(
        names,
        ["workload", "owner", "tenant_group", "category", "severity"]
    );
    for d in Dimension::ALL {
        assert_eq!(Dimension::parse(d.name()), Some(*d));
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::json!(d.name())
        );
    }
    assert_eq!(Dimension::TenantGroup.label(), "Tenant group");
    assert_eq!(BreachKind::Close.name(), "close");
    assert_eq!(BreachKind::Triage.label(), "Time to triage");
    assert_eq!(
        serde_json::to_value(BreachKind::Triage).unwrap(),
        serde_json::json!("triage")
    );
}

#[test]
fn serialises_dates_and_weekdays_as_text() {
    let mut s = AnalyticsSettings::default();
    s.calendar.holidays.insert(date!(2026 - 12 - 25));
    let a = analyze(&fixture(), &s, at(FROM), at(TO), 1);
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(
        v["settings"]["calendar"],
        serde_json::json!({
            "working_weekdays": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "holidays": ["2026-12-25"],
        })
    );
    assert_eq!(v["weekly"][0]["start"], "2026-03-23");
    assert_eq!(v["by"][0][0], "workload");
    assert_eq!(v["settings"]["sla"]["close_days"], serde_json::Value::Null);
    assert_eq!(v["settings"]["sla"]["triage_days"], 5.0);
}

// ---- properties ----

fn arb_item() -> impl Strategy<Value = ItemFacts> {
    // instants within about three years, in minutes
    let instant =
        (0i64..1_600_000).prop_map(|m| Timestamp::from_unix(1_700_000_000 + m * 60).unwrap());
    (
        prop::sample::select(vec!["MC1", "MC2", "MC3"]),
        prop::collection::vec(prop::sample::select(vec!["a", "b", "", " "]), 0..3),
        prop::option::of(prop::sample::select(vec!["x", "y", ""])),
        any::<bool>(),
        prop::sample::select(State::ALL.to_vec()),
        instant.clone(),
        prop::option::of(instant.clone()),
        prop::option::of(instant),
    )
        .prop_map(
            |(id, workloads, owner, major, state, created, triaged, closed)| ItemFacts {
                post_id: id.to_string(),
                title: "t".to_string(),
                workloads: workloads.iter().map(|s| s.to_string()).collect(),
                owner: owner.map(str::to_string),
                category: "c".to_string(),
                severity: "s".to_string(),
                major,
                groups: workloads.iter().map(|s| s.to_string()).collect(),
                state,
                created_at: created,
                first_triaged_at: triaged,
                closed_at: closed,
                work: Default::default(),
            },
        )
}

fn within(s: &Stats) -> bool {
    let ok = |m: Option<f64>, p: Option<f64>| match (m, p) {
        (Some(m), Some(p)) => m <= p && m >= 0.0,
        (None, None) => true,
        _ => false,
    };
    ok(s.triage_median, s.triage_p90)
        && ok(s.close_median, s.close_p90)
        && s.open + s.closed == s.items
        && s.triaged <= s.items
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// analyze never panics; medians lie within the durations; the last
    /// week's backlog is the backlog at `to`; the weeks are consecutive.
    #[test]
    fn analyze_is_consistent(
        items in prop::collection::vec(arb_item(), 0..30),
        from in 0i64..1_600_000,
        len in -100_000i64..1_600_000,
        weeks in 0usize..200,
        close in prop::option::of(0.5f64..20.0),
        weekend in any::<bool>(),
    ) {
        let from = Timestamp::from_unix(1_700_000_000 + from * 60).unwrap();
        let to = Timestamp::from_unix(from.unix_seconds() + len * 60).unwrap();
        let mut s = settings(close);
        if weekend {
            s.calendar.working_weekdays.push(Weekday::Saturday);
            s.calendar.holidays.insert(date!(2024 - 12 - 25));
        }
        let a = analyze(&items, &s, from, to, weeks);
        prop_assert!(within(&a.overall));
        for (_, rows) in &a.by {
            for (_, st) in rows {
                prop_assert!(within(st));
                prop_assert!(st.items <= a.overall.items);
            }
        }
        prop_assert_eq!(a.breaches.len(), a.overall.breaches);
        for b in &a.breaches {
            prop_assert!(b.days > b.target_days);
        }
        for pair in a.breaches.windows(2) {
            prop_assert!(pair[0].over() >= pair[1].over());
        }
        prop_assert_eq!(a.weekly.len(), weeks);
        for pair in a.weekly.windows(2) {
            prop_assert_eq!(pair[1].start - pair[0].start, Duration::weeks(1));
        }
        if let Some(last) = a.weekly.last() {
            prop_assert_eq!(last.backlog, a.backlog.open);
        }
        let bucketed: usize = a.backlog.ages.iter().map(|(_, n)| n).sum();
        prop_assert_eq!(bucketed, a.backlog.open);

        // the median of the window's triage times lies between their min and max
        let mut days: Vec<f64> = items
            .iter()
            .filter(|i| i.created_at >= from && i.created_at < to)
            .filter_map(|i| {
                let n = Norm::new(i);
                match n.triaged {
                    Some(When::At(t)) if t < to => Some(s.calendar.working_days(i.created_at, t)),
                    _ => None,
                }
            })
            .collect();
        days.sort_by(f64::total_cmp);
        match (a.overall.triage_median, days.first(), days.last()) {
            (Some(m), Some(lo), Some(hi)) => prop_assert!(*lo <= m && m <= *hi),
            (None, None, None) => {}
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// Working days add up over a split, and never exceed calendar days.
    #[test]
    fn working_days_add_up(a in 0i64..10_000_000, b in 0i64..10_000_000, c in 0i64..10_000_000) {
        let mut v = [a, b, c];
        v.sort();
        let t = |m: i64| Timestamp::from_unix(1_600_000_000 + m * 60).unwrap();
        let mut cal = WorkCalendar::default();
        cal.holidays.insert(date!(2021 - 01 - 01));
        cal.holidays.insert(date!(2022 - 12 - 26));
        let whole = cal.working_days(t(v[0]), t(v[2]));
        let parts = cal.working_days(t(v[0]), t(v[1])) + cal.working_days(t(v[1]), t(v[2]));
        prop_assert!((whole - parts).abs() < 1e-6, "{} vs {}", whole, parts);
        let calendar = (v[2] - v[0]) as f64 / 1440.0;
        prop_assert!(whole <= calendar + 1e-9);
        prop_assert!(whole >= 0.0);
    }
}

/// The worked example of docs/ANALYTICS.md, figure by figure.
#[test]
fn the_worked_example_of_the_docs() {
    use State::*;
    let items = [
        item(
            "MC1",
            &[TEAMS],
            Some("alice"),
            "planForChange",
            "normal",
            true,
            &[],
            Done,
            "2026-03-02T09:00:00Z",
            Some("2026-03-05T09:00:00Z"),
            Some("2026-03-06T09:00:00Z"),
        ),
        item(
            "MC2",
            &[EXO],
            Some("bob"),
            "planForChange",
            "normal",
            false,
            &[],
            InProgress,
            "2026-03-02T09:00:00Z",
            Some("2026-03-06T09:00:00Z"),
            None,
        ),
        item(
            "MC3",
            &[EXO],
            Some("bob"),
            "stayInformed",
            "normal",
            false,
            &[],
            Dismissed,
            "2026-03-03T09:00:00Z",
            None,
            Some("2026-03-04T15:00:00Z"),
        ),
        item(
            "MC4",
            &[TEAMS],
            None,
            "planForChange",
            "high",
            false,
            &[],
            New,
            "2026-03-03T12:00:00Z",
            None,
            None,
        ),
    ];
    let a = analyze(
        &items,
        &AnalyticsSettings::default(),
        at("2026-03-02T00:00:00Z"),
        at("2026-03-11T12:00:00Z"),
        2,
    );
    assert_eq!(
        a.overall,
        st(4, 3, Some((3.0, 4.0)), 2, Some((1.25, 4.0)), 2, 2)
    );
    let b: Vec<(&str, BreachKind, f64, f64, bool)> = a
        .breaches
        .iter()
        .map(|b| (b.post_id.as_str(), b.kind, b.target_days, b.days, b.open))
        .collect();
    assert_eq!(
        b,
        [
            ("MC1", BreachKind::Triage, 2.0, 3.0, false),
            ("MC4", BreachKind::Triage, 5.0, 6.0, true),
        ]
    );
    let weeks: Vec<(Date, usize, usize, usize, usize, Option<f64>)> = a
        .weekly
        .iter()
        .map(|w| {
            (
                w.start,
                w.new,
                w.triaged,
                w.closed,
                w.backlog,
                w.triage_median,
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [
            (date!(2026 - 03 - 02), 4, 3, 2, 2, Some(3.0)),
            (date!(2026 - 03 - 09), 0, 0, 0, 2, None),
        ]
    );
    let oldest: Vec<(&str, f64)> = a
        .backlog
        .oldest
        .iter()
        .map(|o| (o.post_id.as_str(), o.age_days))
        .collect();
    assert_eq!(oldest, [("MC2", 9.125), ("MC4", 8.0)]);
    assert_eq!(a.backlog.ages[1], ("1–2 weeks".to_string(), 2));
    assert_eq!(
        names(dimension(&a, Dimension::Owner)),
        [("bob", 2), ("alice", 1), (UNASSIGNED, 1)]
    );
    // bob: MC2 (4.0) and MC3 (1.25) triaged → median 1.25, p90 4.0
    assert_eq!(
        dimension(&a, Dimension::Owner)[0].1,
        st(2, 2, Some((1.25, 4.0)), 1, Some((1.25, 1.25)), 1, 0)
    );
}
