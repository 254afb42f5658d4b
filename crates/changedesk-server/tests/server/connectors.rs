//! Connectors end to end, on SQLite and PostgreSQL, against the ServiceNow
//! mock: a connector added through the API (its credentials sealed, never
//! shown), a change request asked through the API, the outbox raising the
//! ticket **once** (asked again; a create the instance committed and then
//! dropped unanswered; a 429), the ticket linked to the work item (listed,
//! logged by the connector) and the item's log naming who asked; refused
//! credentials dead at once and reported; who may ask, for whom.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use changedesk_connectors::RetryPolicy;
use changedesk_connectors::target::Tuning;
use changedesk_secrets::Keyring;
use changedesk_server::http::{self, AppState, Settings};
use changedesk_server::outbox::Outbox;
use changedesk_sim::itsm::Fault;
use changedesk_sim::servicenow::{ServiceNowConfig, start_servicenow};
use changedesk_store::Store;
use serde_json::{Value, json};

use crate::ui::{Fixture, NOW, at, fixture, sign_in};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn keyring() -> Arc<Keyring> {
    Arc::new(Keyring::from_text(KEY, &[]).unwrap())
}

fn outbox(store: &Store) -> Outbox {
    let mut o = Outbox::new(
        store.clone(),
        Some(keyring()),
        changedesk_notify::WebhookSender::new(Duration::from_secs(2)).unwrap(),
    );
    o.jitter = Arc::new(|| 0.5);
    o.public_url = Some("https://changedesk.example".into());
    o.connector_tuning = Tuning {
        timeout: Duration::from_millis(500),
        retry: RetryPolicy {
            attempts: 3,
            base: Duration::from_millis(10),
            max_wait: Duration::from_secs(2),
        },
        search_settle: Duration::from_secs(1),
    };
    o
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

/// The UI's fixture, with the secret key.
async fn keyed_fixture(store: Store) -> Fixture {
    let f = fixture(store, 0).await;
    Fixture {
        app: http::router(
            AppState::new(
                f.store.clone(),
                Settings {
                    secure_cookies: false,
                    ..Settings::default()
                },
            )
            .with_clock(|| at(NOW))
            .with_keyring(keyring()),
            true,
        ),
        store: f.store,
    }
}

async fn a_change_request_raises_one_ticket_through_the_outbox(store: Store) {
    let f = keyed_fixture(store).await;
    let sn = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    // the connector: its password sealed, never shown again
    let added = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "snow", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": sn.config().password, "connector": {"user": sn.config().user}}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let channels = admin.get(&f, "/api/v1/channels").await;
    assert!(channels.body.contains("\"snow\""), "{}", channels.body);
    assert!(
        !channels.body.contains(&sn.config().password),
        "{}",
        channels.body
    );
    // a connector's settings are checked: a Jira setting on ServiceNow
    let bad = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "snow2", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": "x", "connector": {"user": "u", "project": "CHG"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("project"), "{}", bad.body);

    // asked for every tenant: one change
    let asked = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow"}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    assert_eq!(json_of(&asked.body)["correlation_id"], "cd-MC1-all");
    let o = outbox(&f.store);
    let round = o.run_once(at(NOW)).await.unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    let records = sn.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].field("correlation_id"), Some("cd-MC1-all"));
    assert!(
        records[0]
            .field("short_description")
            .is_some_and(|d| d.starts_with("[M365] MC1: ")),
        "{:?}",
        records[0].fields
    );
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC1/tickets").await.body);
    assert_eq!(tickets.as_array().unwrap().len(), 1, "{tickets}");
    assert_eq!(tickets[0]["number"], "CHG0030001");
    assert_eq!(tickets[0]["progress"], "open");
    assert_eq!(tickets[0]["scope"], "all");
    let item = json_of(&admin.get(&f, "/api/v1/items/MC1").await.body);
    let log = item["log"].to_string();
    assert!(
        log.contains("request_change") && log.contains("connector:snow"),
        "{log}"
    );
    assert!(
        log.contains("change_raised") && log.contains("CHG0030001"),
        "{log}"
    );

    // asked again: the same change, found
    let again = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 1);
    assert_eq!(sn.records().len(), 1);
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC1/tickets").await.body);
    assert_eq!(tickets.as_array().unwrap().len(), 1, "{tickets}");
    // asked twice before a round: both deliveries are sent at once, one
    // raises (or finds) it while the other waits its turn
    f.store
        .put_group(
            &changedesk_core::triage::TenantGroup {
                name: "everyone".into(),
                description: String::new(),
                include: vec!["alpha".into(), "zulu".into()],
                exclude: Vec::new(),
            },
            "test",
            &at(NOW),
        )
        .await
        .unwrap();
    for _ in 0..2 {
        let r = admin
            .send_json(
                &f,
                "POST",
                "/api/v1/items/MC1/change-requests",
                &json!({"connector": "snow", "group": "everyone"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    let round = o.run_once(at(NOW)).await.unwrap();
    assert_eq!(round.delivered + round.retried, 2, "{round:?}");
    assert_eq!(sn.records().len(), 2, "one change for the group");

    // for tenant alpha: the instance commits the create and drops the
    // connection unanswered, then throttles the look-up: one change still
    sn.fail_next_create(vec![Fault::ProcessThenDrop]);
    let alpha = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow", "tenant": "alpha"}),
        )
        .await;
    assert_eq!(alpha.status, StatusCode::ACCEPTED, "{}", alpha.body);
    assert_eq!(json_of(&alpha.body)["correlation_id"], "cd-MC1-t-alpha");
    let round = o.run_once(at(NOW)).await.unwrap();
    assert_eq!((round.delivered, round.dead), (1, 0), "{round:?}");
    assert_eq!(
        sn.records().len(),
        3,
        "the dropped create was found, not made again"
    );
    sn.fail_next(vec![Fault::TooManyRequests {
        retry_after_secs: 0,
    }]);
    admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow", "tenant": "alpha"}),
        )
        .await;
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 1);
    assert_eq!(sn.records().len(), 3);
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC1/tickets").await.body);
    assert_eq!(tickets.as_array().unwrap().len(), 3, "{tickets}");

    // the post page lists the tickets and asks for one (for zulu)
    let page = admin.get(&f, "/posts/MC1").await;
    assert!(
        page.body.contains("CHG0030001") && page.body.contains("Raise change"),
        "{}",
        page.body
    );
    let asked = admin
        .post(
            &f,
            "/posts/MC1/raise-change",
            &[("connector", "snow"), ("tenant", "zulu")],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    assert!(asked.body.contains("cd-MC1-t-zulu"), "{}", asked.body);
    let refused = admin
        .post(&f, "/posts/MC1/raise-change", &[("connector", "nosuch")])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(
        refused.body.contains("no connector is named"),
        "{}",
        refused.body
    );
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 1);
    assert_eq!(sn.records().len(), 4);
    let page = admin.get(&f, "/posts/MC1").await;
    assert!(page.body.contains("tenant:zulu"), "{}", page.body);

    // who may ask, for whom
    let reader = sign_in(&f, "reader").await;
    let page = reader.get(&f, "/posts/MC1").await;
    assert!(!page.body.contains("Raise change"), "a reader may not ask");
    let r = reader
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let scoped = sign_in(&f, "scoped").await;
    let r = scoped
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "zulu sees MC1 too: {}",
        r.body
    );
    let r = scoped
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow", "tenant": "zulu"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // the limited user sees alpha's ticket, not those for every tenant or zulu
    let theirs = json_of(&scoped.get(&f, "/api/v1/items/MC1/tickets").await.body);
    assert_eq!(theirs.as_array().unwrap().len(), 1, "{theirs}");
    assert_eq!(theirs[0]["scope"], "tenant:alpha");
    for (body, status) in [
        (json!({"connector": "nosuch"}), StatusCode::NOT_FOUND),
        (
            json!({"connector": "snow", "tenant": "nobody"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"connector": "snow", "tenant": "alpha", "group": "g"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"connector": "snow", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = admin
            .send_json(&f, "POST", "/api/v1/items/MC1/change-requests", &body)
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }

    // a connector of one customer's (zulu's): only for zulu, and unknown to
    // a user limited to alpha
    let zulu = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "zulu-snow", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": sn.config().password, "tenants": ["zulu"],
                "connector": {"user": sn.config().user}}),
        )
        .await;
    assert_eq!(zulu.status, StatusCode::CREATED, "{}", zulu.body);
    let r = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "zulu-snow"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC2/change-requests",
            &json!({"connector": "zulu-snow", "tenant": "zulu"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = scoped
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "zulu-snow", "tenant": "alpha"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(
        !r.body.contains("zulu\"") && !r.body.contains("tenants zulu"),
        "{}",
        r.body
    );
    let page = scoped.get(&f, "/posts/MC1").await;
    assert!(
        page.body.contains("Raise change") && !page.body.contains("zulu-snow"),
        "{}",
        page.body
    );
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 1);
    assert_eq!(sn.records().len(), 5);

    // refused credentials: dead at once, reported, nothing raised
    let wrong = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "wrong", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": "not-the-password", "connector": {"user": sn.config().user}}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::CREATED, "{}", wrong.body);
    admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC666/change-requests",
            &json!({"connector": "wrong"}),
        )
        .await;
    let round = o.run_once(at(NOW)).await.unwrap();
    assert_eq!((round.delivered, round.dead), (0, 1), "{round:?}");
    assert_eq!(sn.records().len(), 5);
    let dead = json_of(&admin.get(&f, "/api/v1/deliveries?failed=true").await.body);
    let text = dead.to_string();
    assert!(text.contains("credentials were refused"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
}

both!(a_change_request_raises_one_ticket_through_the_outbox);

/// The item's log, as text.
async fn log_of(f: &Fixture, admin: &crate::ui::Browser, id: &str) -> String {
    json_of(&admin.get(f, &format!("/api/v1/items/{id}")).await.body)["log"].to_string()
}

async fn tickets_moved_on_the_other_side_move_their_items(store: Store) {
    let f = keyed_fixture(store).await;
    let sn = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    // a mapping that is not the default's: a canceled ticket dismisses
    let added = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "snow", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": sn.config().password, "connector": {"user": sn.config().user,
                "follow": {"canceled": "dismiss"}}}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let bad = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "snow2", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": "x", "connector": {"user": "u", "follow": {"done": "reopen"}}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("follow.done"), "{}", bad.body);
    // MC1 for every tenant, MC1 for alpha, MC666
    for (id, body) in [
        ("MC1", json!({"connector": "snow"})),
        ("MC1", json!({"connector": "snow", "tenant": "alpha"})),
        ("MC666", json!({"connector": "snow"})),
    ] {
        let r = admin
            .send_json(
                &f,
                "POST",
                &format!("/api/v1/items/{id}/change-requests"),
                &body,
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    let o = outbox(&f.store);
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 3);
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!(
        (s.read, s.moved, s.items_changed, s.failed),
        (3, 0, 0, 0),
        "{s:?}"
    );
    // the numbers, in the order the deliveries were sent
    let number = |correlation: &str| {
        sn.records()
            .iter()
            .find(|r| r.field("correlation_id") == Some(correlation))
            .and_then(|r| r.field("number").map(str::to_owned))
            .unwrap()
    };
    let (all, alpha, hostile) = (
        number("cd-MC1-all"),
        number("cd-MC1-t-alpha"),
        number("cd-MC666-all"),
    );

    // implemented there: MC1 starts here, by the connector
    assert!(sn.set_state(&all, "-1"));
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!((s.read, s.moved, s.items_changed), (3, 1, 1), "{s:?}");
    let item = json_of(&admin.get(&f, "/api/v1/items/MC1").await.body);
    assert_eq!(item["state"], "in_progress", "{item}");
    let log = log_of(&f, &admin, "MC1").await;
    assert!(
        log.contains(&format!("{all} is now implement (in progress) for all")),
        "{log}"
    );
    assert!(
        log.contains("\"start\"") && log.contains("connector:snow"),
        "{log}"
    );
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC1/tickets").await.body);
    let for_all = tickets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["scope"] == "all")
        .unwrap();
    assert_eq!(for_all["progress"], "in_progress", "{tickets}");
    assert_eq!(for_all["state"], "implement");
    assert!(for_all["checked_at"].is_string(), "{tickets}");
    // read again, nothing new: nothing logged twice
    let before = log.len();
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!((s.moved, s.items_changed), (0, 0), "{s:?}");
    assert_eq!(log_of(&f, &admin, "MC1").await.len(), before);

    // alpha's ticket closed there: done for alpha only
    assert!(sn.set_state(&alpha, "3"));
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!((s.moved, s.items_changed), (1, 1), "{s:?}");
    let item = json_of(&admin.get(&f, "/api/v1/items/MC1").await.body);
    assert_eq!(item["state"], "in_progress", "the shared item: {item}");
    let text = item.to_string();
    assert!(
        text.contains("change_request_raised") && text.contains("alpha"),
        "done for alpha: {text}"
    );
    // a done ticket is not read again
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!(s.read, 2, "{s:?}");

    // MC666 closed here by a person, then canceled there: the item stays
    // closed, the log says where the ticket went
    let closed = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC666/actions",
            &json!({"action": "close", "decision": "no_action_needed"}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK, "{}", closed.body);
    assert!(sn.set_state(&hostile, "4"));
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!((s.moved, s.items_changed), (1, 0), "{s:?}");
    let item = json_of(&admin.get(&f, "/api/v1/items/MC666").await.body);
    assert_eq!(item["state"], "done", "{item}");
    assert_eq!(item["decision"], "no_action_needed", "{item}");
    assert!(
        log_of(&f, &admin, "MC666")
            .await
            .contains(&format!("{hostile} is now canceled (canceled)")),
        "the move is logged"
    );
    // MC1's ticket canceled: this connector's mapping dismisses… but an
    // item in progress cannot be dismissed (only new or triaged ones)
    assert!(sn.set_state(&all, "4"));
    o.follow_tickets(at(NOW), 100).await.unwrap();
    let item = json_of(&admin.get(&f, "/api/v1/items/MC1").await.body);
    assert_eq!(item["state"], "in_progress", "{item}");

    // refused credentials: noted on the ticket, never with the secret, and
    // the connector's other tickets wait for the next round
    let wrong = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "wrong", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": "not-the-password", "connector": {"user": sn.config().user}}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::CREATED, "{}", wrong.body);
    let wrong_id = f
        .store
        .channels()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "wrong")
        .unwrap()
        .id;
    let record = sn.records()[0].clone();
    for (corr, scope) in [
        (
            "cd-MC2-all",
            changedesk_core::change_control::TicketScope::All,
        ),
        (
            "cd-MC2-t-zulu",
            changedesk_core::change_control::TicketScope::Tenant("zulu".into()),
        ),
    ] {
        f.store
            .record_ticket(&changedesk_store::NewTicket {
                channel_id: wrong_id,
                connector: "wrong".into(),
                post_id: "MC2".into(),
                scope,
                correlation_id: corr.into(),
                external_id: record.field("sys_id").unwrap().into(),
                number: "CHG0030001".into(),
                url: "https://x".into(),
                state: "new".into(),
                progress: changedesk_core::change_control::TicketProgress::Open,
                kind: Default::default(),
                at: at(NOW),
            })
            .await
            .unwrap();
    }
    let requests = sn.requests().len();
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!(s.failed, 2, "{s:?}");
    assert_eq!(
        sn.requests().len() - requests,
        1,
        "one refused read, the other ticket not tried"
    );
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC2/tickets").await.body);
    let text = tickets.to_string();
    assert!(text.contains("credentials were refused"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");
    let page = admin.get(&f, "/posts/MC2").await;
    assert!(page.body.contains("Last read failed"), "{}", page.body);
    let item = json_of(&admin.get(&f, "/api/v1/items/MC2").await.body);
    assert_eq!(item["state"], "new", "{item}");
}

both!(tickets_moved_on_the_other_side_move_their_items);

/// Microsoft revises a post with a ticket: the ticket is told what moved,
/// once, through the outbox (a work note in ServiceNow); a ticket raised
/// after the revision is not told of it.
async fn a_revised_post_is_noted_on_its_tickets(store: Store) {
    let f = keyed_fixture(store).await;
    let sn = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    let added = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "snow", "kind": "servicenow", "url": sn.url(), "allow_private": true,
                "secret": sn.config().password, "connector": {"user": sn.config().user}}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let r = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let o = outbox(&f.store);
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 1);
    // nothing revised yet: nothing to tell
    assert_eq!(o.follow_tickets(at(NOW), 100).await.unwrap().noted, 0);

    // Microsoft moves the act-by date and edits the text
    let v3 = crate::ui::post(
        "MC1",
        "2026-02-10T00:00:00Z",
        "(Updated) Teams: meeting recap for everyone",
        "<p>[When this will happen:]</p><p>Rollout begins in June 2026.</p>",
        json!({"isMajorChange": true, "severity": "high",
            "actionRequiredByDateTime": "2026-04-30T00:00:00Z"}),
    );
    let partial = changedesk_store::ImportOptions {
        complete: false,
        ..crate::ui::opts("2026-03-03T00:00:00Z")
    };
    f.store
        .import_messages("zulu", &[v3], &partial)
        .await
        .unwrap();
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!(s.noted, 1, "{s:?}");
    let round = o.run_once(at(NOW)).await.unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    let notes = sn.records()[0].work_notes.clone();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("Microsoft updated MC1 (revision 3)")
            && notes[0].contains("Act by: 2026-03-20 → 2026-04-30")
            && notes[0].contains("Text: changed"),
        "{notes:?}"
    );
    // told once
    assert_eq!(o.follow_tickets(at(NOW), 100).await.unwrap().noted, 0);
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 0);
    assert_eq!(sn.records()[0].work_notes.len(), 1);
    // the delivery log shows it as any delivery
    let log = admin.get(&f, "/api/v1/deliveries").await;
    assert!(log.body.contains("change.revised"), "{}", log.body);

    // a ticket raised now, for alpha, starts from this revision
    let r = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow", "tenant": "alpha"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 1);
    assert_eq!(o.follow_tickets(at(NOW), 100).await.unwrap().noted, 0);
    // a done ticket hears of nothing more
    let all = sn.records()[0].field("number").unwrap().to_owned();
    assert!(sn.set_state(&all, "3"));
    o.follow_tickets(at(NOW), 100).await.unwrap();
    let v4 = crate::ui::post(
        "MC1",
        "2026-02-20T00:00:00Z",
        "(Updated) Teams: meeting recap for everyone, later",
        "<p>[When this will happen:]</p><p>Rollout begins in June 2026.</p>",
        json!({"isMajorChange": true, "severity": "high",
            "actionRequiredByDateTime": "2026-04-30T00:00:00Z"}),
    );
    f.store
        .import_messages("zulu", &[v4], &partial)
        .await
        .unwrap();
    assert_eq!(
        o.follow_tickets(at(NOW), 100).await.unwrap().noted,
        1,
        "alpha's ticket only"
    );
    o.run_once(at(NOW)).await.unwrap();
    assert_eq!(sn.records()[0].work_notes.len(), 1);
    let alpha = sn
        .records()
        .into_iter()
        .find(|r| r.field("correlation_id") == Some("cd-MC1-t-alpha"))
        .unwrap();
    assert_eq!(alpha.work_notes.len(), 1, "{:?}", alpha.work_notes);
    assert!(
        alpha.work_notes[0].contains("Title: (Updated) Teams: meeting recap for everyone → "),
        "{:?}",
        alpha.work_notes
    );
}

both!(a_revised_post_is_noted_on_its_tickets);

/// A connector that raises changes by itself (`raise_required`): the rules
/// mark a new post as requiring a change request, and its ticket is raised
/// once, logged as asked by the rules; a connector limited to a tenant
/// raises one for that tenant only; a connector without the setting, and a
/// post the rules do not mark, raise nothing.
async fn the_rules_raise_a_change_where_they_require_one(store: Store) {
    let f = keyed_fixture(store).await;
    let sn = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    for body in [
        json!({"name": "snow", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "connector": {"user": sn.config().user, "raise_required": true}}),
        json!({"name": "zulu-snow", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "tenants": ["zulu"],
            "connector": {"user": sn.config().user, "raise_required": true}}),
        json!({"name": "by-hand", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "connector": {"user": sn.config().user}}),
        // a change board per workload: Teams posts only (any case), and
        // Exchange ones only
        json!({"name": "teams-board", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "services": [" microsoft teams"],
            "connector": {"user": sn.config().user, "raise_required": true}}),
        json!({"name": "exchange-board", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "services": ["Exchange Online"],
            "connector": {"user": sn.config().user, "raise_required": true}}),
    ] {
        let r = admin.send_json(&f, "POST", "/api/v1/channels", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let rules = changedesk_core::rules::RuleFile::from_toml(
        r#"
[[rules]]
name = "Retirements need a change request"
when = 'title matches "retire"'
then = { change_request = true }
"#,
    )
    .unwrap();
    f.store
        .seed(
            &changedesk_store::TriageSeed {
                owners: vec![
                    changedesk_core::triage::Owner::new("owen", "Owen's team", "owen@example.com")
                        .unwrap(),
                ],
                rules: rules
                    .rules
                    .iter()
                    .map(|r| changedesk_store::SeedRule {
                        name: r.name.clone(),
                        enabled: r.enabled,
                        spec: serde_json::to_value(r).unwrap(),
                    })
                    .collect(),
                ..Default::default()
            },
            &at(NOW),
        )
        .await
        .unwrap();
    let partial = changedesk_store::ImportOptions {
        complete: false,
        ..crate::ui::opts("2026-03-09T00:00:00Z")
    };
    // published the day before it is seen; MC79 long before (a post that
    // tells nobody it is new raises nothing either)
    let fresh = json!({"startDateTime": "2026-03-08T00:00:00Z"});
    let posts = [
        crate::ui::post(
            "MC77",
            "2026-03-08T00:00:00Z",
            "We will retire the classic Teams client",
            "<p>x</p>",
            fresh.clone(),
        ),
        crate::ui::post(
            "MC78",
            "2026-03-08T00:00:00Z",
            "A new feature",
            "<p>y</p>",
            fresh,
        ),
        crate::ui::post(
            "MC79",
            "2026-01-08T00:00:00Z",
            "We will retire an old thing",
            "<p>z</p>",
            json!({"startDateTime": "2025-06-01T00:00:00Z"}),
        ),
    ];
    for tenant in ["alpha", "zulu"] {
        f.store
            .import_messages(tenant, &posts, &partial)
            .await
            .unwrap();
    }
    let triage = changedesk_server::triage::Triage::load(
        &f.store,
        changedesk_core::triage::ReopenPolicy::default(),
    )
    .await
    .unwrap();
    changedesk_server::triage::apply_rules(&f.store, &triage, at(NOW), false)
        .await
        .unwrap();
    let o = outbox(&f.store);
    let round = o.run_once(at(NOW)).await.unwrap();
    // snow and teams-board raise one correlation id in one instance: when
    // their deliveries run side by side, one waits for the other's lock
    // (tried again 5 seconds later) and then finds its ticket
    let later = o
        .run_once(at(NOW).saturating_add(time::Duration::seconds(10)))
        .await
        .unwrap();
    assert_eq!(round.delivered + later.delivered, 3, "{round:?} {later:?}");
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC77/tickets").await.body);
    let mut got: Vec<(String, String)> = tickets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["connector"].as_str().unwrap().to_owned(),
                t["scope"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("snow".to_owned(), "all".to_owned()),
            ("teams-board".to_owned(), "all".to_owned()),
            ("zulu-snow".to_owned(), "tenant:zulu".to_owned())
        ],
        "a Teams post: not the Exchange board's"
    );
    let log = log_of(&f, &admin, "MC77").await;
    assert!(
        log.contains("\"actor\":\"rules\"") && log.contains("request_change"),
        "{log}"
    );
    for quiet in ["MC78", "MC79"] {
        let other = json_of(
            &admin
                .get(&f, &format!("/api/v1/items/{quiet}/tickets"))
                .await
                .body,
        );
        assert_eq!(other.as_array().unwrap().len(), 0, "{quiet}: {other}");
    }
    let mc79 = json_of(&admin.get(&f, "/api/v1/items/MC79").await.body);
    assert_eq!(mc79["requires_change_request"], true, "{mc79}");
    // the rules again, nothing new: nothing asked again
    changedesk_server::triage::apply_rules(&f.store, &triage, at(NOW), false)
        .await
        .unwrap();
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 0);
    assert_eq!(
        sn.records().len(),
        2,
        "snow and teams-board share one correlation id"
    );
}

both!(the_rules_raise_a_change_where_they_require_one);

fn sh_incident(
    status: &str,
    resolved: bool,
    modified: &str,
    posts: &[&str],
) -> changedesk_core::Incident {
    let posts: Vec<Value> = posts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            json!({"createdDateTime": format!("2026-03-09T{:02}:00:00Z", 9 + i), "postType": "regular",
                "description": {"contentType": "html", "content": format!("<p>{text}</p>")}})
        })
        .collect();
    changedesk_core::Incident::from_graph(
        &json!({
            "id": "EX4242", "title": "Users can't send mail", "classification": "incident",
            "origin": "microsoft", "status": status, "service": "Exchange Online",
            "feature": "Mail flow", "featureGroup": "E-Mail and calendar access",
            "isResolved": resolved, "impactDescription": "Users may be unable to send mail.",
            "startDateTime": "2026-03-09T08:00:00Z", "lastModifiedDateTime": modified,
            "details": [], "posts": posts
        }),
        0,
    )
    .unwrap()
}

/// Service Health into the service desk: an incident Microsoft reports for
/// two tenants opens one ServiceNow incident listing both, each update of
/// Microsoft's is a work note, and Microsoft's resolution resolves it with
/// the resolution code and notes the data policy requires; a Jira
/// connector is refused incidents; a connector without the setting hears
/// of none.
async fn service_health_incidents_flow_into_servicenow(store: Store) {
    let f = keyed_fixture(store).await;
    let sn = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    for body in [
        json!({"name": "desk", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "connector": {"user": sn.config().user, "incidents": true}}),
        json!({"name": "changes-only", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "connector": {"user": sn.config().user}}),
    ] {
        let r = admin.send_json(&f, "POST", "/api/v1/channels", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let jira = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "j", "kind": "jira", "url": "http://127.0.0.1:9", "allow_private": true,
                "secret": "t", "connector": {"user": "u@example.com", "project": "CHG",
                "issue_type": "Task", "incidents": true}}),
        )
        .await;
    assert_eq!(jira.status, StatusCode::BAD_REQUEST, "{}", jira.body);
    assert!(jira.body.contains("`incident_issue_type`"), "{}", jira.body);
    let load = |tenant: &'static str, list: Vec<changedesk_core::Incident>, now: &'static str| {
        let store = f.store.clone();
        async move {
            store
                .import_incidents(tenant, &list, &crate::ui::opts(now))
                .await
                .unwrap();
        }
    };
    // first loads (the baseline), then EX4242 for both tenants
    load("alpha", vec![], "2026-03-09T08:00:00Z").await;
    load("zulu", vec![], "2026-03-09T08:00:00Z").await;
    let o = outbox(&f.store);
    o.run_once(at("2026-03-09T08:00:10Z")).await.unwrap();
    let first = sh_incident(
        "investigating",
        false,
        "2026-03-09T09:00:00Z",
        &["We're investigating."],
    );
    load("alpha", vec![first.clone()], "2026-03-09T09:05:00Z").await;
    load("zulu", vec![first], "2026-03-09T09:05:00Z").await;
    let r = o.run_once(at("2026-03-09T09:05:10Z")).await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
    let opened = sn.incidents();
    assert_eq!(opened.len(), 1, "one incident for both tenants");
    let inc = &opened[0];
    assert_eq!(inc.field("correlation_id"), Some("cd-EX4242-all"));
    assert!(
        inc.field("short_description")
            .is_some_and(|d| d.starts_with("[M365 EX4242] Users can't send mail")),
        "{:?}",
        inc.fields
    );
    let description = inc.field("description").unwrap_or_default();
    assert!(
        description.contains("Affected tenants (2): alpha, zulu"),
        "{description}"
    );
    assert_eq!(sn.records().len(), 0, "no change request");

    // Microsoft's update: a work note with its text
    let update = sh_incident(
        "serviceDegradation",
        false,
        "2026-03-09T10:00:00Z",
        &[
            "We're investigating.",
            "We identified a configuration change and are reverting it.",
        ],
    );
    load("alpha", vec![update.clone()], "2026-03-09T10:05:00Z").await;
    load("zulu", vec![update], "2026-03-09T10:05:00Z").await;
    let r = o.run_once(at("2026-03-09T10:05:10Z")).await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
    let notes = sn.incidents()[0].work_notes.clone();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("Microsoft updated EX4242") && notes[0].contains("reverting it"),
        "{notes:?}"
    );

    // resolved by Microsoft: resolved here, with code and notes
    let done = sh_incident(
        "serviceRestored",
        true,
        "2026-03-09T11:00:00Z",
        &[
            "We're investigating.",
            "We identified a configuration change and are reverting it.",
            "The change was reverted; mail flows.",
        ],
    );
    load("alpha", vec![done.clone()], "2026-03-09T11:05:00Z").await;
    load("zulu", vec![done], "2026-03-09T11:05:00Z").await;
    let r = o.run_once(at("2026-03-09T11:05:10Z")).await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
    let inc = sn.incidents()[0].clone();
    assert_eq!(inc.field("state"), Some("6"), "{:?}", inc.fields);
    assert!(inc.field("close_code").is_some_and(|c| !c.is_empty()));
    assert!(
        inc.field("close_notes")
            .is_some_and(|n| n.contains("mail flows")),
        "{:?}",
        inc.fields
    );
    let kept = f.store.tickets_of_post("EX4242").await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].kind,
        changedesk_core::change_control::TicketKind::Incident
    );
    assert_eq!(
        (kept[0].state.as_str(), kept[0].number.as_str()),
        ("resolved", "INC0010001")
    );
    // incident tickets are not read back as changes
    assert_eq!(o.follow_tickets(at(NOW), 100).await.unwrap().read, 0);
}

both!(service_health_incidents_flow_into_servicenow);

/// An item closed here closes its ticket there when the connector's
/// mapping says so: done closes the change, dismissed cancels it, asked
/// once through the outbox; a connector without the setting leaves its
/// ticket open; the connector's own close is not sent back.
async fn an_item_closed_here_closes_its_ticket_there(store: Store) {
    let f = keyed_fixture(store).await;
    let sn = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    // another instance: two connectors to one instance share its changes
    let other = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    for body in [
        json!({"name": "snow", "kind": "servicenow", "url": sn.url(), "allow_private": true,
            "secret": sn.config().password, "connector": {"user": sn.config().user,
            "follow": {"close_ticket": true}}}),
        json!({"name": "keep", "kind": "servicenow", "url": other.url(), "allow_private": true,
            "secret": other.config().password, "connector": {"user": other.config().user}}),
    ] {
        let r = admin.send_json(&f, "POST", "/api/v1/channels", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    for (id, connector) in [("MC1", "snow"), ("MC666", "snow"), ("MC1", "keep")] {
        let r = admin
            .send_json(
                &f,
                "POST",
                &format!("/api/v1/items/{id}/change-requests"),
                &json!({"connector": connector}),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    let o = outbox(&f.store);
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 3);
    // nothing closed yet
    assert_eq!(o.follow_tickets(at(NOW), 100).await.unwrap().closes, 0);
    for (id, action) in [
        (
            "MC1",
            json!({"action": "close", "decision": "no_action_needed"}),
        ),
        (
            "MC666",
            json!({"action": "dismiss", "reason": "not for us"}),
        ),
    ] {
        let r = admin
            .send_json(&f, "POST", &format!("/api/v1/items/{id}/actions"), &action)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!(s.closes, 2, "{s:?}");
    assert_eq!(
        o.follow_tickets(at(NOW), 100).await.unwrap().closes,
        0,
        "asked once"
    );
    assert_eq!(o.run_once(at(NOW)).await.unwrap().delivered, 2);
    let states: Vec<Option<String>> = ["cd-MC1-all", "cd-MC666-all"]
        .iter()
        .map(|c| {
            sn.records()
                .into_iter()
                .filter(|r| r.field("correlation_id") == Some(*c))
                .find(|r| r.field("close_notes").is_some())
                .and_then(|r| r.field("state").map(str::to_owned))
        })
        .collect();
    assert_eq!(states, [Some("3".to_owned()), Some("4".to_owned())]);
    // keep's ticket for MC1 is still open there
    assert_eq!(other.records()[0].field("state"), Some("-5"));
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC1/tickets").await.body);
    let snow = tickets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["connector"] == "snow")
        .unwrap();
    assert_eq!(snow["progress"], "done", "{tickets}");
    // no echo: reading back changes nothing more, asks nothing more
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!((s.closes, s.items_changed), (0, 0), "{s:?}");
}

both!(an_item_closed_here_closes_its_ticket_there);

/// A connector added from the web UI's channel form: its secret sealed and
/// never shown, its settings as asked; a Jira connector without its
/// project is refused with the reason.
async fn a_connector_is_added_from_the_web_ui(store: Store) {
    let f = keyed_fixture(store).await;
    let sn = start_servicenow(ServiceNowConfig::default()).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    let url = sn.url();
    let added = admin
        .post(
            &f,
            "/outbox/channels",
            &[
                ("name", "snow-ui"),
                ("kind", "servicenow"),
                ("url", &url),
                ("secret", &sn.config().password),
                ("c_user", &sn.config().user),
                ("c_when_canceled", "dismiss"),
                ("c_close_ticket", "true"),
                ("c_raise_required", "true"),
                ("allow_private", "true"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(
        added.body.contains("Channel snow-ui added"),
        "{}",
        added.body
    );
    assert!(!added.body.contains(&sn.config().password));
    let channel = f
        .store
        .channels()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "snow-ui")
        .unwrap();
    assert_eq!(channel.kind, "servicenow");
    assert!(channel.settings.raise_required && !channel.settings.incidents);
    let mapping = channel.settings.follow.unwrap();
    assert!(mapping.close_ticket);
    assert_eq!(
        mapping.canceled,
        changedesk_core::change_control::FollowAction::Dismiss
    );
    // it works: a change raised through it
    let r = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/items/MC1/change-requests",
            &json!({"connector": "snow-ui"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        outbox(&f.store).run_once(at(NOW)).await.unwrap().delivered,
        1
    );
    assert_eq!(sn.records().len(), 1);
    let refused = admin
        .post(
            &f,
            "/outbox/channels",
            &[
                ("name", "jira-ui"),
                ("kind", "jira"),
                ("url", "https://contoso.atlassian.net"),
                ("secret", "token"),
                ("c_user", "me@contoso.com"),
                ("c_issue_type", "Task"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("project"), "{}", refused.body);
}

both!(a_connector_is_added_from_the_web_ui);

/// A Planner connector end to end against the Graph simulator's Planner: a
/// change request raised as a task once, in its workload's bucket,
/// assigned to the item's owner by their Entra object id; a person
/// completing the task in Planner closes the item, by the connector; a
/// Planner connector takes no Service Health incidents.
async fn planner_tasks_are_raised_assigned_and_followed(store: Store) {
    use changedesk_sim::{SIM_CLIENT_ID, SIM_CLIENT_SECRET, SimConfig, TASKS_READ_WRITE_ALL};
    let f = keyed_fixture(store).await;
    let sim = changedesk_sim::start(SimConfig {
        tenants: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.grant_app_role("tenant-001", TASKS_READ_WRITE_ALL)
        .unwrap();
    let plan = sim.planner_plan("tenant-001").unwrap();
    let base = sim.base_url().trim_end_matches('/').to_owned();
    let admin = sign_in(&f, "admin").await;
    // the item's owner gains an Entra object id
    let item = json_of(&admin.get(&f, "/api/v1/items/MC1").await.body);
    let owner = item["assignee"]
        .as_str()
        .or(item["owner"].as_str())
        .unwrap_or_else(|| panic!("MC1 has an owner: {item}"))
        .to_owned();
    let oid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    let put = admin
        .send_json(
            &f,
            "PUT",
            &format!("/api/v1/owners/{owner}"),
            &json!({"email": format!("{owner}@example.com"), "entra_id": oid}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let bad = admin
        .send_json(
            &f,
            "PUT",
            &format!("/api/v1/owners/{owner}"),
            &json!({"email": format!("{owner}@example.com"), "entra_id": "not-a-guid"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("entra_id"), "{}", bad.body);

    let connector = json!({"user": SIM_CLIENT_ID, "tenant": sim.tenants()[0].tenant_id,
        "login": base, "plan": plan.plan_id});
    let refused = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "tasks", "kind": "planner", "url": base, "allow_private": true,
                "secret": SIM_CLIENT_SECRET, "connector": {"incidents": true, "user": SIM_CLIENT_ID,
                "tenant": "x", "plan": "y"}}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("service desk"), "{}", refused.body);
    let added = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "tasks", "kind": "planner", "url": base, "allow_private": true,
                "secret": SIM_CLIENT_SECRET, "connector": connector}),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert!(!added.body.contains(SIM_CLIENT_SECRET), "{}", added.body);

    for _ in 0..2 {
        let asked = admin
            .send_json(
                &f,
                "POST",
                "/api/v1/items/MC1/change-requests",
                &json!({"connector": "tasks"}),
            )
            .await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    }
    // asked twice before a round: one raises it while the other waits
    let o = outbox(&f.store);
    let round = o.run_once(at(NOW)).await.unwrap();
    assert_eq!(round.delivered + round.retried, 2, "{round:?}");
    let tasks = sim.planner_tasks("tenant-001");
    assert_eq!(tasks.len(), 1, "raised once: {tasks:?}");
    let task = &tasks[0];
    assert!(
        task["title"].as_str().unwrap().ends_with(" [cd-MC1-all]"),
        "{task}"
    );
    assert!(task["assignments"].get(oid).is_some(), "{task}");
    assert_ne!(
        task["bucketId"],
        plan.bucket_id.as_str(),
        "a workload's bucket"
    );
    let details = sim
        .planner_task_details(task["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(details["checklist"].as_object().unwrap().len(), 4);
    let tickets = json_of(&admin.get(&f, "/api/v1/items/MC1/tickets").await.body);
    assert_eq!(tickets[0]["progress"], "open", "{tickets}");
    assert!(
        tickets[0]["number"].as_str().unwrap().starts_with("task "),
        "{tickets}"
    );

    // someone completes the task in Planner: the item closes, by the connector
    sim.planner_edit_task(
        task["id"].as_str().unwrap(),
        json!({"percentComplete": 100}),
    )
    .unwrap();
    let s = o.follow_tickets(at(NOW), 100).await.unwrap();
    assert_eq!((s.moved, s.items_changed), (1, 1), "{s:?}");
    let item = json_of(&admin.get(&f, "/api/v1/items/MC1").await.body);
    assert_eq!(item["state"], "done", "{item}");
    assert_eq!(item["decision"], "change_request_raised", "{item}");
    assert!(item.to_string().contains("connector:tasks"), "{item}");
    sim.shutdown().await;
}

both!(planner_tasks_are_raised_assigned_and_followed);
