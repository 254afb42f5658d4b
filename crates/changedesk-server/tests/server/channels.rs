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
use changedesk_notify::WebhookSender;
use changedesk_secrets::Keyring;
use changedesk_server::outbox::{
    ChannelRequest, MailSetup, Mailer, Outbox, QuietRequest, new_channel,
};
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_sim::slack::{SlackConfig, SlackHandle, start_webhook};
use changedesk_sim::teams::{FlowConfig, FlowHandle, start_flow};
use changedesk_store::{ImportOptions, Store};
use serde_json::json;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn post(id: &str, when: &str, services: &[&str], severity: &str) -> changedesk_core::Message {
    post_with(
        id,
        when,
        services,
        severity,
        false,
        Some("2026-06-30T00:00:00Z"),
    )
}

fn post_with(
    id: &str,
    when: &str,
    services: &[&str],
    severity: &str,
    major: bool,
    act_by: Option<&str>,
) -> changedesk_core::Message {
    let v = json!({
        "id": id,
        "title": format!("{id}: a change <b>&</b> more"),
        "category": "planForChange",
        "severity": severity,
        "tags": ["User impact"],
        "isMajorChange": major,
        "startDateTime": when,
        "endDateTime": "2026-12-31T00:00:00Z",
        "lastModifiedDateTime": when,
        "actionRequiredByDateTime": act_by,
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
    super::outbox::seed_two_owners(&store).await;
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
        secret_expires: None,
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

/// A request to the app without a session.
async fn anonymous(app: &axum::Router, method: &str, path: &str) -> (u16, String) {
    use tower::ServiceExt as _;
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(if method == "POST" {
            "List-Unsubscribe=One-Click"
        } else {
            ""
        }))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).to_string())
}

/// Every e-mail carries its recipient's own unsubscribe link (in the body
/// and as List-Unsubscribe with one-click); following it needs no sign-in,
/// takes only that address off, is audited, and a forged or altered link
/// changes nothing.
async fn unsubscribe_links_need_no_sign_in(store: Store) {
    let s = setup(store).await;
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
    s.outbox.run_once(at("2026-03-02T09:00:10Z")).await.unwrap();
    let got = mails(&s);
    assert_eq!(got.len(), 2);
    let link_of = |text: &str| -> String {
        let header = text
            .lines()
            .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
            .unwrap_or_else(|| panic!("no List-Unsubscribe in {text}"));
        header.trim_end_matches('>').to_string()
    };
    let (cab, ops) = (link_of(&got[0].2), link_of(&got[1].2));
    assert_ne!(cab, ops, "each recipient has their own link");
    assert!(
        got[0]
            .2
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    );
    assert!(
        cab.starts_with("https://changedesk.example/unsubscribe/"),
        "{cab}"
    );
    assert!(
        !got[0].2.contains("CHANGEDESK0UNSUBSCRIBE0LINK"),
        "the placeholder was replaced"
    );
    let app = changedesk_server::http::router(
        changedesk_server::http::AppState::new(s.store.clone(), Default::default())
            .with_keyring(Arc::new(Keyring::from_text(KEY, &[]).unwrap())),
        true,
    );
    let path = cab.trim_start_matches("https://changedesk.example");
    let (status, page) = anonymous(&app, "GET", path).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("cab@example.com") && page.contains("cab"),
        "{page}"
    );
    // a GET changes nothing (link scanners follow links)
    let channels = s.store.channels().await.unwrap();
    assert_eq!(channels[0].settings.recipients.len(), 2);
    // forged or altered: refused, nothing written
    let mut altered = path.to_string();
    altered.pop();
    for bad in [
        altered.as_str(),
        "/unsubscribe/AAAA",
        "/unsubscribe/%E6%97%A5",
    ] {
        let (status, _) = anonymous(&app, "POST", bad).await;
        assert_eq!(status, 404, "{bad}");
    }
    let (status, page) = anonymous(&app, "POST", path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("will no longer receive"), "{page}");
    let channels = s.store.channels().await.unwrap();
    assert_eq!(
        channels[0].settings.recipients,
        vec!["ops@example.com".to_string()]
    );
    let audit = s.store.audit_log(100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "channel.unsubscribe" && a.actor.contains("cab@example.com")),
        "{audit:?}"
    );
    // again: idempotent
    let (status, page) = anonymous(&app, "POST", path).await;
    assert_eq!(status, 200);
    assert!(page.contains("was not receiving"), "{page}");
    // the next message goes to ops only
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
    s.outbox.run_once(at("2026-03-02T10:00:10Z")).await.unwrap();
    let got = mails(&s);
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .filter(|(_, _, b)| b.contains("MC3"))
            .all(|(to, _, _)| to == "ops@example.com")
    );
}

/// A new major change and a new post asking for action within 30 days
/// are news of their own, whoever owns them (here no one); neither is told
/// for the baseline.
async fn major_changes_and_act_by_soon_are_told(store: Store) {
    let s = setup(store).await;
    s.store
        .import_messages(
            "alpha",
            &[post_with(
                "MC1",
                "2026-03-01T00:00:00Z",
                &["Microsoft Intune"],
                "normal",
                true,
                Some("2026-03-10T00:00:00Z"),
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
    apply_rules(&s.store, &s.triage, at("2026-03-01T00:00:00Z"), false)
        .await
        .unwrap();
    add(
        &s,
        ChannelRequest {
            name: "heads-up".into(),
            kind: Some("email".into()),
            recipients: vec!["heads-up@example.com".into()],
            events: vec!["post.major".into(), "post.act_by_soon".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
    )
    .await;
    let r = s.outbox.run_once(at("2026-03-01T00:10:00Z")).await.unwrap();
    assert_eq!(r.events, 0, "the baseline tells nobody: {r:?}");
    load(
        &s,
        &["alpha"],
        &[
            post_with(
                "MC2",
                "2026-03-02T09:00:00Z",
                &["Microsoft Intune"],
                "normal",
                true,
                None,
            ),
            post_with(
                "MC3",
                "2026-03-02T09:00:00Z",
                &["Microsoft Intune"],
                "normal",
                false,
                Some("2026-03-20T00:00:00Z"),
            ),
            post_with(
                "MC4",
                "2026-03-02T09:00:00Z",
                &["Microsoft Intune"],
                "normal",
                false,
                Some("2026-09-20T00:00:00Z"),
            ),
        ],
        "2026-03-02T09:00:00Z",
    )
    .await;
    s.outbox.run_once(at("2026-03-02T09:00:10Z")).await.unwrap();
    let got = mails(&s);
    assert_eq!(got.len(), 1);
    let body = &got[0].2;
    assert!(
        body.contains("New major change") && body.contains("MC2"),
        "{body}"
    );
    assert!(
        body.contains("action needed soon") && body.contains("MC3"),
        "{body}"
    );
    assert!(body.contains("act by 2026-03-20"), "{body}");
    assert!(
        !body.contains("MC4"),
        "act-by in six months is not soon: {body}"
    );
}

fn incident(
    id: &str,
    service: &str,
    status: &str,
    resolved: bool,
    modified: &str,
) -> changedesk_core::Incident {
    changedesk_core::Incident::from_graph(
        &json!({
            "id": id,
            "title": format!("{id}: users may see delays"),
            "classification": "incident",
            "origin": "microsoft",
            "status": status,
            "service": service,
            "feature": "Mail flow",
            "featureGroup": "E-Mail and calendar access",
            "isResolved": resolved,
            "impactDescription": "Users may see delays.",
            "startDateTime": "2026-03-09T08:00:00Z",
            "lastModifiedDateTime": modified,
            "details": [],
            "posts": []
        }),
        0,
    )
    .unwrap()
}

async fn incidents(s: &Setup, tenant: &str, list: &[changedesk_core::Incident], now: &str) {
    s.store
        .import_incidents(
            tenant,
            list,
            &ImportOptions {
                complete: true,
                now: at(now),
                source: "test".into(),
                rejected: 0,
            },
        )
        .await
        .unwrap();
}

/// Service Health incidents tell the channels of their service and
/// tenants: a new incident, its updates and its resolution, each once; an
/// incident seen only in a tenant's first load (the baseline) tells
/// nobody; a tenant-limited channel hears only of its tenants' incidents.
async fn incidents_tell_their_service_and_tenants(store: Store) {
    let s = setup(store).await;
    add(
        &s,
        ChannelRequest {
            name: "servicedesk".into(),
            kind: Some("email".into()),
            recipients: vec!["servicedesk@example.com".into()],
            events: vec![
                "incident.new".into(),
                "incident.updated".into(),
                "incident.resolved".into(),
            ],
            services: vec!["Exchange Online".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
    )
    .await;
    // first loads: EX0 is the baseline
    incidents(
        &s,
        "alpha",
        &[incident(
            "EX0",
            "Exchange Online",
            "serviceDegradation",
            false,
            "2026-03-09T08:00:00Z",
        )],
        "2026-03-09T09:00:00Z",
    )
    .await;
    incidents(&s, "beta", &[], "2026-03-09T09:00:00Z").await;
    add(
        &s,
        ChannelRequest {
            name: "beta-desk".into(),
            kind: Some("email".into()),
            recipients: vec!["beta-desk@example.com".into()],
            events: vec!["incident.new".into()],
            tenants: vec!["beta".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
    )
    .await;
    let r = s.outbox.run_once(at("2026-03-09T09:00:10Z")).await.unwrap();
    assert_eq!(r.events, 0, "the baseline tells nobody: {r:?}");
    // EX1 (Exchange) and SP1 (SharePoint) appear in alpha's next load
    incidents(
        &s,
        "alpha",
        &[
            incident(
                "EX0",
                "Exchange Online",
                "serviceDegradation",
                false,
                "2026-03-09T08:00:00Z",
            ),
            incident(
                "EX1",
                "Exchange Online",
                "investigating",
                false,
                "2026-03-09T10:00:00Z",
            ),
            incident(
                "SP1",
                "SharePoint Online",
                "investigating",
                false,
                "2026-03-09T10:00:00Z",
            ),
        ],
        "2026-03-09T10:00:00Z",
    )
    .await;
    let r = s.outbox.run_once(at("2026-03-09T10:00:10Z")).await.unwrap();
    assert_eq!(r.events, 2, "{r:?}");
    let got = mails(&s);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "servicedesk@example.com");
    assert!(got[0].2.contains("New Service Health incident") && got[0].2.contains("EX1"));
    assert!(!got[0].2.contains("SP1"), "another service");
    // nothing new: nothing told
    let r = s.outbox.run_once(at("2026-03-09T10:30:00Z")).await.unwrap();
    assert_eq!(r.events, 0, "{r:?}");
    // updated, then resolved; beta starts seeing EX1 too
    incidents(
        &s,
        "alpha",
        &[incident(
            "EX1",
            "Exchange Online",
            "serviceDegradation",
            false,
            "2026-03-09T11:00:00Z",
        )],
        "2026-03-09T11:00:00Z",
    )
    .await;
    s.outbox.run_once(at("2026-03-09T11:00:10Z")).await.unwrap();
    incidents(
        &s,
        "alpha",
        &[incident(
            "EX1",
            "Exchange Online",
            "serviceRestored",
            true,
            "2026-03-09T12:00:00Z",
        )],
        "2026-03-09T12:00:00Z",
    )
    .await;
    s.outbox.run_once(at("2026-03-09T12:00:10Z")).await.unwrap();
    let got = mails(&s);
    let bodies: Vec<&str> = got.iter().map(|(_, _, b)| b.as_str()).collect();
    assert_eq!(got.len(), 3, "{bodies:?}");
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("Incident updated: serviceDegradation"))
    );
    assert!(bodies.iter().any(|b| b.contains("Incident resolved")));
    assert!(
        bodies.iter().all(|b| !b.contains("beta")),
        "beta never saw EX1, and servicedesk hears of every tenant"
    );
    assert!(
        !got.iter().any(|(to, _, _)| to == "beta-desk@example.com"),
        "beta's desk hears only of beta"
    );
    // a new incident in beta (not its first load) reaches beta's desk
    incidents(
        &s,
        "beta",
        &[incident(
            "EX9",
            "Exchange Online",
            "investigating",
            false,
            "2026-03-09T13:00:00Z",
        )],
        "2026-03-09T13:00:00Z",
    )
    .await;
    s.outbox.run_once(at("2026-03-09T13:00:10Z")).await.unwrap();
    let got = mails(&s);
    let beta: Vec<&(String, String, String)> = got
        .iter()
        .filter(|(to, _, _)| to == "beta-desk@example.com")
        .collect();
    assert_eq!(beta.len(), 1);
    assert!(beta[0].2.contains("EX9") && !beta[0].2.contains("alpha"));
}

/// A tenant whose sync keeps failing is told once, at the third failure in
/// a row, with the error; and once more when it works again.
async fn a_failing_tenant_sync_is_told_once(store: Store) {
    let s = setup(store).await;
    baseline(&s, &["alpha"]).await;
    add(
        &s,
        ChannelRequest {
            name: "admins".into(),
            kind: Some("email".into()),
            recipients: vec!["m365-admins@example.com".into()],
            events: vec!["tenant.sync_failing".into(), "tenant.sync_recovered".into()],
            batch_minutes: Some(0),
            ..Default::default()
        },
    )
    .await;
    let error = "token request failed: AADSTS7000222: the client secret keys are expired";
    for (i, hour) in ["10", "11", "12", "13"].iter().enumerate() {
        let now = format!("2026-03-02T{hour}:00:00Z");
        s.store
            .record_sync("alpha", &at(&now), Some(error))
            .await
            .unwrap();
        s.outbox.run_once(at(&now)).await.unwrap();
        assert_eq!(
            mails(&s).len(),
            usize::from(i >= 2),
            "after {} failures",
            i + 1
        );
    }
    let got = mails(&s);
    assert!(
        got[0].1.contains("The sync of alpha keeps failing"),
        "{}",
        got[0].1
    );
    assert!(got[0].2.contains("AADSTS7000222"), "{}", got[0].2);
    s.store
        .record_sync("alpha", &at("2026-03-02T14:00:00Z"), None)
        .await
        .unwrap();
    s.store
        .record_sync("alpha", &at("2026-03-02T15:00:00Z"), None)
        .await
        .unwrap();
    s.outbox.run_once(at("2026-03-02T15:00:10Z")).await.unwrap();
    let got = mails(&s);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .any(|(_, subject, _)| subject.contains("works again"))
    );
}

/// A daily digest gathers the day's events into one message at its time
/// in its time zone, whatever the batching window.
async fn a_daily_digest_goes_out_at_its_time(store: Store) {
    let s = setup(store).await;
    baseline(&s, &["alpha"]).await;
    add(
        &s,
        ChannelRequest {
            name: "daily".into(),
            kind: Some("email".into()),
            recipients: vec!["daily@example.com".into()],
            digest: Some(changedesk_server::outbox::DigestRequest {
                weekday: None,
                at: "08:00".into(),
                time_zone: Some("Europe/Paris".into()),
            }),
            ..Default::default()
        },
    )
    .await;
    for (id, when) in [
        ("MC2", "2026-03-02T09:00:00Z"),
        ("MC3", "2026-03-02T16:00:00Z"),
    ] {
        load(
            &s,
            &["alpha"],
            &[post(id, when, &["Exchange Online"], "normal")],
            when,
        )
        .await;
        s.outbox.run_once(at(when)).await.unwrap();
    }
    s.outbox.run_once(at("2026-03-03T06:59:00Z")).await.unwrap();
    assert!(mails(&s).is_empty(), "before 08:00 in Paris");
    // 08:00 in Paris is 07:00 UTC in March
    let r = s.outbox.run_once(at("2026-03-03T07:00:00Z")).await.unwrap();
    assert_eq!(r.composed, 1, "{r:?}");
    let got = mails(&s);
    assert_eq!(got.len(), 1);
    assert!(got[0].1.contains("Daily digest: 2 changes"), "{}", got[0].1);
    assert!(got[0].2.contains("MC2") && got[0].2.contains("MC3"));
    let channels = s.store.channels().await.unwrap();
    assert!(
        channels[0]
            .settings
            .describe()
            .contains("digest daily at 08:00 Europe/Paris")
    );
}

/// People subscribe themselves (any signed-in person, on the web UI's "My
/// notifications"): a tenant-limited person is told only of their tenants,
/// never another tenant's name or how many see a post, and cannot choose a
/// tenant they do not see; an unlimited person gets the post once, with
/// every tenant.
async fn people_subscribe_to_what_they_see(store: Store) {
    use changedesk_core::access::{Role, Scope};
    let s = setup(store).await;
    baseline(&s, &["alpha", "beta"]).await;
    super::ui::user(
        &s.store,
        "pat",
        Role::Reader,
        Scope {
            tenants: vec!["beta".into()],
            groups: vec![],
        },
    )
    .await;
    super::ui::user(&s.store, "max", Role::Reader, Scope::default()).await;
    let f = super::ui::Fixture {
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
    let pat = super::ui::sign_in(&f, "pat").await;
    let page = pat.get(&f, "/me/notifications").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("You are not subscribed"),
        "{}",
        page.body
    );
    let refused = pat
        .post(
            &f,
            "/me/notifications",
            &[("tenants", "alpha"), ("cadence", "immediately")],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("no tenant you see is named"),
        "{}",
        refused.body
    );
    let saved = pat
        .post(
            &f,
            "/me/notifications",
            &[("event", "post.routed"), ("cadence", "immediately")],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert!(
        saved.body.contains("You are told by e-mail"),
        "{}",
        saved.body
    );
    let max = super::ui::sign_in(&f, "max").await;
    let saved = max
        .post(&f, "/me/notifications", &[("event", "post.routed")])
        .await;
    assert_eq!(saved.status, 200, "{}", saved.body);

    load(
        &s,
        &["alpha", "beta"],
        &[post(
            "MC2",
            "2026-03-02T09:00:00Z",
            &["Microsoft Teams"],
            "normal",
        )],
        "2026-03-02T09:00:00Z",
    )
    .await;
    load(
        &s,
        &["alpha"],
        &[post(
            "MC3",
            "2026-03-02T09:00:00Z",
            &["Microsoft Teams"],
            "normal",
        )],
        "2026-03-02T09:00:00Z",
    )
    .await;
    s.outbox.run_once(at("2026-03-02T09:00:10Z")).await.unwrap();
    s.outbox.run_once(at("2026-03-02T09:06:00Z")).await.unwrap();
    let got = mails(&s);
    let of = |who: &str| -> Vec<String> {
        got.iter()
            .filter(|(to, _, _)| to == who)
            .map(|(_, _, b)| b.clone())
            .collect()
    };
    let pats = of("pat@example.com");
    assert_eq!(pats.len(), 1, "{got:?}");
    assert!(
        pats[0].contains("MC2") && !pats[0].contains("MC3"),
        "{}",
        pats[0]
    );
    assert!(
        !pats[0].contains("alpha"),
        "another tenant's name: {}",
        pats[0]
    );
    assert!(pats[0].contains("Tenants: beta"), "{}", pats[0]);
    assert!(
        pats[0].contains("https://changedesk.example/me/notifications"),
        "the preferences link: {}",
        pats[0]
    );
    let maxs = of("max@example.com");
    assert_eq!(maxs.len(), 1);
    assert!(maxs[0].contains("MC2") && maxs[0].contains("MC3"));
    assert!(maxs[0].contains("Tenants: alpha, beta"), "{}", maxs[0]);
    // the API says the same
    let api = pat.get(&f, "/api/v1/me/subscription").await;
    assert_eq!(api.status, 200, "{}", api.body);
    assert!(api.body.contains("\"person\":\"pat\""), "{}", api.body);
}

/// An owner's weekly review: at its time, once per week, their part of the
/// agenda (here what awaits their triage), whether or not anything happened
/// that day; none for a week before the channel existed.
async fn an_owner_gets_a_weekly_review(store: Store) {
    let s = setup(store).await;
    baseline(&s, &["alpha"]).await;
    load(
        &s,
        &["alpha"],
        &[
            post(
                "MC2",
                "2026-03-02T09:00:00Z",
                &["Microsoft Teams"],
                "normal",
            ),
            post(
                "MC3",
                "2026-03-02T09:00:00Z",
                &["Exchange Online"],
                "normal",
            ),
        ],
        "2026-03-02T09:00:00Z",
    )
    .await;
    add(
        &s,
        ChannelRequest {
            name: "collab-review".into(),
            kind: Some("email".into()),
            owner: Some("collab".into()),
            // only the review: no event kind it would otherwise hear of
            events: vec!["changedesk.test".into()],
            review: Some(changedesk_server::outbox::DigestRequest {
                weekday: Some("monday".into()),
                at: "08:00".into(),
                time_zone: Some("UTC".into()),
            }),
            ..Default::default()
        },
    )
    .await;
    // created on Sunday 1 March: Monday 2 March 08:00 is its first review,
    // but the posts came at 09:00; the next Monday has them
    s.outbox.run_once(at("2026-03-05T12:00:00Z")).await.unwrap();
    assert!(mails(&s).is_empty(), "no review before its time");
    let r = s.outbox.run_once(at("2026-03-09T08:00:30Z")).await.unwrap();
    assert_eq!(r.delivered, 1, "{r:?}");
    let got = mails(&s);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "collab@example.com");
    assert!(
        got[0].1.contains("Review for collab: 2 items"),
        "MC1 (the baseline) and MC2: {}",
        got[0].1
    );
    assert!(
        got[0].2.contains("Awaiting triage") && got[0].2.contains("MC2"),
        "{}",
        got[0].2
    );
    assert!(!got[0].2.contains("MC3"), "messaging's post: {}", got[0].2);
    // once a week
    s.outbox.run_once(at("2026-03-09T09:00:00Z")).await.unwrap();
    s.outbox.run_once(at("2026-03-12T09:00:00Z")).await.unwrap();
    assert_eq!(mails(&s).len(), 1);
    s.outbox.run_once(at("2026-03-16T08:01:00Z")).await.unwrap();
    assert_eq!(mails(&s).len(), 2);
}

both!(
    an_owner_gets_a_weekly_review,
    people_subscribe_to_what_they_see,
    a_daily_digest_goes_out_at_its_time,
    a_failing_tenant_sync_is_told_once,
    incidents_tell_their_service_and_tenants,
    major_changes_and_act_by_soon_are_told,
    unsubscribe_links_need_no_sign_in,
    email_through_graph_send_mail,
    a_batch_is_one_message_per_channel_to_the_right_people,
    quiet_hours_defer_all_but_urgent,
    teams_is_paced_and_loses_nothing,
);
