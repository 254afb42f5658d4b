//! The scheduled reports on both databases: a report recorded once per
//! message id, and the reports delivered in a window counted (the
//! maturity level's `reports_sent`): only `report.sent` deliveries that
//! were delivered, by when they were.

use changedesk_core::notify::{Event, EventKind};
use changedesk_store::{DeliveryOutcome, NewChannel, Store};

use crate::conformance;
use crate::fixtures::*;

fn scheduled(kind: EventKind) -> Event {
    Event {
        kind,
        at: at("2026-03-02T08:00:00Z"),
        post: None,
        incident: None,
        tenants: Vec::new(),
        owner: None,
        changes: Vec::new(),
        reason: None,
        target: Some("board".into()),
        ticket_scope: None,
        moves: Vec::new(),
    }
}

conformance!(
    reports_delivered_are_counted_in_their_window,
    |store: Store| async move {
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
        assert!(!store.message_recorded("msg_x1_2026-02").await.unwrap());
        for (id, kind) in [
            ("msg_x1_2026-02", EventKind::ReportSent),
            ("msg_x1_2026-02-23", EventKind::ReportSent),
            ("msg_r1_1", EventKind::OwnerReview),
        ] {
            assert!(
                store
                    .record_scheduled(channel, id, &scheduled(kind), "{}", now)
                    .await
                    .unwrap()
            );
        }
        // once per message id
        assert!(
            !store
                .record_scheduled(
                    channel,
                    "msg_x1_2026-02",
                    &scheduled(EventKind::ReportSent),
                    "{}",
                    now
                )
                .await
                .unwrap()
        );
        assert!(store.message_recorded("msg_x1_2026-02").await.unwrap());
        // none delivered yet
        let window = (at("2026-01-01T00:00:00Z"), at("2026-04-01T00:00:00Z"));
        assert_eq!(
            store.reports_delivered(window.0, window.1).await.unwrap(),
            0
        );
        let claimed = store
            .claim_deliveries(now, at("2026-03-02T08:05:00Z"), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 3);
        for d in &claimed {
            let outcome = if d.message_id == "msg_x1_2026-02-23" {
                DeliveryOutcome::Retry {
                    status: None,
                    error: "the server said no".into(),
                    next_attempt_at: at("2026-03-02T09:00:00Z"),
                }
            } else {
                DeliveryOutcome::Delivered { status: 250 }
            };
            store.finish_delivery(d.id, &outcome, now).await.unwrap();
        }
        // the monthly report is delivered; the weekly one waits; the
        // review is no report
        assert_eq!(
            store.reports_delivered(window.0, window.1).await.unwrap(),
            1
        );
        assert_eq!(
            store
                .reports_delivered(at("2026-03-02T08:00:01Z"), window.1)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .reports_delivered(window.0, at("2026-03-02T08:00:00Z"))
                .await
                .unwrap(),
            0
        );
    }
);
