//! Scenarios every backend must pass identically.

use changedesk_core::graph::Message;
use changedesk_store::{IncidentFilter, MessageFilter, PostState, Store, StoreError};
use serde_json::json;

use crate::conformance;
use crate::fixtures::*;

conformance!(
    a_post_is_stored_once_however_many_tenants_see_it,
    |store: Store| async move {
        let a = store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2", "MC3"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            (a.items, a.new, a.linked, a.updated, a.gone),
            (3, 3, 3, 0, 0)
        );
        let b = store
            .import_messages(
                "beta",
                &posts(&["MC2", "MC3", "MC4"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!((b.items, b.new, b.linked, b.updated), (3, 1, 3, 0));
        let c = store.counts().await.unwrap();
        assert_eq!(
            (
                c.tenants,
                c.posts,
                c.post_links,
                c.post_revisions,
                c.gone_links,
                c.expired_posts
            ),
            (2, 4, 6, 4, 0, 0)
        );
        let d = store.get_message("MC2").await.unwrap();
        let names: Vec<&str> = d.tenants.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["alpha", "beta"]);
        assert_eq!(d.summary.tenants_visible, 2);
        assert_eq!(d.summary.state, PostState::Active);
        assert_eq!(d.content.title, "Microsoft Teams: feature MC2");
        assert!(
            d.body_text.contains("Rollout of MC2 begins in March 2026."),
            "{}",
            d.body_text
        );
    }
);

conformance!(
    loading_the_same_data_again_adds_nothing,
    |store: Store| async move {
        let listing = posts(&["MC1", "MC2"]);
        store
            .import_messages("alpha", &listing, &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let before = store.counts().await.unwrap();
        let again = store
            .import_messages("alpha", &listing, &opts("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            (
                again.new,
                again.updated,
                again.linked,
                again.gone,
                again.stale
            ),
            (0, 0, 0, 0, 0)
        );
        let after = store.counts().await.unwrap();
        assert_eq!(after.runs, before.runs + 1, "a run record is added");
        assert_eq!(
            changedesk_store::Counts {
                runs: before.runs,
                ..after
            },
            before
        );
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(d.tenants[0].first_seen, at("2026-03-01T00:00:00Z"));
        assert_eq!(
            d.tenants[0].last_seen,
            at("2026-03-02T00:00:00Z"),
            "last seen moves on"
        );
    }
);

conformance!(
    a_newer_version_becomes_a_revision_with_a_change_summary,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &[post("MC1", "2026-01-05T10:00:00Z")],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let mut v = post_json("MC1", "2026-02-01T09:30:00.5Z");
        v["title"] = json!("(Updated) Microsoft Teams: feature MC1");
        v["actionRequiredByDateTime"] = json!("2026-04-30T00:00:00Z");
        v["body"]["content"] =
            json!("<p>[When this will happen:]</p><p>Rollout of MC1 begins in May 2026.</p>");
        let s = store
            .import_messages("alpha", &[parse(&v)], &opts("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((s.new, s.updated, s.linked), (0, 1, 0));
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(d.summary.revision, 2);
        assert_eq!(d.content.title, "(Updated) Microsoft Teams: feature MC1");
        assert_eq!(d.revisions.len(), 2);
        assert!(d.revisions[0].changes.is_empty());
        let fields: Vec<&str> = d.revisions[1]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        // the body's rollout moved too
        assert_eq!(
            fields,
            vec!["title", "act_by", "timeline", "body", "last_modified"]
        );
        assert_eq!(d.revisions[1].tenant.as_deref(), Some("alpha"));
        let old = store.message_revision("MC1", 1).await.unwrap();
        assert_eq!(old.content.title, "Microsoft Teams: feature MC1");
        assert!(matches!(
            store.message_revision("MC1", 3).await,
            Err(StoreError::NotFound(_))
        ));
        // the shared-field filters see the new version
        let f = MessageFilter {
            act_by_from: Some(at("2026-04-01T00:00:00Z")),
            ..Default::default()
        };
        assert_eq!(store.list_messages(&f).await.unwrap().len(), 1);
    }
);

conformance!(
    a_lagging_tenant_never_flips_a_post_back,
    |store: Store| async move {
        let mut new = post_json("MC1", "2026-02-01T00:00:00Z");
        new["title"] = json!("(Updated) new title");
        store
            .import_messages("alpha", &[parse(&new)], &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let s = store
            .import_messages(
                "beta",
                &[post("MC1", "2026-01-05T10:00:00Z")],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!((s.new, s.updated, s.stale, s.linked), (0, 0, 1, 1));
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(d.summary.revision, 1);
        assert_eq!(d.content.title, "(Updated) new title");
        let beta = d.tenants.iter().find(|t| t.name == "beta").unwrap();
        assert_eq!(
            beta.seen_last_modified,
            Some(at("2026-01-05T10:00:00Z")),
            "the link remembers the tenant's version"
        );
        assert_eq!(store.counts().await.unwrap().post_revisions, 1);
    }
);

conformance!(
    same_time_other_content_is_a_revision_once,
    |store: Store| async move {
        let x = post_json("MC1", "2026-01-05T10:00:00Z");
        let y = with(
            x.clone(),
            "title",
            json!("Microsoft Teams: corrected title"),
        );
        store
            .import_messages("alpha", &[parse(&x)], &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let s = store
            .import_messages("beta", &[parse(&y)], &opts("2026-03-01T01:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            s.updated, 1,
            "changed shared fields without a newer timestamp are a revision"
        );
        let s = store
            .import_messages("alpha", &[parse(&x)], &opts("2026-03-01T02:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            s.updated, 0,
            "content already seen does not flip the post back"
        );
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(d.summary.revision, 2);
        assert_eq!(d.content.title, "Microsoft Teams: corrected title");
    }
);

conformance!(
    tenant_details_belong_to_the_link,
    |store: Store| async move {
        let base = post_json("MC1", "2026-01-05T10:00:00Z");
        let status = |s: &str| {
            json!([{"name": "FeatureStatusJson",
        "value": format!("{{\"400001\":[{{\"RoadmapId\":400001,\"Platform\":\"Web\",\"Status\":\"{s}\",\"LastUpdateTime\":\"2026-01-01T00:00:00Z\",\"LatestRing\":null}}]}}")}])
        };
        store
            .import_messages(
                "alpha",
                &[parse(&with(base.clone(), "details", status("Launched")))],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        store
            .import_messages(
                "beta",
                &[parse(&with(
                    base.clone(),
                    "details",
                    status("FeatureRolloutStatusNotSupported"),
                ))],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let s = store
            .import_messages(
                "alpha",
                &[parse(&with(base, "details", status("InRollout")))],
                &opts("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            (s.updated, s.new, s.linked),
            (0, 0, 0),
            "a details change is not a revision of the post"
        );
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(d.summary.revision, 1);
        let alpha = d.tenants.iter().find(|t| t.name == "alpha").unwrap();
        let beta = d.tenants.iter().find(|t| t.name == "beta").unwrap();
        assert!(alpha.details[0].value.contains("InRollout"));
        assert!(beta.details[0].value.contains("NotSupported"));
    }
);

conformance!(
    a_complete_listing_marks_gone_and_expired,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2", "MC3"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        store
            .import_messages("beta", &posts(&["MC2"]), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        // a partial listing never marks anything gone
        let p = store
            .import_messages("alpha", &posts(&["MC3"]), &partial("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(p.gone, 0);
        assert_eq!(store.counts().await.unwrap().gone_links, 0);
        // the complete one does
        let s = store
            .import_messages("alpha", &posts(&["MC3"]), &opts("2026-03-03T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            (s.gone, s.expired),
            (2, 1),
            "MC1 and MC2 gone for alpha; MC1 gone everywhere"
        );
        let c = store.counts().await.unwrap();
        assert_eq!(
            (c.posts, c.gone_links, c.expired_posts),
            (3, 2, 1),
            "gone posts are kept forever"
        );
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(d.summary.state, PostState::Expired);
        assert_eq!(d.tenants[0].gone_at, Some(at("2026-03-03T00:00:00Z")));
        assert_eq!(
            store.get_message("MC2").await.unwrap().summary.state,
            PostState::Active
        );
        let expired = store
            .list_messages(&MessageFilter {
                state: Some(PostState::Expired),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            expired.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            vec!["MC1"]
        );
        let gone_for_alpha = store
            .list_messages(&MessageFilter {
                tenant: Some("alpha".into()),
                state: Some(PostState::Expired),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(gone_for_alpha.len(), 2);
        // it comes back
        let r = store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC3"]),
                &opts("2026-03-04T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!((r.reappeared, r.gone, r.linked), (1, 0, 0));
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(d.summary.state, PostState::Active);
        assert_eq!(d.tenants[0].gone_at, None);
        // an empty complete listing empties the tenant
        let e = store
            .import_messages("beta", &[], &opts("2026-03-05T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(e.gone, 1);
    }
);

conformance!(
    duplicates_in_a_listing_keep_the_newest,
    |store: Store| async move {
        let old = post("MC1", "2026-01-01T00:00:00Z");
        let new: Message = parse(&with(
            post_json("MC1", "2026-02-01T00:00:00Z"),
            "title",
            json!("newest"),
        ));
        let s = store
            .import_messages("alpha", &[new, old], &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((s.items, s.duplicates, s.new), (1, 1, 1));
        assert_eq!(
            store.get_message("MC1").await.unwrap().content.title,
            "newest"
        );
    }
);

conformance!(filters_select_what_they_say, |store: Store| async move {
    let p1 = post_json("MC1", "2026-01-01T00:00:00Z");
    let p2 = with(
        with(
            with(
                post_json("MC2", "2026-01-02T00:00:00Z"),
                "services",
                json!(["Exchange Online"]),
            ),
            "category",
            json!("StayInformed"),
        ),
        "isMajorChange",
        json!(true),
    );
    let p3 = with(
        with(
            post_json("MC3", "2026-01-03T00:00:00Z"),
            "severity",
            json!("high"),
        ),
        "actionRequiredByDateTime",
        json!("2026-05-01T00:00:00Z"),
    );
    let p4 = with(
        post_json("MC4", "2026-01-04T00:00:00Z"),
        "title",
        json!("SharePoint: 100%_done retirement"),
    );
    store
        .import_messages(
            "alpha",
            &[parse(&p1), parse(&p2), parse(&p3)],
            &opts("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    store
        .import_messages("beta", &[parse(&p4)], &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let ids =
        |v: Vec<changedesk_store::PostSummary>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
    let all = store
        .list_messages(&MessageFilter::default())
        .await
        .unwrap();
    assert_eq!(
        ids(all),
        vec!["MC4", "MC3", "MC2", "MC1"],
        "newest change first"
    );
    let f = |f: MessageFilter| {
        let s = store.clone();
        async move { ids(s.list_messages(&f).await.unwrap()) }
    };
    assert_eq!(
        f(MessageFilter {
            services: vec!["exchange online".into()],
            ..Default::default()
        })
        .await,
        vec!["MC2"]
    );
    assert_eq!(
        f(MessageFilter {
            category: Some("stayinformed".into()),
            ..Default::default()
        })
        .await,
        vec!["MC2"]
    );
    assert_eq!(
        f(MessageFilter {
            severity: Some("High".into()),
            ..Default::default()
        })
        .await,
        vec!["MC3"]
    );
    assert_eq!(
        f(MessageFilter {
            major: Some(true),
            ..Default::default()
        })
        .await,
        vec!["MC2"]
    );
    assert_eq!(
        f(MessageFilter {
            act_by_to: Some(at("2026-06-01T00:00:00Z")),
            ..Default::default()
        })
        .await,
        vec!["MC3"]
    );
    assert_eq!(
        f(MessageFilter {
            act_by_from: Some(at("2026-06-01T00:00:00Z")),
            ..Default::default()
        })
        .await,
        Vec::<String>::new()
    );
    assert_eq!(
        f(MessageFilter {
            tenant: Some("beta".into()),
            ..Default::default()
        })
        .await,
        vec!["MC4"]
    );
    assert_eq!(
        f(MessageFilter {
            text: Some("RETIREMENT sharepoint".into()),
            ..Default::default()
        })
        .await,
        vec!["MC4"]
    );
    assert_eq!(
        f(MessageFilter {
            text: Some("100%_".into()),
            ..Default::default()
        })
        .await,
        vec!["MC4"],
        "LIKE wildcards are literal"
    );
    assert_eq!(
        f(MessageFilter {
            text: Some("%".into()),
            ..Default::default()
        })
        .await,
        vec!["MC4"]
    );
    assert_eq!(
        f(MessageFilter {
            text: Some("march".into()),
            limit: Some(2),
            ..Default::default()
        })
        .await,
        vec!["MC4", "MC3"],
        "body text is searched; limit applies"
    );
    assert_eq!(
        f(MessageFilter {
            state: Some(PostState::Active),
            ..Default::default()
        })
        .await
        .len(),
        4
    );
});

conformance!(export_pages_through_every_post, |store: Store| async move {
    let ids: Vec<String> = (1..=7).map(|i| format!("MC{i:03}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    store
        .import_messages("alpha", &posts(&refs), &opts("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .export_messages_page(after.as_deref(), 3)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|p| p.summary.id.clone());
        for p in page {
            assert_eq!(p.tenants.len(), 1);
            assert_eq!(p.revisions.len(), 1);
            seen.push(p.summary.id);
        }
    }
    assert_eq!(seen, ids);
});

conformance!(
    incidents_keep_posts_and_a_status_history,
    |store: Store| async move {
        store
            .import_incidents(
                "alpha",
                &[incident("EX1", "investigating", "2026-03-01T10:30:00Z", 1)],
                &opts("2026-03-01T11:00:00Z"),
            )
            .await
            .unwrap();
        store
            .import_incidents(
                "beta",
                &[incident("EX1", "investigating", "2026-03-01T10:30:00Z", 1)],
                &opts("2026-03-01T11:00:00Z"),
            )
            .await
            .unwrap();
        let s = store
            .import_incidents(
                "alpha",
                &[incident(
                    "EX1",
                    "serviceDegradation",
                    "2026-03-01T12:30:00Z",
                    2,
                )],
                &opts("2026-03-01T13:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(s.updated, 1);
        // beta lags: nothing flips back
        let s = store
            .import_incidents(
                "beta",
                &[incident("EX1", "investigating", "2026-03-01T10:30:00Z", 1)],
                &opts("2026-03-01T13:05:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(s.stale, 1);
        store
            .import_incidents(
                "alpha",
                &[incident(
                    "EX1",
                    "serviceRestored",
                    "2026-03-01T15:30:00Z",
                    3,
                )],
                &opts("2026-03-01T16:00:00Z"),
            )
            .await
            .unwrap();
        // the same snapshot again adds nothing
        let again = store
            .import_incidents(
                "alpha",
                &[incident(
                    "EX1",
                    "serviceRestored",
                    "2026-03-01T15:30:00Z",
                    3,
                )],
                &opts("2026-03-01T17:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!((again.new, again.updated, again.linked), (0, 0, 0));
        let d = store.get_incident("EX1").await.unwrap();
        assert_eq!(d.summary.status, "serviceRestored");
        assert!(d.summary.is_resolved);
        assert_eq!(d.posts.len(), 3, "posts are kept once each");
        let statuses: Vec<&str> = d.status_history.iter().map(|h| h.status.as_str()).collect();
        assert_eq!(
            statuses,
            vec!["investigating", "serviceDegradation", "serviceRestored"]
        );
        assert_eq!(d.tenants.len(), 2, "tenants affected");
        assert_eq!(d.revisions.len(), 3);
        let c = store.counts().await.unwrap();
        assert_eq!(
            (
                c.incidents,
                c.incident_links,
                c.incident_revisions,
                c.incident_posts,
                c.incident_status_changes
            ),
            (1, 2, 3, 3, 3)
        );
        let open = store
            .list_incidents(&IncidentFilter {
                resolved: Some(false),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(open.is_empty());
        // a complete listing without it: gone for alpha, still visible for beta
        let g = store
            .import_incidents("alpha", &[], &opts("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((g.gone, g.expired), (1, 0));
        assert!(matches!(
            store.get_incident("EX404").await,
            Err(StoreError::NotFound(_))
        ));
    }
);

conformance!(
    health_overviews_are_status_snapshots_per_tenant,
    |store: Store| async move {
        let s = store
            .import_health(
                "alpha",
                &[
                    health("Exchange", "serviceOperational"),
                    health("Teams", "serviceOperational"),
                ],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(s.new, 2);
        store
            .import_health(
                "beta",
                &[health("Exchange", "serviceDegradation")],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let s = store
            .import_health(
                "alpha",
                &[
                    health("Exchange", "serviceDegradation"),
                    health("Teams", "ServiceOperational"),
                ],
                &opts("2026-03-01T01:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!((s.new, s.updated), (0, 1));
        let s = store
            .import_health(
                "alpha",
                &[
                    health("Exchange", "serviceDegradation"),
                    health("Teams", "serviceOperational"),
                ],
                &opts("2026-03-01T02:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!((s.new, s.updated), (0, 0));
        let rows = store.health(Some("alpha")).await.unwrap();
        assert_eq!(rows.len(), 2);
        let ex = rows.iter().find(|r| r.service_id == "Exchange").unwrap();
        assert_eq!(
            (ex.status.as_str(), ex.since, ex.last_seen),
            (
                "serviceDegradation",
                at("2026-03-01T01:00:00Z"),
                at("2026-03-01T02:00:00Z")
            )
        );
        let c = store.counts().await.unwrap();
        assert_eq!((c.health_services, c.health_changes), (3, 4));
        assert_eq!(store.health(None).await.unwrap().len(), 3);
    }
);

conformance!(tenants_and_runs_are_recorded, |store: Store| async move {
    store
        .import_messages(
            "alpha",
            &posts(&["MC1", "MC2"]),
            &opts("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    store
        .import_messages("alpha", &posts(&["MC1"]), &partial("2026-03-02T00:00:00Z"))
        .await
        .unwrap();
    let t = store.tenants().await.unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].posts_visible, t[0].posts_seen), (2, 2));
    assert_eq!(
        t[0].messages_complete_at,
        Some(at("2026-03-01T00:00:00Z")),
        "only a complete listing counts"
    );
    let runs = store.runs(Some("alpha"), 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(!runs[0].complete && runs[1].complete, "newest first");
    assert!(matches!(
        store.runs(Some("nobody"), 10).await,
        Err(StoreError::NotFound(_))
    ));
});

conformance!(
    bad_tenant_names_are_refused_before_anything_is_written,
    |store: Store| async move {
        for bad in [
            "",
            "Contoso",
            "has space",
            "-lead",
            "x".repeat(65).as_str(),
            "semi;colon",
        ] {
            let e = store
                .import_messages(bad, &posts(&["MC1"]), &opts("2026-03-01T00:00:00Z"))
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::Invalid(_)), "{bad}: {e}");
            assert!(e.to_string().contains("invalid tenant name"), "{e}");
        }
        assert_eq!(
            store.counts().await.unwrap(),
            changedesk_store::Counts::default()
        );
    }
);

#[tokio::test]
async fn a_read_only_open_of_a_missing_sqlite_file_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.db");
    let e = Store::open_sqlite(&path, changedesk_store::OpenMode::ReadOnly)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    assert!(!path.exists(), "no file was created");
    let e = Store::open_sqlite(
        &dir.path().join("missing-dir/x.db"),
        changedesk_store::OpenMode::ReadWrite,
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
}

conformance!(
    watermarks_move_forward_with_the_data_and_sync_outcomes_are_kept,
    |store: Store| async move {
        assert!(store.tenant("alpha").await.unwrap().is_none());
        assert!(store.tenant_marks("alpha").await.unwrap().is_none());
        let listing = vec![
            post("MC1", "2026-01-05T10:00:00Z"),
            post("MC2", "2026-02-07T08:00:00.25Z"),
        ];
        store
            .import_messages("alpha", &listing, &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let t = store.tenant("alpha").await.unwrap().unwrap();
        assert_eq!(t.messages_watermark, Some(at("2026-02-07T08:00:00.25Z")));
        assert_eq!(t.messages_complete_at, Some(at("2026-03-01T00:00:00Z")));
        assert_eq!(t.issues_watermark, None);
        // what a sync reads: the same marks, without the counts
        let marks = store.tenant_marks("alpha").await.unwrap().unwrap();
        assert_eq!(
            (
                marks.messages_watermark,
                marks.messages_complete_at,
                marks.issues_watermark,
                marks.issues_complete_at
            ),
            (
                t.messages_watermark,
                t.messages_complete_at,
                t.issues_watermark,
                t.issues_complete_at
            )
        );
        // an older listing never moves it back, and a partial one is no
        // complete listing
        store
            .import_messages(
                "alpha",
                &[post("MC3", "2025-12-01T00:00:00Z")],
                &partial("2026-03-02T00:00:00Z"),
            )
            .await
            .unwrap();
        let t = store.tenant("alpha").await.unwrap().unwrap();
        assert_eq!(t.messages_complete_at, Some(at("2026-03-01T00:00:00Z")));
        // an empty partial listing changes nothing
        store
            .import_messages("alpha", &[], &partial("2026-03-02T01:00:00Z"))
            .await
            .unwrap();
        assert_eq!(
            store
                .tenant("alpha")
                .await
                .unwrap()
                .unwrap()
                .messages_watermark,
            Some(at("2026-02-07T08:00:00.25Z"))
        );
        store
            .import_incidents(
                "alpha",
                &[incident("EX1", "investigating", "2026-03-01T10:30:00Z", 1)],
                &opts("2026-03-01T11:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .tenant("alpha")
                .await
                .unwrap()
                .unwrap()
                .issues_watermark,
            Some(at("2026-03-01T10:30:00Z"))
        );

        store
            .record_sync(
                "alpha",
                &at("2026-03-03T00:00:00Z"),
                Some("alpha: HTTP 403 Authorization_RequestDenied"),
            )
            .await
            .unwrap();
        let t = store.tenant("alpha").await.unwrap().unwrap();
        assert_eq!(
            (t.last_sync_at, t.last_sync_error.as_deref()),
            (
                Some(at("2026-03-03T00:00:00Z")),
                Some("alpha: HTTP 403 Authorization_RequestDenied")
            )
        );
        store
            .record_sync("alpha", &at("2026-03-04T00:00:00Z"), None)
            .await
            .unwrap();
        assert_eq!(
            store
                .tenant("alpha")
                .await
                .unwrap()
                .unwrap()
                .last_sync_error,
            None
        );
        // a tenant that never loaded anything can still have a failed sync recorded
        store
            .record_sync(
                "beta",
                &at("2026-03-04T00:00:00Z"),
                Some("beta: invalid_client"),
            )
            .await
            .unwrap();
        assert_eq!(store.tenants().await.unwrap().len(), 2);
    }
);

conformance!(
    concurrent_loads_of_overlapping_tenants_all_succeed,
    |store: Store| async move {
        // every tenant brings the same new posts at the same moment, and later the same edit
        let ids: Vec<String> = (0..40).map(|i| format!("MC{}", 500 + i)).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let listing = posts(&refs);
        let mut tasks = Vec::new();
        for t in 0..6 {
            let (store, listing) = (store.clone(), listing.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .import_messages(
                        &format!("tenant-{t}"),
                        &listing,
                        &opts("2026-03-01T00:00:00Z"),
                    )
                    .await
            }));
        }
        for task in tasks {
            task.await
                .unwrap()
                .expect("no load fails because another ran at the same time");
        }
        let edited: Vec<Message> = refs
            .iter()
            .map(|id| {
                parse(&with(
                    post_json(id, "2026-02-01T00:00:00Z"),
                    "title",
                    json!("edited"),
                ))
            })
            .collect();
        let mut tasks = Vec::new();
        for t in 0..6 {
            let (store, edited) = (store.clone(), edited.clone());
            tasks.push(tokio::spawn(async move {
                store
                    .import_messages(
                        &format!("tenant-{t}"),
                        &edited,
                        &opts("2026-03-02T00:00:00Z"),
                    )
                    .await
            }));
        }
        let updated: usize = {
            let mut n = 0;
            for task in tasks {
                n += task
                    .await
                    .unwrap()
                    .expect("concurrent edits succeed")
                    .updated;
            }
            n
        };
        assert_eq!(
            updated, 40,
            "each post revised once, by whichever tenant came first"
        );
        let c = store.counts().await.unwrap();
        assert_eq!((c.posts, c.post_links, c.post_revisions), (40, 240, 80));
    }
);

conformance!(
    another_writer_on_the_same_archive_is_never_missed,
    |store: Store| async move {
        // a second process on the same database
        let other = Store::open(store.location(), changedesk_store::OpenMode::ReadWrite)
            .await
            .unwrap();
        store
            .import_messages(
                "alpha",
                &[post("MC1", "2026-01-05T10:00:00Z")],
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let mut v2 = post_json("MC1", "2026-02-01T00:00:00Z");
        v2["title"] = json!("(Updated) second");
        other
            .import_messages("beta", &[parse(&v2)], &opts("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        // the first writer remembers version 1; the archive holds version 2
        let s = store
            .import_messages(
                "gamma",
                &[post("MC1", "2026-01-05T10:00:00Z")],
                &opts("2026-03-03T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(
            (s.updated, s.stale),
            (0, 1),
            "older than what the archive holds"
        );
        let mut v3 = post_json("MC1", "2026-03-01T00:00:00Z");
        v3["title"] = json!("(Updated) third");
        let s = store
            .import_messages("alpha", &[parse(&v3)], &opts("2026-03-04T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(s.updated, 1);
        let d = store.get_message("MC1").await.unwrap();
        assert_eq!(
            (d.summary.revision, d.content.title.as_str()),
            (3, "(Updated) third")
        );
        assert_eq!(d.revisions.len(), 3);
        other.close().await;
    }
);

conformance!(
    a_group_of_tenants_commits_together_and_a_failing_one_alone_is_rolled_back,
    |store: Store| async move {
        changedesk_store::failpoint::fail_tenant_loads("failing-in-group");
        let now = "2026-03-01T00:00:00Z";
        let batch = |messages: &'static [&'static str]| (posts(messages), opts(now));
        let (a, f, g) = (
            batch(&["MC1", "MC2"]),
            batch(&["MC2", "MC9"]),
            batch(&["MC2", "MC9"]),
        );
        fn tb<'a>(
            (m, o): &'a (Vec<Message>, changedesk_store::ImportOptions),
            now: &str,
        ) -> changedesk_store::TenantBatch<'a> {
            changedesk_store::TenantBatch {
                messages: Some((m.as_slice(), o.clone())),
                issues: None,
                health: None,
                at: at(now),
                record: Some(None),
                digests: None,
                issue_digests: None,
            }
        }
        let (ba, bf, bg) = (tb(&a, now), tb(&f, now), tb(&g, now));
        let out = store
            .import_batches(&[
                ("alpha", &ba),
                ("failing-in-group", &bf),
                ("Not A Tenant!", &bg),
                ("gamma", &bg),
            ])
            .await
            .unwrap();
        assert_eq!(out.len(), 4);
        assert_eq!(out[0].as_ref().unwrap().messages.as_ref().unwrap().new, 2);
        assert!(
            matches!(out[1], Err(StoreError::Invalid(_))),
            "{:?}",
            out[1]
        );
        assert!(
            matches!(out[2], Err(StoreError::Invalid(_))),
            "{:?}",
            out[2]
        );
        // MC9 was written by the failing tenant, then rolled back: gamma
        // stores it anew (the writer did not remember the rolled-back write)
        let gamma = out[3].as_ref().unwrap().messages.as_ref().unwrap();
        assert_eq!((gamma.new, gamma.linked), (1, 2));
        assert!(store.tenant("failing-in-group").await.unwrap().is_none());
        let c = store.counts().await.unwrap();
        assert_eq!(
            (c.tenants, c.posts, c.post_links, c.post_revisions),
            (2, 3, 4, 3)
        );
        // and the writer's memory stays right for the next load
        let mut v2 = post_json("MC9", "2026-02-01T00:00:00Z");
        v2["title"] = json!("(Updated) MC9");
        let s = store
            .import_messages("delta", &[parse(&v2)], &opts("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((s.new, s.updated), (0, 1));
    }
);

conformance!(
    digests_worked_out_before_a_load_are_used_only_when_they_fit,
    |store: Store| async move {
        let now = "2026-03-01T00:00:00Z";
        let (m, o) = (posts(&["MC1", "MC2"]), opts(now));
        let fitting = store.message_digests(&m);
        // digests of another listing (one post): not these posts', ignored
        let other = store.message_digests(&posts(&["MC7"]));
        let batch = |digests| changedesk_store::TenantBatch {
            messages: Some((m.as_slice(), o.clone())),
            issues: None,
            health: None,
            at: at(now),
            record: Some(None),
            digests,
            issue_digests: None,
        };
        let (a, b) = (batch(Some(&fitting)), batch(Some(&other)));
        let out = store
            .import_batches(&[("alpha", &a), ("beta", &b)])
            .await
            .unwrap();
        let alpha = out[0].as_ref().unwrap().messages.as_ref().unwrap();
        let beta = out[1].as_ref().unwrap().messages.as_ref().unwrap();
        assert_eq!((alpha.new, alpha.linked), (2, 2));
        assert_eq!((beta.new, beta.updated, beta.linked), (0, 0, 2));
        // a digest worked out beforehand is the one the archive keeps: the
        // same content loaded the plain way is no new revision, an edit is
        let s = store
            .import_messages("gamma", &m, &opts("2026-03-02T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((s.new, s.updated, s.linked), (0, 0, 2));
        let mut v2 = post_json("MC1", "2026-02-01T00:00:00Z");
        v2["title"] = json!("(Updated) MC1");
        let edited = vec![parse(&v2)];
        let d = store.message_digests(&edited);
        let late = opts("2026-03-03T00:00:00Z");
        let c = changedesk_store::TenantBatch {
            messages: Some((edited.as_slice(), late.clone())),
            issues: None,
            health: None,
            at: at("2026-03-03T00:00:00Z"),
            record: Some(None),
            digests: Some(&d),
            issue_digests: None,
        };
        let s = store.import_batch("alpha", &c).await.unwrap();
        assert_eq!(s.messages.unwrap().updated, 1);
        let detail = store.get_message("MC1").await.unwrap();
        assert_eq!(detail.revisions.len(), 2);

        // incidents likewise: fitting digests are used, others ignored
        let i1 = vec![incident("EX1", "investigating", "2026-03-01T10:30:00Z", 1)];
        let fitting = store.incident_digests(&i1);
        let other = store.incident_digests(&[
            incident("EX8", "investigating", "2026-03-01T10:30:00Z", 1),
            incident("EX9", "investigating", "2026-03-01T10:30:00Z", 1),
        ]);
        let incidents = |list, digests| changedesk_store::TenantBatch {
            messages: None,
            issues: Some((list, opts("2026-03-04T00:00:00Z"))),
            health: None,
            at: at("2026-03-04T00:00:00Z"),
            record: Some(None),
            digests: None,
            issue_digests: digests,
        };
        let (a, b) = (incidents(&i1, Some(&fitting)), incidents(&i1, Some(&other)));
        let out = store
            .import_batches(&[("alpha", &a), ("beta", &b)])
            .await
            .unwrap();
        let alpha = out[0].as_ref().unwrap().issues.as_ref().unwrap();
        let beta = out[1].as_ref().unwrap().issues.as_ref().unwrap();
        assert_eq!((alpha.new, alpha.linked), (1, 1));
        assert_eq!((beta.new, beta.updated, beta.linked), (0, 0, 1));
        // the plain way agrees with the digest worked out beforehand
        let s = store
            .import_incidents("gamma", &i1, &opts("2026-03-05T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((s.new, s.updated, s.linked), (0, 0, 1));
        // a new post of the incident is a new version
        let i2 = vec![incident("EX1", "investigating", "2026-03-01T11:30:00Z", 2)];
        let d = store.incident_digests(&i2);
        let s = store
            .import_batch("alpha", &incidents(&i2, Some(&d)))
            .await
            .unwrap();
        assert_eq!(s.issues.unwrap().updated, 1);
        assert_eq!(store.get_incident("EX1").await.unwrap().posts.len(), 2);
    }
);

conformance!(
    a_sync_load_that_brings_nothing_new_is_not_counted_as_a_write,
    |store: Store| async move {
        let batch = |m: &'static [Message], now: &'static str| changedesk_store::TenantBatch {
            messages: Some((m, opts(now))),
            issues: None,
            health: None,
            at: at(now),
            record: Some(None),
            digests: None,
            issue_digests: None,
        };
        let first: &'static [Message] = Vec::leak(posts(&["MC1", "MC2"]));
        let counts = |store: &Store| {
            let store = store.clone();
            async move { (store.local_writes(), store.archive_changes().await.unwrap()) }
        };
        let (local, shared) = counts(&store).await;
        // a new tenant, new posts: counted
        store
            .import_batch("alpha", &batch(first, "2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!(counts(&store).await, (local + 1, shared + 1));
        // the same listing again: only the sync times, watermarks, sightings
        // and the run log move, which no kept answer shows
        let again = store
            .import_batch("alpha", &batch(first, "2026-03-01T01:00:00Z"))
            .await
            .unwrap();
        assert!(!again.changed());
        assert_eq!(counts(&store).await, (local + 1, shared + 1));
        assert_eq!(
            store.tenant("alpha").await.unwrap().unwrap().last_sync_at,
            Some(at("2026-03-01T01:00:00Z"))
        );
        // in a group commit too
        let quiet = batch(first, "2026-03-01T02:00:00Z");
        store
            .import_batches(&[("alpha", &quiet), ("alpha", &quiet)])
            .await
            .unwrap();
        assert_eq!(counts(&store).await, (local + 1, shared + 1));
        // new incidents and a health change: not counted either (no kept
        // answer shows them; their pages read them afresh)
        let incidents: &'static [changedesk_core::graph::Incident] = Vec::leak(vec![incident(
            "EX1",
            "serviceDegradation",
            "2026-03-01T00:00:00Z",
            1,
        )]);
        let overviews: &'static [changedesk_core::graph::HealthOverview] =
            Vec::leak(vec![health("Exchange", "serviceDegradation")]);
        let s = store
            .import_batch(
                "alpha",
                &changedesk_store::TenantBatch {
                    issues: Some((incidents, opts("2026-03-01T02:30:00Z"))),
                    health: Some((overviews, opts("2026-03-01T02:30:00Z"))),
                    ..batch(first, "2026-03-01T02:30:00Z")
                },
            )
            .await
            .unwrap();
        assert_eq!(s.issues.as_ref().unwrap().new, 1);
        assert!(s.changed());
        assert_eq!(counts(&store).await, (local + 1, shared + 1));
        // a tenant's own details changed: counted
        let mut own = posts(&["MC1", "MC2"]);
        own[0].view.details.push(changedesk_core::graph::Detail {
            name: "RolloutState".into(),
            value: "Rolling out".into(),
        });
        let own: &'static [Message] = Vec::leak(own);
        let s = store
            .import_batch("alpha", &batch(own, "2026-03-01T03:00:00Z"))
            .await
            .unwrap();
        assert_eq!(s.messages.as_ref().unwrap().details, 1);
        assert_eq!(counts(&store).await, (local + 2, shared + 2));
        // a post gone from a complete listing: counted
        let fewer: &'static [Message] = Vec::leak(posts(&["MC1"]));
        store
            .import_batch("alpha", &batch(fewer, "2026-03-01T04:00:00Z"))
            .await
            .unwrap();
        assert_eq!(counts(&store).await, (local + 3, shared + 3));
        // a second tenant seeing posts the archive holds: counted (new links)
        store
            .import_batch("beta", &batch(fewer, "2026-03-01T05:00:00Z"))
            .await
            .unwrap();
        assert_eq!(counts(&store).await, (local + 4, shared + 4));
        // a failed sync of a known tenant, with no listing: not counted
        let failed = changedesk_store::TenantBatch {
            messages: None,
            record: Some(Some("throttled".into())),
            ..batch(fewer, "2026-03-01T06:00:00Z")
        };
        store.import_batch("beta", &failed).await.unwrap();
        assert_eq!(counts(&store).await, (local + 4, shared + 4));
        // of a tenant never seen before: counted (a new tenant name)
        store.import_batch("gamma", &failed).await.unwrap();
        assert_eq!(counts(&store).await, (local + 5, shared + 5));
    }
);
