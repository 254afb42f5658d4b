//! The inbox's work-item side of the post queries: filters on the posts'
//! work items (state, assignee, changed since triage, overdue, missed), their
//! counts, their facets, the item shown with each post of a page, and counts
//! within tenant subsets of a scope. Each answer is checked against the same
//! computation in Rust over the stored items (core's `deadline_status`).

use std::collections::{BTreeMap, BTreeSet};

use changedesk_core::Timestamp;
use changedesk_core::triage::{
    DeadlineStatus, State, WorkItem, awaiting_triage, changed_since_triage, deadline_status,
};
use changedesk_store::{
    Deadline, DeadlineFilter, ItemAssignee, ItemCounts, ItemFilter, ItemSave, PostHit, PostQuery,
    PostState, Store, TenantScope,
};
use serde_json::{Value, json};

use crate::conformance;
use crate::fixtures::*;

fn only(names: &[&str]) -> TenantScope {
    TenantScope::Only(names.iter().map(|n| n.to_string()).collect())
}

/// A post with these dates (`null` for none).
fn dated(id: &str, act_by: Value, start: Value) -> Value {
    let mut v = post_json(id, "2026-01-05T10:00:00Z");
    v["actionRequiredByDateTime"] = act_by;
    v["startDateTime"] = start;
    // no date in the body: Graph's dates decide (the body's rollout start
    // would take the place of `start`)
    v["body"]["content"] =
        json!("<p>[When this will happen:]</p><p>We will share the date later.</p>");
    v
}

struct Spec {
    id: &'static str,
    act_by: Value,
    start: Value,
    /// `None`: the post has no work item.
    state: Option<State>,
    assignee: Option<&'static str>,
    due: Option<&'static str>,
    changed: bool,
}

fn spec(
    id: &'static str,
    act_by: Value,
    start: Value,
    state: Option<State>,
    assignee: Option<&'static str>,
    due: Option<&'static str>,
    changed: bool,
) -> Spec {
    Spec {
        id,
        act_by,
        start,
        state,
        assignee,
        due,
        changed,
    }
}

/// Which tenants saw which posts (alpha all of them; beta saw P2, P3 and P5
/// but sees only P2 now; gamma P4 and P7).
const SEEN: &[(&str, &[&str])] = &[
    (
        "alpha",
        &["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10"],
    ),
    ("beta", &["P2", "P3", "P5"]),
    ("gamma", &["P4", "P7"]),
];

/// Ten posts and nine work items covering every deadline case, with `now`
/// 2026-03-10 and every post first seen 2026-02-01: missed by act-by, missed
/// by start, dates before the first sighting (no deadline), overdue, both
/// (missed wins), exactly at the deadline (not late), closed items (never
/// late), and a post without an item.
async fn corpus(store: &Store) {
    let null = Value::Null;
    let specs = [
        // act-by past: missed; new, unassigned
        spec(
            "P1",
            json!("2026-03-01T00:00:00Z"),
            json!("2026-01-05T10:00:00Z"),
            Some(State::New),
            None,
            None,
            false,
        ),
        // act-by ahead, due past: overdue; changed
        spec(
            "P2",
            json!("2026-04-01T00:00:00Z"),
            json!("2026-01-05T10:00:00Z"),
            Some(State::Triaged),
            Some("owen"),
            Some("2026-03-05T00:00:00Z"),
            true,
        ),
        // no act-by, a rollout start after the first sighting, past: missed
        spec(
            "P3",
            null.clone(),
            json!("2026-02-20T00:00:00Z"),
            Some(State::InProgress),
            Some("ana"),
            None,
            false,
        ),
        // an act-by date before changedesk first saw the post (1 Feb) is no
        // deadline, nor is a start before it; due past: overdue only
        spec(
            "P4",
            json!("2026-01-20T00:00:00Z"),
            json!("2026-01-05T10:00:00Z"),
            Some(State::Triaged),
            None,
            Some("2026-03-01T00:00:00Z"),
            false,
        ),
        // done: never late, not counted as changed
        spec(
            "P5",
            json!("2026-02-01T00:00:00Z"),
            null.clone(),
            Some(State::Done),
            Some("owen"),
            Some("2026-02-01T00:00:00Z"),
            true,
        ),
        // dismissed, due past: not overdue
        spec(
            "P6",
            json!("2026-05-01T00:00:00Z"),
            null.clone(),
            Some(State::Dismissed),
            Some("ana"),
            Some("2026-03-01T00:00:00Z"),
            false,
        ),
        // no work item
        spec(
            "P7",
            json!("2026-03-01T00:00:00Z"),
            null.clone(),
            None,
            None,
            None,
            false,
        ),
        // act-by and due exactly now: not late yet
        spec(
            "P8",
            json!("2026-03-10T00:00:00Z"),
            null.clone(),
            Some(State::New),
            Some("owen"),
            Some("2026-03-10T00:00:00Z"),
            false,
        ),
        // act-by ahead, start past: the act-by date counts, on track
        spec(
            "P9",
            json!("2026-06-01T00:00:00Z"),
            json!("2026-01-05T10:00:00Z"),
            Some(State::InProgress),
            Some("owen"),
            Some("2026-06-01T00:00:00Z"),
            true,
        ),
        // act-by past and due past: missed, not overdue
        spec(
            "P10",
            json!("2026-03-02T00:00:00Z"),
            null,
            Some(State::Triaged),
            None,
            Some("2026-03-03T00:00:00Z"),
            true,
        ),
    ];
    let json_of = |id: &str| {
        let s = specs.iter().find(|s| s.id == id).unwrap();
        parse(&dated(s.id, s.act_by.clone(), s.start.clone()))
    };
    for (tenant, ids) in SEEN {
        let posts: Vec<_> = ids.iter().map(|id| json_of(id)).collect();
        store
            .import_messages(tenant, &posts, &opts("2026-02-01T00:00:00Z"))
            .await
            .unwrap();
    }
    // beta's next complete listing has P2 only: P3 and P5 are gone for it
    store
        .import_messages("beta", &[json_of("P2")], &opts("2026-02-02T00:00:00Z"))
        .await
        .unwrap();
    for s in &specs {
        let Some(state) = s.state else { continue };
        let mut item = WorkItem::new(s.id, at("2026-02-01T00:00:00Z"));
        item.state = state;
        item.assignee = s.assignee.map(String::from);
        item.due = s.due.map(at);
        if s.changed {
            item.changed_since_triage = vec!["act_by".to_string()];
        }
        store
            .save_work_item(&ItemSave {
                item: &item,
                expected_version: None,
                evaluated_revision: Some(1),
                entries: &[],
                notify: &[],
                events: &[],
                at: at("2026-02-01T00:00:00Z"),
            })
            .await
            .unwrap();
    }
}

/// Whether a tenant of `scope` saw the post `id`.
fn in_scope(scope: &TenantScope, id: &str) -> bool {
    SEEN.iter()
        .any(|(tenant, ids)| scope.includes(tenant) && ids.contains(&id))
}

/// The posts of `scope` in each class, computed in Rust by core's one
/// definition of each (`awaiting_triage`, `changed_since_triage`,
/// `deadline_status`), which the store's SQL must match.
struct Expected {
    awaiting: BTreeSet<String>,
    changed: BTreeSet<String>,
    overdue: BTreeSet<String>,
    missed: BTreeSet<String>,
    owners: BTreeMap<String, i64>,
    unassigned: i64,
    states: BTreeMap<String, i64>,
}

impl Expected {
    fn counts(&self) -> ItemCounts {
        ItemCounts {
            awaiting: self.awaiting.len() as i64,
            changed: self.changed.len() as i64,
            overdue: self.overdue.len() as i64,
            missed: self.missed.len() as i64,
        }
    }
}

async fn expected(store: &Store, scope: &TenantScope, now: Timestamp) -> Expected {
    let mut e = Expected {
        awaiting: BTreeSet::new(),
        changed: BTreeSet::new(),
        overdue: BTreeSet::new(),
        missed: BTreeSet::new(),
        owners: BTreeMap::new(),
        unassigned: 0,
        states: BTreeMap::new(),
    };
    for r in store.work_items(&ItemFilter::default()).await.unwrap() {
        let item = &r.stored.item;
        let id = item.message_id.clone();
        if !in_scope(scope, &id) {
            continue;
        }
        match &item.assignee {
            Some(a) => *e.owners.entry(a.clone()).or_default() += 1,
            None => e.unassigned += 1,
        }
        *e.states.entry(item.state.as_str().to_string()).or_default() += 1;
        if !item.state.is_open() {
            continue;
        }
        if awaiting_triage(item) {
            e.awaiting.insert(id.clone());
        }
        if changed_since_triage(item) {
            e.changed.insert(id.clone());
        }
        match deadline_status(item, &r.dates(), now) {
            DeadlineStatus::Overdue { .. } => {
                e.overdue.insert(id);
            }
            DeadlineStatus::Missed { .. } => {
                e.missed.insert(id);
            }
            _ => {}
        }
    }
    e
}

fn ids(hits: &[PostHit]) -> BTreeSet<String> {
    hits.iter().map(|h| h.summary.id.clone()).collect()
}

/// The posts `q` lists (one page read in the order of the sort index), and
/// the total counted (a page of one, so the count runs).
async fn listed(store: &Store, q: &PostQuery) -> (BTreeSet<String>, i64) {
    let page = store
        .query_posts(&PostQuery {
            limit: 200,
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(page.next_cursor, None);
    let counted = store
        .query_posts(&PostQuery {
            limit: 1,
            ..q.clone()
        })
        .await
        .unwrap()
        .total;
    (ids(&page.items), counted)
}

fn open_states() -> Vec<State> {
    State::ALL.iter().copied().filter(|s| s.is_open()).collect()
}

fn scopes() -> Vec<TenantScope> {
    vec![
        TenantScope::All,
        only(&["alpha"]),
        only(&["beta"]),
        only(&["gamma"]),
        only(&["beta", "gamma"]),
        only(&["nobody"]),
    ]
}

conformance!(
    item_counts_and_filters_equal_the_rust_computation,
    |store: Store| async move {
        corpus(&store).await;
        let nows = [
            "2026-03-10T00:00:00Z",
            // exactly P1's act-by date: not missed yet
            "2026-03-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
            "2026-12-01T00:00:00Z",
        ];
        for now in nows.map(at) {
            for scope in scopes() {
                let want = expected(&store, &scope, now).await;
                let q = PostQuery::new(scope.clone());
                let counts = store.post_item_counts(&q, now).await.unwrap();
                assert_eq!(counts, want.counts(), "{scope:?} at {now}");

                // each filter lists (and counts) what its count says
                let awaiting = PostQuery {
                    item_states: vec![State::New],
                    ..q.clone()
                };
                let changed = PostQuery {
                    item_states: open_states(),
                    changed_since_triage: Some(true),
                    ..q.clone()
                };
                let late = |status| PostQuery {
                    deadline: Some(DeadlineFilter { status, now }),
                    ..q.clone()
                };
                for (name, q, want) in [
                    ("awaiting", awaiting, &want.awaiting),
                    ("changed", changed, &want.changed),
                    ("overdue", late(Deadline::Overdue), &want.overdue),
                    ("missed", late(Deadline::Missed), &want.missed),
                ] {
                    let (found, total) = listed(&store, &q).await;
                    assert_eq!(&found, want, "{name} in {scope:?} at {now}");
                    assert_eq!(total, want.len() as i64, "{name} in {scope:?} at {now}");
                }
            }
        }
        // at 2026-03-10, every case is where the module says
        let want = expected(&store, &TenantScope::All, at("2026-03-10T00:00:00Z")).await;
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(want.missed, set(&["P1", "P10", "P3"]));
        assert_eq!(want.overdue, set(&["P2", "P4"]));
        assert_eq!(want.awaiting, set(&["P1", "P8"]));
        assert_eq!(want.changed, set(&["P10", "P2", "P9"]));
    }
);

conformance!(
    item_filters_combine_with_the_others,
    |store: Store| async move {
        corpus(&store).await;
        let all = PostQuery::new(TenantScope::All);
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let cases: Vec<(&str, PostQuery, BTreeSet<String>)> = vec![
            (
                "owen's",
                PostQuery {
                    assignee: Some(ItemAssignee::Owner("Owen".into())),
                    ..all.clone()
                },
                set(&["P2", "P5", "P8", "P9"]),
            ),
            (
                "unassigned",
                PostQuery {
                    assignee: Some(ItemAssignee::Unassigned),
                    ..all.clone()
                },
                set(&["P1", "P10", "P4"]),
            ),
            (
                "nobody's",
                PostQuery {
                    assignee: Some(ItemAssignee::Owner("nobody".into())),
                    ..all.clone()
                },
                set(&[]),
            ),
            (
                "in progress or dismissed",
                PostQuery {
                    item_states: vec![State::InProgress, State::Dismissed],
                    ..all.clone()
                },
                set(&["P3", "P6", "P9"]),
            ),
            (
                // P5 is flagged but done: changed since triage is open items only
                "changed",
                PostQuery {
                    changed_since_triage: Some(true),
                    ..all.clone()
                },
                set(&["P10", "P2", "P9"]),
            ),
            (
                // P7 has no item: in no work item filter
                "not changed",
                PostQuery {
                    changed_since_triage: Some(false),
                    ..all.clone()
                },
                set(&["P1", "P3", "P4", "P5", "P6", "P8"]),
            ),
            (
                "owen's changed open items",
                PostQuery {
                    assignee: Some(ItemAssignee::Owner("owen".into())),
                    changed_since_triage: Some(true),
                    item_states: open_states(),
                    ..all.clone()
                },
                set(&["P2", "P9"]),
            ),
            (
                "beta's overdue (P2 active for beta)",
                PostQuery {
                    deadline: Some(DeadlineFilter {
                        status: Deadline::Overdue,
                        now: at("2026-03-10T00:00:00Z"),
                    }),
                    ..PostQuery::new(only(&["beta"]))
                },
                set(&["P2"]),
            ),
            (
                "beta's missed, expired for beta",
                PostQuery {
                    deadline: Some(DeadlineFilter {
                        status: Deadline::Missed,
                        now: at("2026-03-10T00:00:00Z"),
                    }),
                    state: Some(PostState::Expired),
                    ..PostQuery::new(only(&["beta"]))
                },
                set(&["P3"]),
            ),
            (
                "gamma's unassigned, with its tenant",
                PostQuery {
                    assignee: Some(ItemAssignee::Unassigned),
                    tenant: Some("gamma".into()),
                    ..all.clone()
                },
                set(&["P4"]),
            ),
            (
                "a search and a state",
                PostQuery {
                    q: Some("-id:P3".into()),
                    item_states: vec![State::New, State::InProgress],
                    ..all.clone()
                },
                set(&["P1", "P8", "P9"]),
            ),
        ];
        for (name, q, want) in cases {
            let (found, total) = listed(&store, &q).await;
            assert_eq!(found, want, "{name}");
            assert_eq!(total, want.len() as i64, "{name}");
            // a facet of the same query counts the same posts
            let f = store.post_facets(&q).await.unwrap();
            assert_eq!(f.visible + f.gone, want.len() as i64, "{name}");
            // the chips' severity and major counts agree with the facets
            let c = store.post_severity_counts(&q).await.unwrap();
            assert_eq!(c.severities, f.severities, "{name}");
            assert_eq!(c.major, f.major, "{name}");
        }
    }
);

conformance!(
    item_facets_count_owners_and_states_in_scope,
    |store: Store| async move {
        corpus(&store).await;
        let now = at("2026-03-10T00:00:00Z");
        // every scope; `All` unfiltered takes the every-post path, the
        // others the matching-posts path, which must agree
        for scope in scopes()
            .into_iter()
            .chain([only(&["alpha", "beta", "gamma"])])
        {
            let want = expected(&store, &scope, now).await;
            let f = store
                .post_facets(&PostQuery::new(scope.clone()))
                .await
                .unwrap();
            let owners: BTreeMap<String, i64> = f
                .owners
                .iter()
                .map(|c| (c.value.clone(), c.count))
                .collect();
            let states: BTreeMap<String, i64> = f
                .item_states
                .iter()
                .map(|c| (c.value.clone(), c.count))
                .collect();
            assert_eq!(owners, want.owners, "{scope:?}");
            assert_eq!(f.unassigned, want.unassigned, "{scope:?}");
            assert_eq!(states, want.states, "{scope:?}");
            // sorted by count, most first, then value
            for list in [&f.owners, &f.item_states] {
                assert!(
                    list.windows(2).all(|w| w[0].count > w[1].count
                        || w[0].count == w[1].count && w[0].value < w[1].value),
                    "{list:?}"
                );
            }
        }
        let f = store
            .post_facets(&PostQuery::new(TenantScope::All))
            .await
            .unwrap();
        assert_eq!(
            f.owners
                .iter()
                .map(|c| (c.value.as_str(), c.count))
                .collect::<Vec<_>>(),
            [("owen", 4), ("ana", 2)]
        );
        assert_eq!(f.unassigned, 3, "P1, P4, P10 (P7 has no item)");
        // a filter narrows them
        let f = store
            .post_facets(&PostQuery {
                item_states: vec![State::Triaged],
                ..PostQuery::new(TenantScope::All)
            })
            .await
            .unwrap();
        assert_eq!(
            f.item_states
                .iter()
                .map(|c| (c.value.as_str(), c.count))
                .collect::<Vec<_>>(),
            [("triaged", 3)]
        );
        assert_eq!(
            f.owners
                .iter()
                .map(|c| (c.value.as_str(), c.count))
                .collect::<Vec<_>>(),
            [("owen", 1)]
        );
        assert_eq!(f.unassigned, 2);
    }
);

conformance!(page_rows_carry_their_work_item, |store: Store| async move {
    corpus(&store).await;
    for scope in [TenantScope::All, only(&["beta", "gamma"])] {
        let page = store
            .query_posts(&PostQuery {
                limit: 200,
                ..PostQuery::new(scope.clone())
            })
            .await
            .unwrap();
        let stored = store.work_items(&ItemFilter::default()).await.unwrap();
        for hit in &page.items {
            let item = stored
                .iter()
                .find(|r| r.stored.item.message_id == hit.summary.id)
                .map(|r| &r.stored.item);
            assert_eq!(
                hit.item.as_ref().map(|i| (i.state, i.assignee.clone())),
                item.map(|i| (i.state, i.assignee.clone())),
                "{} in {scope:?}",
                hit.summary.id
            );
        }
        assert!(
            page.items
                .iter()
                .any(|h| h.summary.id == "P7" && h.item.is_none())
        );
    }
});

conformance!(
    counts_within_tenant_subsets_never_widen_the_scope,
    |store: Store| async move {
        corpus(&store).await;
        let lists = |v: &[&[&str]]| -> Vec<Vec<String>> {
            v.iter()
                .map(|l| l.iter().map(|s| s.to_string()).collect())
                .collect()
        };
        let within = lists(&[
            &["alpha"],
            &["beta"],
            &["gamma"],
            &["beta", "gamma"],
            &["nobody"],
            &[],
            &["beta", "alpha", "beta"],
        ]);
        // every count is the query's in the narrowed scope
        let queries = [
            PostQuery::new(TenantScope::All),
            PostQuery::new(only(&["beta", "gamma"])),
            PostQuery::new(only(&["gamma"])),
            PostQuery {
                state: Some(PostState::Active),
                ..PostQuery::new(TenantScope::All)
            },
            PostQuery {
                state: Some(PostState::Expired),
                ..PostQuery::new(TenantScope::All)
            },
            PostQuery {
                tenant: Some("gamma".into()),
                ..PostQuery::new(TenantScope::All)
            },
            PostQuery {
                item_states: vec![State::Triaged, State::Done],
                q: Some("-id:P4".into()),
                ..PostQuery::new(TenantScope::All)
            },
            PostQuery {
                deadline: Some(DeadlineFilter {
                    status: Deadline::Missed,
                    now: at("2026-03-10T00:00:00Z"),
                }),
                ..PostQuery::new(only(&["alpha", "beta"]))
            },
        ];
        for q in &queries {
            let counts = store.count_posts_within(q, &within).await.unwrap();
            assert_eq!(counts.len(), within.len());
            for (list, n) in within.iter().zip(&counts) {
                let narrowed = PostQuery {
                    scope: q.scope.narrowed_to(list),
                    limit: 1,
                    ..q.clone()
                };
                let want = store.query_posts(&narrowed).await.unwrap().total;
                assert_eq!(*n, want, "{list:?} of {q:?}");
            }
        }
        // the numbers themselves, for every tenant in scope
        let all = store
            .count_posts_within(&PostQuery::new(TenantScope::All), &within)
            .await
            .unwrap();
        assert_eq!(all, [10, 3, 2, 5, 0, 0, 10]);
        // a subset never reaches past the query's scope
        let gamma_only = store
            .count_posts_within(&PostQuery::new(only(&["gamma"])), &within)
            .await
            .unwrap();
        assert_eq!(gamma_only, [0, 0, 2, 2, 0, 0, 0]);
        // active for beta now: P2 only
        let active = store
            .count_posts_within(
                &PostQuery {
                    state: Some(PostState::Active),
                    ..PostQuery::new(TenantScope::All)
                },
                &within,
            )
            .await
            .unwrap();
        assert_eq!(active[1], 1);
        assert_eq!(
            store
                .count_posts_within(&PostQuery::new(TenantScope::All), &[])
                .await
                .unwrap(),
            Vec::<i64>::new()
        );
    }
);

conformance!(
    the_baseline_is_what_a_tenants_first_load_brought,
    |store: Store| async move {
        let p = |id: &str, act_by: Value| parse(&dated(id, act_by, Value::Null));
        let null = Value::Null;
        // alpha's first load: B1 (no deadline), B2 (act-by after it)
        store
            .import_messages(
                "alpha",
                &[
                    p("B1", null.clone()),
                    p("B2", json!("2026-04-01T00:00:00Z")),
                ],
                &opts("2026-02-01T00:00:00Z"),
            )
            .await
            .unwrap();
        // alpha's second load brings N1: not baseline
        store
            .import_messages(
                "alpha",
                &[
                    p("B1", null.clone()),
                    p("B2", json!("2026-04-01T00:00:00Z")),
                    p("N1", null.clone()),
                ],
                &opts("2026-02-02T00:00:00Z"),
            )
            .await
            .unwrap();
        // beta's first load: N1 (seen by alpha first: stays out) and Z1 (new: baseline)
        store
            .import_messages(
                "beta",
                &[p("N1", null.clone()), p("Z1", null.clone())],
                &opts("2026-02-03T00:00:00Z"),
            )
            .await
            .unwrap();
        // nothing to accept before there are items
        assert!(!store.baseline_pending().await.unwrap());
        for id in ["B1", "B2", "N1", "Z1"] {
            store
                .save_work_item(&ItemSave {
                    item: &WorkItem::new(id, at("2026-02-03T00:00:00Z")),
                    expected_version: None,
                    evaluated_revision: Some(1),
                    entries: &[],
                    notify: &[],
                    events: &[],
                    at: at("2026-02-03T00:00:00Z"),
                })
                .await
                .unwrap();
        }
        let listed = |baseline: bool| {
            let store = store.clone();
            async move {
                let mut v: Vec<String> = store
                    .work_items(&ItemFilter {
                        baseline: Some(baseline),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.stored.item.message_id)
                    .collect();
                v.sort();
                v
            }
        };
        assert_eq!(listed(true).await, ["B1", "B2", "Z1"]);
        assert_eq!(listed(false).await, ["N1"]);
        // B1 and Z1 are history awaiting triage
        assert!(store.baseline_pending().await.unwrap());
        for id in ["B1", "Z1"] {
            let stored = store.work_item(id).await.unwrap().unwrap();
            let mut item = stored.item.clone();
            item.state = State::Done;
            store
                .save_work_item(&ItemSave {
                    item: &item,
                    expected_version: Some(stored.version),
                    evaluated_revision: None,
                    entries: &[],
                    notify: &[],
                    events: &[],
                    at: at("2026-02-04T00:00:00Z"),
                })
                .await
                .unwrap();
        }
        // B2 has a deadline after the first sighting: nothing left to accept
        assert!(!store.baseline_pending().await.unwrap());
    }
);

conformance!(
    the_tenant_facet_is_counted_up_to_fifty_tenants_in_scope,
    |store: Store| async move {
        let names: Vec<String> = (0..=changedesk_store::TENANT_FACET_MAX)
            .map(|i| format!("t{i:03}"))
            .collect();
        for n in &names {
            store
                .import_messages(
                    n,
                    &[post("MC1", "2026-02-01T00:00:00Z")],
                    &opts("2026-02-20T00:00:00Z"),
                )
                .await
                .unwrap();
        }
        // 51 tenants: not counted one by one
        let all = store
            .post_facets(&PostQuery::new(TenantScope::All))
            .await
            .unwrap();
        assert!(all.tenants_uncounted);
        assert!(all.tenants.is_empty());
        assert_eq!(all.visible, 1, "the other facets are counted");
        let mut tenant = PostQuery::new(TenantScope::All);
        tenant.tenant = Some("t007".into());
        assert!(store.post_facets(&tenant).await.unwrap().tenants_uncounted);
        // 50: counted
        let fifty: Vec<&str> = names[..50].iter().map(String::as_str).collect();
        let some = store
            .post_facets(&PostQuery::new(only(&fifty)))
            .await
            .unwrap();
        assert!(!some.tenants_uncounted);
        assert_eq!(some.tenants.len(), 50);
        assert!(some.tenants.iter().all(|c| c.count == 1));
    }
);
