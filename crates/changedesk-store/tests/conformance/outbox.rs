//! The outbox on both databases: events commit with their item, fan-out
//! is once per event and channel, claims never hand the same delivery to
//! two workers, a lost lease is taken over and counted, outcomes and
//! retries, and the audit of what people do to channels and deliveries.

use std::collections::HashSet;

use changedesk_core::notify::{ChannelFilter, Event, EventKind};
use changedesk_core::triage::WorkItem;
use changedesk_store::{DeliveryFilter, DeliveryOutcome, ItemSave, NewChannel, NewDelivery, Store};

use crate::conformance;
use crate::fixtures::*;

fn event(kind: EventKind, post: Option<&str>) -> Event {
    Event {
        kind,
        at: at("2026-03-01T00:00:00Z"),
        post: post.map(|id| changedesk_core::notify::PostRef {
            id: id.into(),
            title: "t".into(),
            services: vec![],
            category: "planForChange".into(),
            severity: "normal".into(),
            major: false,
            act_by: None,
            start: None,
        }),
        incident: None,
        tenants: vec!["alpha".into()],
        owner: None,
        changes: vec![],
        reason: None,
        target: None,
        ticket_scope: None,
        moves: Vec::new(),
    }
}

async fn channel(store: &Store, name: &str) -> i64 {
    store
        .create_channel(&NewChannel {
            name: name.into(),
            kind: "webhook".into(),
            url_sealed: "cdsec1:0011223344556677:AAAA".into(),
            secret_sealed: None,
            filter: ChannelFilter::default(),
            settings: Default::default(),
            allow_private: false,
            created_by: "admin".into(),
            at: at("2026-03-01T00:00:00Z"),
        })
        .await
        .unwrap()
}

conformance!(
    the_outbox_claims_once_and_takes_over_lost_leases,
    |store: Store| async move {
        store
            .import_messages(
                "alpha",
                &[parse(&post_json("MC1", "2026-02-01T00:00:00Z"))],
                &opts("2026-02-01T00:00:00Z"),
            )
            .await
            .unwrap();
        // an event commits with its item; a refused save records none
        let item = WorkItem::new("MC1", at("2026-03-01T00:00:00Z"));
        let ev = [event(EventKind::PostRouted, Some("MC1"))];
        let save = |expected: Option<i64>| ItemSave {
            item: &item,
            expected_version: expected,
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &ev,
            at: at("2026-03-01T00:00:00Z"),
        };
        store.save_work_item(&save(None)).await.unwrap();
        assert!(store.save_work_item(&save(Some(99))).await.is_err());
        let pending = store.pending_events(100).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].event, ev[0]);
        // a duplicate name is refused; the channel's add is audited, without its URL
        let a = channel(&store, "a").await;
        let b = channel(&store, "B").await;
        assert!(
            store
                .create_channel(&NewChannel {
                    name: "b".into(),
                    kind: "webhook".into(),
                    url_sealed: "x".into(),
                    secret_sealed: None,
                    filter: ChannelFilter::default(),
                    settings: Default::default(),
                    allow_private: false,
                    created_by: "admin".into(),
                    at: at("2026-03-01T00:00:00Z"),
                })
                .await
                .is_err()
        );
        let audit = store.audit_log(20).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "channel.add" && e.target == "b")
        );
        assert!(!format!("{audit:?}").contains("cdsec1"));

        // more events, fanned out to both channels; fanning out again adds nothing
        store
            .record_events(
                &(0..20)
                    .map(|_| event(EventKind::RuleNotify, Some("MC1")))
                    .collect::<Vec<_>>(),
                at("2026-03-01T00:00:00Z"),
            )
            .await
            .unwrap();
        let now = at("2026-03-02T00:00:00Z");
        for e in store.pending_events(100).await.unwrap() {
            let ds: Vec<NewDelivery> = [a, b]
                .iter()
                .map(|c| NewDelivery {
                    channel_id: *c,
                    message_id: changedesk_core::notify::message_id(e.id, *c),
                    body: format!("{{\"e\":{}}}", e.id),
                    ready_at: None,
                })
                .collect();
            store.dispatch_event(e.id, &ds, now).await.unwrap();
            store.dispatch_event(e.id, &ds, now).await.unwrap();
        }
        assert!(store.pending_events(100).await.unwrap().is_empty());
        assert_eq!(
            store
                .deliveries(&DeliveryFilter::default())
                .await
                .unwrap()
                .len(),
            42
        );

        // four workers claim at once: every delivery once, none twice
        let lease = at("2026-03-02T00:01:00Z");
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.claim_deliveries(now, lease, 8).await.unwrap() })
            })
            .collect();
        let mut claims = Vec::new();
        for w in workers {
            claims.push(w.await.unwrap());
        }
        let ids: Vec<i64> = claims.iter().flatten().map(|d| d.id).collect();
        assert_eq!(ids.len(), 32);
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            32,
            "claimed twice: {ids:?}"
        );
        assert!(
            claims
                .iter()
                .flatten()
                .all(|d| d.attempts == 1 && !d.taken_over)
        );
        // outcomes: delivered, retry later, dead
        let all: Vec<_> = claims.into_iter().flatten().collect();
        store
            .finish_delivery(all[0].id, &DeliveryOutcome::Delivered { status: 204 }, now)
            .await
            .unwrap();
        store
            .finish_delivery(
                all[1].id,
                &DeliveryOutcome::Retry {
                    next_attempt_at: at("2026-03-03T00:00:00Z"),
                    status: Some(503),
                    error: "busy".into(),
                },
                now,
            )
            .await
            .unwrap();
        store
            .finish_delivery(
                all[2].id,
                &DeliveryOutcome::Dead {
                    status: Some(404),
                    error: "not found".into(),
                },
                now,
            )
            .await
            .unwrap();
        // the rest: the worker died. Before the lease runs out nobody takes them
        let rest = store.claim_deliveries(now, lease, 100).await.unwrap();
        assert_eq!(rest.len(), 10, "only the never-claimed ten");
        for d in &rest {
            store
                .finish_delivery(d.id, &DeliveryOutcome::Delivered { status: 200 }, now)
                .await
                .unwrap();
        }
        // after it, the 29 left in flight are taken over, counted
        let after = at("2026-03-02T00:02:00Z");
        let taken = store
            .claim_deliveries(after, at("2026-03-02T00:03:00Z"), 100)
            .await
            .unwrap();
        assert_eq!(taken.len(), 29);
        assert!(
            taken
                .iter()
                .all(|d| d.taken_over && d.attempts == 2 && d.resends == 1)
        );
        // a stale outcome of the dead worker's claim does not undo the new one:
        // the first outcome recorded wins only while it is claimed
        for d in &taken {
            store
                .finish_delivery(d.id, &DeliveryOutcome::Delivered { status: 200 }, after)
                .await
                .unwrap();
        }
        store
            .finish_delivery(
                taken[0].id,
                &DeliveryOutcome::Dead {
                    status: None,
                    error: "late".into(),
                },
                after,
            )
            .await
            .unwrap();
        let log = store.deliveries(&DeliveryFilter::default()).await.unwrap();
        assert_eq!(log.iter().filter(|d| d.state == "delivered").count(), 40);
        assert_eq!(log.iter().filter(|d| d.resends == 1).count(), 29);
        // the retry comes due; the dead one waits for a person
        assert_eq!(
            store
                .claim_deliveries(at("2026-03-03T00:00:00Z"), at("2026-03-03T00:01:00Z"), 100)
                .await
                .unwrap()
                .len(),
            1
        );
        let failed = store
            .deliveries(&DeliveryFilter {
                failed_only: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0].last_status, failed[0].last_error.as_deref()),
            (Some(404), Some("not found"))
        );
        assert_eq!(
            store.retry_deliveries(None, after, "admin").await.unwrap(),
            1
        );
        let back = store.claim_deliveries(after, lease, 100).await.unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].attempts, 1, "a person's retry starts over");
        let audit = store.audit_log(50).await.unwrap();
        assert!(
            audit
                .iter()
                .any(|e| e.action == "delivery.retry" && e.actor == "admin")
        );
        // per channel; removing a channel removes its log, audited
        let per = store
            .deliveries(&DeliveryFilter {
                channel: Some("b".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(per.len(), 21);
        assert!(store.remove_channel("B", "admin", after).await.unwrap());
        assert!(!store.remove_channel("b", "admin", after).await.unwrap());
        assert_eq!(
            store
                .deliveries(&DeliveryFilter::default())
                .await
                .unwrap()
                .len(),
            21
        );
        assert!(
            store
                .set_channel_enabled(a, false, Some("410"), "system", after)
                .await
                .unwrap()
        );
        let c = &store.channels().await.unwrap()[0];
        assert!(!c.enabled && c.disabled_reason.as_deref() == Some("410"));
    }
);

conformance!(
    many_events_fan_out_in_one_transaction_and_a_wave_of_outcomes_is_recorded_together,
    |store: Store| async move {
        let a = channel(&store, "a").await;
        let b = channel(&store, "b").await;
        let t0 = at("2026-03-01T00:00:00Z");
        store
            .record_events(
                &(0..123)
                    .map(|_| event(EventKind::RuleNotify, Some("MC1")))
                    .collect::<Vec<_>>(),
                t0,
            )
            .await
            .unwrap();
        let pending = store.pending_events(200).await.unwrap();
        assert_eq!(pending.len(), 123);
        let now = at("2026-03-02T00:00:00Z");
        let later = at("2026-03-02T06:00:00Z");
        let made: Vec<(i64, Vec<NewDelivery>)> = pending
            .iter()
            .map(|e| {
                let ds = [a, b]
                    .iter()
                    .map(|c| NewDelivery {
                        channel_id: *c,
                        message_id: changedesk_core::notify::message_id(e.id, *c),
                        body: format!("{{\"e\":{},\"c\":{c}}}", e.id),
                        // channel b batches: its deliveries wait until later
                        ready_at: (*c == b).then_some(later),
                    })
                    .collect();
                (e.id, ds)
            })
            .collect();
        let refs: Vec<(i64, &[NewDelivery])> =
            made.iter().map(|(id, d)| (*id, d.as_slice())).collect();
        // 246 rows: inserts of 100, 100, 10 × 4 and 1 × 6; twice adds nothing
        store.dispatch_events(&refs, now).await.unwrap();
        store.dispatch_events(&refs[..7], now).await.unwrap();
        store.dispatch_events(&[], now).await.unwrap();
        assert!(store.pending_events(200).await.unwrap().is_empty());
        let log = store
            .deliveries(&DeliveryFilter {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(log.len(), 246);
        let ids: HashSet<&str> = log.iter().map(|d| d.message_id.as_str()).collect();
        assert_eq!(ids.len(), 246);
        assert_eq!(log.iter().filter(|d| d.state == "pending").count(), 123);
        assert!(
            log.iter()
                .filter(|d| d.channel == "b")
                .all(|d| d.state == "batched" && d.next_attempt_at == later)
        );
        for (e, _) in &made {
            let mine: Vec<_> = log.iter().filter(|d| d.event_id == *e).collect();
            assert_eq!(mine.len(), 2, "event {e}");
        }

        // a wave of outcomes, recorded together: delivered, retried, dead
        let lease = at("2026-03-02T00:01:00Z");
        let wave = store.claim_deliveries(now, lease, 50).await.unwrap();
        assert_eq!(wave.len(), 50);
        let retry_at = at("2026-03-02T00:10:00Z");
        let outcomes: Vec<(i64, DeliveryOutcome)> = wave
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let o = match i % 10 {
                    0 => DeliveryOutcome::Retry {
                        next_attempt_at: retry_at,
                        status: Some(429),
                        error: "slow down".into(),
                    },
                    1 => DeliveryOutcome::Dead {
                        status: Some(410),
                        error: "gone".into(),
                    },
                    _ => DeliveryOutcome::Delivered { status: 204 },
                };
                (d.id, o)
            })
            .collect();
        store.finish_deliveries(&outcomes, now).await.unwrap();
        store.finish_deliveries(&[], now).await.unwrap();
        let log = store
            .deliveries(&DeliveryFilter {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        let state_of = |id: i64| log.iter().find(|d| d.id == id).unwrap();
        for (i, d) in wave.iter().enumerate() {
            let row = state_of(d.id);
            match i % 10 {
                0 => {
                    assert_eq!(row.state, "pending");
                    assert_eq!(row.next_attempt_at, retry_at);
                    assert_eq!(
                        (row.last_status, row.last_error.as_deref()),
                        (Some(429), Some("slow down"))
                    );
                }
                1 => assert_eq!((row.state.as_str(), row.last_status), ("failed", Some(410))),
                _ => {
                    assert_eq!(row.state, "delivered");
                    assert_eq!(row.delivered_at, Some(now));
                }
            }
        }
        // a stale wave (its claims taken over by another worker) changes nothing
        let rest = store.claim_deliveries(now, lease, 1000).await.unwrap();
        assert_eq!(rest.len(), 73, "the other pending deliveries of channel a");
        let taken = store
            .claim_deliveries(at("2026-03-02T00:02:00Z"), at("2026-03-02T00:03:00Z"), 1000)
            .await
            .unwrap();
        assert_eq!(taken.len(), 73);
        assert!(taken.iter().all(|d| d.taken_over && d.resends == 1));
        let delivered: Vec<(i64, DeliveryOutcome)> = taken
            .iter()
            .map(|d| (d.id, DeliveryOutcome::Delivered { status: 200 }))
            .collect();
        store
            .finish_deliveries(&delivered, at("2026-03-02T00:02:00Z"))
            .await
            .unwrap();
        let dead: Vec<(i64, DeliveryOutcome)> = rest
            .iter()
            .map(|d| {
                (
                    d.id,
                    DeliveryOutcome::Dead {
                        status: None,
                        error: "late".into(),
                    },
                )
            })
            .collect();
        store.finish_deliveries(&dead, now).await.unwrap();
        let log = store
            .deliveries(&DeliveryFilter {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            log.iter().filter(|d| d.state == "delivered").count(),
            40 + 73
        );
        assert_eq!(log.iter().filter(|d| d.state == "failed").count(), 5);
    }
);

conformance!(
    a_ticket_is_kept_once_per_connector_and_correlation_id,
    |store: Store| async move {
        use changedesk_core::change_control::{TicketProgress, TicketScope};
        store
            .import_messages("alpha", &posts(&["MC1"]), &opts("2026-03-01T00:00:00Z"))
            .await
            .unwrap();
        let item = WorkItem::new("MC1", at("2026-03-01T00:00:00Z"));
        store
            .save_work_item(&ItemSave {
                item: &item,
                expected_version: None,
                evaluated_revision: None,
                entries: &[],
                notify: &[],
                events: &[],
                at: at("2026-03-01T00:00:00Z"),
            })
            .await
            .unwrap();
        let id = channel(&store, "snow").await;
        let ticket = |state: &str, progress| changedesk_store::NewTicket {
            channel_id: id,
            connector: "snow".into(),
            post_id: "MC1".into(),
            scope: TicketScope::Tenant("alpha".into()),
            correlation_id: "cd-MC1-t-alpha".into(),
            external_id: "0123".into(),
            number: "CHG0030001".into(),
            url: "https://snow.example/change/0123".into(),
            state: state.into(),
            progress,
            kind: Default::default(),
            at: at("2026-03-02T00:00:00Z"),
        };
        assert!(
            store
                .record_ticket(&ticket("new", TicketProgress::Open))
                .await
                .unwrap()
        );
        // found again (a retry, a restart): kept once, its state moved
        assert!(
            !store
                .record_ticket(&ticket("implement", TicketProgress::InProgress))
                .await
                .unwrap()
        );
        let kept = store.tickets_of_post("MC1").await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].scope, "tenant:alpha");
        assert_eq!(
            (kept[0].state.as_str(), kept[0].progress),
            ("implement", TicketProgress::InProgress)
        );
        // the item's log names it once, by the connector
        let log = store.work_item_log("MC1").await.unwrap();
        let raised: Vec<_> = log
            .iter()
            .filter(|l| l.entry.action == changedesk_core::triage::LogAction::ChangeRaised)
            .collect();
        assert_eq!(raised.len(), 1);
        assert_eq!(
            raised[0].entry.actor,
            changedesk_core::triage::Actor::Connector("snow".into())
        );
        assert_eq!(raised[0].entry.new.as_deref(), Some("CHG0030001"));
        // another post without a work item: kept, nothing logged
        assert!(
            store
                .record_ticket(&changedesk_store::NewTicket {
                    post_id: "MC9".into(),
                    correlation_id: "cd-MC9-all".into(),
                    scope: TicketScope::All,
                    ..ticket("new", TicketProgress::Open)
                })
                .await
                .unwrap()
        );
        assert_eq!(store.tickets_of_post("MC9").await.unwrap().len(), 1);
        // tickets to read back: never read first, then the least recently
        // read; done and canceled ones not at all
        let follow = |limit| {
            let store = store.clone();
            async move {
                store
                    .tickets_to_follow(limit)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|t| t.ticket.correlation_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(follow(10).await, ["cd-MC1-t-alpha", "cd-MC9-all"]);
        store
            .ticket_checked(
                "snow",
                "cd-MC1-t-alpha",
                at("2026-03-02T01:00:00Z"),
                Some("refused"),
            )
            .await
            .unwrap();
        assert_eq!(follow(10).await, ["cd-MC9-all", "cd-MC1-t-alpha"]);
        assert_eq!(follow(1).await, ["cd-MC9-all"]);
        let kept = store.tickets_of_post("MC1").await.unwrap();
        assert_eq!(kept[0].checked_at, Some(at("2026-03-02T01:00:00Z")));
        assert_eq!(kept[0].read_error.as_deref(), Some("refused"));
        store
            .ticket_checked("snow", "cd-MC1-t-alpha", at("2026-03-02T02:00:00Z"), None)
            .await
            .unwrap();
        assert_eq!(
            store.tickets_of_post("MC1").await.unwrap()[0].read_error,
            None
        );
        store
            .record_ticket(&changedesk_store::NewTicket {
                post_id: "MC9".into(),
                correlation_id: "cd-MC9-all".into(),
                scope: TicketScope::All,
                ..ticket("closed", TicketProgress::Done)
            })
            .await
            .unwrap();
        assert_eq!(follow(10).await, ["cd-MC1-t-alpha"]);
        // an incident opened in the service desk is not followed back
        store
            .record_ticket(&changedesk_store::NewTicket {
                post_id: "EX1".into(),
                correlation_id: "cd-EX1-all".into(),
                scope: TicketScope::All,
                kind: changedesk_core::change_control::TicketKind::Incident,
                ..ticket("new", TicketProgress::Open)
            })
            .await
            .unwrap();
        assert_eq!(follow(10).await, ["cd-MC1-t-alpha"]);
        assert_eq!(
            store
                .ticket("snow", "cd-EX1-all")
                .await
                .unwrap()
                .map(|t| t.kind),
            Some(changedesk_core::change_control::TicketKind::Incident)
        );
        // a disabled connector's tickets wait
        store
            .set_channel_enabled(
                id,
                false,
                Some("paused"),
                "admin",
                at("2026-03-02T03:00:00Z"),
            )
            .await
            .unwrap();
        assert!(follow(10).await.is_empty());
        store
            .set_channel_enabled(id, true, None, "admin", at("2026-03-02T03:00:00Z"))
            .await
            .unwrap();
        assert_eq!(follow(10).await, ["cd-MC1-t-alpha"]);
        // one raise at a time per ticket: a lock, taken over past its time
        let t = |s: &str| at(s);
        let lock = |holder: &'static str, now: &'static str, until: &'static str| {
            let store = store.clone();
            async move {
                store
                    .lock_ticket("snow", "cd-MC1-all", holder, t(now), t(until))
                    .await
                    .unwrap()
            }
        };
        use changedesk_store::TicketLock::{Busy, Held, TakenOver};
        assert_eq!(
            lock("d1", "2026-03-02T00:00:00Z", "2026-03-02T00:01:00Z").await,
            Held
        );
        assert_eq!(
            lock("d1", "2026-03-02T00:00:10Z", "2026-03-02T00:01:00Z").await,
            Held,
            "its own"
        );
        assert_eq!(
            lock("d2", "2026-03-02T00:00:30Z", "2026-03-02T00:01:30Z").await,
            Busy
        );
        // another ticket is another lock
        assert_eq!(
            store
                .lock_ticket(
                    "snow",
                    "cd-MC1-t-alpha",
                    "d2",
                    t("2026-03-02T00:00:30Z"),
                    t("2026-03-02T00:01:30Z")
                )
                .await
                .unwrap(),
            Held
        );
        assert_eq!(
            lock("d2", "2026-03-02T00:01:01Z", "2026-03-02T00:02:00Z").await,
            TakenOver,
            "taken over: d1 never let go"
        );
        // only its holder lets it go
        store
            .unlock_ticket("snow", "cd-MC1-all", "d1")
            .await
            .unwrap();
        assert_eq!(
            lock("d3", "2026-03-02T00:01:30Z", "2026-03-02T00:02:30Z").await,
            Busy
        );
        store
            .unlock_ticket("snow", "cd-MC1-all", "d2")
            .await
            .unwrap();
        assert_eq!(
            lock("d3", "2026-03-02T00:01:30Z", "2026-03-02T00:02:30Z").await,
            Held,
            "let go: nothing was cut short"
        );
        // the connector removed: its tickets stay, unfollowed
        assert!(
            store
                .remove_channel("snow", "admin", at("2026-03-03T00:00:00Z"))
                .await
                .unwrap()
        );
        assert_eq!(store.tickets_of_post("MC1").await.unwrap().len(), 1);
        assert!(follow(10).await.is_empty());
        // added again under its name (new credentials): followed again
        let again = channel(&store, "snow").await;
        assert_eq!(follow(10).await, ["cd-MC1-t-alpha"]);
        assert_eq!(
            store.tickets_to_follow(10).await.unwrap()[0].channel_id,
            again
        );
    }
);
