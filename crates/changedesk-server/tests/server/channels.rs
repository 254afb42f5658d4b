//! E-mail, Teams and Slack channels end to end, on SQLite and PostgreSQL:
//! loads and rules record events; the worker gathers each batching
//! channel's events for its window into one message, renders it from the
//! templates, and sends it: e-mail to a directory capture (one message per
//! recipient, an owner's channel to the owner's address), Teams cards to
//! the Workflows mock (which silently loses cards over 25 per 5 minutes,
//! as Workflows does: none may be lost), Slack to the incoming-webhook
//! mock. Quiet hours defer all but urgent events; a tenant-limited e-mail
//! never names another tenant.

use std::sync::Arc;
use std::time::Duration;

use changedesk_core::Timestamp;
use changedesk_core::triage::{Owner, OwnershipEntry, Scope as OwnerScope};
use changedesk_notify::WebhookSender;
use changedesk_secrets::Keyring;
use changedesk_server::outbox::{
    ChannelRequest, MailSetup, Mailer, Outbox, QuietRequest, new_channel,
};
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_sim::slack::{SlackConfig, SlackHandle, start_webhook};
use changedesk_sim::teams::{FlowConfig, FlowHandle, start_flow};
use changedesk_store::{ImportOptions, Store, TriageSeed};
use serde_json::json;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn post(id: &str, when: &str, services: &[&str], severity: &str) -> changedesk_core::Message {
    let v = json!({
        "id": id,
        "title": format!("{id}: a change <b>&</b> more"),
        "category": "planForChange",
        "severity": severity,
        "tags": ["User impact"],
        "isMajorChange": false,
        "startDateTime": when,
        "endDateTime": "2026-12-31T00:00:00Z",
        "lastModifiedDateTime": when,
        "actionRequiredByDateTime": "2026-06-30T00:00:00Z",
        "services": services,
        "details": [],
        "body": {"contentType": "html", "content": format!("<p>{id}</p>")}
    });
    changedesk_core::Message::from_graph(&v, 0).unwrap()
}

struct Setup {
    store: Store,
    outbox: Outbox,
    triage: Triage,
    ring: Keyring,
    mail: tempfile::TempDir,
}

async fn setup(store: Store) -> Setup {
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
    let triage = Triage::load(&store, Default::default()).await.unwrap();
    let mail = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(
        store.clone(),
        Some(Arc::new(Keyring::from_text(KEY, &[]).unwrap())),
        WebhookSender::new(Duration::from_secs(2)).unwrap(),
    );
    outbox.jitter = Arc::new(|| 0.5);
    outbox.public_url = Some("https://changedesk.example".into());
    outbox.mail = Some(MailSetup {
        from: "changedesk <changedesk@example.com>".into(),
        reply_to: None,
        mailer: Mailer::Directory(mail.path().to_path_buf()),
    });
    Setup {
        store,
        outbox,
        triage,
        ring: Keyring::from_text(KEY, &[]).unwrap(),
        mail,
    }
}

async fn add(s: &Setup, req: ChannelRequest) {
    let known: Vec<String> = s
        .store
        .tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    let (c, _) = new_channel(
        &s.ring,
        &req,
        &known,
        &["collab".to_string(), "messaging".to_string()],
        "admin",
        at("2026-03-01T00:00:00Z"),
    )
    .unwrap();
    s.store.create_channel(&c).await.unwrap();
}

async fn load(s: &Setup, tenants: &[&str], posts: &[changedesk_core::Message], now: &str) {
    for t in tenants {
        s.store
            .import_messages(
                t,
                posts,
                &ImportOptions {
                    complete: false,
                    now: at(now),
                    source: "test".into(),
                    rejected: 0,
                },
            )
            .await
            .unwrap();
    }
    apply_rules(&s.store, &s.triage, at(now), false)
        .await
        .unwrap();
}

/// Every tenant's first load: the baseline, which tells nobody.
async fn baseline(s: &Setup, tenants: &[&str]) {
    for t in tenants {
        s.store
            .import_messages(
                t,
                &[post(
                    "MC1",
                    "2026-03-01T00:00:00Z",
                    &["Microsoft Teams"],
                    "normal",
                )],
                &ImportOptions {
                    complete: true,
                    now: at("2026-03-01T00:00:00Z"),
                    source: "test".into(),
                    rejected: 0,
                },
            )
            .await
            .unwrap();
    }
    apply_rules(&s.store, &s.triage, at("2026-03-01T00:00:00Z"), false)
        .await
        .unwrap();
}

/// The captured e-mails: (recipient, subject, whole text).
fn mails(s: &Setup) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(s.mail.path()).unwrap() {
        let path = f.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let header = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or("")
                .to_string()
        };
        out.push((header("To"), header("Subject"), text.clone()));
    }
    out.sort();
    out
}

fn cards_text(flow: &FlowHandle) -> Vec<String> {
    flow.posted().iter().map(|c| c.card.to_string()).collect()
}

async fn teams_flow() -> FlowHandle {
    start_flow(FlowConfig::default()).await.unwrap()
}

async fn slack_hook() -> SlackHandle {
    start_webhook(SlackConfig::default()).await.unwrap()
}

async fn a_batch_is_one_message_per_channel_to_the_right_people(store: Store) {
    let s = setup(store).await;
    let flow = teams_flow().await;
    let slack = slack_hook().await;
    baseline(&s, &["alpha", "beta"]).await;
    add(
        &s,
        ChannelRequest {
            name: "collab-mail".into(),
            kind: Some("email".into()),
            owner: Some("collab".into()),
            ..Default::default()
        },
    )
    .await;
    add(
        &s,
        ChannelRequest {
            name: "cab".into(),
            kind: Some("email".into()),
            recipients: vec!["cab@example.com".into(), "ops@example.com".into()],
            ..Default::default()
        },
    )
    .await;
    add(
        &s,
        ChannelRequest {
            name: "beta-only".into(),
            kind: Some("email".into()),
            recipients: vec!["beta-admin@example.com".into()],
            tenants: vec!["beta".into()],
            ..Default::default()
        },
    )
    .await;
    add(
        &s,
        ChannelRequest {
            name: "teams".into(),
            kind: Some("teams".into()),
            url: Some(flow.url()),
            allow_private: true,
            ..Default::default()
        },
    )
    .await;
    add(
        &s,
        ChannelRequest {
            name: "slack".into(),
            kind: Some("slack".into()),
            url: Some(slack.url()),
            batch_minutes: Some(0),
            allow_private: true,
            ..Default::default()
        },
    )
    .await;
    // the baseline told nobody
    let r = s.outbox.run_once(at("2026-03-01T00:10:00Z")).await.unwrap();
    assert_eq!((r.events, r.deliveries), (0, 0), "{r:?}");

    // three new posts, MC2 and MC4 (Teams: collab's) seen by both tenants,
    // MC3 (Exchange: messaging's) by alpha only
    load(
        &s,
        &["alpha", "beta"],
        &[
            post(
                "MC2",
                "2026-03-02T09:00:00Z",
                &["Microsoft Teams"],
                "normal",
            ),
            post("MC4", "2026-03-02T09:00:00Z", &["Microsoft Teams"], "high"),
        ],
        "2026-03-02T09:00:00Z",
    )
    .await;
    load(
        &s,
        &["alpha"],
        &[post(
            "MC3",
            "2026-03-02T09:00:00Z",
            &["Exchange Online"],
            "normal",
        )],
        "2026-03-02T09:00:00Z",
    )
    .await;
    let r = s.outbox.run_once(at("2026-03-02T09:00:30Z")).await.unwrap();
    assert_eq!(r.events, 3, "{r:?}");
    // Slack sends at once (no window): one message for the three
    assert_eq!(r.composed, 1, "{r:?}");
    assert_eq!(slack.messages().len(), 1);
    let text = slack.messages()[0].body.to_string();
    for id in ["MC2", "MC3", "MC4"] {
        assert!(text.contains(id), "{id} in {text}");
    }
    assert!(
        text.contains("&lt;b&gt;&amp;&lt;/b&gt;"),
        "escaped for mrkdwn: {text}"
    );
    // e-mail and Teams wait for their window (5 minutes)
    assert!(mails(&s).is_empty());
    assert!(flow.posted().is_empty());

    let r = s.outbox.run_once(at("2026-03-02T09:06:00Z")).await.unwrap();
    assert_eq!(r.composed, 4, "collab-mail, cab, beta-only, teams: {r:?}");
    let got = mails(&s);
    let to: Vec<&str> = got.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(
        to,
        [
            "beta-admin@example.com",
            "cab@example.com",
            "collab@example.com",
            "ops@example.com"
        ]
    );
    let of = |who: &str| got.iter().find(|(t, _, _)| t == who).unwrap().clone();
    // the owner's channel: only collab's posts
    let (_, subject, body) = of("collab@example.com");
    assert!(subject.contains("2 changes"), "{subject}");
    assert!(body.contains("MC2") && body.contains("MC4") && !body.contains("MC3"));
    // the shared list: everything, each recipient alone in To
    let (_, subject, body) = of("cab@example.com");
    assert!(subject.contains("3 changes"), "{subject}");
    assert!(!body.contains("ops@example.com"));
    assert!(body.contains("https://changedesk.example/posts/MC3"));
    // the tenant-limited recipient: beta's posts, and no other tenant
    let (_, _, body) = of("beta-admin@example.com");
    assert!(body.contains("MC2") && !body.contains("MC3"), "{body}");
    assert!(
        !body.contains("alpha"),
        "another tenant's name leaked: {body}"
    );
    // Teams: one card, nothing lost
    assert_eq!(flow.posted().len(), 1);
    assert!(flow.lost().is_empty(), "{:?}", flow.lost());
    let card = &cards_text(&flow)[0];
    assert!(card.contains("3 changes") && card.contains("MC3"), "{card}");
    // nothing more to do; the log shows every delivery delivered
    let r = s.outbox.run_once(at("2026-03-02T09:30:00Z")).await.unwrap();
    assert_eq!((r.composed, r.delivered), (0, 0), "{r:?}");
    let log = s
        .store
        .deliveries(&changedesk_store::DeliveryFilter::default())
        .await
        .unwrap();
    assert!(log.iter().all(|d| d.state == "delivered"), "{log:?}");
    assert!(log.iter().any(|d| d.carried_by.is_some()));
    flow.shutdown().await;
    slack.shutdown().await;
}

async fn quiet_hours_defer_all_but_urgent(store: Store) {
    let s = setup(store).await;
    baseline(&s, &["alpha"]).await;
    add(
        &s,
        ChannelRequest {
            name: "night".into(),
            kind: Some("email".into()),
            recipients: vec!["night@example.com".into()],
            batch_minutes: Some(0),
            quiet: Some(QuietRequest {
                from: "22:00".into(),
                to: "07:00".into(),
                time_zone: Some("Europe/Paris".into()),
                urgent_severities: vec!["critical".into()],
                urgent_major: false,
            }),
            ..Default::default()
        },
    )
    .await;
    // 23:30 UTC is 00:30 in Paris: quiet
    load(
        &s,
        &["alpha"],
        &[post(
            "MC7",
            "2026-03-10T23:30:00Z",
            &["Microsoft Teams"],
            "normal",
        )],
        "2026-03-10T23:30:00Z",
    )
    .await;
    s.outbox.run_once(at("2026-03-10T23:30:00Z")).await.unwrap();
    s.outbox.run_once(at("2026-03-11T03:00:00Z")).await.unwrap();
    assert!(mails(&s).is_empty(), "sent in quiet hours");
    // a critical post goes out at once, alone
    load(
        &s,
        &["alpha"],
        &[post(
            "MC8",
            "2026-03-11T03:00:00Z",
            &["Microsoft Teams"],
            "critical",
        )],
        "2026-03-11T03:00:00Z",
    )
    .await;
    s.outbox.run_once(at("2026-03-11T03:00:10Z")).await.unwrap();
    let got = mails(&s);
    assert_eq!(got.len(), 1);
    assert!(got[0].2.contains("MC8") && !got[0].2.contains("MC7"));
    // 07:00 in Paris is 06:00 UTC: the rest goes
    s.outbox.run_once(at("2026-03-11T06:00:00Z")).await.unwrap();
    let got = mails(&s);
    assert_eq!(got.len(), 2);
    assert!(got.iter().any(|(_, _, b)| b.contains("MC7")));
}

async fn teams_is_paced_and_loses_nothing(store: Store) {
    let s = setup(store).await;
    let flow = teams_flow().await;
    baseline(&s, &["alpha"]).await;
    add(
        &s,
        ChannelRequest {
            name: "teams".into(),
            kind: Some("teams".into()),
            url: Some(flow.url()),
            batch_minutes: Some(0),
            allow_private: true,
            ..Default::default()
        },
    )
    .await;
    // 30 posts, one a second: more than the flow posts in 5 minutes
    let start = at("2026-03-02T09:00:00Z");
    for i in 0..30i64 {
        let now = start.saturating_add(time::Duration::seconds(i));
        let id = format!("MC{}", 100 + i);
        load(
            &s,
            &["alpha"],
            &[post(&id, &now.to_string(), &["Microsoft Teams"], "normal")],
            &now.to_string(),
        )
        .await;
        s.outbox.run_once(now).await.unwrap();
        flow.advance(Duration::from_secs(1));
    }
    assert_eq!(flow.posted().len(), 25, "the 26th waits for the window");
    // five minutes after the first post, the rest goes as one card
    flow.advance(Duration::from_secs(300 - 30 + 1));
    s.outbox
        .run_once(start.saturating_add(time::Duration::seconds(301)))
        .await
        .unwrap();
    assert_eq!(flow.posted().len(), 26);
    assert!(flow.lost().is_empty(), "{:?}", flow.lost());
    let all = cards_text(&flow).join(" ");
    for i in 0..30 {
        assert!(
            all.contains(&format!("MC{}", 100 + i)),
            "MC{} lost",
            100 + i
        );
    }
    flow.shutdown().await;
}

/// E-mail through Microsoft Graph `sendMail` (the simulator's, which checks
/// the token's Mail.Send role): each recipient's message recorded with a
/// stable `internetMessageId`; a revoked role fails the delivery with a
/// message naming Mail.Send, and a person's retry sends it once the role
/// is back.
async fn email_through_graph_send_mail(store: Store) {
    use changedesk_core::config::{Cloud, Credential, TenantConfig};
    let mut s = setup(store).await;
    let sim = changedesk_sim::start(changedesk_sim::SimConfig {
        tenants: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    let t = &sim.tenants()[0];
    let tenant = TenantConfig {
        name: t.name.clone(),
        tenant_id: t.tenant_id.clone(),
        client_id: t.client_id.clone(),
        credential: Credential::Secret(secrecy::SecretString::from(t.client_secret.clone())),
        cloud: Cloud::Global,
        login_url: Some(sim.base_url().parse().unwrap()),
        graph_url: Some(sim.base_url().parse().unwrap()),
    };
    let sender = format!("changedesk@{}.onmicrosoft.com", t.name);
    s.outbox.mail = Some(
        MailSetup::from_settings(
            &changedesk_core::config::EmailSettings {
                from: format!("changedesk <{sender}>"),
                reply_to: Some("cab@example.com".into()),
                transport: changedesk_core::config::EmailTransport::Graph {
                    tenant: t.name.clone(),
                    sender: sender.clone(),
                },
            },
            std::slice::from_ref(&tenant),
            None,
            || changedesk_graph::GraphClient::new(Default::default()).map_err(|e| e.to_string()),
        )
        .unwrap(),
    );
    baseline(&s, &["alpha"]).await;
    add(
        &s,
        ChannelRequest {
            name: "cab".into(),
            kind: Some("email".into()),
            recipients: vec!["cab@example.com".into(), "ops@example.com".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
    )
    .await;
    load(
        &s,
        &["alpha"],
        &[post(
            "MC2",
            "2026-03-02T09:00:00Z",
            &["Exchange Online"],
            "normal",
        )],
        "2026-03-02T09:00:00Z",
    )
    .await;
    let r = s.outbox.run_once(at("2026-03-02T09:00:10Z")).await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
    let sent = sim.sent_mail();
    assert_eq!(sent.len(), 2, "one message per recipient");
    let domain = sender.rsplit_once('@').unwrap().1.to_string();
    for (i, (m, to)) in sent
        .iter()
        .zip(["cab@example.com", "ops@example.com"])
        .enumerate()
    {
        assert_eq!(m.sender, sender);
        assert_eq!(m.to.len(), 1);
        assert_eq!(m.to[0].address, to);
        assert!(m.subject.contains("MC2"), "{}", m.subject);
        assert_eq!(m.body_content_type, "html");
        assert!(
            m.body.contains("changedesk.example&#x2f;posts&#x2f;MC2"),
            "{}",
            m.body
        );
        assert_eq!(
            m.internet_message_id.as_deref(),
            Some(format!("<msg_e1_c1.r{i}@{domain}>").as_str()),
            "the event's id: {:?}",
            m.internet_message_id
        );
    }

    // Mail.Send revoked (and the tokens expired): the delivery fails for
    // good, saying what to grant
    sim.revoke_app_role(&t.name, changedesk_sim::MAIL_SEND)
        .unwrap();
    sim.expire_tokens();
    load(
        &s,
        &["alpha"],
        &[post(
            "MC3",
            "2026-03-02T10:00:00Z",
            &["Exchange Online"],
            "normal",
        )],
        "2026-03-02T10:00:00Z",
    )
    .await;
    let r = s.outbox.run_once(at("2026-03-02T10:00:10Z")).await.unwrap();
    assert_eq!((r.delivered, r.dead), (0, 1), "{r:?}");
    let failed = s
        .store
        .deliveries(&changedesk_store::DeliveryFilter {
            failed_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    let error = failed[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("Mail.Send"), "{error}");
    // granted again, a person retries it
    sim.grant_app_role(&t.name, changedesk_sim::MAIL_SEND)
        .unwrap();
    sim.expire_tokens();
    s.store
        .retry_deliveries(None, at("2026-03-02T10:05:00Z"), "admin")
        .await
        .unwrap();
    let r = s.outbox.run_once(at("2026-03-02T10:05:00Z")).await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
    assert_eq!(sim.sent_mail().len(), 4);
    sim.shutdown().await;
}

both!(
    email_through_graph_send_mail,
    a_batch_is_one_message_per_channel_to_the_right_people,
    quiet_hours_defer_all_but_urgent,
    teams_is_paced_and_loses_nothing,
);
