//! One definition of "awaiting triage", "changed since triage", "overdue"
//! and "missed", identical on every surface: the inbox's chips and their
//! lists, the API's post filters, the work item list, the agenda (page and
//! data), and the deadline sweep; and the baseline a first sync makes,
//! accepted in one action.

use changedesk_core::access::{Role, Scope};
use changedesk_core::triage::{BASELINE_LABEL, OwnershipMap, State, WorkItem, baseline_fate};
use changedesk_server::triage::{agenda, sweep_deadlines};
use changedesk_store::{ItemFilter, Store};
use serde_json::{Value, json};

use super::ui::{Browser, Fixture, NOW, at, chip, listed, opts, post, sign_in, user};

/// alpha's first load (its baseline) on 1 March, zulu's on 2 March, alpha's
/// second on 3 March; now is 10 March.
///
/// | post | seen first | dates | item | counts as |
/// |---|---|---|---|---|
/// | B1 | alpha's first load | act-by 20 Feb | new | awaiting (baseline: history) |
/// | B2 | alpha's first load | act-by 5 Mar | new | awaiting, missed (baseline: kept) |
/// | B3 | alpha's first load | start 20 Mar | new | awaiting (baseline: upcoming) |
/// | B4 | alpha's first load | start 5 Jan (publication) | new | awaiting (baseline: history) |
/// | Z1 | zulu's first load | start 5 Jan | new | awaiting (baseline: history) |
/// | N1 | alpha's second load | act-by 8 Mar | new | awaiting, missed |
/// | N2 | alpha's second load | due 9 Mar | triaged | overdue |
/// | N3 | alpha's second load | act-by 1 Apr | triaged, changed | changed |
/// | N4 | alpha's second load | act-by 4 Mar | done, changed | nothing |
async fn seeded(store: Store) -> Fixture {
    let p = |id: &str, extra: Value| post(id, "2026-02-01T00:00:00Z", id, "<p>x</p>", extra);
    store
        .import_messages(
            "alpha",
            &[
                p(
                    "B1",
                    json!({"actionRequiredByDateTime": "2026-02-20T00:00:00Z"}),
                ),
                p(
                    "B2",
                    json!({"actionRequiredByDateTime": "2026-03-05T00:00:00Z"}),
                ),
                p("B3", json!({"startDateTime": "2026-03-20T00:00:00Z"})),
                p("B4", json!({})),
            ],
            &opts("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    store
        .import_messages(
            "zulu",
            &[
                p("Z1", json!({})),
                p(
                    "B1",
                    json!({"actionRequiredByDateTime": "2026-02-20T00:00:00Z"}),
                ),
            ],
            &opts("2026-03-02T00:00:00Z"),
        )
        .await
        .unwrap();
    let mut second = Vec::new();
    for (id, act_by) in [
        ("N1", Some("2026-03-08T00:00:00Z")),
        ("N2", None),
        ("N3", Some("2026-04-01T00:00:00Z")),
        ("N4", Some("2026-03-04T00:00:00Z")),
    ] {
        second.push(p(id, json!({"actionRequiredByDateTime": act_by})));
    }
    // alpha's second load is not complete (an incremental listing), so B1–B4 stay
    store
        .import_messages(
            "alpha",
            &second,
            &changedesk_store::ImportOptions {
                complete: false,
                ..opts("2026-03-03T00:00:00Z")
            },
        )
        .await
        .unwrap();
    for id in ["B1", "B2", "B3", "B4", "Z1", "N1", "N2", "N3", "N4"] {
        let mut item = WorkItem::new(id, at("2026-03-03T00:00:00Z"));
        match id {
            "N2" => {
                item.state = State::Triaged;
                item.due = Some(at("2026-03-09T00:00:00Z"));
            }
            "N3" => {
                item.state = State::Triaged;
                item.changed_since_triage = vec!["act_by".into()];
            }
            "N4" => {
                item.state = State::Done;
                item.changed_since_triage = vec!["act_by".into()];
            }
            _ => {}
        }
        crate::save_new_item(&store, &item, at("2026-03-03T00:00:00Z")).await;
    }
    user(&store, "manager", Role::ChangeManager, Scope::default()).await;
    let alpha_only = Scope {
        tenants: vec!["alpha".into()],
        groups: vec![],
    };
    user(&store, "scoped", Role::ChangeManager, alpha_only).await;
    super::ui::served(store)
}

fn ids(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The post ids of an API page.
fn api_ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page of posts: {v}"))
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

/// The count of an agenda page's section.
fn agenda_count(body: &str, heading: &str) -> i64 {
    let needle = format!(">{heading} <span class=\"muted\">(");
    let i = body
        .find(&needle)
        .unwrap_or_else(|| panic!("no agenda section {heading}"));
    let rest = &body[i + needle.len()..];
    rest[..rest.find(')').unwrap()].parse().unwrap()
}

async fn api(f: &Fixture, b: &Browser, path: &str) -> Value {
    let a = b.get(f, path).await;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    serde_json::from_str(&a.body).unwrap()
}

/// Every surface against the one expectation: `(chip label, agenda
/// heading, API query, /items query, expected posts)`.
async fn every_surface_agrees(f: &Fixture, b: &Browser, expected: &[(&str, &[&str])]) {
    let inbox = b.get(f, "/").await;
    assert_eq!(inbox.status, 200);
    let agenda_page = b.get(f, "/agenda").await;
    assert_eq!(agenda_page.status, 200, "{}", agenda_page.body);
    let data = agenda(
        &f.store,
        &OwnershipMap::default(),
        at(NOW),
        at("2026-03-03T00:00:00Z"),
    )
    .await
    .unwrap();
    let sweep = sweep_deadlines(&f.store, &Default::default(), at(NOW))
        .await
        .unwrap();
    for (what, want) in expected {
        let want = ids(want);
        let (chip_label, chip_key, heading, api_q, items_q) = match *what {
            "awaiting" => (
                "Awaiting triage",
                "awaiting",
                "Awaiting triage",
                "item_state=new",
                "state=new",
            ),
            "changed" => (
                "Changed since triage",
                "changed",
                "Changed since triage",
                "changed=true",
                "changed=true",
            ),
            "overdue" => (
                "Overdue",
                "overdue",
                "Overdue",
                "deadline=overdue",
                "deadline=overdue",
            ),
            "missed" => (
                "Missed",
                "missed",
                "Missed",
                "deadline=missed",
                "deadline=missed",
            ),
            other => panic!("{other}"),
        };
        let n = want.len();
        // the inbox chip counts what its list shows
        assert_eq!(
            chip(&inbox.body, chip_label).0,
            n as i64,
            "{what}: the inbox chip"
        );
        let listed_by_chip = listed(&b.get(f, &format!("/?chip={chip_key}")).await.body);
        assert_eq!(listed_by_chip, want, "{what}: the inbox chip's list");
        // the API's post filter
        let page = api(f, b, &format!("/api/v1/posts?{api_q}&limit=100")).await;
        assert_eq!(api_ids(&page), want, "{what}: the API");
        // the work item list (web)
        let items = b.get(f, &format!("/items?{items_q}")).await;
        assert_eq!(items.status, 200, "{}", items.body);
        assert_eq!(listed(&items.body), want, "{what}: /items");
        // the agenda: its data and its page
        let rows: Vec<String> = match *what {
            "awaiting" => &data.awaiting_triage,
            "changed" => &data.changed_since_triage,
            "overdue" => &data.overdue,
            _ => &data.missed,
        }
        .iter()
        .map(|r| r.id.clone())
        .collect();
        assert_eq!(
            ids(&rows.iter().map(String::as_str).collect::<Vec<_>>()),
            want,
            "{what}: the agenda"
        );
        assert_eq!(
            agenda_count(&agenda_page.body, heading),
            n as i64,
            "{what}: the agenda page"
        );
        // the deadline sweep counts
        match *what {
            "overdue" => assert_eq!(sweep.overdue, n, "the sweep's overdue"),
            "missed" => assert_eq!(sweep.missed, n, "the sweep's missed"),
            _ => {}
        }
        // the store's item filter (the CLI's `tasks list --changed`)
        if *what == "changed" {
            let mut listed: Vec<String> = f
                .store
                .work_items(&ItemFilter {
                    changed: Some(true),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.stored.item.message_id)
                .collect();
            listed.sort();
            assert_eq!(listed, want, "the store's item filter");
        }
    }
}

async fn one_definition_on_every_surface_and_the_baseline(store: Store) {
    let f = seeded(store).await;
    let manager = sign_in(&f, "manager").await;
    every_surface_agrees(
        &f,
        &manager,
        &[
            ("awaiting", &["B1", "B2", "B3", "B4", "Z1", "N1"]),
            ("changed", &["N3"]),
            ("overdue", &["N2"]),
            // B1's act-by came before changedesk saw it; N4 is closed
            ("missed", &["B2", "N1"]),
        ],
    )
    .await;

    // the baseline: what the first loads brought, and what accepting does
    let baseline = api(&f, &manager, "/api/v1/baseline").await;
    assert_eq!(baseline, json!({"awaiting": 5, "to_close": 3, "kept": 2}));
    let in_baseline: Vec<String> = f
        .store
        .work_items(&ItemFilter {
            baseline: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            // core says what happens to each
            let fate = baseline_fate(&r.stored.item, &r.dates());
            format!("{} {fate:?}", r.stored.item.message_id)
        })
        .collect();
    let mut in_baseline = in_baseline;
    in_baseline.sort();
    assert_eq!(
        in_baseline,
        ["B1 Close", "B2 Keep", "B3 Keep", "B4 Close", "Z1 Close"]
    );
    // a tenant-limited manager may neither see nor accept it
    let scoped = sign_in(&f, "scoped").await;
    assert_eq!(scoped.get(&f, "/api/v1/baseline").await.status, 403);
    // the inbox offers it to the manager, in one action
    let inbox = manager.get(&f, "/").await;
    assert!(inbox.body.contains("href=\"/baseline\""), "{}", inbox.body);
    assert!(!scoped.get(&f, "/").await.body.contains("/baseline"));
    assert_eq!(scoped.get(&f, "/baseline").await.status, 403);
    assert_eq!(scoped.post(&f, "/baseline/accept", &[]).await.status, 403);
    let page = manager.get(&f, "/baseline").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("action=\"/baseline/accept\""),
        "{}",
        page.body
    );
    let done = manager.post(&f, "/baseline/accept", &[]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/baseline?closed=3&kept=2&skipped=0");
    let shown = manager.get(&f, done.location()).await;
    assert!(shown.body.contains("Accepted: 3 closed"), "{}", shown.body);
    assert!(
        shown
            .body
            .contains("Nothing in the baseline is left to accept")
    );
    for id in ["B1", "B4", "Z1"] {
        let item = f.store.work_item(id).await.unwrap().unwrap().item;
        assert_eq!(item.state, State::Done, "{id}");
        assert!(item.labels.contains(BASELINE_LABEL), "{id}");
        let log = f.store.work_item_log(id).await.unwrap();
        assert!(
            log.iter().any(|e| e.entry.actor.to_string() == "manager"),
            "{id}: the decision log names who accepted: {log:?}"
        );
    }
    let after = api(&f, &manager, "/api/v1/baseline").await;
    assert_eq!(after, json!({"awaiting": 2, "to_close": 0, "kept": 2}));
    assert!(
        !manager
            .get(&f, "/")
            .await
            .body
            .contains("href=\"/baseline\"")
    );
    every_surface_agrees(
        &f,
        &manager,
        &[
            ("awaiting", &["B2", "B3", "N1"]),
            ("changed", &["N3"]),
            ("overdue", &["N2"]),
            ("missed", &["B2", "N1"]),
        ],
    )
    .await;
    // accepting again changes nothing
    let again = manager.post(&f, "/baseline/accept", &[]).await;
    assert_eq!(again.status, 303);
}

both!(one_definition_on_every_surface_and_the_baseline);
