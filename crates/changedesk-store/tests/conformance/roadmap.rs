//! The roadmap archive (issue 22 item 1) on both databases: items read
//! once, a revision for each change that matters and none for the feed's
//! `modified` alone, items gone from a whole read kept and marked, and back
//! when they return; lists filtered and paged; every import audited.

use changedesk_core::roadmap::{RoadmapChange, RoadmapItem, RoadmapStatus};
use changedesk_store::{RoadmapQuery, Store, StoreError};

use crate::conformance;
use crate::fixtures::*;

fn item(
    id: u64,
    title: &str,
    status: RoadmapStatus,
    release: &str,
    products: &[&str],
) -> RoadmapItem {
    RoadmapItem {
        id,
        title: title.into(),
        description: format!("About {title}: 100% of it_"),
        more_info: None,
        status,
        release: Some(release.into()),
        preview: None,
        created: None,
        modified: Some(at("2026-02-01T00:00:00Z")),
        products: products.iter().map(|p| p.to_string()).collect(),
        platforms: vec!["Web".into()],
        cloud_instances: vec![],
        release_phases: vec![],
    }
}

fn ids(items: &[changedesk_store::StoredRoadmapItem]) -> Vec<u64> {
    items.iter().map(|i| i.item.id).collect()
}

conformance!(
    the_roadmap_is_archived_with_its_revisions,
    |store: Store| async move {
        let first = vec![
            item(
                1,
                "Teams: town halls",
                RoadmapStatus::InDevelopment,
                "March CY2026",
                &["Microsoft Teams"],
            ),
            item(
                2,
                "Outlook: new inbox",
                RoadmapStatus::RollingOut,
                "February CY2026",
                &["Outlook"],
            ),
            item(
                3,
                "SharePoint: pages",
                RoadmapStatus::Launched,
                "January CY2026",
                &["SharePoint", "Microsoft Teams"],
            ),
        ];
        let t1 = at("2026-02-10T00:00:00Z");
        let r = store
            .import_roadmap(&first, true, "roadmap.json", "ada", t1)
            .await
            .unwrap();
        assert_eq!(
            (r.added.clone(), r.changed.len(), r.unchanged),
            (vec![1, 2, 3], 0, 0)
        );
        // read again: item 1 moved a month and rolls out, item 2 only has a
        // newer `modified`, item 3 is gone from the feed
        let mut second = first[..2].to_vec();
        second[0].status = RoadmapStatus::RollingOut;
        second[0].release = Some("April CY2026".into());
        second[1].modified = Some(at("2026-02-09T00:00:00Z"));
        let t2 = at("2026-02-11T00:00:00Z");
        let r = store
            .import_roadmap(&second, true, "https://feed", "system", t2)
            .await
            .unwrap();
        assert!(r.added.is_empty());
        assert_eq!(r.unchanged, 1);
        assert_eq!(r.gone, vec![3]);
        assert_eq!(
            r.changed,
            vec![(
                1,
                vec![
                    RoadmapChange::Status {
                        from: "In development".into(),
                        to: "Rolling out".into()
                    },
                    RoadmapChange::Release {
                        from: Some("March CY2026".into()),
                        to: Some("April CY2026".into())
                    },
                ]
            )]
        );
        let (one, revisions) = store.roadmap_item(1).await.unwrap().unwrap();
        assert_eq!(
            (one.revision, one.first_seen, one.updated_at, one.last_seen),
            (2, t1, t2, t2)
        );
        assert_eq!(one.item.release.as_deref(), Some("April CY2026"));
        assert_eq!(
            revisions.iter().map(|r| r.revision).collect::<Vec<_>>(),
            vec![2, 1],
            "newest first"
        );
        assert_eq!(revisions[1].item, first[0], "the first read kept as it was");
        assert!(revisions[1].changes.is_empty());
        assert_eq!(revisions[0].changes.len(), 2);
        let (two, revisions) = store.roadmap_item(2).await.unwrap().unwrap();
        assert_eq!(
            (two.revision, revisions.len()),
            (1, 1),
            "a newer `modified` alone is no revision"
        );
        assert_eq!(
            two.item.modified,
            Some(at("2026-02-09T00:00:00Z")),
            "but the item is kept as read"
        );
        assert_eq!(two.last_seen, t2);
        let (three, _) = store.roadmap_item(3).await.unwrap().unwrap();
        assert_eq!(three.gone_since, Some(t2));
        assert!(store.roadmap_item(4).await.unwrap().is_none());
        // lists: gone ones left out unless asked; soonest release first
        let all = RoadmapQuery::default();
        let (page, total) = store.roadmap_items(&all, 50).await.unwrap();
        assert_eq!((ids(&page), total), (vec![2, 1], 2));
        let with_gone = RoadmapQuery {
            include_gone: true,
            ..Default::default()
        };
        assert_eq!(
            ids(&store.roadmap_items(&with_gone, 50).await.unwrap().0),
            vec![3, 2, 1]
        );
        let q = |f: fn(&mut RoadmapQuery)| {
            let mut q = RoadmapQuery {
                include_gone: true,
                ..Default::default()
            };
            f(&mut q);
            q
        };
        for (query, want, note) in [
            (
                q(|q| q.statuses = vec!["rolling out".into()]),
                vec![2, 1],
                "",
            ),
            (
                q(|q| q.statuses = vec!["rollingOut".into()]),
                vec![2, 1],
                "any spelling",
            ),
            (
                q(|q| q.statuses = vec!["Launched".into(), "In development".into()]),
                vec![3],
                "",
            ),
            (
                q(|q| q.product = Some("microsoft teams".into())),
                vec![3, 1],
                "",
            ),
            (q(|q| q.product = Some("Teams".into())), vec![], ""),
            (q(|q| q.text = Some("NEW INBOX".into())), vec![2], ""),
            (q(|q| q.text = Some("100%".into())), vec![3, 2, 1], ""),
            (q(|q| q.text = Some("x%".into())), vec![], "a % is itself"),
            (
                q(|q| q.text = Some("outl_ok".into())),
                vec![],
                "a _ is itself",
            ),
            (
                q(|q| q.text = Some("platforms".into())),
                vec![],
                "only the title and description",
            ),
            (q(|q| q.text = Some("it_".into())), vec![3, 2, 1], ""),
            (
                q(|q| q.release_from = Some("2026-02".into())),
                vec![2, 1],
                "",
            ),
            (q(|q| q.release_to = Some("2026-02".into())), vec![3, 2], ""),
            (q(|q| q.ids = Some(vec![1, 3, 99])), vec![3, 1], ""),
            (q(|q| q.ids = Some(vec![])), vec![], ""),
            (q(|q| q.offset = 1), vec![2, 1], ""),
        ] {
            let got = ids(&store.roadmap_items(&query, 50).await.unwrap().0);
            assert_eq!(got, want, "{query:?} {note}");
        }
        let (page, total) = store.roadmap_items(&with_gone, 1).await.unwrap();
        assert_eq!(
            (ids(&page), total),
            (vec![3], 3),
            "a page, and the count of all"
        );
        // item 3 returns: no longer gone, unchanged
        let r = store
            .import_roadmap(
                &first,
                true,
                "roadmap.json",
                "ada",
                at("2026-02-12T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(r.returned, vec![3]);
        assert!(
            store
                .roadmap_item(3)
                .await
                .unwrap()
                .unwrap()
                .0
                .gone_since
                .is_none()
        );
        // a part of the feed (not whole) marks nothing gone
        let r = store
            .import_roadmap(
                &first[..1],
                false,
                "part",
                "ada",
                at("2026-02-13T00:00:00Z"),
            )
            .await
            .unwrap();
        assert!(r.gone.is_empty());
        assert_eq!(
            store.roadmap_summary().await.unwrap(),
            (3, Some(at("2026-02-13T00:00:00Z")))
        );
        // an id the database cannot keep is refused, and nothing is written
        let mut huge = first.clone();
        huge.push(item(
            u64::MAX,
            "Too big",
            RoadmapStatus::Launched,
            "May CY2026",
            &[],
        ));
        huge[0].status = RoadmapStatus::Cancelled;
        let e = store
            .import_roadmap(&huge, true, "x", "ada", at("2026-02-14T00:00:00Z"))
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e:?}");
        // (item 1 is back in development since the third import: not cancelled)
        let (one, revisions) = store.roadmap_item(1).await.unwrap().unwrap();
        assert_eq!(
            (one.item.status, one.revision, revisions.len()),
            (RoadmapStatus::InDevelopment, 3, 3)
        );
        let imports = store
            .audit_log(50)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action == "roadmap.import")
            .collect::<Vec<_>>();
        assert_eq!(imports.len(), 4);
        assert!(
            imports
                .iter()
                .any(|a| a.actor == "system" && a.detail["gone"] == 1 && a.detail["changed"] == 1)
        );
    }
);
