//! Communications and pilots (issue 21) on both databases: a communication's
//! life checked against its version and state, sent once with its delivery,
//! its acknowledgements once per person and never more than its audience;
//! the rules ask once per post; pilot groups kept and audited, pilot tasks
//! opened once, read with their group's latest finding, and findings
//! counted within a scope.

use changedesk_core::comms::{Audience, CommsState, CommsText};
use changedesk_core::notify::{Event, EventKind};
use changedesk_store::{
    AckOutcome, CommsChange, CommsQuery, CommsSend, MAX_COMMS_LIST, NewChannel, NewComms,
    NewPilotTask, PilotGroup, PilotTaskQuery, Store, StoreError, TenantScope,
};

use crate::conformance;
use crate::fixtures::*;

fn new_comms(post: &str) -> NewComms {
    NewComms {
        post_id: post.into(),
        tenants: vec!["alpha".into()],
        audience: Audience::checked("All staff", Some(2)).unwrap(),
        channel: "board".into(),
        assignee: Some("cleo".into()),
        text: CommsText::checked("A change", "What changes.").unwrap(),
    }
}

conformance!(
    a_communication_lives_once_and_counts_its_acknowledgers,
    |store: Store| async move {
        store
            .import_messages("alpha", &posts(&["MC1"]), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let channel = store
            .create_channel(&NewChannel {
                name: "board".into(),
                kind: "email".into(),
                url_sealed: String::new(),
                secret_sealed: None,
                filter: Default::default(),
                settings: Default::default(),
                allow_private: false,
                created_by: "admin".into(),
                at: at("2026-03-01T00:00:00Z"),
            })
            .await
            .unwrap();
        let now = at("2026-03-02T08:00:00Z");
        let id = store
            .create_comms(&new_comms("MC1"), "owen", now)
            .await
            .unwrap()
            .unwrap();
        // the rules ask once per post; a person may ask again
        assert!(
            store
                .create_comms(&new_comms("MC1"), "rules", now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .create_comms(&new_comms("MC1"), "rules", now)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .create_comms(&new_comms("MC1"), "owen", now)
                .await
                .unwrap()
                .is_some()
        );
        let c = store.comms(id).await.unwrap().unwrap();
        assert_eq!(
            (c.state, c.version, c.tenants.clone()),
            (CommsState::Draft, 1, vec!["alpha".to_string()])
        );
        // an acknowledgement of a draft is refused
        assert_eq!(
            store.acknowledge_comms(id, "ana", now).await.unwrap(),
            AckOutcome::NotSent
        );
        // a stale version, a state that does not allow it
        let e = store
            .change_comms(id, 7, &CommsChange::Approve, "cleo", now)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e}");
        let send = CommsSend {
            channel_id: channel,
            message_id: format!("msg_m{id}"),
            body: "{}".into(),
            event: Event {
                kind: EventKind::CommsSent,
                at: now,
                post: None,
                incident: None,
                tenants: vec!["alpha".into()],
                owner: None,
                changes: Vec::new(),
                reason: None,
                target: Some("board".into()),
                ticket_scope: None,
                moves: Vec::new(),
            },
            audience: 2,
        };
        let e = store
            .send_comms(id, 1, &send, "cleo", now)
            .await
            .unwrap_err();
        assert!(
            matches!(e, StoreError::Invalid(_)),
            "a draft is not sent: {e}"
        );
        let c = store
            .change_comms(id, 1, &CommsChange::Approve, "owen", now)
            .await
            .unwrap();
        assert_eq!(
            (c.state, c.approved_by.as_deref()),
            (CommsState::Approved, Some("owen"))
        );
        let c = store
            .send_comms(id, c.version, &send, "cleo", now)
            .await
            .unwrap();
        assert_eq!(
            (c.state, c.sent_to, c.delivery_state.as_deref()),
            (CommsState::Sent, Some(2), Some("pending"))
        );
        assert_eq!(c.message_id.as_deref(), Some(format!("msg_m{id}").as_str()));
        let e = store
            .change_comms(id, c.version, &CommsChange::Cancel, "cleo", now)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Invalid(_)), "{e}");
        // acknowledgements: once per person, at most the audience
        assert_eq!(
            store.acknowledge_comms(id, "ana", now).await.unwrap(),
            AckOutcome::Recorded
        );
        assert_eq!(
            store.acknowledge_comms(id, "ana", now).await.unwrap(),
            AckOutcome::Already
        );
        assert_eq!(
            store.acknowledge_comms(id, "bo", now).await.unwrap(),
            AckOutcome::Recorded
        );
        assert_eq!(
            store.acknowledge_comms(id, "cy", now).await.unwrap(),
            AckOutcome::Full
        );
        assert!(store.acknowledged_comms(id, "bo").await.unwrap());
        assert_eq!(store.comms(id).await.unwrap().unwrap().acks, 2);
        assert_eq!(
            store.acknowledge_comms(9999, "ana", now).await.unwrap(),
            AckOutcome::NotSent
        );
        // listed: of a post, sent since, in a state, a page at a time
        let of_mc1 = CommsQuery {
            post_id: Some("MC1".into()),
            ..Default::default()
        };
        assert_eq!(store.comms_all(&of_mc1).await.unwrap().len(), 3);
        let since = CommsQuery {
            sent_since: Some(now),
            ..Default::default()
        };
        assert_eq!(store.comms_all(&since).await.unwrap().len(), 1);
        let sent = CommsQuery {
            state: Some(CommsState::Sent),
            ..Default::default()
        };
        let sent = store.comms_all(&sent).await.unwrap();
        assert_eq!(sent.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
        let first = store.comms_page(&of_mc1, 2).await.unwrap();
        assert_eq!(first.len(), 2);
        assert!(first[0].id > first[1].id, "newest first");
        let next = CommsQuery {
            before: Some(first[1].id),
            ..of_mc1.clone()
        };
        let rest = store.comms_page(&next, 2).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert!(rest[0].id < first[1].id);
        let audit: Vec<String> = store
            .audit_log(50)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        for a in ["comms.request", "comms.approve", "comms.send"] {
            assert!(audit.iter().any(|x| x == a), "{a}: {audit:?}");
        }
    }
);

conformance!(
    pilot_tasks_open_once_and_carry_their_findings,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &posts(&["MC1", "MC2"]),
                &opts("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let now = at("2026-03-02T08:00:00Z");
        let group = PilotGroup {
            name: "early".into(),
            description: "Early adopters".into(),
            workloads: vec!["Microsoft Teams".into()],
            members: vec!["Ana@Contoso.com".into()],
            channel: String::new(),
        };
        store.save_pilot_group(&group, "admin", now).await.unwrap();
        let bad = PilotGroup {
            workloads: Vec::new(),
            ..group.clone()
        };
        assert!(matches!(
            store.save_pilot_group(&bad, "admin", now).await,
            Err(StoreError::Invalid(_))
        ));
        let groups = store.pilot_groups().await.unwrap();
        assert_eq!(groups[0].members, vec!["ana@contoso.com".to_string()]);
        let day = time::macros::date!(2026 - 03 - 01);
        // MC1's group is told (its event is recorded with the task), MC2's not
        let notice = Event {
            kind: EventKind::PilotOpened,
            at: now,
            post: None,
            incident: None,
            tenants: vec!["alpha".into()],
            owner: None,
            changes: Vec::new(),
            reason: Some("try it".into()),
            target: Some("pilots".into()),
            ticket_scope: None,
            moves: Vec::new(),
        };
        let task = |post: &str, event: Option<Event>| NewPilotTask {
            post_id: post.into(),
            group: "early".into(),
            pilot_start: day,
            event,
        };
        let tasks = [task("MC1", Some(notice.clone())), task("MC2", None)];
        let told = |events: Vec<changedesk_store::StoredEvent>| {
            events
                .iter()
                .filter(|e| e.event.kind == EventKind::PilotOpened)
                .count()
        };
        let before = told(store.pending_events(1000).await.unwrap());
        assert_eq!(
            store
                .unopened_pilot_tasks(&[("MC1".into(), "early".into())])
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.open_pilot_tasks(&tasks, now).await.unwrap(), 2);
        assert_eq!(
            store.open_pilot_tasks(&tasks, now).await.unwrap(),
            0,
            "once"
        );
        assert!(
            store
                .unopened_pilot_tasks(&[("MC1".into(), "early".into())])
                .await
                .unwrap()
                .is_empty()
        );
        // told once, for the task opened with an event only
        assert_eq!(told(store.pending_events(1000).await.unwrap()) - before, 1);
        let all = PilotTaskQuery::default();
        assert!(
            store
                .pilot_tasks(&all, 1000)
                .await
                .unwrap()
                .iter()
                .all(|t| t.finding.is_none())
        );
        // pages, and open or done (no finding yet: both open)
        let second = PilotTaskQuery {
            offset: 1,
            ..all.clone()
        };
        let page = store.pilot_tasks(&second, 1).await.unwrap();
        assert_eq!(page.len(), 1);
        let first = store.pilot_tasks(&all, 1).await.unwrap();
        assert_ne!(first[0].post_id, page[0].post_id);
        let open = PilotTaskQuery {
            done: Some(false),
            ..all.clone()
        };
        assert_eq!(store.pilot_tasks(&open, 1000).await.unwrap().len(), 2);
        let done = PilotTaskQuery {
            done: Some(true),
            ..all.clone()
        };
        assert!(store.pilot_tasks(&done, 1000).await.unwrap().is_empty());
        assert!(
            store
                .remove_pilot_group("early", "admin", now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .remove_pilot_group("early", "admin", now)
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .pilot_tasks(
                    &PilotTaskQuery {
                        post_id: Some("MC1".into()),
                        ..Default::default()
                    },
                    1000
                )
                .await
                .unwrap()
                .len(),
            1,
            "tasks stay"
        );
        assert_eq!(
            store.pilot_findings(&TenantScope::All, now).await.unwrap(),
            0
        );
        assert_eq!(
            store
                .pilot_findings(&TenantScope::Only(vec!["zulu".into()]), now)
                .await
                .unwrap(),
            0
        );
    }
);

conformance!(
    every_communication_is_read_whatever_their_count,
    |store: Store| async move {
        store
            .import_messages("alpha", &posts(&["MC1"]), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let now = at("2026-03-02T08:00:00Z");
        let count = usize::try_from(MAX_COMMS_LIST).unwrap() + 3;
        for _ in 0..count {
            store
                .create_comms(&new_comms("MC1"), "owen", now)
                .await
                .unwrap()
                .unwrap();
        }
        let all = CommsQuery::default();
        // a page holds at most MAX_COMMS_LIST, whatever is asked
        let page = store.comms_page(&all, 5_000).await.unwrap();
        assert_eq!(page.len(), usize::try_from(MAX_COMMS_LIST).unwrap());
        // the reports read them all, each once
        let every = store.comms_all(&all).await.unwrap();
        assert_eq!(every.len(), count);
        let mut ids: Vec<i64> = every.iter().map(|c| c.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), count);
    }
);
