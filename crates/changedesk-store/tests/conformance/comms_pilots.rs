//! Communications and pilots (issue 21) on both databases: a communication's
//! life checked against its version and state, sent once with its delivery,
//! its acknowledgements once per person and never more than its audience;
//! the rules ask once per post; pilot groups kept and audited, pilot tasks
//! opened once, read with their group's latest finding, and findings
//! counted within a scope.

use changedesk_core::comms::{Audience, CommsState, CommsText};
use changedesk_core::notify::{Event, EventKind};
use changedesk_store::{
    AckOutcome, CommsChange, CommsSend, NewChannel, NewComms, PilotGroup, Store, StoreError,
    TenantScope,
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
        // listed: of a post, sent since
        assert_eq!(store.comms_list(Some("MC1"), None).await.unwrap().len(), 3);
        assert_eq!(store.comms_list(None, Some(now)).await.unwrap().len(), 1);
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
        let tasks = [
            ("MC1".to_string(), "early".to_string(), day),
            ("MC2".to_string(), "early".to_string(), day),
        ];
        assert_eq!(store.open_pilot_tasks(&tasks, now).await.unwrap(), 2);
        assert_eq!(
            store.open_pilot_tasks(&tasks, now).await.unwrap(),
            0,
            "once"
        );
        assert!(
            store
                .pilot_tasks(None)
                .await
                .unwrap()
                .iter()
                .all(|t| t.finding.is_none())
        );
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
            store.pilot_tasks(Some("MC1")).await.unwrap().len(),
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
