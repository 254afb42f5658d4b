//! Channels declared in the configuration file (`[[notify.channel]]`), on
//! SQLite and PostgreSQL: applying the file adds them (URLs and signing
//! secrets sealed, read from files and the environment), brings a changed
//! declaration up to date, disables a channel no longer declared (its
//! delivery log kept), changes nothing the second time, and audits each
//! change as `config`; a declaration that does not check is reported at its
//! key and changes nothing; the API, the web UI and the store refuse to
//! change a declared channel but send it a test. And `[notify]`'s
//! thresholds (`late_after_days`, `act_by_soon_days`,
//! `sync_failing_after`) decide which events are told.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};
use changedesk_core::config::{Config, ConfigFile, Sources};
use changedesk_core::notify::EventKind;
use changedesk_notify::WebhookSender;
use changedesk_secrets::Keyring;
use changedesk_server::declared::{Declarations, DeclareError, apply_declared};
use changedesk_server::outbox::{MailSetup, Mailer, Outbox, url_context};
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_store::{ChannelRow, DeclaredSummary, DeliveryFilter, ImportOptions, Store};
use secrecy::ExposeSecret as _;
use serde_json::json;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const DESK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn ring() -> Keyring {
    Keyring::from_text(KEY, &[]).unwrap()
}

/// A configuration directory: the file and the secret files it names.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// The configuration `text` as `serve` loads it (files read from disk,
    /// `vars` as the environment).
    fn load(&self, text: &str, vars: &[(&str, &str)]) -> Config {
        let path = self.path("changedesk.toml");
        let env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| e.to_string());
        changedesk_core::config::load(
            &Sources {
                file: Some(ConfigFile { path: &path, text }),
                env: &env,
                cli: Default::default(),
            },
            &read,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .config
    }

    async fn apply(
        &self,
        store: &Store,
        config: &Config,
        ring: Option<&Keyring>,
        now: &str,
    ) -> Result<DeclaredSummary, DeclareError> {
        let file = self.path("changedesk.toml");
        apply_declared(
            store,
            ring,
            &Declarations {
                file: &file,
                channels: &config.notify.channels,
                configured_tenants: &["alpha".to_string()],
            },
            "config",
            at(now),
        )
        .await
    }
}

/// Version 1: a signed webhook (its URL from a file, its secret from the
/// environment), a Teams channel (its URL in the file) and an owner's
/// e-mail channel.
fn v1(d: &Dir) -> String {
    format!(
        r#"[[notify.channel]]
name = "desk"
url_file = "{}"
secret_env = "DESK_SECRET"
events = ["post.routed"]
services = ["Exchange Online"]

[[notify.channel]]
name = "exo-teams"
kind = "teams"
url = "https://prod-1.westeurope.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=TEAMSSIG"
severities = ["high"]
tenants = ["alpha"]

[[notify.channel]]
name = "cab"
kind = "email"
recipients = ["cab@example.com"]
owner = "collab"
quiet = {{ from = "22:00", to = "07:00", time_zone = "Europe/Paris" }}
"#,
        d.path("desk_url")
    )
}

/// Version 2: the webhook's URL (in its file) and the Teams channel's
/// severities changed, the e-mail channel gone.
fn v2(d: &Dir) -> String {
    v1(d)
        .replace(
            "severities = [\"high\"]",
            "severities = [\"high\", \"critical\"]",
        )
        .split("[[notify.channel]]\nname = \"cab\"")
        .next()
        .unwrap()
        .to_string()
}

fn channel<'a>(rows: &'a [ChannelRow], name: &str) -> &'a ChannelRow {
    rows.iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no channel {name}"))
}

async fn audits(store: &Store) -> Vec<(String, String, String, String)> {
    let mut all: Vec<_> = store
        .audit_log(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("channel."))
        .map(|e| (e.actor, e.action, e.target, e.detail.to_string()))
        .collect();
    all.reverse();
    all
}

/// An outbox that writes e-mail to a directory.
fn outbox(store: &Store, mail: &Path) -> Outbox {
    let mut o = Outbox::new(
        store.clone(),
        Some(Arc::new(ring())),
        WebhookSender::new(Duration::from_secs(2)).unwrap(),
    );
    o.jitter = Arc::new(|| 0.5);
    o.mail = Some(MailSetup {
        from: "changedesk <changedesk@example.com>".into(),
        reply_to: None,
        mailer: Mailer::Directory(mail.to_path_buf()),
    });
    o
}

async fn declared_channels_are_added_updated_and_disabled(store: Store) {
    super::outbox::seed_two_owners(&store).await;
    let d = Dir::new();
    d.write("desk_url", "https://hooks.example/desk/DESKPATH\n");
    let env = [("DESK_SECRET", DESK_SECRET)];
    let file = d.path("changedesk.toml");
    let r = ring();
    // a channel added by hand is the file's business only if it declares it
    let (legacy, _) = changedesk_server::outbox::new_channel(
        &r,
        &changedesk_server::outbox::ChannelRequest {
            name: "legacy".into(),
            kind: Some("email".into()),
            recipients: vec!["legacy@example.com".into()],
            ..Default::default()
        },
        &[],
        &[],
        "admin",
        at("2026-03-01T00:00:00Z"),
    )
    .unwrap();
    store.create_channel(&legacy).await.unwrap();

    let c1 = d.load(&v1(&d), &env);
    let s = d
        .apply(&store, &c1, Some(&r), "2026-03-02T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(s.added, ["desk", "exo-teams", "cab"]);
    assert!(s.updated.is_empty() && s.disabled.is_empty());
    let rows = store.channels().await.unwrap();
    assert_eq!(rows.len(), 4);
    let desk = channel(&rows, "desk");
    assert_eq!(desk.declared_in.as_deref(), Some(file.as_str()));
    assert_eq!(desk.created_by, "config");
    assert!(desk.enabled);
    assert_eq!(desk.kind, "webhook");
    assert_eq!(desk.filter.services, ["Exchange Online"]);
    assert_eq!(desk.filter.events, [EventKind::PostRouted]);
    // sealed at rest, and what was read from the file and the environment
    assert!(!desk.url_sealed.contains("DESKPATH"));
    assert_eq!(
        r.open(&desk.url_sealed, &url_context("desk"))
            .unwrap()
            .expose_secret(),
        "https://hooks.example/desk/DESKPATH"
    );
    let secret = desk.secret_sealed.as_deref().unwrap();
    assert!(!secret.contains(DESK_SECRET));
    assert_eq!(
        r.open(secret, "channel/desk/secret")
            .unwrap()
            .expose_secret(),
        DESK_SECRET
    );
    let teams = channel(&rows, "exo-teams");
    assert_eq!(teams.kind, "teams");
    assert_eq!(
        teams.filter.tenants.as_deref(),
        Some(&["alpha".to_string()][..])
    );
    let cab = channel(&rows, "cab");
    assert_eq!(cab.settings.recipients, ["cab@example.com"]);
    assert_eq!(cab.settings.owner.as_deref(), Some("collab"));
    assert_eq!(
        cab.settings.quiet.as_ref().unwrap().time_zone,
        "Europe/Paris"
    );
    assert!(channel(&rows, "legacy").declared_in.is_none());
    let log = audits(&store).await;
    let added: Vec<(&str, &str, &str)> = log
        .iter()
        .filter(|(_, action, _, _)| action == "channel.add")
        .map(|(actor, action, target, _)| (actor.as_str(), action.as_str(), target.as_str()))
        .collect();
    assert_eq!(
        added,
        [
            ("admin", "channel.add", "legacy"),
            ("config", "channel.add", "desk"),
            ("config", "channel.add", "exo-teams"),
            ("config", "channel.add", "cab"),
        ]
    );

    // the same file again: nothing changes, nothing is audited
    let before = audits(&store).await.len();
    let again = d
        .apply(
            &store,
            &d.load(&v1(&d), &env),
            Some(&r),
            "2026-03-03T00:00:00Z",
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(store.channels().await.unwrap(), rows);
    assert_eq!(audits(&store).await.len(), before);

    // a test to the e-mail channel: its delivery log
    let mail = tempfile::tempdir().unwrap();
    let o = outbox(&store, mail.path());
    store
        .record_events(
            &[changedesk_server::outbox::test_event(
                "cab",
                at("2026-03-03T12:00:00Z"),
            )],
            at("2026-03-03T12:00:00Z"),
        )
        .await
        .unwrap();
    o.run_once(at("2026-03-03T12:00:00Z")).await.unwrap();
    o.run_once(at("2026-03-03T12:10:00Z")).await.unwrap();
    let cab_log = DeliveryFilter {
        channel: Some("cab".into()),
        ..Default::default()
    };
    assert_eq!(store.deliveries(&cab_log).await.unwrap().len(), 1);

    // version 2: the URL file and a filter changed, cab gone
    d.write("desk_url", "https://hooks.example/desk/NEWPATH");
    let s = d
        .apply(
            &store,
            &d.load(&v2(&d), &env),
            Some(&r),
            "2026-03-04T00:00:00Z",
        )
        .await
        .unwrap();
    assert_eq!(s.updated, ["desk", "exo-teams"]);
    assert_eq!(s.disabled, ["cab"]);
    assert!(s.added.is_empty());
    let rows2 = store.channels().await.unwrap();
    let desk2 = channel(&rows2, "desk");
    assert_eq!(
        r.open(&desk2.url_sealed, &url_context("desk"))
            .unwrap()
            .expose_secret(),
        "https://hooks.example/desk/NEWPATH"
    );
    // an unchanged secret keeps its sealed text
    assert_eq!(desk2.secret_sealed, desk.secret_sealed);
    let teams2 = channel(&rows2, "exo-teams");
    assert_eq!(teams2.url_sealed, teams.url_sealed);
    assert_eq!(teams2.filter.severities, ["high", "critical"]);
    let cab2 = channel(&rows2, "cab");
    assert!(!cab2.enabled);
    assert!(cab2.declared_in.is_none());
    assert_eq!(
        cab2.disabled_reason.as_deref(),
        Some(format!("no longer declared in the config file {file}").as_str())
    );
    assert_eq!(
        store.deliveries(&cab_log).await.unwrap().len(),
        1,
        "the delivery log stays"
    );
    let log = audits(&store).await;
    let recent: Vec<(&str, &str, &str)> = log[before..]
        .iter()
        .map(|(actor, action, target, _)| (actor.as_str(), action.as_str(), target.as_str()))
        .collect();
    assert_eq!(
        recent,
        [
            ("config", "channel.update", "desk"),
            ("config", "channel.update", "exo-teams"),
            ("config", "channel.disable", "cab"),
        ]
    );
    let detail = |target: &str| -> serde_json::Value {
        serde_json::from_str(
            &log[before..]
                .iter()
                .find(|(_, _, t, _)| t == target)
                .unwrap()
                .3,
        )
        .unwrap()
    };
    assert_eq!(detail("desk")["changed"], json!(["url"]));
    assert_eq!(detail("exo-teams")["changed"], json!(["filter"]));
    // no audit entry holds a URL or a secret
    for (_, _, _, d) in &log {
        for secret in ["DESKPATH", "NEWPATH", "TEAMSSIG", DESK_SECRET] {
            assert!(!d.contains(secret), "{secret} in {d}");
        }
    }
    // and version 2 again: nothing
    let before = log.len();
    let again = d
        .apply(
            &store,
            &d.load(&v2(&d), &env),
            Some(&r),
            "2026-03-05T00:00:00Z",
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(audits(&store).await.len(), before);

    // declared again: the channel (added by hand or declared before) is
    // taken over and enabled, its log kept (desk, whose URL file still
    // holds the new URL, is as declared)
    let s = d
        .apply(
            &store,
            &d.load(&v1(&d), &env),
            Some(&r),
            "2026-03-06T00:00:00Z",
        )
        .await
        .unwrap();
    assert_eq!(s.updated, ["exo-teams", "cab"]);
    assert!(s.added.is_empty() && s.disabled.is_empty());
    let cab3 = channel(&store.channels().await.unwrap(), "cab").clone();
    assert!(cab3.enabled && cab3.declared_in.as_deref() == Some(file.as_str()));
    assert_eq!(store.deliveries(&cab_log).await.unwrap().len(), 1);

    // an unsubscribe from a declared channel stands until its declaration
    // changes
    let u = store
        .unsubscribe(cab3.id, "cab@example.com", at("2026-03-06T01:00:00Z"))
        .await
        .unwrap()
        .unwrap();
    assert!(u.changed);
    let again = d
        .apply(
            &store,
            &d.load(&v1(&d), &env),
            Some(&r),
            "2026-03-07T00:00:00Z",
        )
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert!(
        channel(&store.channels().await.unwrap(), "cab")
            .settings
            .recipients
            .is_empty()
    );
    assert!(channel(&store.channels().await.unwrap(), "legacy").enabled);
}

async fn a_declaration_that_does_not_check_changes_nothing(store: Store) {
    super::outbox::seed_two_owners(&store).await;
    let d = Dir::new();
    d.write("desk_url", "https://hooks.example/desk");
    let env = [("DESK_SECRET", DESK_SECRET)];
    let file = d.path("changedesk.toml");
    let r = ring();
    // each problem at its key, as the API words it
    let bad = v1(&d)
        .replace("owner = \"collab\"", "owner = \"nobody\"")
        .replace("severities = [\"high\"]", "severities = [\"urgent\"]")
        .replace(
            "events = [\"post.routed\"]",
            "events = [\"post.routed\", \"post.eaten\"]",
        );
    let e = d
        .apply(
            &store,
            &d.load(&bad, &env),
            Some(&r),
            "2026-03-02T00:00:00Z",
        )
        .await
        .unwrap_err();
    let DeclareError::Config(errors) = e else {
        panic!("{e}")
    };
    let text = errors.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(&format!("{file}:5:10: notify.channel[0].events: ")),
        "{text}"
    );
    assert!(lines[0].contains("post.eaten"), "{text}");
    assert!(
        lines[1].starts_with(&format!(
            "{file}:12:14: notify.channel[1].severities: severity `urgent` is not normal, high or critical"
        )),
        "{text}"
    );
    assert_eq!(
        lines[2],
        format!("{file}:19:9: notify.channel[2].owner: no owner is named `nobody`")
    );
    assert!(store.channels().await.unwrap().is_empty());
    assert!(audits(&store).await.is_empty());

    // a URL the API refuses, and an unknown tenant
    let bad = v1(&d).replace("tenants = [\"alpha\"]", "tenants = [\"omega\"]");
    d.write("desk_url", "http://hooks.example/desk");
    let e = d
        .apply(
            &store,
            &d.load(&bad, &env),
            Some(&r),
            "2026-03-02T00:00:00Z",
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!(
            "{file}:3:12: notify.channel[0].url_file: the webhook URL must be https"
        )),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "{file}:13:11: notify.channel[1].tenants: no tenant is named `omega`"
        )),
        "{e}"
    );
    assert!(!e.contains("hooks.example"), "the URL is a secret: {e}");
    assert!(store.channels().await.unwrap().is_empty());

    // no secret key: nothing can be sealed
    d.write("desk_url", "https://hooks.example/desk");
    let e = d
        .apply(&store, &d.load(&v1(&d), &env), None, "2026-03-02T00:00:00Z")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("{file}:3:12: notify.channel[0].url_file: a channel's URL and signing secret are kept sealed, and no secret key is configured")),
        "{e}"
    );
    assert!(store.channels().await.unwrap().is_empty());
    // an e-mail channel seals nothing: it needs no key
    let mail_only = "[[notify.channel]]\nname = \"cab\"\nkind = \"email\"\nrecipients = [\"cab@example.com\"]\n";
    let s = d
        .apply(
            &store,
            &d.load(mail_only, &[]),
            None,
            "2026-03-02T00:00:00Z",
        )
        .await
        .unwrap();
    assert_eq!(s.added, ["cab"]);
    assert_eq!(store.channels().await.unwrap().len(), 1);
}

async fn declared_channels_are_read_only_but_take_a_test(store: Store) {
    super::outbox::seed_two_owners(&store).await;
    super::ui::user(&store, "admin", Role::Admin, Scope::default()).await;
    let d = Dir::new();
    d.write("desk_url", "https://hooks.example/desk/DESKPATH");
    let file = d.path("changedesk.toml");
    let r = ring();
    d.apply(
        &store,
        &d.load(&v1(&d), &[("DESK_SECRET", DESK_SECRET)]),
        Some(&r),
        "2026-03-02T00:00:00Z",
    )
    .await
    .unwrap();
    let f = super::ui::Fixture {
        app: changedesk_server::http::router(
            changedesk_server::http::AppState::new(
                store.clone(),
                changedesk_server::http::Settings {
                    secure_cookies: false,
                    ..Default::default()
                },
            )
            .with_keyring(Arc::new(ring())),
            true,
        ),
        store: store.clone(),
    };
    let admin = super::ui::sign_in(&f, "admin").await;
    let message = format!("channel `desk` is declared in the config file {file}; change it there");

    // the listing says where it comes from, never its URL or secret
    let list = admin.get(&f, "/api/v1/channels").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let v: serde_json::Value = serde_json::from_str(&list.body).unwrap();
    let desk = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "desk")
        .unwrap();
    assert_eq!(desk["declared_in"], json!(file));
    assert_eq!(desk["created_by"], "config");
    for secret in ["DESKPATH", "TEAMSSIG", DESK_SECRET, "cdsec1"] {
        assert!(!list.body.contains(secret), "{secret} in {}", list.body);
    }

    // removing or re-adding it through the API: 409, saying where to change it
    let del = admin
        .send_json(&f, "DELETE", "/api/v1/channels/desk", &json!({}))
        .await;
    assert_eq!(del.status, 409, "{}", del.body);
    assert!(del.body.contains(&message), "{}", del.body);
    let add = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "Desk", "kind": "email", "recipients": ["x@example.com"]}),
        )
        .await;
    assert_eq!(add.status, 409, "{}", add.body);
    assert!(add.body.contains(&message), "{}", add.body);
    // the store itself refuses (the CLI goes through it)
    let e = store
        .remove_channel("desk", "alice", at("2026-03-02T01:00:00Z"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), message);
    assert!(
        store
            .channels()
            .await
            .unwrap()
            .iter()
            .any(|c| c.name == "desk")
    );

    // "send a test" still works
    let test = admin
        .send_json(&f, "POST", "/api/v1/channels/desk/test", &json!({}))
        .await;
    assert_eq!(test.status, 202, "{}", test.body);
    let events = store.pending_events(10).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.event.kind == EventKind::Test && e.event.target.as_deref() == Some("desk")),
        "{events:?}"
    );

    // the web UI: marked as the file's, no Remove button, a test button
    let page = admin.get(&f, "/outbox").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("declared in {file}: change it there")),
        "{}",
        page.body
    );
    assert!(page.body.contains("aria-label=\"Send a test to desk\""));
    assert!(!page.body.contains("aria-label=\"Remove channel desk\""));
    let removed = admin
        .post(&f, "/outbox/channels/remove", &[("name", "desk")])
        .await;
    assert_eq!(removed.status, 409, "{}", removed.body);
    // a channel added by hand keeps its Remove button
    let added = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "mine", "kind": "email", "recipients": ["me@example.com"]}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let v: serde_json::Value = serde_json::from_str(&added.body).unwrap();
    assert_eq!(v["channel"]["declared_in"], serde_json::Value::Null);
    let page = admin.get(&f, "/outbox").await;
    assert!(page.body.contains("aria-label=\"Remove channel mine\""));
}

// ---------------------------------------------------------------- thresholds

fn post(id: &str, published: &str, act_by: Option<&str>) -> changedesk_core::Message {
    changedesk_core::Message::from_graph(
        &json!({
            "id": id,
            "title": format!("{id}: a change"),
            "category": "planForChange",
            "severity": "normal",
            "tags": [],
            "isMajorChange": false,
            "startDateTime": published,
            "endDateTime": "2026-12-31T00:00:00Z",
            "lastModifiedDateTime": published,
            "actionRequiredByDateTime": act_by,
            "services": ["Microsoft Teams"],
            "details": [],
            "body": {"contentType": "html", "content": "<p>x</p>"}
        }),
        0,
    )
    .unwrap()
}

async fn load(store: &Store, triage: &Triage, posts: &[changedesk_core::Message], now: &str) {
    store
        .import_messages(
            "alpha",
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
    apply_rules(store, triage, at(now), false).await.unwrap();
}

/// The events recorded for `post`, by kind.
async fn told(store: &Store, post: &str) -> Vec<EventKind> {
    store
        .pending_events(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.post.as_ref().is_some_and(|p| p.id == post))
        .map(|e| e.event.kind)
        .collect()
}

async fn thresholds_decide_what_is_told(store: Store) {
    super::outbox::seed_two_owners(&store).await;
    let d = Dir::new();
    let configured = d
        .load(
            "[notify]\nlate_after_days = 1\nact_by_soon_days = 7\nsync_failing_after = 1\n",
            &[],
        )
        .notify
        .thresholds;
    let default = Triage::load(&store, Default::default()).await.unwrap();
    let tight = Triage::load(&store, Default::default())
        .await
        .unwrap()
        .with_thresholds(configured);
    // the baseline
    load(
        &store,
        &default,
        &[post("MC1", "2026-03-01T00:00:00Z", None)],
        "2026-03-01T00:00:00Z",
    )
    .await;
    assert!(told(&store, "MC1").await.is_empty());

    // first seen two days after its publication: late for
    // late_after_days = 1, news by default (7)
    load(
        &store,
        &tight,
        &[post("MC2", "2026-03-08T00:00:00Z", None)],
        "2026-03-10T00:00:00Z",
    )
    .await;
    assert!(told(&store, "MC2").await.is_empty(), "late: nobody is told");
    load(
        &store,
        &default,
        &[post("MC3", "2026-03-08T00:00:00Z", None)],
        "2026-03-10T00:00:00Z",
    )
    .await;
    assert_eq!(told(&store, "MC3").await, [EventKind::PostRouted]);

    // act by in 10 days: soon by default (30), not for act_by_soon_days = 7
    load(
        &store,
        &tight,
        &[post(
            "MC4",
            "2026-03-10T00:00:00Z",
            Some("2026-03-20T00:00:00Z"),
        )],
        "2026-03-10T00:00:00Z",
    )
    .await;
    assert_eq!(told(&store, "MC4").await, [EventKind::PostRouted]);
    load(
        &store,
        &default,
        &[post(
            "MC5",
            "2026-03-10T00:00:00Z",
            Some("2026-03-20T00:00:00Z"),
        )],
        "2026-03-10T00:00:00Z",
    )
    .await;
    assert_eq!(
        told(&store, "MC5").await,
        [EventKind::PostRouted, EventKind::PostActBySoon]
    );
    let reason = store
        .pending_events(1000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event.kind == EventKind::PostActBySoon)
        .and_then(|e| e.event.reason)
        .unwrap();
    assert!(reason.contains("within 30 days"), "{reason}");
    load(
        &store,
        &tight,
        &[post(
            "MC6",
            "2026-03-10T00:00:00Z",
            Some("2026-03-15T00:00:00Z"),
        )],
        "2026-03-10T00:00:00Z",
    )
    .await;
    assert_eq!(
        told(&store, "MC6").await,
        [EventKind::PostRouted, EventKind::PostActBySoon]
    );

    // a failed sync: told at once with sync_failing_after = 1, not by
    // default (3)
    let failing = |store: &Store| {
        let store = store.clone();
        async move {
            store
                .pending_events(1000)
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.event.kind == EventKind::TenantSyncFailing)
                .map(|e| e.event.tenants)
                .collect::<Vec<_>>()
        }
    };
    store
        .record_sync("alpha", &at("2026-03-10T01:00:00Z"), Some("AADSTS7000222"))
        .await
        .unwrap();
    assert!(failing(&store).await.is_empty());
    let strict = store
        .clone()
        .with_sync_failing_after(configured.sync_failing_after);
    strict
        .record_sync("beta", &at("2026-03-10T01:00:00Z"), Some("AADSTS7000222"))
        .await
        .unwrap();
    assert_eq!(failing(&store).await, [vec!["beta".to_string()]]);
}

both!(
    declared_channels_are_added_updated_and_disabled,
    a_declaration_that_does_not_check_changes_nothing,
    declared_channels_are_read_only_but_take_a_test,
    thresholds_decide_what_is_told,
);
