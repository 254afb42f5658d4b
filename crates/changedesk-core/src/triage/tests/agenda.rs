//! The weekly review agenda: its sections and its Markdown.

use super::*;
use crate::graph::{Category, Severity};

struct P {
    id: &'static str,
    title: &'static str,
    services: &'static [&'static str],
    severity: Severity,
    major: bool,
    created: i64,
    state: State,
    act_by: Option<i64>,
    due: Option<i64>,
    assignee: Option<&'static str>,
    changed: &'static [&'static str],
}

const BASE: P = P {
    id: "",
    title: "",
    services: &[],
    severity: Severity::Normal,
    major: false,
    created: -1,
    state: State::New,
    act_by: None,
    due: None,
    assignee: None,
    changed: &[],
};

fn post(p: P) -> AgendaPost {
    let mut item = item_in(p.state);
    item.message_id = p.id.into();
    item.created_at = days(p.created);
    item.due = p.due.map(days);
    item.assignee = p.assignee.map(String::from);
    item.changed_since_triage = strings(p.changed);
    AgendaPost {
        id: p.id.into(),
        title: p.title.into(),
        services: strings(p.services),
        category: Category::PlanForChange,
        severity: p.severity,
        major: p.major,
        act_by: p.act_by.map(days),
        start: None,
        first_seen: days(-1000),
        item,
        owner: Some("tina".into()),
        tenants: strings(&["contoso", "fabrikam"]),
        tenant_count: 2,
        counted: Vec::new(),
    }
}

fn posts() -> Vec<AgendaPost> {
    vec![
        post(P {
            id: "MC1003",
            title: "Teams: chat tweak",
            services: &["microsoft teams"],
            created: -3,
            state: State::Triaged,
            due: Some(2),
            assignee: Some("gina"),
            ..BASE
        }),
        post(P {
            id: "MC1001",
            title: "Teams: new meeting UI",
            services: &["Microsoft Teams", "Microsoft Clipchamp"],
            severity: Severity::High,
            major: true,
            created: -2,
            act_by: Some(20),
            ..BASE
        }),
        post(P {
            id: "MC1002",
            title: "Exchange: retire basic auth | SMTP",
            services: &["Exchange Online"],
            severity: Severity::Critical,
            created: -1,
            act_by: Some(5),
            ..BASE
        }),
        post(P {
            id: "MC900",
            title: "SharePoint: old thing",
            services: &["SharePoint Online"],
            created: -60,
            state: State::InProgress,
            act_by: Some(10),
            due: Some(-3),
            changed: &["act_by"],
            ..BASE
        }),
        post(P {
            id: "MC901",
            title: "OneDrive: missed thing",
            services: &["OneDrive for Business"],
            created: -90,
            state: State::Triaged,
            act_by: Some(-10),
            ..BASE
        }),
        post(P {
            id: "MC902",
            title: "Purview: closed",
            services: &["Microsoft Purview"],
            created: -30,
            state: State::Done,
            act_by: Some(-10),
            ..BASE
        }),
        post(P {
            id: "MC1004",
            title: "Something without a service",
            created: -1,
            state: State::Dismissed,
            ..BASE
        }),
    ]
}

fn log() -> Vec<AgendaLogEntry> {
    let e = |id: &str, d: i64, action: LogAction, field: &str, new: &str, reason: Option<&str>| {
        AgendaLogEntry {
            message_id: id.into(),
            entry: LogEntry::new(days(d), &alice(), action)
                .change(field, None::<String>, Some(new))
                .because(reason),
        }
    };
    let mut tenant = e(
        "MC902",
        -1,
        LogAction::SetOverride,
        "applicable",
        "false",
        None,
    );
    tenant.entry.scope = LogScope::Tenant("contoso".into());
    vec![
        e("MC902", -2, LogAction::Close, "state", "done", None),
        e(
            "MC902",
            -2,
            LogAction::Close,
            "decision",
            "actioned",
            Some("Policy | updated"),
        ),
        e(
            "MC1004",
            -1,
            LogAction::Dismiss,
            "state",
            "dismissed",
            Some("Not licensed"),
        ),
        e(
            "MC800",
            -3,
            LogAction::Close,
            "decision",
            "no_action_needed",
            None,
        ),
        e("MC700", -10, LogAction::Close, "decision", "actioned", None),
        e("MC1003", -1, LogAction::Triage, "state", "triaged", None),
        tenant,
    ]
}

fn agenda() -> Agenda {
    Agenda::build(&posts(), &log(), t0(), days(-7))
}

fn ids(rows: &[AgendaRow]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn sections_hold_the_right_posts_in_order() {
    let a = agenda();
    let groups: Vec<(&str, Vec<&str>)> = a
        .new_posts
        .iter()
        .map(|s| (s.workload.as_str(), ids(&s.rows)))
        .collect();
    assert_eq!(
        groups,
        vec![
            ("Exchange Online", vec!["MC1002"]),
            // grouped ignoring case; most severe first
            ("microsoft teams", vec!["MC1001", "MC1003"]),
            (NO_WORKLOAD, vec!["MC1004"]),
        ]
    );
    assert_eq!(ids(&a.awaiting_triage), vec!["MC1002", "MC1001"]);
    assert_eq!(ids(&a.due_soon), vec!["MC1003", "MC1002"]);
    assert_eq!(a.due_soon[0].deadline, DeadlineStatus::DueSoon(2));
    assert_eq!(ids(&a.changed_since_triage), vec!["MC900"]);
    assert_eq!(ids(&a.overdue), vec!["MC900"]);
    assert_eq!(ids(&a.missed), vec!["MC901"]);
    let decisions: Vec<(&str, State, Option<Decision>)> = a
        .decisions
        .iter()
        .map(|d| (d.message_id.as_str(), d.state, d.decision))
        .collect();
    assert_eq!(
        decisions,
        vec![
            ("MC1004", State::Dismissed, None),
            ("MC902", State::Done, Some(Decision::Actioned)),
            ("MC800", State::Done, Some(Decision::NoActionNeeded)),
        ]
    );
    assert_eq!(a.decisions[1].title.as_deref(), Some("Purview: closed"));
    assert_eq!(a.decisions[2].title, None);
    assert_eq!(
        a.counts,
        AgendaCounts {
            new_posts: 4,
            awaiting_triage: 2,
            due_soon: 2,
            changed_since_triage: 1,
            overdue: 1,
            missed: 1,
            decisions: 3,
        }
    );
    // the assignee wins over the resolved owner
    assert_eq!(a.due_soon[0].owner.as_deref(), Some("gina"));
    assert_eq!(a.due_soon[1].owner.as_deref(), Some("tina"));
}

#[test]
fn the_markdown_is_a_meeting_document() {
    let md = agenda().to_markdown();
    for want in [
        "# Change review 2025-03-03\n",
        "Changes since 2025-02-24 09:00 UTC. Generated 2025-03-03 09:00 UTC.",
        "| Section | Items |",
        "| New posts | 4 |",
        "| Due in the next 14 days | 2 |",
        "| Decisions since 2025-02-24 | 3 |",
        "## New posts (4)",
        "### Exchange Online (1)",
        "### microsoft teams (2)",
        "### (no workload) (1)",
        "| MC1001 | Teams: new meeting UI **(major)** | high | planForChange | 2025-03-23 | tina | new |",
        "| MC1002 | Exchange: retire basic auth \\| SMTP | critical |",
        "## Awaiting triage (2)",
        "| MC1002 | Exchange: retire basic auth \\| SMTP | Exchange Online | 2025-03-08 | tina | 2 |",
        "## Due in the next 14 days (2)",
        "| MC1003 | Teams: chat tweak | 2025-03-05 (due) | in 2 days | gina | triaged | normal |",
        "| MC1002 | Exchange: retire basic auth \\| SMTP | 2025-03-08 (act by) | in 5 days | tina | new | normal |",
        "## Changed since triage (1)",
        "| MC900 | SharePoint: old thing | Date moved · Act by | in progress | tina |",
        "## Overdue (1)",
        "| MC900 | SharePoint: old thing | 2025-02-28 | 3 days | tina | in progress |",
        "## Missed (1)",
        "| MC901 | OneDrive: missed thing | 2025-02-21 | 10 days | tina | triaged |",
        "## Decisions since 2025-02-24 (3)",
        "| Date | Post | Title | Decision | By | Reason |",
        "| 2025-03-02 | MC1004 | Something without a service | dismissed | alice | Not licensed |",
        "| 2025-03-01 | MC902 | Purview: closed | actioned | alice | Policy \\| updated |",
        "| 2025-02-28 | MC800 | — | no_action_needed | alice | — |",
    ] {
        assert!(md.contains(want), "missing {want:?} in:\n{md}");
    }
    // sections come in meeting order
    let order: Vec<usize> = [
        "## New posts",
        "## Awaiting triage",
        "## Due in the next",
        "## Changed since triage",
        "## Overdue",
        "## Missed",
        "## Decisions since",
    ]
    .iter()
    .map(|h| md.find(h).unwrap_or(usize::MAX))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    assert!(
        !md.contains("MC700"),
        "decisions before `since` are left out"
    );
    assert!(md.ends_with("|\n"), "{md}");
}

#[test]
fn empty_sections_say_nothing() {
    let a = Agenda::build(&[], &[], t0(), days(-7));
    assert_eq!(a.counts, AgendaCounts::default());
    let md = a.to_markdown();
    for heading in [
        "## New posts (0)",
        "## Awaiting triage (0)",
        "## Overdue (0)",
        "## Decisions since 2025-02-24 (0)",
    ] {
        assert!(
            md.contains(&format!("{heading}\n\nNothing.\n")),
            "{heading} in:\n{md}"
        );
    }
    assert!(!md.contains("| Post |"));
}

#[test]
fn the_agenda_serialises_for_json() {
    let a = agenda();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["counts"]["new_posts"], 4);
    assert_eq!(json["due_soon"][0]["id"], "MC1003");
    assert_eq!(json["due_soon"][0]["deadline"]["due_soon"], 2);
    assert_eq!(json["missed"][0]["state"], "triaged");
    assert_eq!(json["decisions"][0]["actor"], "alice");
    let back: Agenda = serde_json::from_value(json).unwrap();
    assert_eq!(back, a);
}

#[test]
fn per_tenant_views_read_each_tenants_exception() {
    let mut p = post(P {
        id: "MC1",
        title: "Split",
        ..BASE
    });
    // exceptions for tenants that see the post and for one that does not
    for (t, state) in [
        ("b-two", State::Done),
        ("d-four", State::Done),
        ("zz-gone", State::Done),
    ] {
        p.item.overrides.push(TenantOverride {
            state: Some(state),
            ..TenantOverride::empty(t)
        });
    }
    p.item.overrides.push(TenantOverride {
        applicable: Some(false),
        ..TenantOverride::empty("c-three")
    });
    // kept sorted by tenant, as every change keeps them
    p.item.overrides.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    let seen = ["a-one", "b-two", "c-three", "d-four", "e-five"];
    let grouped = |tenants: &[&str]| {
        let mut p = p.clone();
        p.tenants = strings(tenants);
        let mut out: Vec<(State, Vec<String>)> = p
            .per_tenant_views()
            .into_iter()
            .map(|v| {
                let mut t = v.tenants.clone();
                t.sort();
                (v.item.state, t)
            })
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    };
    let want = vec![
        (State::New, strings(&["a-one", "e-five"])),
        (State::Done, strings(&["b-two", "d-four"])),
        (State::Dismissed, strings(&["c-three"])),
    ];
    // sorted names are walked beside the overrides; any other order is
    // searched: the same views
    assert_eq!(grouped(&seen), want);
    assert_eq!(
        grouped(&["e-five", "c-three", "a-one", "d-four", "b-two"]),
        want
    );
    // only the tenants with an exception named, the others counted: the
    // same views, the item's own counting its unnamed tenants, naming none
    let mut counted = p.clone();
    counted.tenants = strings(&["b-two", "c-three", "d-four"]);
    counted.tenant_count = 5;
    let mut views: Vec<(State, Vec<String>, usize)> = counted
        .clone()
        .per_tenant_views()
        .into_iter()
        .map(|v| (v.item.state, v.tenants, v.tenant_count))
        .collect();
    views.sort_by_key(|v| v.0.as_str());
    assert_eq!(
        views,
        vec![
            (State::Dismissed, strings(&["c-three"]), 1),
            (State::Done, strings(&["b-two", "d-four"]), 2),
            (State::New, Vec::new(), 2),
        ]
    );
    // an exception alike to the item's own (here only a note) puts its
    // tenant with the unnamed ones: counted, not named
    let mut noted = counted.clone();
    noted.item.overrides.push(TenantOverride {
        note: Some("checked".into()),
        ..TenantOverride::empty("e-five")
    });
    noted.item.overrides.sort_by(|a, b| a.tenant.cmp(&b.tenant));
    noted.tenants.push("e-five".into());
    let own: Vec<(Vec<String>, usize)> = noted
        .per_tenant_views()
        .into_iter()
        .filter(|v| v.item.state == State::New)
        .map(|v| (v.tenants, v.tenant_count))
        .collect();
    assert_eq!(own, vec![(Vec::new(), 2)]);
    // the exceptions counted by what they override, none named (the
    // store's counted read, its item without exceptions): the same views,
    // counted, naming none
    let mut by_count = counted.clone();
    by_count.item.overrides.clear();
    by_count.tenants.clear();
    let count = |e: TenantOverride, tenants| ExceptionCount {
        exception: e,
        tenants,
    };
    by_count.counted = vec![
        count(
            TenantOverride {
                state: Some(State::Done),
                ..TenantOverride::empty("")
            },
            2,
        ),
        count(
            TenantOverride {
                applicable: Some(false),
                ..TenantOverride::empty("")
            },
            1,
        ),
        // a tenant whose exception is a note alone: the item's own view
        count(TenantOverride::empty(""), 1),
    ];
    let mut views: Vec<(State, Vec<String>, usize)> = by_count
        .per_tenant_views()
        .into_iter()
        .map(|v| (v.item.state, v.tenants, v.tenant_count))
        .collect();
    views.sort_by_key(|v| v.0.as_str());
    assert_eq!(
        views,
        vec![
            (State::Dismissed, Vec::new(), 1),
            (State::Done, Vec::new(), 2),
            (State::New, Vec::new(), 2),
        ]
    );
}
