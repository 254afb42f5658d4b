//! The outbox end to end, on SQLite and PostgreSQL: loads and the rules
//! record events with the items; the worker fans them out to signed
//! webhooks and sends them to the simulator's Standard Webhooks receiver,
//! which verifies every signature with its own implementation. A first
//! load notifies nobody; a post seen by many tenants is one message; a
//! tenant-limited channel hears only of its tenants; 5xx, 429 and timeouts
//! are retried (honouring Retry-After), then dead-lettered and retried by a
//! person; 410 disables the channel; a crash mid-send re-sends only what
//! was in flight, under the same id.

use std::sync::Arc;
use std::time::Duration;

use changedesk_core::Timestamp;
use changedesk_core::notify::{ChannelFilter, EventKind};
use changedesk_core::triage::{Owner, OwnershipEntry, Scope as OwnerScope};
use changedesk_notify::{WebhookSecret, WebhookSender};
use changedesk_secrets::Keyring;
use changedesk_server::outbox::{Outbox, secret_context, url_context};
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_sim::webhooks::{FaultResponse, ReceiverConfig, ReceiverHandle, start_receiver};
use changedesk_store::{DeliveryFilter, ImportOptions, NewChannel, Store, TriageSeed};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn post(id: &str, last_modified: &str, services: &[&str]) -> changedesk_core::Message {
    let v = json!({
        "id": id,
        "title": format!("{id}: a change"),
        "category": "planForChange",
        "severity": "normal",
        "tags": ["User impact"],
        "isMajorChange": false,
        "startDateTime": last_modified,
        "endDateTime": "2026-12-31T00:00:00Z",
        "lastModifiedDateTime": last_modified,
        "actionRequiredByDateTime": null,
        "services": services,
        "details": [],
        "body": {"contentType": "html", "content": format!("<p>{id}</p>")}
    });
    changedesk_core::Message::from_graph(&v, 0).unwrap()
}

fn opts(now: &str, complete: bool) -> ImportOptions {
    ImportOptions {
        complete,
        now: at(now),
        source: "test".into(),
        rejected: 0,
    }
}

struct Setup {
    store: Store,
    outbox: Outbox,
    triage: Triage,
}

/// Two owners: `collab` owns Microsoft Teams, `messaging` Exchange Online.
pub(super) async fn seed_two_owners(store: &Store) {
    store
        .seed(
            &TriageSeed {
                owners: vec![
                    Owner::new("collab", "Collaboration", "collab@example.com").unwrap(),
                    Owner::new("messaging", "Messaging", "messaging@example.com").unwrap(),
                ],
                ownership: vec![
                    OwnershipEntry {
                        workload: "Microsoft Teams".into(),
                        owner: "collab".into(),
                        scope: OwnerScope::All,
                    },
                    OwnershipEntry {
                        workload: "Exchange Online".into(),
                        owner: "messaging".into(),
                        scope: OwnerScope::All,
                    },
                ],
                ..Default::default()
            },
            &at("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
}

async fn setup(store: Store) -> Setup {
    seed_two_owners(&store).await;
    let triage = Triage::load(&store, Default::default()).await.unwrap();
    let keyring = Arc::new(Keyring::from_text(KEY, &[]).unwrap());
    let mut outbox = Outbox::new(
        store.clone(),
        Some(keyring),
        WebhookSender::new(Duration::from_secs(2)).unwrap(),
    );
    outbox.jitter = Arc::new(|| 0.5);
    outbox.public_url = Some("https://changedesk.example".into());
    Setup {
        store,
        outbox,
        triage,
    }
}

async fn channel(s: &Setup, name: &str, url: &str, secret: &str, filter: ChannelFilter) {
    let ring = Keyring::from_text(KEY, &[]).unwrap();
    s.store
        .create_channel(&NewChannel {
            name: name.into(),
            kind: "webhook".into(),
            url_sealed: ring.seal(url, &url_context(name)).unwrap(),
            secret_sealed: Some(ring.seal(secret, &secret_context(name)).unwrap()),
            filter,
            settings: Default::default(),
            allow_private: true,
            created_by: "admin".into(),
            at: at("2026-03-01T00:00:00Z"),
        })
        .await
        .unwrap();
}

/// A receiver with a new secret, accepting timestamps within 5 minutes of
/// its clock.
async fn receiver() -> (ReceiverHandle, String) {
    let (_, secret) = WebhookSecret::generate().unwrap();
    let secret = secret.expose_secret().to_string();
    let r = start_receiver(ReceiverConfig {
        secret: secret.clone(),
        tolerance: Duration::from_secs(300),
    })
    .await
    .unwrap();
    (r, secret)
}

/// Loads `posts` for each tenant at `now`, then runs the rules.
async fn load(
    s: &Setup,
    tenants: &[&str],
    posts: &[changedesk_core::Message],
    now: &str,
    complete: bool,
) {
    for t in tenants {
        s.store
            .import_messages(t, posts, &opts(now, complete))
            .await
            .unwrap();
    }
    apply_rules(&s.store, &s.triage, at(now), false)
        .await
        .unwrap();
}

/// alpha's first load, MC1 (the baseline: it tells nobody).
async fn baseline(s: &Setup) {
    load(
        s,
        &["alpha"],
        &[post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"])],
        "2026-03-01T00:00:00Z",
        true,
    )
    .await;
}

/// What a receiver got: (type, post), sorted (sends run concurrently).
fn types(r: &ReceiverHandle) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .received()
        .iter()
        .map(|m| {
            (
                m.event_type.clone().unwrap_or_default(),
                m.body["data"]["post"]["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The worker's round at the real "now" (the receiver checks timestamps
/// against its clock).
async fn round(s: &Setup) -> changedesk_server::outbox::RoundSummary {
    s.outbox.run_once(Timestamp::now_utc()).await.unwrap()
}

async fn signed_webhooks_tell_the_right_channels_once(store: Store) {
    let s = setup(store).await;
    let (all, all_secret) = receiver().await;
    let (teams, teams_secret) = receiver().await;
    let (fabrikam, fabrikam_secret) = receiver().await;
    channel(
        &s,
        "everything",
        &all.url(),
        &all_secret,
        ChannelFilter::default(),
    )
    .await;
    channel(
        &s,
        "teams-desk",
        &teams.url(),
        &teams_secret,
        ChannelFilter {
            events: vec![EventKind::PostRouted],
            services: vec!["Microsoft Teams".into()],
            ..Default::default()
        },
    )
    .await;
    channel(
        &s,
        "fabrikam-only",
        &fabrikam.url(),
        &fabrikam_secret,
        ChannelFilter {
            tenants: Some(vec!["fabrikam".into()]),
            ..Default::default()
        },
    )
    .await;
    let tenants: Vec<String> = (0..30).map(|i| format!("tenant-{i:02}")).collect();
    let mut with_fabrikam: Vec<&str> = tenants.iter().map(String::as_str).collect();
    with_fabrikam.push("fabrikam");

    // the first load of every tenant is the baseline: nobody hears of it
    load(
        &s,
        &with_fabrikam,
        &[post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"])],
        "2026-03-01T00:00:00Z",
        true,
    )
    .await;
    let r = round(&s).await;
    assert_eq!((r.events, r.deliveries), (0, 0), "{r:?}");

    // a new post seen by 31 tenants: one message per channel that hears of it
    load(
        &s,
        &with_fabrikam,
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
        ],
        "2026-03-02T00:00:00Z",
        true,
    )
    .await;
    // and one only the other tenants see, about Exchange
    load(
        &s,
        &with_fabrikam[..30],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
            post("MC3", "2026-03-02T00:00:00Z", &["Exchange Online"]),
        ],
        "2026-03-02T01:00:00Z",
        true,
    )
    .await;
    let r = round(&s).await;
    assert_eq!(r.events, 2, "{r:?}");
    assert_eq!(r.delivered, r.deliveries, "{r:?}");
    assert_eq!(
        types(&all),
        [
            ("post.routed".to_string(), "MC2".to_string()),
            ("post.routed".to_string(), "MC3".to_string())
        ]
    );
    assert_eq!(
        types(&teams),
        [("post.routed".to_string(), "MC2".to_string())]
    );
    assert_eq!(
        types(&fabrikam),
        [("post.routed".to_string(), "MC2".to_string())]
    );
    for rx in [&all, &teams, &fabrikam] {
        assert!(rx.rejected().is_empty(), "{:?}", rx.rejected());
        assert_eq!(rx.duplicates(), 0);
    }
    // the unlimited channel: every tenant, and how many
    let got = all.received();
    let m = &got
        .iter()
        .find(|m| m.body["data"]["post"]["id"] == "MC2")
        .unwrap()
        .body;
    assert_eq!(m["data"]["tenant_count"], 31);
    assert_eq!(m["data"]["owner"], "collab");
    assert_eq!(m["data"]["schema"], 1);
    assert_eq!(
        m["data"]["links"]["changedesk"],
        "https://changedesk.example/posts/MC2"
    );
    // the limited one: its tenant only, no count, no other name
    let m = &fabrikam.received()[0];
    assert_eq!(m.body["data"]["tenants"], json!(["fabrikam"]));
    assert!(m.body["data"].get("tenant_count").is_none());
    let raw = String::from_utf8_lossy(&m.raw);
    assert!(!raw.contains("tenant-0"), "{raw}");

    // a post that reaches changedesk more than 7 days after its publication
    // (published 10 days before it is first seen) tells nobody it is new
    let mut late = post("MC9", "2026-03-02T02:00:00Z", &["Microsoft Teams"]);
    late.content.start = Some(at("2026-02-20T00:00:00Z"));
    load(
        &s,
        &with_fabrikam[..1],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
            post("MC3", "2026-03-02T00:00:00Z", &["Exchange Online"]),
            late,
        ],
        "2026-03-02T02:00:00Z",
        false,
    )
    .await;
    assert_eq!(round(&s).await.events, 0, "a late post is quiet");

    // the log, per post and per channel
    let log = s
        .store
        .deliveries(&DeliveryFilter {
            post_id: Some("MC2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|d| d.state == "delivered" && d.attempts == 1)
    );
    // nothing new: nothing sent
    let r = round(&s).await;
    assert_eq!(r, Default::default());
}

async fn failures_are_retried_dead_lettered_and_retried_by_a_person(store: Store) {
    let s = setup(store).await;
    // the worker's schedule runs days ahead; it signs with the real time,
    // so the receiver's 5 minutes hold
    let (rx, secret) = receiver().await;
    channel(&s, "desk", &rx.url(), &secret, ChannelFilter::default()).await;
    baseline(&s).await;
    // 503, then 429 with Retry-After, then a timeout, then success
    rx.fail_next(vec![
        FaultResponse::Status(503),
        FaultResponse::TooManyRequests {
            retry_after_secs: 7,
        },
        FaultResponse::Delay(Duration::from_secs(4)),
    ]);
    load(
        &s,
        &["alpha"],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
        ],
        "2026-03-02T00:00:00Z",
        true,
    )
    .await;
    let now = Timestamp::now_utc();
    let r = s.outbox.run_once(now).await.unwrap();
    assert_eq!((r.deliveries, r.retried, r.delivered), (1, 1, 0), "{r:?}");
    let d = &s
        .store
        .deliveries(&DeliveryFilter::default())
        .await
        .unwrap()[0];
    assert_eq!((d.state.as_str(), d.last_status), ("pending", Some(503)));
    // not due yet: nothing is sent
    let r = s.outbox.run_once(now).await.unwrap();
    assert_eq!(r.retried + r.delivered, 0);
    // due: 429, whose Retry-After (7 s) is the floor of the next wait
    let later = Timestamp::now_utc().saturating_add(time::Duration::hours(1));
    let r = s.outbox.run_once(later).await.unwrap();
    assert_eq!(r.retried, 1, "{r:?}");
    let d = &s
        .store
        .deliveries(&DeliveryFilter::default())
        .await
        .unwrap()[0];
    assert_eq!(d.last_status, Some(429));
    assert!(d.next_attempt_at >= later.saturating_add(time::Duration::seconds(7)));
    // the timeout, then success
    let later = later.saturating_add(time::Duration::days(1));
    assert_eq!(s.outbox.run_once(later).await.unwrap().retried, 1);
    let later = later.saturating_add(time::Duration::days(1));
    assert_eq!(s.outbox.run_once(later).await.unwrap().delivered, 1);
    assert_eq!(rx.distinct_ids().len(), 1);
    let d = &s
        .store
        .deliveries(&DeliveryFilter::default())
        .await
        .unwrap()[0];
    assert_eq!((d.state.as_str(), d.attempts), ("delivered", 4));

    // a 404 is permanent: dead at once, and a person retries it
    rx.fail_next(vec![FaultResponse::Status(404)]);
    load(
        &s,
        &["alpha"],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
            post("MC3", "2026-03-03T00:00:00Z", &["Exchange Online"]),
        ],
        "2026-03-03T00:00:00Z",
        true,
    )
    .await;
    let r = round(&s).await;
    assert_eq!(r.dead, 1, "{r:?}");
    let failed = s
        .store
        .deliveries(&DeliveryFilter {
            failed_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_status, Some(404));
    let n = s
        .store
        .retry_deliveries(Some(&[failed[0].id]), Timestamp::now_utc(), "admin")
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(round(&s).await.delivered, 1);
    assert_eq!(rx.distinct_ids().len(), 2);
    // the person's retry is in the audit log
    let audit = s.store.audit_log(50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "delivery.retry" && e.actor == "admin")
    );

    // 410: the channel is disabled, and says why
    rx.fail_next(vec![FaultResponse::Gone]);
    load(
        &s,
        &["alpha"],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
            post("MC3", "2026-03-03T00:00:00Z", &["Exchange Online"]),
            post("MC4", "2026-03-04T00:00:00Z", &["Exchange Online"]),
        ],
        "2026-03-04T00:00:00Z",
        true,
    )
    .await;
    round(&s).await;
    let c = &s.store.channels().await.unwrap()[0];
    assert!(!c.enabled);
    assert!(c.disabled_reason.as_deref().unwrap_or("").contains("410"));
}

async fn a_deadline_crossing_is_told_once(store: Store) {
    use changedesk_server::triage::sweep_deadlines;
    let s = setup(store).await;
    let (rx, secret) = receiver().await;
    channel(
        &s,
        "deadlines",
        &rx.url(),
        &secret,
        ChannelFilter {
            events: vec![
                EventKind::ItemDueSoon,
                EventKind::ItemOverdue,
                EventKind::ItemMissed,
            ],
            ..Default::default()
        },
    )
    .await;
    baseline(&s).await;
    load(
        &s,
        &["alpha"],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
        ],
        "2026-03-02T00:00:00Z",
        true,
    )
    .await;
    // MC2 is due on 10 March
    let stored = s.store.work_item("MC2").await.unwrap().unwrap();
    let mut item = stored.item.clone();
    item.due = Some(at("2026-03-10T00:00:00Z"));
    s.store
        .save_work_item(&changedesk_store::ItemSave {
            item: &item,
            expected_version: Some(stored.version),
            evaluated_revision: None,
            entries: &[],
            notify: &[],
            events: &[],
            at: at("2026-03-02T00:00:00Z"),
        })
        .await
        .unwrap();
    let policy = Default::default();
    // far ahead: nothing; within 14 days: due soon, once; past: overdue, once
    for (now, told) in [
        ("2026-02-20T00:00:00Z", 0),
        ("2026-03-05T00:00:00Z", 1),
        ("2026-03-06T00:00:00Z", 0),
        ("2026-03-11T00:00:00Z", 1),
        ("2026-03-12T00:00:00Z", 0),
    ] {
        let sweep = sweep_deadlines(&s.store, &policy, at(now)).await.unwrap();
        assert_eq!(sweep.notified, told, "at {now}");
    }
    round(&s).await;
    assert_eq!(
        types(&rx),
        [
            ("item.due_soon".to_string(), "MC2".to_string()),
            ("item.overdue".to_string(), "MC2".to_string())
        ]
    );
    let m = rx
        .received()
        .into_iter()
        .find(|m| m.event_type.as_deref() == Some("item.overdue"))
        .unwrap();
    assert_eq!(m.body["data"]["reason"], "overdue since 2026-03-10");
    assert_eq!(m.body["data"]["owner"], "collab");
}

async fn a_crash_mid_send_resends_only_what_was_in_flight(store: Store) {
    let s = setup(store).await;
    let (rx, secret) = receiver().await;
    channel(&s, "desk", &rx.url(), &secret, ChannelFilter::default()).await;
    baseline(&s).await;
    let posts: Vec<_> = (1..=6)
        .map(|i| {
            post(
                &format!("MC{i}"),
                "2026-03-02T00:00:00Z",
                &["Microsoft Teams"],
            )
        })
        .collect();
    load(&s, &["alpha"], &posts, "2026-03-02T00:00:00Z", true).await;
    let now = Timestamp::now_utc();
    s.outbox.dispatch(now).await.unwrap();
    // a worker claims two deliveries, sends one of them, and dies before
    // recording anything
    let claimed = s
        .store
        .claim_deliveries(now, now.saturating_add(time::Duration::seconds(60)), 2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let endpoint_sender = WebhookSender::new(Duration::from_secs(2)).unwrap();
    let endpoint = changedesk_notify::WebhookEndpoint {
        url: url::Url::parse(&rx.url()).unwrap(),
        secrets: vec![WebhookSecret::parse(&secret).unwrap()],
        allow_private: true,
        allow_insecure_http: true,
    };
    let sent = endpoint_sender
        .send(
            &endpoint,
            &claimed[0].message_id,
            claimed[0].body.as_bytes(),
            now.unix_seconds(),
        )
        .await;
    assert!(
        matches!(sent, changedesk_notify::SendOutcome::Delivered { .. }),
        "{sent:?}"
    );
    // another worker, meanwhile: the claimed two are not its to send
    let r = s.outbox.run_once(now).await.unwrap();
    assert_eq!((r.delivered, r.resent), (3, 0), "{r:?}");
    // after the lease: the two in flight are taken over and sent, counted
    let after = now.saturating_add(time::Duration::seconds(61));
    let r = s.outbox.run_once(after).await.unwrap();
    assert_eq!((r.delivered, r.resent), (2, 2), "{r:?}");
    // nothing lost: five distinct ids; one sent twice (it was in flight)
    assert_eq!(rx.distinct_ids().len(), 5);
    assert_eq!(rx.duplicates(), 1);
    let log = s
        .store
        .deliveries(&DeliveryFilter::default())
        .await
        .unwrap();
    assert_eq!(log.iter().filter(|d| d.resends == 1).count(), 2);
    assert!(log.iter().all(|d| d.state == "delivered"));
}

async fn no_key_no_secret_in_the_database(store: Store) {
    let s = setup(store).await;
    let (rx, secret) = receiver().await;
    let url = format!("{}?sig=TOPSECRETSIG", rx.url());
    channel(&s, "desk", &url, &secret, ChannelFilter::default()).await;
    let row = &s.store.channels().await.unwrap()[0];
    assert!(row.url_sealed.starts_with("cdsec1:"));
    assert!(!row.url_sealed.contains("TOPSECRETSIG") && !row.url_sealed.contains("127.0.0.1"));
    assert!(!row.secret_sealed.as_deref().unwrap().contains(&secret[6..]));
    // without the key the worker cannot open the URL: it says so, and retries
    let mut keyless = s.outbox.clone();
    keyless.keyring = None;
    baseline(&s).await;
    load(
        &s,
        &["alpha"],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
        ],
        "2026-03-02T00:00:00Z",
        true,
    )
    .await;
    let r = keyless.run_once(Timestamp::now_utc()).await.unwrap();
    assert_eq!(r.retried, 1);
    let d = &s
        .store
        .deliveries(&DeliveryFilter::default())
        .await
        .unwrap()[0];
    assert!(
        d.last_error
            .as_deref()
            .unwrap_or("")
            .contains("no secret key"),
        "{d:?}"
    );
    assert!(rx.received().is_empty());
    let _: Value = json!(null);
}

async fn the_delivery_log_is_in_the_web_ui_and_the_api(store: Store) {
    use super::ui::{Fixture, sign_in, user};
    use changedesk_core::access::{Role, Scope};
    let s = setup(store).await;
    let (rx, secret) = receiver().await;
    channel(&s, "desk", &rx.url(), &secret, ChannelFilter::default()).await;
    baseline(&s).await;
    rx.fail_next(vec![FaultResponse::Status(404)]);
    load(
        &s,
        &["alpha"],
        &[
            post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"]),
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
        ],
        "2026-03-02T00:00:00Z",
        true,
    )
    .await;
    assert_eq!(round(&s).await.dead, 1);
    user(&s.store, "manager", Role::ChangeManager, Scope::default()).await;
    user(&s.store, "reader", Role::Reader, Scope::default()).await;
    let f = Fixture {
        app: changedesk_server::http::router(
            changedesk_server::http::AppState::new(
                s.store.clone(),
                changedesk_server::http::Settings {
                    secure_cookies: false,
                    ..Default::default()
                },
            )
            .with_keyring(Arc::new(Keyring::from_text(KEY, &[]).unwrap())),
            true,
        ),
        store: s.store.clone(),
    };
    let manager = sign_in(&f, "manager").await;
    let page = manager.get(&f, "/outbox?failed=true").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("href=\"/outbox\""), "the menu links it");
    assert!(page.body.contains(">desk<") && page.body.contains("MC2") && page.body.contains("404"));
    assert!(page.body.contains("Send delivery"), "a retry button");
    // the error names the host, never the URL's path (a webhook URL is a secret)
    assert!(!page.body.contains("/hook"), "never the channel's URL");
    // the API says the same
    let api = manager.get(&f, "/api/v1/deliveries?failed=true").await;
    let list: Value = serde_json::from_str(&api.body).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let id = list[0]["id"].as_i64().unwrap().to_string();
    let channels = manager.get(&f, "/api/v1/channels").await;
    assert!(channels.body.contains("\"desk\"") && !channels.body.contains("/hook"));
    // retry from the page
    let done = manager.post(&f, "/outbox/retry", &[("id", &id)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/outbox?retried=1");
    assert_eq!(round(&s).await.delivered, 1);
    assert!(
        !manager
            .get(&f, "/outbox?failed=true")
            .await
            .body
            .contains("Send delivery")
    );
    // a channel added in the page: its secret shown once, then a test sent
    let (rx2, _) = receiver().await;
    let page = manager
        .post(
            &f,
            "/outbox/channels",
            &[
                ("name", "Teams-Desk"),
                ("webhook", &rx2.url()),
                ("event", "post.routed"),
                ("services", "Microsoft Teams, Exchange Online"),
                ("allow_private", "true"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = page
        .body
        .split("shown this once (the receiver verifies webhook-signature with it): ")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the secret, once")
        .trim()
        .to_string();
    assert!(secret.starts_with("whsec_"));
    rx2.set_secret(&secret).unwrap();
    assert!(
        page.body
            .contains("post.routed; of Microsoft Teams, Exchange Online"),
        "{}",
        page.body
    );
    assert!(
        !manager.get(&f, "/outbox").await.body.contains(&secret),
        "shown once only"
    );
    let bad = manager
        .post(
            &f,
            "/outbox/channels",
            &[("name", "x y"), ("webhook", "ftp://a")],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let tested = manager
        .post(&f, "/outbox/channels/test", &[("name", "teams-desk")])
        .await;
    assert_eq!(tested.status, 303);
    assert_eq!(round(&s).await.delivered, 1);
    assert_eq!(
        rx2.received()[0].event_type.as_deref(),
        Some("changedesk.test")
    );
    // the API adds one too, and removes it
    let added = manager
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "api-desk", "webhook": "https://hooks.example/x"}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let v: Value = serde_json::from_str(&added.body).unwrap();
    assert!(v["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(v["channel"]["name"], "api-desk");
    let again = manager
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "api-desk", "webhook": "https://hooks.example/x"}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        manager
            .send_json(&f, "DELETE", "/api/v1/channels/api-desk", &json!(null))
            .await
            .status,
        204
    );
    let removed = manager
        .post(&f, "/outbox/channels/remove", &[("name", "teams-desk")])
        .await;
    assert_eq!(removed.status, 303);
    let audit = s.store.audit_log(50).await.unwrap();
    for action in ["channel.add", "channel.remove"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.actor == "manager"),
            "{action}"
        );
    }
    // a reader neither sees it nor retries
    let reader = sign_in(&f, "reader").await;
    assert!(!reader.get(&f, "/").await.body.contains("href=\"/outbox\""));
    assert_eq!(reader.get(&f, "/outbox").await.status, 403);
    assert_eq!(
        reader
            .post(&f, "/outbox/retry", &[("all_failed", "true")])
            .await
            .status,
        403
    );
}

both!(
    signed_webhooks_tell_the_right_channels_once,
    failures_are_retried_dead_lettered_and_retried_by_a_person,
    a_crash_mid_send_resends_only_what_was_in_flight,
    a_deadline_crossing_is_told_once,
    no_key_no_secret_in_the_database,
    the_delivery_log_is_in_the_web_ui_and_the_api,
);
