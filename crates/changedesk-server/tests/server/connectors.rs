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

async fn a_change_request_raises_one_ticket_through_the_outbox(store: Store) {
    let f = fixture(store, 0).await;
    let f = Fixture {
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
    };
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
