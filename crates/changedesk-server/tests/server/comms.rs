//! Communications of changes (issue 21 item 4), on SQLite and PostgreSQL:
//! asked for by the item's owner, drafted from the post, edited by comms,
//! approved, sent once through an e-mail channel (each recipient's own
//! signed links) or a Teams flow (one pair of links; the page asks who),
//! acknowledged through the links' pages without signing in (a GET records
//! nothing), bounded by the audience, and measured: reach, acknowledgements
//! and before the rollout, in the report an analytics reader sees — who
//! sees nothing else.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use changedesk_core::access::{Role, Scope};
use changedesk_notify::WebhookSender;
use changedesk_secrets::Keyring;
use changedesk_server::http::{self, AppState, CommsSetup, Settings};
use changedesk_server::outbox::{ChannelRequest, MailSetup, Mailer, Outbox, new_channel};
use changedesk_store::Store;
use serde_json::{Value, json};

use super::ui::{Fixture, NOW, fixture, send, sign_in, sign_in_home, user};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const BASE: &str = "https://cd.example";

fn at(s: &str) -> changedesk_core::Timestamp {
    changedesk_core::Timestamp::parse(s).unwrap()
}

fn ring() -> Keyring {
    Keyring::from_text(KEY, &[]).unwrap()
}

/// The UI fixture (owen owns MC1, whose body says the rollout begins in
/// May 2026), served with the secret key and the public address, plus
/// cleo (comms) and ana (analytics reader); an e-mail channel `all-staff`
/// to three people.
async fn comms_fixture(store: Store) -> (Fixture, Outbox, tempfile::TempDir) {
    comms_fixture_with(store, None).await
}

/// As [`comms_fixture`], sending e-mail with `mailer` (else to a directory).
async fn comms_fixture_with(
    store: Store,
    mailer: Option<Mailer>,
) -> (Fixture, Outbox, tempfile::TempDir) {
    let f = fixture(store, 0).await;
    user(&f.store, "cleo", Role::Comms, Scope::default()).await;
    user(&f.store, "ana", Role::AnalyticsReader, Scope::default()).await;
    let (c, _) = new_channel(
        &ring(),
        &ChannelRequest {
            name: "all-staff".into(),
            kind: Some("email".into()),
            recipients: vec![
                "a@example.com".into(),
                "b@example.com".into(),
                "c@example.com".into(),
            ],
            ..Default::default()
        },
        &[],
        &[],
        "admin",
        at("2026-03-01T00:00:00Z"),
    )
    .unwrap();
    f.store.create_channel(&c).await.unwrap();
    let state = AppState::new(
        f.store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(NOW))
    .with_keyring(Arc::new(ring()))
    .with_comms(CommsSetup {
        public_url: Some(BASE.into()),
        ..Default::default()
    });
    let mail = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(
        f.store.clone(),
        Some(Arc::new(ring())),
        WebhookSender::new(Duration::from_secs(2)).unwrap(),
    );
    outbox.public_url = Some(BASE.into());
    outbox.mail = Some(MailSetup {
        from: "changedesk <changedesk@example.com>".into(),
        reply_to: None,
        mailer: mailer.unwrap_or_else(|| Mailer::Directory(mail.path().to_path_buf())),
    });
    (
        Fixture {
            app: http::router(state, true),
            store: f.store,
        },
        outbox,
        mail,
    )
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The captured e-mails: (recipient, whole text).
fn mails(dir: &tempfile::TempDir) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("eml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let to = text
                .lines()
                .find_map(|l| l.strip_prefix("To: "))
                .unwrap_or("")
                .to_string();
            (to, text)
        })
        .collect();
    out.sort();
    out
}

/// The "Got it" link of a message's text part.
fn ack_link(text: &str) -> String {
    let unfolded = text.replace("=\r\n", "").replace("=\n", "");
    unfolded
        .match_indices(&format!("{BASE}/c/"))
        .map(|(i, _)| {
            unfolded[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/:.-_".contains(*c))
                .collect::<String>()
        })
        .find(|l| l.ends_with("/ack"))
        .unwrap_or_else(|| panic!("no Got it link in {text}"))
}

async fn anonymous(f: &Fixture, method: &str, path: &str, body: &str) -> super::ui::Answer {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    send(&f.app, req).await
}

async fn a_communication_is_drafted_approved_sent_acknowledged_and_measured(store: Store) {
    let (f, outbox, mail) = comms_fixture(store).await;
    let owen = sign_in(&f, "owen").await;
    let cleo = sign_in(&f, "cleo").await;
    let reader = sign_in(&f, "reader").await;

    // the item's owner asks for it from the post: a draft made from the post
    let a = owen
        .post(&f, "/posts/MC1/comms", &[("audience_label", "All staff")])
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let id: i64 = a
        .location()
        .trim_start_matches("/comms/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let c = json_of(&cleo.get(&f, &format!("/api/v1/comms/{id}")).await.body);
    assert_eq!(c["state"], "draft");
    assert_eq!(
        c["assignee"], "cleo",
        "the one comms user is the comms lead"
    );
    let subject = c["subject"].as_str().unwrap();
    assert!(subject.contains("meeting recap"), "{subject}");
    let body = c["body"].as_str().unwrap();
    assert!(body.contains("Who is affected: All staff."), "{body}");
    assert!(body.contains("May 2026"), "the timeline's rollout: {body}");
    // a reader may not ask; the owner may not edit
    let r = reader.post(&f, "/posts/MC1/comms", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let edit = json!({"version": c["version"], "subject": "Teams: meeting recaps for everyone",
        "body": "Hello,\n\nFrom May, every Teams meeting gets a recap.\n\nNothing to do.",
        "audience_label": "All staff", "channel": "all-staff"});
    let r = owen
        .send_json(&f, "PUT", &format!("/api/v1/comms/{id}"), &edit)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // comms edits it
    let r = cleo
        .send_json(&f, "PUT", &format!("/api/v1/comms/{id}"), &edit)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = json_of(&r.body);
    assert_eq!(
        (c["state"].as_str(), c["channel"].as_str()),
        (Some("draft"), Some("all-staff"))
    );
    // a stale version is a conflict; a draft is not sent
    let r = cleo
        .send_json(&f, "PUT", &format!("/api/v1/comms/{id}"), &edit)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let v = json!({"version": c["version"]});
    let r = cleo
        .send_json(&f, "POST", &format!("/api/v1/comms/{id}/send"), &v)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("approved before"), "{}", r.body);
    // the item's owner approves; comms sends (the web UI's forms)
    let r = owen
        .post(
            &f,
            &format!("/comms/{id}/approve"),
            &[("version", &c["version"].to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let c = json_of(&cleo.get(&f, &format!("/api/v1/comms/{id}")).await.body);
    assert_eq!(
        (c["state"].as_str(), c["approved_by"].as_str()),
        (Some("approved"), Some("owen"))
    );
    let r = cleo
        .post(
            &f,
            &format!("/comms/{id}/send"),
            &[("version", &c["version"].to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let c = json_of(&cleo.get(&f, &format!("/api/v1/comms/{id}")).await.body);
    assert_eq!(c["state"], "sent");
    assert_eq!(c["sent_to"], 3);
    assert_eq!(c["delivery_state"], "pending");
    assert_eq!(c["reached"], 0, "nobody reached before delivery");
    // sent once: sending again is refused
    let r = cleo
        .send_json(
            &f,
            "POST",
            &format!("/api/v1/comms/{id}/send"),
            &json!({"version": c["version"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // the outbox delivers it: one message per recipient, each its own links
    let round = outbox.run_once(at("2026-03-10T09:05:00Z")).await.unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    let got = mails(&mail);
    assert_eq!(got.len(), 3);
    let links: Vec<String> = got.iter().map(|(_, t)| ack_link(t)).collect();
    assert!(links[0] != links[1] && links[1] != links[2], "{links:?}");
    for (to, text) in &got {
        assert!(text.contains("every Teams meeting gets a recap"), "{text}");
        assert!(
            !text.contains("CHANGEDESK0ACK0LINK") && !text.contains("CHANGEDESK0READ0LINK"),
            "{text}"
        );
        assert!(
            !text.contains("List-Unsubscribe"),
            "a communication is not a subscription: {to}"
        );
    }
    let c = json_of(&cleo.get(&f, &format!("/api/v1/comms/{id}")).await.body);
    assert_eq!(
        (c["delivery_state"].as_str(), c["reached"].as_u64()),
        (Some("delivered"), Some(3))
    );
    assert_eq!(
        c["before_rollout"], true,
        "delivered in March, rollout in May"
    );

    // following the link shows a page and records nothing (mail scanners)
    let path = links[0].trim_start_matches(BASE).to_string();
    let page = anonymous(&f, "GET", &path, "").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("Got it") && page.body.contains("a@example.com"),
        "{}",
        page.body
    );
    let read = anonymous(&f, "GET", path.trim_end_matches("/ack"), "").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.body.contains("every Teams meeting gets a recap"),
        "{}",
        read.body
    );
    assert_eq!(
        json_of(&cleo.get(&f, &format!("/api/v1/comms/{id}")).await.body)["acks"],
        0
    );
    // the button's POST records it, once
    let r = anonymous(&f, "POST", &path, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("is recorded"), "{}", r.body);
    let r = anonymous(&f, "POST", &path, "who=someone-else%40example.com").await;
    assert!(
        r.body.contains("already"),
        "the link's recipient, whatever is typed: {}",
        r.body
    );
    // forged or altered links: refused, nothing written
    let mut altered = path.clone();
    altered.replace_range(5..6, if &path[5..6] == "A" { "B" } else { "A" });
    for bad in [altered.as_str(), "/c/AAAA/ack", "/c/%E6%97%A5/ack"] {
        let r = anonymous(&f, "POST", bad, "").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {}", r.body);
    }
    let c = json_of(&cleo.get(&f, &format!("/api/v1/comms/{id}")).await.body);
    assert_eq!(c["acks"], 1);

    // measured, for an analytics reader, who sees the reports only
    let ana = sign_in_home(&f, "ana", "/me/settings").await;
    let r = ana.get(&f, "/api/v1/reports/communications?days=30").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rep = json_of(&r.body);
    assert_eq!(
        (rep["sent"].as_u64(), rep["delivered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        (rep["reached"].as_u64(), rep["acks"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(rep["before_rollout"], 1);
    assert!(
        (rep["ack_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9,
        "{rep}"
    );
    let m = json_of(&ana.get(&f, "/api/v1/reports/maturity").await.body);
    let criterion = m["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "communications_measured")
        .unwrap_or_else(|| panic!("{m}"))
        .clone();
    assert_ne!(criterion["status"], "not measured", "{criterion}");
    assert!(
        criterion["evidence"]
            .as_str()
            .unwrap()
            .contains("1 communication"),
        "{criterion}"
    );
    for path in [
        "/api/v1/comms",
        "/api/v1/posts",
        "/api/v1/items",
        "/api/v1/me/subscription",
        "/comms",
        "/items",
    ] {
        let r = ana.get(&f, path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }
    let home = ana.get(&f, "/").await;
    assert_eq!(
        (home.status, home.location()),
        (StatusCode::SEE_OTHER, "/reports")
    );
    let reports = ana.get(&f, "/reports").await;
    assert_eq!(reports.status, StatusCode::OK, "{}", reports.body);
    assert!(
        !reports.body.contains("href=\"/board\""),
        "the menu shows the reports only"
    );

    // every change a person made is in the audit log
    let audit: Vec<String> = f
        .store
        .audit_log(200)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.target == format!("communication {id}"))
        .map(|a| format!("{} {}", a.action, a.actor))
        .collect();
    for want in [
        "comms.request owen",
        "comms.edit cleo",
        "comms.approve owen",
        "comms.send cleo",
    ] {
        assert!(audit.iter().any(|a| a == want), "{want} in {audit:?}");
    }
    // and the post page lists it with its measure
    let post = owen.get(&f, "/posts/MC1").await;
    assert!(
        post.body.contains(&format!("/comms/{id}")) && post.body.contains("1 of 3 acknowledged"),
        "{}",
        post.body
    );
}

/// Through a Teams flow: one card with one pair of links; the page asks
/// who acknowledges, and no more people than the audience can.
async fn a_teams_message_is_acknowledged_by_name_within_its_audience(store: Store) {
    let (f, outbox, _mail) = comms_fixture(store).await;
    let flow = changedesk_sim::teams::start_flow(Default::default())
        .await
        .unwrap();
    let (c, _) = new_channel(
        &ring(),
        &ChannelRequest {
            name: "staff-channel".into(),
            kind: Some("teams".into()),
            url: Some(flow.url()),
            allow_private: true,
            ..Default::default()
        },
        &[],
        &[],
        "admin",
        at("2026-03-01T00:00:00Z"),
    )
    .unwrap();
    f.store.create_channel(&c).await.unwrap();
    let admin = sign_in(&f, "admin").await;
    let r = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/posts/MC666/comms",
            &json!({"audience_label": "Mail users",
            "channel": "staff-channel"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = json_of(&r.body);
    let id = c["id"].as_i64().unwrap();
    // a Teams channel's audience is its size: without one, not sent
    let r = admin
        .send_json(
            &f,
            "POST",
            &format!("/api/v1/comms/{id}/approve"),
            &json!({"version": c["version"]}),
        )
        .await;
    let c = json_of(&r.body);
    let r = admin
        .send_json(
            &f,
            "POST",
            &format!("/api/v1/comms/{id}/send"),
            &json!({"version": c["version"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("how many people"), "{}", r.body);
    let edit = json!({"version": c["version"], "subject": c["subject"], "body": c["body"],
        "audience_label": "Mail users", "audience_size": 2, "channel": "staff-channel"});
    let c = json_of(
        &admin
            .send_json(&f, "PUT", &format!("/api/v1/comms/{id}"), &edit)
            .await
            .body,
    );
    assert_eq!(c["state"], "draft", "an edited text is approved again");
    let c = json_of(
        &admin
            .send_json(
                &f,
                "POST",
                &format!("/api/v1/comms/{id}/approve"),
                &json!({"version": c["version"]}),
            )
            .await
            .body,
    );
    let r = admin
        .send_json(
            &f,
            "POST",
            &format!("/api/v1/comms/{id}/send"),
            &json!({"version": c["version"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let round = outbox.run_once(at("2026-03-10T09:05:00Z")).await.unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    let posted = flow.posted();
    assert_eq!(posted.len(), 1);
    // Teams shows a TextBlock's text as text: the hostile title is a string
    assert!(
        posted[0].card["body"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("Hostile post"),
        "{}",
        posted[0].card
    );
    let url = posted[0].card["actions"][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        url.starts_with(&format!("{BASE}/c/")) && url.ends_with("/ack"),
        "{url}"
    );
    let path = url.trim_start_matches(BASE).to_string();
    let page = anonymous(&f, "GET", &path, "").await;
    assert!(page.body.contains("Your e-mail address"), "{}", page.body);
    let r = anonymous(&f, "POST", &path, "who=").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    for (who, status, says) in [
        ("Ana%40Contoso.com", StatusCode::OK, "is recorded"),
        ("ana%40contoso.com+", StatusCode::OK, "already"),
        ("bo%40contoso.com", StatusCode::OK, "is recorded"),
        ("cy%40contoso.com", StatusCode::CONFLICT, "As many people"),
    ] {
        let r = anonymous(&f, "POST", &path, &format!("who={who}")).await;
        assert_eq!(r.status, status, "{who}: {}", r.body);
        assert!(r.body.contains(says), "{who}: {}", r.body);
    }
    let c = json_of(&admin.get(&f, &format!("/api/v1/comms/{id}")).await.body);
    assert_eq!(
        (c["acks"].as_u64(), c["reached"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(c["ack_rate"], 1.0);
    flow.shutdown().await;
}

/// A rule's `communication = true` asks for a communication once per post:
/// not for the baseline (a tenant's first load tells nobody), and not again
/// on the next run or revision.
async fn the_rules_ask_for_the_communications_they_require(store: Store) {
    use changedesk_server::triage::{Triage, apply_rules};
    store
        .seed(
            &changedesk_store::TriageSeed {
                rules: vec![changedesk_store::SeedRule {
                    name: "Teams needs telling".into(),
                    enabled: true,
                    spec: json!({"name": "Teams needs telling", "when": "services has \"Microsoft Teams\"",
                        "then": {"communication": true}, "enabled": true}),
                }],
                ..Default::default()
            },
            &at("2026-03-01T00:00:00Z"),
        )
        .await
        .unwrap();
    user(&store, "cleo", Role::Comms, Scope::default()).await;
    let post = |id: &str, when: &str, services: &[&str]| {
        changedesk_core::Message::from_graph(
            &json!({"id": id, "title": format!("{id}: meeting recaps"), "category": "planForChange",
                "severity": "normal", "startDateTime": when, "lastModifiedDateTime": when,
                "services": services,
                "body": {"contentType": "html", "content": "<p>[When this will happen:]</p><p>Rollout begins in May 2026.</p>"}}),
            0,
        )
        .unwrap()
    };
    let load = |posts: Vec<changedesk_core::Message>, now: &'static str, complete: bool| {
        let store = store.clone();
        async move {
            store
                .import_messages(
                    "alpha",
                    &posts,
                    &changedesk_store::ImportOptions {
                        complete,
                        now: at(now),
                        source: "test".into(),
                        rejected: 0,
                    },
                )
                .await
                .unwrap();
        }
    };
    let triage = Triage::load(&store, Default::default()).await.unwrap();
    // the baseline: required, but nobody is told of it
    load(
        vec![post("MC1", "2026-03-01T00:00:00Z", &["Microsoft Teams"])],
        "2026-03-01T00:00:00Z",
        true,
    )
    .await;
    let s = apply_rules(&store, &triage, at("2026-03-01T00:00:00Z"), false)
        .await
        .unwrap();
    assert_eq!(s.comms_requested, 0, "{s:?}");
    // new posts: the Teams one is drafted, the Exchange one is not
    load(
        vec![
            post("MC2", "2026-03-02T00:00:00Z", &["Microsoft Teams"]),
            post("MC3", "2026-03-02T00:00:00Z", &["Exchange Online"]),
        ],
        "2026-03-02T00:00:00Z",
        false,
    )
    .await;
    let s = apply_rules(&store, &triage, at("2026-03-02T00:00:00Z"), false)
        .await
        .unwrap();
    assert_eq!(s.comms_requested, 1, "{s:?}");
    let all = store.comms_all(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    let c = &all[0];
    assert_eq!(
        (c.post_id.as_str(), c.requested_by.as_str()),
        ("MC2", "rules")
    );
    assert_eq!(c.assignee.as_deref(), Some("cleo"));
    assert!(c.text.body.contains("May 2026"), "{}", c.text.body);
    // a revision and another run ask for nothing more
    load(
        vec![post("MC2", "2026-03-03T00:00:00Z", &["Microsoft Teams"])],
        "2026-03-03T00:00:00Z",
        false,
    )
    .await;
    let s = apply_rules(&store, &triage, at("2026-03-03T00:00:00Z"), false)
        .await
        .unwrap();
    assert_eq!(s.comms_requested, 0, "{s:?}");
    assert_eq!(store.comms_all(&Default::default()).await.unwrap().len(), 1);
    let audit = store.audit_log(50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "comms.request" && a.actor == "rules"),
        "{audit:?}"
    );
}

/// The capture harness of changedesk-notify's SMTP tests (aiosmtpd).
const SMTP_HARNESS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../changedesk-notify/tests/smtp_capture.py"
);

/// A real SMTP server (aiosmtpd) capturing to a directory; killed on drop.
struct Smtp {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the harness when `CHANGEDESK_TEST_SMTP` is set (then a missing
/// aiosmtpd fails the test); `None` after saying why it is skipped.
fn smtp_server() -> Option<Smtp> {
    use std::io::BufRead as _;
    if std::env::var_os("CHANGEDESK_TEST_SMTP").is_none_or(|v| v.is_empty()) {
        eprintln!("skipped: set CHANGEDESK_TEST_SMTP=1 (needs python3-aiosmtpd)");
        return None;
    }
    let python = std::env::var("CHANGEDESK_TEST_SMTP_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/bin/python3".into());
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(&python)
        .arg(SMTP_HARNESS)
        .arg("--dir")
        .arg(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("CHANGEDESK_TEST_SMTP is set, but {python} cannot start: {e}"));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut reader, &mut rest);
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    let port = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            panic!("the SMTP harness did not start (is python3-aiosmtpd installed?): {line:?}")
        });
    Some(Smtp { child, port, dir })
}

/// The proof: a communication asked for, drafted, approved, sent to
/// a real SMTP server, acknowledged through the signed link the captured
/// message carries, and reported as reached before the rollout.
async fn a_communication_reaches_a_real_smtp_server(store: Store) {
    let Some(smtp) = smtp_server() else { return };
    let mailer =
        changedesk_notify::email::SmtpMailer::new(changedesk_notify::email::SmtpSettings {
            host: "127.0.0.1".into(),
            port: smtp.port,
            security: changedesk_notify::email::SmtpSecurity::Plain,
            auth: changedesk_notify::email::SmtpAuth::None,
            from: "changedesk <changedesk@example.com>".into(),
            reply_to: None,
            timeout: Duration::from_secs(10),
            extra_root_pem: None,
        })
        .unwrap();
    let (f, outbox, _unused) = comms_fixture_with(store, Some(Mailer::Smtp(mailer))).await;
    let cleo = sign_in(&f, "cleo").await;
    let r = cleo
        .send_json(
            &f,
            "POST",
            "/api/v1/posts/MC1/comms",
            &json!({"audience_label": "All staff", "channel": "all-staff"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = json_of(&r.body);
    let id = c["id"].as_i64().unwrap();
    let c = json_of(
        &cleo
            .send_json(
                &f,
                "POST",
                &format!("/api/v1/comms/{id}/approve"),
                &json!({"version": c["version"]}),
            )
            .await
            .body,
    );
    let r = cleo
        .send_json(
            &f,
            "POST",
            &format!("/api/v1/comms/{id}/send"),
            &json!({"version": c["version"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let round = outbox.run_once(at("2026-03-10T09:05:00Z")).await.unwrap();
    assert_eq!(round.delivered, 1, "{round:?}");
    // read back by Python's email package: three messages, one per recipient
    let mut captures: Vec<Value> = (1..=3)
        .map(|n| {
            let path = smtp.dir.path().join(format!("{n}.json"));
            json_of(
                &std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            )
        })
        .collect();
    assert!(!smtp.dir.path().join("4.json").exists());
    captures.sort_by_key(|c| c["rcpt_tos"].to_string());
    let text_of = |c: &Value| -> String {
        c["message"]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["content_type"] == "text/plain")
            .and_then(|p| p["content"].as_str())
            .unwrap_or_else(|| panic!("no text part: {c}"))
            .to_string()
    };
    assert_eq!(captures[0]["rcpt_tos"], json!(["a@example.com"]));
    let text = text_of(&captures[0]);
    assert!(text.contains("Who is affected: All staff."), "{text}");
    let link = ack_link(&text);
    assert_ne!(
        link,
        ack_link(&text_of(&captures[1])),
        "each recipient their own"
    );
    let path = link.trim_start_matches(BASE).to_string();
    let page = anonymous(&f, "GET", &path, "").await;
    assert!(page.body.contains("a@example.com"), "{}", page.body);
    let r = anonymous(&f, "POST", &path, "").await;
    assert!(r.body.contains("is recorded"), "{}", r.body);
    let rep = json_of(
        &cleo
            .get(&f, "/api/v1/reports/communications?days=7")
            .await
            .body,
    );
    assert_eq!(
        (
            rep["delivered"].as_u64(),
            rep["reached"].as_u64(),
            rep["acks"].as_u64()
        ),
        (Some(1), Some(3), Some(1))
    );
    assert_eq!(rep["before_rollout"], 1, "{rep}");
}

both!(
    a_communication_reaches_a_real_smtp_server,
    the_rules_ask_for_the_communications_they_require,
    a_communication_is_drafted_approved_sent_acknowledged_and_measured,
    a_teams_message_is_acknowledged_by_name_within_its_audience,
);
