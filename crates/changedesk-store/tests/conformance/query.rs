//! The API's queries: search, scope, facets, sorting and cursor paging.

use std::collections::HashSet;

use changedesk_core::graph::Message;
use changedesk_store::{
    IncidentFilter, PostHit, PostQuery, PostSort, PostState, Store, StoreError, TenantScope,
};
use serde_json::{Value, json};

use crate::conformance;
use crate::fixtures::*;

fn only(names: &[&str]) -> TenantScope {
    TenantScope::Only(names.iter().map(|n| n.to_string()).collect())
}

fn search(q: &str) -> PostQuery {
    PostQuery {
        q: Some(q.to_string()),
        limit: 200,
        ..PostQuery::new(TenantScope::All)
    }
}

fn article(id: &str, title: &str, body: &str, services: &[&str], tags: &[&str]) -> Value {
    let mut v = post_json(id, "2026-01-05T10:00:00Z");
    v["title"] = json!(title);
    v["body"]["content"] = json!(format!("<p>{body}</p>"));
    v["services"] = json!(services);
    v["tags"] = json!(tags);
    v
}

/// Four posts: alpha sees all, beta MC3 and MC4.
async fn corpus(store: &Store) -> Vec<Message> {
    let mc1 = with(
        article(
            "MC1",
            "Retirement of the classic Teams client",
            "The classic client stops working in June. Users move to the new client.",
            &["Microsoft Teams"],
            &["Retirement"],
        ),
        "severity",
        json!("high"),
    );
    let mc2 = with(
        article(
            "MC2",
            "Intelligent recap in Teams meetings",
            "Recap summarises meetings automatically for licensed users.",
            &["Microsoft Teams"],
            &["New feature"],
        ),
        "lastModifiedDateTime",
        json!("2026-01-06T10:00:00Z"),
    );
    let mc3 = with(
        with(
            article(
                "MC3",
                "Exchange Online mailbox quotas",
                "Archive mailboxes get larger quotas. The classic quota report goes away.",
                &["Exchange Online"],
                &["Admin impact"],
            ),
            "category",
            json!("stayInformed"),
        ),
        "isMajorChange",
        json!(true),
    );
    let mc4 = with(
        article(
            "MC4",
            "SharePoint site sharing defaults",
            "Sharing links default to people in your organization.",
            &["SharePoint Online", "OneDrive for Business"],
            &["Admin impact", "User impact"],
        ),
        "lastModifiedDateTime",
        json!("2026-01-04T10:00:00Z"),
    );
    let all: Vec<Message> = [&mc1, &mc2, &mc3, &mc4].into_iter().map(parse).collect();
    store
        .import_messages("alpha", &all, &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    store
        .import_messages("beta", &all[2..], &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    all
}

fn ids(hits: &[PostHit]) -> Vec<String> {
    let mut v: Vec<String> = hits.iter().map(|h| h.summary.id.clone()).collect();
    v.sort();
    v
}

async fn found(store: &Store, q: &str) -> Vec<String> {
    let page = store.query_posts(&search(q)).await.unwrap();
    assert_eq!(page.total, page.items.len() as i64, "{q}");
    assert_eq!(page.next_cursor, None, "{q}");
    ids(&page.items)
}

conformance!(
    search_finds_words_phrases_exclusions_and_fields,
    |store: Store| async move {
        corpus(&store).await;
        let cases: &[(&str, &[&str])] = &[
            // title words, body words, both; case and stems
            ("classic", &["MC1", "MC3"]),
            ("Recap", &["MC2"]),
            ("automatically", &["MC2"]),
            ("mailbox", &["MC3"]),
            ("summarises meetings", &["MC2"]),
            ("organization sharing", &["MC4"]),
            ("nothingmatchesthis", &[]),
            // phrases
            ("\"classic client\"", &["MC1"]),
            ("\"client classic\"", &[]),
            ("\"larger quotas\"", &["MC3"]),
            // exclusions
            ("classic -mailbox", &["MC1"]),
            ("classic -\"quota report\"", &["MC1"]),
            ("-classic", &["MC2", "MC4"]),
            ("-classic -sharing", &["MC2"]),
            // fields
            ("service:exchange", &["MC3"]),
            ("service:\"Microsoft Teams\"", &["MC1", "MC2"]),
            ("-service:teams", &["MC3", "MC4"]),
            ("tag:retirement", &["MC1"]),
            ("tag:\"admin impact\" -tag:user", &["MC3"]),
            ("severity:high", &["MC1"]),
            ("category:stayinformed", &["MC3"]),
            ("id:mc4", &["MC4"]),
            ("-id:MC4 sharing", &[]),
            ("tenant:beta", &["MC3", "MC4"]),
            ("-tenant:beta", &["MC1", "MC2"]),
            ("tenant:nobody", &[]),
            // together
            ("classic service:teams", &["MC1"]),
            ("users -tag:retirement", &["MC2"]),
            ("", &["MC1", "MC2", "MC3", "MC4"]),
        ];
        for (q, want) in cases {
            assert_eq!(found(&store, q).await, *want, "search {q:?}");
        }
        // the filter fields too
        let page = store
            .query_posts(&PostQuery {
                services: vec!["microsoft teams".into()],
                tags: vec!["RETIREMENT".into(), "new feature".into()],
                ..search("users")
            })
            .await
            .unwrap();
        assert_eq!(ids(&page.items), ["MC1", "MC2"]);
        let page = store
            .query_posts(&PostQuery {
                major: Some(true),
                ..search("")
            })
            .await
            .unwrap();
        assert_eq!(ids(&page.items), ["MC3"]);
        let page = store
            .query_posts(&PostQuery {
                changed_since: Some(at("2026-01-05T10:00:00Z")),
                category: Some("PLANFORCHANGE".into()),
                ..search("")
            })
            .await
            .unwrap();
        assert_eq!(ids(&page.items), ["MC1", "MC2"]);
        // relevance puts the post with the word in its title first
        let page = store
            .query_posts(&PostQuery {
                sort: PostSort::Relevance,
                ..search("client")
            })
            .await
            .unwrap();
        assert_eq!(ids(&page.items), ["MC1"]);
        let page = store
            .query_posts(&PostQuery {
                sort: PostSort::Relevance,
                ..search("mailbox OR")
            })
            .await
            .unwrap();
        // `OR` is a word, not an operator (PostgreSQL drops it as a stop word)
        assert!(ids(&page.items).len() <= 1, "{:?}", ids(&page.items));
        let page = store
            .query_posts(&PostQuery {
                sort: PostSort::Relevance,
                ..search("recap")
            })
            .await
            .unwrap();
        assert_eq!(page.items[0].summary.id, "MC2");
        // relevance without text to rank is newest first
        let page = store
            .query_posts(&PostQuery {
                sort: PostSort::Relevance,
                ..search("-classic")
            })
            .await
            .unwrap();
        let order: Vec<&str> = page.items.iter().map(|h| h.summary.id.as_str()).collect();
        assert_eq!(order, ["MC2", "MC4"]);
    }
);

conformance!(
    a_new_revision_is_searchable_by_its_new_words,
    |store: Store| async move {
        corpus(&store).await;
        assert_eq!(found(&store, "quarterly").await, Vec::<String>::new());
        let v = with(
            article(
                "MC4",
                "SharePoint quarterly sharing report",
                "A new report.",
                &["SharePoint Online"],
                &[],
            ),
            "lastModifiedDateTime",
            json!("2026-02-01T10:00:00Z"),
        );
        store
            .import_messages("beta", &[parse(&v)], &partial("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(found(&store, "quarterly").await, ["MC4"]);
        assert_eq!(found(&store, "organization").await, Vec::<String>::new());
    }
);

fn text_of(hit: &PostHit) -> String {
    hit.snippet.iter().map(|p| p.text.as_str()).collect()
}

conformance!(snippets_mark_the_hits, |store: Store| async move {
    corpus(&store).await;
    let page = store.query_posts(&search("automatically")).await.unwrap();
    let hit = &page.items[0];
    let hits: Vec<String> = hit
        .snippet
        .iter()
        .filter(|p| p.hit)
        .map(|p| p.text.to_lowercase())
        .collect();
    assert_eq!(hits, ["automatically"], "{:?}", hit.snippet);
    assert!(
        text_of(hit).contains("summarises meetings"),
        "{:?}",
        hit.snippet
    );
    assert!(!text_of(hit).contains(['\u{1}', '\u{2}', '<', '>']));

    // a phrase marks its words; the body's other words are plain
    let page = store
        .query_posts(&search("\"larger quotas\""))
        .await
        .unwrap();
    let marked: Vec<String> = page.items[0]
        .snippet
        .iter()
        .filter(|p| p.hit)
        .flat_map(|p| {
            p.text
                .split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        marked.contains(&"larger".to_string()) && marked.contains(&"quotas".to_string()),
        "{:?}",
        page.items[0].snippet
    );
    assert!(
        page.items[0]
            .snippet
            .iter()
            .any(|p| p.hit && p.text.to_lowercase() == "larger quotas"),
        "a phrase is one hit: {:?}",
        page.items[0].snippet
    );

    // a hit deep in a long body is marked, in an excerpt around it
    let long = article(
        "MC9",
        "Long announcement",
        &format!(
            "{} The policies of the tenant change. {}",
            "Background text about the service. ".repeat(200),
            "More background. ".repeat(100)
        ),
        &["Exchange Online"],
        &[],
    );
    store
        .import_messages("alpha", &[parse(&long)], &opts("2026-03-05T00:00:00Z"))
        .await
        .unwrap();
    for q in ["tenant", "policies"] {
        let page = store.query_posts(&search(q)).await.unwrap();
        let hit = page
            .items
            .iter()
            .find(|h| h.summary.id == "MC9")
            .unwrap_or_else(|| panic!("{q}: MC9 not found"));
        assert!(
            hit.snippet
                .iter()
                .any(|p| p.hit && q.starts_with(&p.text.to_lowercase()[..4])),
            "{q}: {:?}",
            hit.snippet
        );
        assert!(text_of(hit).len() < 1000, "{q}: {:?}", hit.snippet);
    }

    // no text to match, no snippet
    for q in ["", "service:teams", "-classic"] {
        let page = store.query_posts(&search(q)).await.unwrap();
        assert!(page.items.iter().all(|h| h.snippet.is_empty()), "{q}");
    }
});

/// `n` posts with repeated and missing sort keys, seen by alpha (all),
/// beta (every third) and gamma (every fifth, gone from the first half).
async fn generated(store: &Store, n: usize) -> Vec<Message> {
    let posts: Vec<Message> = (0..n)
        .map(|i| {
            let id = format!("MC{:04}", (i * 7919) % 10_000);
            let mut v = post_json(&id, "2026-01-05T10:00:00Z");
            v["lastModifiedDateTime"] = match i % 9 {
                0 => Value::Null,
                k => json!(format!("2026-01-{:02}T10:00:00Z", 1 + (i * k) % 5)),
            };
            v["actionRequiredByDateTime"] = match i % 4 {
                0 => Value::Null,
                _ => json!(format!("2026-0{}-01T00:00:00Z", 1 + i % 3)),
            };
            v["title"] = json!(match i % 3 {
                0 => "Same title".to_string(),
                1 => format!("Rollout title {}", i % 11),
                _ => format!("Another {id}"),
            });
            // a varying number of search words, so relevance varies and ties
            v["body"]["content"] = json!(format!(
                "<p>{} begins in March for {id}.</p>",
                vec!["rollout"; 1 + i % 4].join(" ")
            ));
            parse(&v)
        })
        .collect();
    store
        .import_messages("alpha", &posts, &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let beta: Vec<Message> = posts.iter().step_by(3).cloned().collect();
    store
        .import_messages("beta", &beta, &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let gamma: Vec<Message> = posts.iter().step_by(5).cloned().collect();
    store
        .import_messages("gamma", &gamma, &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    store
        .import_messages(
            "gamma",
            &gamma[gamma.len() / 2..],
            &opts("2026-03-02T00:00:00Z"),
        )
        .await
        .unwrap();
    posts
}

/// Every page of `q`: the hits in order; checks the totals and cursors.
async fn all_pages(store: &Store, q: &PostQuery) -> Vec<PostHit> {
    let mut q = q.clone();
    let mut out = Vec::new();
    let mut total = None;
    for _ in 0..10_000 {
        let page = store.query_posts(&q).await.unwrap();
        assert!(page.items.len() as i64 <= q.page_size());
        assert_eq!(*total.get_or_insert(page.total), page.total);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(out.len() as i64, total.unwrap(), "{:?}", q.sort);
    out
}

/// Checks `hits` are in the order of `sort`.
fn assert_sorted(hits: &[PostHit], sort: PostSort) {
    for w in hits.windows(2) {
        let (a, b) = (&w[0].summary, &w[1].summary);
        let text = |t: &Option<changedesk_core::Timestamp>| {
            t.map(|t| t.to_canonical()).unwrap_or_default()
        };
        let ordered = match sort {
            PostSort::Newest => (text(&a.last_modified), &a.id) > (text(&b.last_modified), &b.id),
            PostSort::Oldest => (text(&a.last_modified), &a.id) < (text(&b.last_modified), &b.id),
            PostSort::ActBy => {
                (a.act_by.is_none(), text(&a.act_by), &a.id)
                    < (b.act_by.is_none(), text(&b.act_by), &b.id)
            }
            PostSort::Title => (a.title.as_bytes(), &a.id) < (b.title.as_bytes(), &b.id),
            PostSort::Relevance => true,
        };
        assert!(ordered, "{sort:?}: {} then {}", a.id, b.id);
    }
}

async fn pages_through_everything(store: Store, n: usize) {
    let posts = generated(&store, n).await;
    let every: HashSet<String> = posts.iter().map(|m| m.content.id.clone()).collect();
    assert_eq!(every.len(), n);
    for sort in [
        PostSort::Newest,
        PostSort::Oldest,
        PostSort::ActBy,
        PostSort::Title,
        PostSort::Relevance,
    ] {
        // every post says "rollout": with the text, the same pages (found
        // another way on SQLite above 500 matches)
        for (limit, text) in [1, 7, 200, 1000]
            .into_iter()
            .flat_map(|l| [(l, false), (l, true)])
        {
            if limit == 1 && n > 50 {
                continue;
            }
            let q = PostQuery {
                q: (text || sort == PostSort::Relevance).then(|| "rollout".to_string()),
                sort,
                limit,
                ..PostQuery::new(TenantScope::All)
            };
            let hits = all_pages(&store, &q).await;
            let got: Vec<String> = hits.iter().map(|h| h.summary.id.clone()).collect();
            let unique: HashSet<String> = got.iter().cloned().collect();
            assert_eq!(
                unique.len(),
                got.len(),
                "{sort:?} {limit}: a post came twice"
            );
            assert_eq!(unique, every, "{sort:?} {limit}");
            assert_sorted(&hits, sort);
            // the first page is the same whatever the page size
            let first = store
                .query_posts(&PostQuery {
                    limit: 3,
                    ..q.clone()
                })
                .await
                .unwrap();
            assert_eq!(
                first
                    .items
                    .iter()
                    .map(|h| &h.summary.id)
                    .collect::<Vec<_>>(),
                got.iter().take(3).collect::<Vec<_>>()
            );
        }
        // with a scope and filters too
        let q = PostQuery {
            q: Some(
                if sort == PostSort::Relevance {
                    "rollout"
                } else if sort == PostSort::Title {
                    "-nothing"
                } else {
                    "rollout -nothing"
                }
                .into(),
            ),
            sort,
            limit: 4,
            state: Some(PostState::Active),
            ..PostQuery::new(only(&["beta", "gamma"]))
        };
        let hits = all_pages(&store, &q).await;
        let got: HashSet<String> = hits.iter().map(|h| h.summary.id.clone()).collect();
        assert_eq!(got.len(), hits.len());
        let want: HashSet<String> = posts
            .iter()
            .step_by(3)
            .map(|m| m.content.id.clone())
            .chain(
                posts
                    .iter()
                    .step_by(5)
                    .skip(posts.len().div_ceil(5) / 2)
                    .map(|m| m.content.id.clone()),
            )
            .collect();
        assert_eq!(got, want, "{sort:?} scoped");
        assert_sorted(&hits, sort);
        for h in &hits {
            assert!(h.tenants.iter().all(|t| t == "beta" || t == "gamma"));
            assert_eq!(h.summary.tenants_seen, h.tenants.len() as i64);
            assert!(h.summary.tenants_visible >= 1);
        }
    }
}

conformance!(
    every_sort_pages_through_a_small_set_exactly_once,
    |store: Store| async move {
        pages_through_everything(store, 13).await;
    }
);

conformance!(
    every_sort_pages_through_a_larger_set_exactly_once,
    |store: Store| async move {
        pages_through_everything(store, 601).await;
    }
);

conformance!(
    scope_hides_other_tenants_everywhere,
    |store: Store| async move {
        let all = corpus(&store).await;
        // beta brought revision 1 of MC5, which alpha sees too; then beta lost it
        let mc5 = article(
            "MC5",
            "Planner premium plans",
            "Premium plans move to Planner.",
            &["Planner"],
            &["Retirement"],
        );
        store
            .import_messages("beta", &[parse(&mc5)], &partial("2026-02-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .import_messages("alpha", &[parse(&mc5)], &partial("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .import_messages("beta", &all[2..3], &opts("2026-03-03T00:00:00Z"))
            .await
            .unwrap();
        // gamma sees only MC6
        let mc6 = article(
            "MC6",
            "Viva Engage secret",
            "Only gamma knows.",
            &["Viva"],
            &["Secret"],
        );
        store
            .import_messages("gamma", &[parse(&mc6)], &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();

        let alpha = PostQuery {
            limit: 200,
            ..PostQuery::new(only(&["alpha"]))
        };
        let page = store.query_posts(&alpha).await.unwrap();
        assert_eq!(ids(&page.items), ["MC1", "MC2", "MC3", "MC4", "MC5"]);
        assert_eq!(page.total, 5);
        let mc5_hit = page.items.iter().find(|h| h.summary.id == "MC5").unwrap();
        assert_eq!(mc5_hit.tenants, ["alpha"]);
        assert_eq!(
            (
                mc5_hit.summary.tenants_seen,
                mc5_hit.summary.tenants_visible
            ),
            (1, 1)
        );

        let gamma_words = [
            "secret",
            "viva",
            "tag:secret",
            "service:viva",
            "id:MC6",
            "tenant:gamma",
        ];
        for q in gamma_words {
            let page = store
                .query_posts(&PostQuery {
                    q: Some(q.into()),
                    ..alpha.clone()
                })
                .await
                .unwrap();
            assert_eq!((page.items.len(), page.total), (0, 0), "{q}");
            let facets = store
                .post_facets(&PostQuery {
                    q: Some(q.into()),
                    ..alpha.clone()
                })
                .await
                .unwrap();
            assert_eq!(facets, Default::default(), "{q}");
        }
        // a tenant out of scope filters to nothing
        for tenant in ["gamma", "beta", "nobody"] {
            let page = store
                .query_posts(&PostQuery {
                    tenant: Some(tenant.into()),
                    ..alpha.clone()
                })
                .await
                .unwrap();
            assert_eq!(page.total, 0, "{tenant}");
        }
        // beta's view: MC3, MC4 (gone for beta), MC5 (gone)
        let beta = PostQuery {
            limit: 200,
            ..PostQuery::new(only(&["beta"]))
        };
        let page = store.query_posts(&beta).await.unwrap();
        assert_eq!(ids(&page.items), ["MC3", "MC4", "MC5"]);
        let states: Vec<(String, PostState)> = page
            .items
            .iter()
            .map(|h| (h.summary.id.clone(), h.summary.state))
            .collect();
        assert!(
            states.contains(&("MC5".into(), PostState::Expired)),
            "{states:?}"
        );
        assert!(
            states.contains(&("MC4".into(), PostState::Expired)),
            "{states:?}"
        );
        assert!(
            states.contains(&("MC3".into(), PostState::Active)),
            "{states:?}"
        );
        let active = store
            .query_posts(&PostQuery {
                state: Some(PostState::Active),
                ..beta.clone()
            })
            .await
            .unwrap();
        assert_eq!(ids(&active.items), ["MC3"]);
        let expired = store
            .query_posts(&PostQuery {
                state: Some(PostState::Expired),
                ..beta.clone()
            })
            .await
            .unwrap();
        assert_eq!(ids(&expired.items), ["MC4", "MC5"]);
        // with every tenant, MC5 is active (alpha sees it)
        let all = store
            .query_posts(&PostQuery {
                state: Some(PostState::Expired),
                ..search("")
            })
            .await
            .unwrap();
        assert_eq!(all.total, 0);

        // facets count the scope's posts and tenants only
        let facets = store.post_facets(&alpha).await.unwrap();
        let tenants: Vec<(&str, i64)> = facets
            .tenants
            .iter()
            .map(|f| (f.value.as_str(), f.count))
            .collect();
        assert_eq!(tenants, [("alpha", 5)]);
        assert!(facets.services.iter().all(|f| f.value != "Viva"));
        assert_eq!(facets.visible + facets.gone, 5);
        assert_eq!(facets.major + facets.not_major, 5);
        let ab = store
            .post_facets(&PostQuery {
                limit: 200,
                ..PostQuery::new(only(&["alpha", "beta"]))
            })
            .await
            .unwrap();
        let tenants: Vec<(&str, i64)> = ab
            .tenants
            .iter()
            .map(|f| (f.value.as_str(), f.count))
            .collect();
        assert_eq!(tenants, [("alpha", 5), ("beta", 3)]);
        let beta_facets = store.post_facets(&beta).await.unwrap();
        assert_eq!((beta_facets.visible, beta_facets.gone), (1, 2));

        // details
        let d = store
            .get_message_scoped("MC5", &only(&["alpha"]))
            .await
            .unwrap();
        let names: Vec<&str> = d.tenants.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["alpha"]);
        assert_eq!((d.summary.tenants_seen, d.summary.tenants_visible), (1, 1));
        assert_eq!(
            d.revisions[0].tenant, None,
            "beta brought it: not named to alpha"
        );
        let r = store
            .message_revision_scoped("MC5", 1, &only(&["alpha"]))
            .await
            .unwrap();
        assert_eq!(r.info.tenant, None);
        let r = store
            .message_revision_scoped("MC5", 1, &only(&["beta"]))
            .await
            .unwrap();
        assert_eq!(r.info.tenant.as_deref(), Some("beta"));
        let d = store
            .get_message_scoped("MC5", &TenantScope::All)
            .await
            .unwrap();
        assert_eq!(d.tenants.len(), 2);
        for (id, scope) in [
            ("MC6", only(&["alpha"])),
            ("MC6", only(&["alpha", "beta"])),
            ("MC1", only(&[])),
            ("MC1", only(&["nobody"])),
            ("MC999", TenantScope::All),
            ("MC999", only(&["alpha"])),
        ] {
            let e = store.get_message_scoped(id, &scope).await.unwrap_err();
            assert!(
                matches!(&e, StoreError::NotFound(m) if m == &format!("post {id}")),
                "{e}"
            );
            let e = store
                .message_revision_scoped(id, 1, &scope)
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::NotFound(_)), "{e}");
            // the scope check alone answers the same
            let e = store.post_in_scope(id, &scope).await.unwrap_err();
            assert!(
                matches!(&e, StoreError::NotFound(m) if m == &format!("post {id}")),
                "{e}"
            );
        }
        store.post_in_scope("MC5", &only(&["alpha"])).await.unwrap();
        store.post_in_scope("MC5", &TenantScope::All).await.unwrap();

        // nothing for an empty scope or an unknown tenant
        for scope in [only(&[]), only(&["nobody"])] {
            let q = PostQuery::new(scope);
            assert_eq!(store.query_posts(&q).await.unwrap().total, 0);
            assert_eq!(store.post_facets(&q).await.unwrap(), Default::default());
        }
    }
);

conformance!(incidents_are_scoped_too, |store: Store| async move {
    store
        .import_incidents(
            "alpha",
            &[incident("EX1", "investigating", "2026-03-01T10:00:00Z", 1)],
            &opts("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    store
        .import_incidents(
            "beta",
            &[
                incident("EX1", "investigating", "2026-03-01T10:00:00Z", 1),
                incident("EX2", "investigating", "2026-03-01T11:00:00Z", 1),
            ],
            &opts("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    let list = store
        .list_incidents_scoped(&IncidentFilter::default(), &only(&["alpha"]))
        .await
        .unwrap();
    let got: Vec<(&str, i64)> = list
        .iter()
        .map(|i| (i.id.as_str(), i.tenants_seen))
        .collect();
    assert_eq!(got, [("EX1", 1)]);
    let list = store
        .list_incidents_scoped(&IncidentFilter::default(), &TenantScope::All)
        .await
        .unwrap();
    assert_eq!(
        list,
        store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap()
    );
    let list = store
        .list_incidents_scoped(
            &IncidentFilter {
                tenant: Some("beta".into()),
                ..Default::default()
            },
            &only(&["alpha"]),
        )
        .await
        .unwrap();
    assert!(list.is_empty());
    assert!(
        store
            .list_incidents_scoped(&IncidentFilter::default(), &only(&[]))
            .await
            .unwrap()
            .is_empty()
    );
    let d = store
        .get_incident_scoped("EX1", &only(&["alpha"]))
        .await
        .unwrap();
    let names: Vec<&str> = d.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["alpha"]);
    assert!(
        d.status_history
            .iter()
            .all(|h| h.tenant.as_deref() != Some("beta"))
    );
    let e = store
        .get_incident_scoped("EX2", &only(&["alpha"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::NotFound(m) if m == "incident EX2"),
        "{e}"
    );
});

conformance!(
    a_malformed_cursor_is_a_clean_error,
    |store: Store| async move {
        corpus(&store).await;
        let first = store
            .query_posts(&PostQuery {
                limit: 1,
                ..PostQuery::new(TenantScope::All)
            })
            .await
            .unwrap();
        let cursor = first.next_cursor.expect("a second page");
        for bad in [
            "garbage!!".to_string(),
            "AAAA".to_string(),
            format!("{cursor}x"),
            cursor[..cursor.len() / 2].to_string(),
            "WyJ0aXRsZSIsWzFdLCJNQzEiXQ".to_string(),
        ] {
            for scope in [TenantScope::All, only(&[])] {
                let e = store
                    .query_posts(&PostQuery {
                        cursor: Some(bad.clone()),
                        ..PostQuery::new(scope)
                    })
                    .await
                    .unwrap_err();
                assert!(matches!(e, StoreError::Invalid(_)), "{bad}: {e}");
            }
        }
        // a cursor of another sort
        let e = store
            .query_posts(&PostQuery {
                cursor: Some(cursor.clone()),
                sort: PostSort::Title,
                ..PostQuery::new(TenantScope::All)
            })
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        // the right one works
        let second = store
            .query_posts(&PostQuery {
                cursor: Some(cursor),
                limit: 1,
                ..PostQuery::new(TenantScope::All)
            })
            .await
            .unwrap();
        assert_eq!(second.items.len(), 1);
        assert_ne!(second.items[0].summary.id, first.items[0].summary.id);
    }
);

conformance!(
    hostile_search_input_never_errors,
    |store: Store| async move {
        corpus(&store).await;
        let long = "ab\"c ".repeat(3000);
        let mut inputs: Vec<&str> = vec![
            "\"",
            "\"\"",
            "\"unbalanced phrase",
            "*",
            "classic*",
            ":",
            "title:classic",
            "body:x",
            "NEAR(classic client)",
            "NEAR(",
            "a & b | !c",
            "!",
            "!!classic",
            "'",
            "''",
            "it's",
            "\\",
            "\\'",
            "-",
            "--",
            "- -x",
            "AND",
            "OR NOT",
            "NOT classic",
            "classic AND",
            "(",
            ")",
            "(classic",
            "日本語 ñ café",
            "😀",
            "\u{0}",
            "\u{1}classic\u{2}",
            "%_",
            "service:%",
            "service:_",
            "tag:'",
            "tag:\"",
            "id:'; DROP TABLE posts; --",
            "<->",
            "a:*",
            "classic:*",
            "^classic",
            "classic +client",
            "{classic}",
            "[x]",
            "a<->b",
            "x:1,2",
            "the",
            "-the",
            "a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh ii jj",
            "İstanbul ǅ ﬁ e\u{301}",
            "\u{200b}\u{feff}",
            "tenant:'",
            "severity:\\",
        ];
        inputs.push(&long);
        for q in inputs {
            for sort in [PostSort::Newest, PostSort::Relevance, PostSort::Title] {
                let query = PostQuery { sort, ..search(q) };
                let page = store
                    .query_posts(&query)
                    .await
                    .unwrap_or_else(|e| panic!("{q:?}: {e}"));
                assert!(page.total >= page.items.len() as i64);
                store
                    .post_facets(&query)
                    .await
                    .unwrap_or_else(|e| panic!("facets {q:?}: {e}"));
            }
        }
        // the archive is intact
        assert_eq!(found(&store, "").await.len(), 4);
    }
);

conformance!(facets_count_the_matching_posts, |store: Store| async move {
    corpus(&store).await;
    let f = store.post_facets(&search("")).await.unwrap();
    let pairs = |v: &[changedesk_store::FacetCount]| -> Vec<(String, i64)> {
        v.iter().map(|c| (c.value.clone(), c.count)).collect()
    };
    assert_eq!(
        pairs(&f.services),
        [
            ("Microsoft Teams".to_string(), 2),
            ("Exchange Online".to_string(), 1),
            ("OneDrive for Business".to_string(), 1),
            ("SharePoint Online".to_string(), 1),
        ]
    );
    assert_eq!(
        pairs(&f.categories),
        [
            ("planForChange".to_string(), 3),
            ("stayInformed".to_string(), 1)
        ]
    );
    assert_eq!(
        pairs(&f.severities),
        [("normal".to_string(), 3), ("high".to_string(), 1)]
    );
    assert_eq!(
        pairs(&f.tags),
        [
            ("Admin impact".to_string(), 2),
            ("New feature".to_string(), 1),
            ("Retirement".to_string(), 1),
            ("User impact".to_string(), 1),
        ]
    );
    assert_eq!(
        pairs(&f.tenants),
        [("alpha".to_string(), 4), ("beta".to_string(), 2)]
    );
    assert_eq!((f.visible, f.gone, f.major, f.not_major), (4, 0, 1, 3));
    // for a search, ignoring cursor and limit
    let f = store
        .post_facets(&PostQuery {
            limit: 1,
            cursor: Some("ignored".into()),
            ..search("classic")
        })
        .await;
    let f = f.unwrap();
    assert_eq!(
        pairs(&f.services),
        [
            ("Exchange Online".to_string(), 1),
            ("Microsoft Teams".to_string(), 1)
        ]
    );
    assert_eq!(
        pairs(&f.tenants),
        [("alpha".to_string(), 2), ("beta".to_string(), 1)]
    );
    assert_eq!((f.visible, f.gone, f.major, f.not_major), (2, 0, 1, 1));
    // a tenant's view: visible / gone for it
    let f = store
        .post_facets(&PostQuery {
            tenant: Some("beta".into()),
            ..search("")
        })
        .await
        .unwrap();
    assert_eq!((f.visible, f.gone), (2, 0));
});

conformance!(
    later_pages_carry_the_first_pages_total,
    |store: Store| async move {
        // alpha sees MC1..MC5, beta MC1 (gone for it later)
        let five = posts(&["MC1", "MC2", "MC3", "MC4", "MC5"]);
        store
            .import_messages("alpha", &five, &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .import_messages("beta", &five[..1], &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .import_messages("beta", &[], &opts("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        let q = PostQuery {
            limit: 2,
            ..PostQuery::new(TenantScope::All)
        };
        let first = store.query_posts(&q).await.unwrap();
        assert_eq!((first.items.len(), first.total), (2, 5));
        // a post arrives between the pages: the pages go on with the total
        // counted for the first, a new first page counts it
        store
            .import_messages("gamma", &posts(&["MC6"]), &opts("2026-03-03T00:00:00Z"))
            .await
            .unwrap();
        let second = store
            .query_posts(&PostQuery {
                cursor: first.next_cursor.clone(),
                ..q.clone()
            })
            .await
            .unwrap();
        assert_eq!((second.items.len(), second.total), (2, 5));
        assert_eq!(store.query_posts(&q).await.unwrap().total, 6);
        // the same pages without the count
        let mut listed = Vec::new();
        let mut page = store.list_posts(&q).await.unwrap();
        loop {
            listed.extend(page.items);
            let Some(cursor) = page.next_cursor else {
                break;
            };
            page = store
                .list_posts(&PostQuery {
                    cursor: Some(cursor),
                    ..q.clone()
                })
                .await
                .unwrap();
        }
        assert_eq!(listed, all_pages(&store, &q).await);
        // the first page's ids alone, in the same order, for any sort
        for sort in [
            PostSort::Newest,
            PostSort::Oldest,
            PostSort::Title,
            PostSort::ActBy,
        ] {
            let q = PostQuery {
                sort,
                limit: 4,
                ..q.clone()
            };
            let ids: Vec<String> = store
                .list_posts(&q)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|h| h.summary.id)
                .collect();
            assert_eq!(store.list_post_ids(&q).await.unwrap(), ids, "{sort:?}");
        }
        // a first page holding every match is its own count
        let everything = store
            .query_posts(&PostQuery {
                limit: 200,
                ..q.clone()
            })
            .await
            .unwrap();
        assert_eq!(
            (
                everything.items.len(),
                everything.total,
                everything.next_cursor
            ),
            (6, 6, None)
        );
        // counts of the tenants in scope on a page: MC1 is gone for beta
        let mc1 = everything
            .items
            .iter()
            .find(|h| h.summary.id == "MC1")
            .unwrap();
        assert_eq!(mc1.tenants, ["alpha", "beta"]);
        assert_eq!(
            (mc1.summary.tenants_visible, mc1.summary.tenants_seen),
            (1, 2)
        );
        let beta = store
            .query_posts(&PostQuery::new(only(&["beta"])))
            .await
            .unwrap();
        let mc1 = &beta.items[0];
        assert_eq!(
            (
                mc1.tenants.clone(),
                mc1.summary.tenants_visible,
                mc1.summary.tenants_seen,
                mc1.summary.state
            ),
            (vec!["beta".to_string()], 0, 1, PostState::Expired)
        );
        // counted in a limited scope and for one tenant, active or expired
        for (scope, tenant, state, want) in [
            (only(&["alpha", "gamma"]), None, None, 6),
            (only(&["beta", "gamma"]), None, Some(PostState::Active), 1),
            (only(&["beta", "gamma"]), None, Some(PostState::Expired), 1),
            (TenantScope::All, Some("alpha"), Some(PostState::Active), 5),
            (TenantScope::All, Some("beta"), Some(PostState::Expired), 1),
            (TenantScope::All, None, Some(PostState::Expired), 0),
        ] {
            let q = PostQuery {
                limit: 1,
                tenant: tenant.map(String::from),
                state,
                ..PostQuery::new(scope.clone())
            };
            let hits = all_pages(&store, &q).await;
            assert_eq!(hits.len(), want, "{scope:?} {tenant:?} {state:?}");
        }
        // the names scopes are resolved against, and the archive's size
        assert_eq!(
            store.tenant_names().await.unwrap(),
            ["alpha", "beta", "gamma"]
        );
        let size = store.size().await.unwrap();
        assert_eq!((size.tenants, size.posts, size.incidents), (3, 6, 0));
        // the facets of every post (counted table by table) are those of
        // the same posts found through a scope: MC6 is gone for gamma, its
        // only tenant
        store
            .import_messages("gamma", &[], &opts("2026-03-04T00:00:00Z"))
            .await
            .unwrap();
        let every = store
            .post_facets(&PostQuery::new(TenantScope::All))
            .await
            .unwrap();
        assert_eq!(
            (every.visible, every.gone, every.major + every.not_major),
            (5, 1, 6)
        );
        let tenants: Vec<(&str, i64)> = every
            .tenants
            .iter()
            .map(|c| (c.value.as_str(), c.count))
            .collect();
        assert_eq!(tenants, [("alpha", 5), ("beta", 1), ("gamma", 1)]);
        assert_eq!(
            every,
            store
                .post_facets(&PostQuery::new(only(&["alpha", "beta", "gamma"])))
                .await
                .unwrap()
        );
    }
);

conformance!(
    /// Each post's counts of the tenants that saw it and that return it now
    /// (kept by the writes, migration 0022) are its links', through new
    /// links, links gone and links seen again, in every list and page.
    link_counts_are_the_links,
    |store: Store| async move {
        let posts = generated(&store, 30).await;
        // gamma lists everything again: its first half is seen again
        let gamma: Vec<Message> = posts.iter().step_by(5).cloned().collect();
        store
            .import_messages("gamma", &gamma, &opts("2026-03-03T00:00:00Z"))
            .await
            .unwrap();
        // beta stops listing half of its posts
        let beta: Vec<Message> = posts.iter().step_by(6).cloned().collect();
        store
            .import_messages("beta", &beta, &opts("2026-03-04T00:00:00Z"))
            .await
            .unwrap();
        // alpha stops listing two posts: the first is still returned by
        // beta and gamma, the second (alpha's alone) is gone everywhere
        let alpha: Vec<Message> = posts[2..].to_vec();
        store
            .import_messages("alpha", &alpha, &opts("2026-03-05T00:00:00Z"))
            .await
            .unwrap();

        let listed = store
            .list_messages(&changedesk_store::MessageFilter::default())
            .await
            .unwrap();
        assert_eq!(listed.len(), posts.len());
        let pages = all_pages(&store, &PostQuery::new(TenantScope::All)).await;
        let mut checked = 0;
        let mut gone_somewhere = 0;
        for s in &listed {
            let d = store.get_message(&s.id).await.unwrap();
            let visible = d.tenants.iter().filter(|l| l.visible).count() as i64;
            let seen = d.tenants.len() as i64;
            assert_eq!((s.tenants_visible, s.tenants_seen), (visible, seen), "{}", s.id);
            assert_eq!(
                (d.summary.tenants_visible, d.summary.tenants_seen),
                (visible, seen),
                "{}",
                s.id
            );
            let hit = pages.iter().find(|h| h.summary.id == s.id).unwrap();
            assert_eq!(
                (hit.summary.tenants_visible, hit.summary.tenants_seen),
                (visible, seen),
                "{}",
                s.id
            );
            assert_eq!(hit.tenants.len() as i64, seen);
            if visible < seen {
                gone_somewhere += 1;
            }
            checked += 1;
        }
        assert_eq!(checked, 30);
        assert!(gone_somewhere >= 5, "{gone_somewhere}");

        // the state filters and facets of every tenant agree with the links
        let expired = listed.iter().filter(|s| s.tenants_visible == 0).count() as i64;
        let q = PostQuery {
            state: Some(PostState::Expired),
            ..PostQuery::new(TenantScope::All)
        };
        assert_eq!(store.query_posts(&q).await.unwrap().total, expired);
        let q = PostQuery {
            state: Some(PostState::Active),
            ..PostQuery::new(TenantScope::All)
        };
        assert_eq!(store.query_posts(&q).await.unwrap().total, 30 - expired);
        let f = store.post_facets(&PostQuery::new(TenantScope::All)).await.unwrap();
        assert_eq!((f.visible, f.gone), (30 - expired, expired));
        let f = store
            .post_facets(&PostQuery {
                q: Some("rollout".into()),
                ..PostQuery::new(TenantScope::All)
            })
            .await
            .unwrap();
        assert_eq!((f.visible, f.gone), (30 - expired, expired));
        assert!(expired >= 1, "{expired}");
    }
);

conformance!(
    /// Service health counted per service and status across the tenants of
    /// a scope, with the first tenants of a troubled status named: what
    /// the health page shows without reading every tenant's rows.
    health_is_counted_per_service_and_status,
    |store: Store| async move {
        use changedesk_store::HealthFilter;
        for (t, exchange) in [
            ("alpha", "serviceDegradation"),
            ("beta", "serviceDegradation"),
            ("gamma", "serviceOperational"),
            ("delta", "serviceDegradation"),
        ] {
            store
                .import_health(
                    t,
                    &[health("Exchange", exchange), health("Teams", "serviceOperational")],
                    &opts("2026-03-01T00:00:00Z"),
                )
                .await
                .unwrap();
        }
        let summary = |scope: TenantScope, tenant: Option<&'static str>, service: Option<&'static str>, named: i64| {
            let store = store.clone();
            async move {
                let mut rows: Vec<(String, String, i64, Vec<String>)> = store
                    .health_summary(&HealthFilter {
                        scope: &scope,
                        tenant,
                        service,
                        unnamed: &["serviceoperational"],
                        named,
                    })
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|c| (c.key, c.status, c.count, c.tenants))
                    .collect();
                rows.sort();
                rows
            }
        };
        let s = |v: &str| v.to_string();
        assert_eq!(
            summary(TenantScope::All, None, None, 2).await,
            vec![
                (s("exchange service"), s("serviceDegradation"), 3, vec![s("alpha"), s("beta")]),
                (s("exchange service"), s("serviceOperational"), 1, vec![]),
                (s("teams service"), s("serviceOperational"), 4, vec![]),
            ]
        );
        // a scope counts its tenants only; a tenant, a service (any case)
        assert_eq!(
            summary(only(&["delta", "gamma"]), None, Some("EXCHANGE service"), 12).await,
            vec![
                (s("exchange service"), s("serviceDegradation"), 1, vec![s("delta")]),
                (s("exchange service"), s("serviceOperational"), 1, vec![]),
            ]
        );
        assert_eq!(
            summary(TenantScope::All, Some("beta"), None, 12).await,
            vec![
                (s("exchange service"), s("serviceDegradation"), 1, vec![s("beta")]),
                (s("teams service"), s("serviceOperational"), 1, vec![]),
            ]
        );
        assert!(summary(only(&[]), None, None, 12).await.is_empty());
        assert!(summary(only(&["nobody"]), None, None, 12).await.is_empty());
    }
);
