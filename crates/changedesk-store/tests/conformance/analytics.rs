//! What the analytics read (issue 21): the work items open at some time
//! since a day, of the posts a scope sees, each with the tenant groups some
//! of whose tenants see its post.

use changedesk_core::triage::{Decision, State, WorkItem};
use changedesk_store::{ItemSave, Store, TenantScope};

use crate::conformance;
use crate::fixtures::*;

async fn save(store: &Store, item: &WorkItem) {
    store
        .save_work_item(&ItemSave {
            item,
            expected_version: None,
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at: item.created_at,
        })
        .await
        .unwrap();
}

conformance!(
    analytics_read_the_items_open_since_a_day_in_scope_with_their_groups,
    |store: Store| async move {
        // MC1: alpha's; MC2: beta's, its only date Graph's start on 5 January
        // (its decision deadline); MC3: both tenants'
        for (tenant, ids) in [("alpha", ["MC1", "MC3"]), ("beta", ["MC2", "MC3"])] {
            let posts: Vec<_> = ids
                .iter()
                .map(|id| {
                    let mut v = post_json(id, "2026-01-01T00:00:00Z");
                    if *id == "MC2" {
                        v["body"] = serde_json::json!({"contentType": "html", "content": "<p>No dates.</p>"});
                    }
                    parse(&v)
                })
                .collect();
            store
                .import_messages(tenant, &posts, &opts("2026-01-01T00:00:00Z"))
                .await
                .unwrap();
        }
        // MC1 opened in March, still new; MC2 closed in January (before
        // the day, its deadline too); MC3 opened in January, closed in March
        let mut mc1 = WorkItem::new("MC1", at("2026-03-01T00:00:00Z"));
        mc1.assignee = Some("owen".into());
        mc1.due = Some(at("2026-04-01T00:00:00Z"));
        mc1.requires_communication = true;
        save(&store, &mc1).await;
        for (id, closed) in [
            ("MC2", "2026-01-05T00:00:00Z"),
            ("MC3", "2026-03-05T00:00:00Z"),
        ] {
            let mut item = WorkItem::new(id, at("2026-01-01T00:00:00Z"));
            item.state = State::Done;
            item.decision = Some(Decision::Actioned);
            item.first_triaged_at = Some(at("2026-01-02T00:00:00Z"));
            item.closed_at = Some(at(closed));
            save(&store, &item).await;
        }
        let since = at("2026-02-01T00:00:00Z");
        let groups = vec![
            ("eu".to_string(), vec!["alpha".to_string()]),
            ("us".to_string(), vec!["beta".to_string()]),
        ];
        let all = store
            .analytics_items(&TenantScope::All, since, &groups)
            .await
            .unwrap();
        let seen: Vec<(&str, Vec<String>)> = all
            .iter()
            .map(|i| (i.post_id.as_str(), i.groups.clone()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("MC1", vec!["eu".to_string()]),
                ("MC3", vec!["eu".to_string(), "us".to_string()]),
            ]
        );
        let mc1 = &all[0];
        assert_eq!(mc1.owner.as_deref(), Some("owen"));
        assert_eq!(mc1.state, State::New);
        assert_eq!(mc1.created_at, at("2026-03-01T00:00:00Z"));
        assert_eq!(mc1.workloads, vec!["Microsoft Teams".to_string()]);
        assert_eq!(mc1.work.due, Some(at("2026-04-01T00:00:00Z")));
        assert!(mc1.work.requires_communication);
        assert!(!mc1.work.requires_change_request);
        assert_eq!(mc1.work.tenants, 1);
        assert_eq!(mc1.work.decision, None);
        let mc3 = &all[1];
        assert_eq!(mc3.work.tenants, 2);
        assert_eq!(mc3.work.decision, Some(Decision::Actioned));
        assert!(!mc3.work.changed_since_triage);
        assert_eq!(mc3.first_triaged_at, Some(at("2026-01-02T00:00:00Z")));
        assert_eq!(mc3.closed_at, Some(at("2026-03-05T00:00:00Z")));

        // decided well ahead: MC4 asks for action by 15 March and was closed
        // on 3 January, before the day; it is read for its deadline
        let mut v = post_json("MC4", "2026-01-01T00:00:00Z");
        v["actionRequiredByDateTime"] = serde_json::json!("2026-03-15T00:00:00Z");
        store
            .import_messages("alpha", &[parse(&v)], &opts("2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        let mut early = WorkItem::new("MC4", at("2026-01-01T00:00:00Z"));
        early.state = State::Done;
        early.decision = Some(Decision::Actioned);
        early.first_triaged_at = Some(at("2026-01-02T00:00:00Z"));
        early.closed_at = Some(at("2026-01-03T00:00:00Z"));
        save(&store, &early).await;
        let read = store
            .analytics_items(&TenantScope::All, since, &[])
            .await
            .unwrap();
        let ids: Vec<&str> = read.iter().map(|i| i.post_id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["MC1", "MC3", "MC4"],
            "MC2 closed before the day, no deadline since"
        );
        assert_eq!(
            read[2].work.decision_deadline,
            Some(at("2026-03-15T00:00:00Z"))
        );

        // beta's view: MC3 only
        let beta = store
            .analytics_items(&TenantScope::Only(vec!["beta".into()]), since, &[])
            .await
            .unwrap();
        let ids: Vec<&str> = beta.iter().map(|i| i.post_id.as_str()).collect();
        assert_eq!(ids, vec!["MC3"]);
        // no tenant in scope: nothing
        assert!(
            store
                .analytics_items(&TenantScope::Only(vec![]), since, &groups)
                .await
                .unwrap()
                .is_empty()
        );
    }
);

fn assign(
    at_: &str,
    actor: changedesk_core::triage::Actor,
    to: &str,
) -> changedesk_core::triage::LogEntry {
    changedesk_core::triage::LogEntry {
        at: at(at_),
        actor,
        action: changedesk_core::triage::LogAction::Assign,
        field: Some("assignee".into()),
        old: None,
        new: Some(to.into()),
        reason: None,
        scope: Default::default(),
    }
}

conformance!(
    reviews_held_are_recorded_once_a_week_and_routing_is_counted,
    |store: Store| async move {
        use changedesk_core::triage::Actor;
        let monday = time::macros::date!(2026 - 03 - 02);
        assert!(
            store
                .record_review(
                    monday,
                    "",
                    "went through 12 posts",
                    "alice",
                    at("2026-03-02T10:00:00Z")
                )
                .await
                .unwrap()
        );
        // once per week and group
        assert!(
            !store
                .record_review(monday, "", "again", "bob", at("2026-03-02T11:00:00Z"))
                .await
                .unwrap()
        );
        assert!(
            store
                .record_review(monday, "emea", "", "alice", at("2026-03-02T12:00:00Z"))
                .await
                .unwrap()
        );
        assert!(
            store
                .record_review(
                    time::macros::date!(2026 - 03 - 03),
                    "",
                    "",
                    "alice",
                    at("2026-03-03T10:00:00Z")
                )
                .await
                .is_err(),
            "a Tuesday is no week"
        );
        let held = store
            .reviews_held("", time::macros::date!(2026 - 01 - 01))
            .await
            .unwrap();
        assert_eq!(held, vec![monday]);
        assert_eq!(
            store
                .reviews_held("emea", time::macros::date!(2026 - 03 - 03))
                .await
                .unwrap(),
            Vec::<time::Date>::new()
        );
        let audit = store.audit_log(100).await.unwrap();
        assert_eq!(
            audit.iter().filter(|e| e.action == "review.held").count(),
            2,
            "each recorded review is audited"
        );

        // routing: the rules assigned MC1 and MC2; a person re-assigned MC2
        for id in ["MC1", "MC2"] {
            store
                .import_messages(
                    if id == "MC1" { "alpha" } else { "beta" },
                    &[parse(&post_json(id, "2026-01-01T00:00:00Z"))],
                    &opts("2026-01-01T00:00:00Z"),
                )
                .await
                .unwrap();
            let mut item = WorkItem::new(id, at("2026-03-01T00:00:00Z"));
            item.assignee = Some("owen".into());
            store
                .save_work_item(&ItemSave {
                    item: &item,
                    expected_version: None,
                    evaluated_revision: None,
                    entries: &[assign("2026-03-01T00:00:00Z", Actor::Rules, "owen")],
                    notify: &[],
                    events: &[],
                    at: at("2026-03-01T00:00:00Z"),
                })
                .await
                .unwrap();
        }
        let mut item = store.work_item("MC2").await.unwrap().unwrap();
        item.item.assignee = Some("paula".into());
        store
            .save_work_item(&ItemSave {
                item: &item.item,
                expected_version: Some(item.version),
                evaluated_revision: None,
                entries: &[assign(
                    "2026-03-02T00:00:00Z",
                    Actor::Person("alice".into()),
                    "paula",
                )],
                notify: &[],
                events: &[],
                at: at("2026-03-02T00:00:00Z"),
            })
            .await
            .unwrap();
        let all = store
            .routing_counts(&TenantScope::All, at("2026-02-01T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((all.rule_assignments, all.reassigned_by_people), (2, 1));
        let alpha = store
            .routing_counts(
                &TenantScope::Only(vec!["alpha".into()]),
                at("2026-02-01T00:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!((alpha.rule_assignments, alpha.reassigned_by_people), (1, 0));
        let later = store
            .routing_counts(&TenantScope::All, at("2026-03-01T12:00:00Z"))
            .await
            .unwrap();
        assert_eq!(later.rule_assignments, 0);

        // feedback to Microsoft: a support case about MC2 (beta's)
        let item = store.work_item("MC2").await.unwrap().unwrap();
        let feedback = changedesk_core::triage::LogEntry::new(
            at("2026-03-03T00:00:00Z"),
            &Actor::Person("alice".into()),
            changedesk_core::triage::LogAction::Feedback,
        )
        .change("feedback", None::<String>, Some("support_case"))
        .because(Some("2604150040001234"));
        store
            .save_work_item(&ItemSave {
                item: &item.item,
                expected_version: Some(item.version),
                evaluated_revision: None,
                entries: &[feedback],
                notify: &[],
                events: &[],
                at: at("2026-03-03T00:00:00Z"),
            })
            .await
            .unwrap();
        let since = at("2026-02-01T00:00:00Z");
        assert_eq!(
            store
                .feedback_given(&TenantScope::All, since)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .feedback_given(&TenantScope::Only(vec!["alpha".into()]), since)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .feedback_given(&TenantScope::All, at("2026-03-04T00:00:00Z"))
                .await
                .unwrap(),
            0
        );
    }
);
