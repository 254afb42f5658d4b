//! The executive report and the weekly status (issue 21, item 8), on SQLite
//! and PostgreSQL: the pages (`/reports/executive`, `/reports/weekly`, with
//! a print style), the API's JSON, a tenant-limited caller's figures, and
//! the scheduled e-mail made once per period, delivered to a directory of
//! `.eml` files and counted by the maturity level. Every figure is worked
//! out by hand from the items seeded below.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use changedesk_core::Timestamp;
use changedesk_core::access::{Role, Scope};
use changedesk_core::metrics::briefing::Cadence;
use changedesk_core::triage::{Decision, State, WorkItem};
use changedesk_notify::WebhookSender;
use changedesk_secrets::Keyring;
use changedesk_server::http::Settings;
use changedesk_server::outbox::channel::ReportRequest;
use changedesk_server::outbox::{ChannelRequest, MailSetup, Mailer, Outbox, new_channel};
use changedesk_store::Store;
use serde_json::{Value, json};

use super::ui::{Fixture, opts, post, sign_in, user};

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Wednesday 11 March 2026: the last complete month is February, the last
/// complete week the one of Monday 2 March.
const CLOCK: &str = "2026-03-11T09:00:00Z";

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Tenants alpha and zulu, first loaded on 6 January (so a post's start,
/// 5 January, is no deadline: only the act-by dates are), and four items:
/// - MC7001 (alpha), act by 20 Feb, opened 2 Feb, never triaged: new in
///   February, missed on 20 Feb, open at its end;
/// - MC7002 (alpha), opened 20 Jan, triaged 3 Feb, closed 10 Feb: triaged
///   and closed in February, open at its start;
/// - MC7003 (zulu only), act by 25 Feb, opened 5 Feb, never triaged: new,
///   missed, open at the end;
/// - MC7004 (alpha), a major change opened 16 Feb, never triaged: new, open
///   at the end.
///
/// So February, for everyone: 3 new, 1 triaged, 1 closed, 1 open at the
/// start, 3 at the end, 2 missed; the risks at 1 March: MC7001 and MC7003
/// (deadline passed, 20 and 25 Feb), MC7004 (major, untriaged). For a user
/// limited to alpha: 2 new, 2 open at the end, 1 missed, 2 risks, and no
/// MC7003 anywhere.
async fn seeded(store: Store) -> Fixture {
    let alpha = vec![
        post(
            "MC7001",
            "2026-01-05T10:00:00Z",
            "Alpha: act by the twentieth",
            "<p>a</p>",
            json!({"actionRequiredByDateTime": "2026-02-20T00:00:00Z"}),
        ),
        post(
            "MC7002",
            "2026-01-05T10:00:00Z",
            "Alpha: done in February",
            "<p>b</p>",
            json!({}),
        ),
        post(
            "MC7004",
            "2026-01-05T10:00:00Z",
            "Alpha: a major change",
            "<p>d</p>",
            json!({"isMajorChange": true}),
        ),
    ];
    store
        .import_messages("alpha", &alpha, &opts("2026-01-06T00:00:00Z"))
        .await
        .unwrap();
    store
        .import_messages(
            "zulu",
            &[post(
                "MC7003",
                "2026-01-05T10:00:00Z",
                "Zulu only: act by the twenty-fifth",
                "<p>c</p>",
                json!({"actionRequiredByDateTime": "2026-02-25T00:00:00Z"}),
            )],
            &opts("2026-01-06T00:00:00Z"),
        )
        .await
        .unwrap();
    let items: [(&str, &str, Option<&str>, Option<&str>); 4] = [
        ("MC7001", "2026-02-02T09:00:00Z", None, None),
        (
            "MC7002",
            "2026-01-20T09:00:00Z",
            Some("2026-02-03T09:00:00Z"),
            Some("2026-02-10T09:00:00Z"),
        ),
        ("MC7003", "2026-02-05T09:00:00Z", None, None),
        ("MC7004", "2026-02-16T09:00:00Z", None, None),
    ];
    for (id, created, triaged, closed) in items {
        let mut item = WorkItem::new(id, at(created));
        item.first_triaged_at = triaged.map(at);
        if triaged.is_some() {
            item.state = State::Triaged;
            item.assignee = Some("owen".into());
        }
        if let Some(c) = closed {
            item.state = State::Done;
            item.decision = Some(Decision::Actioned);
            item.closed_at = Some(at(c));
        }
        crate::save_new_item(&store, &item, at(created)).await;
    }
    let alpha_only = Scope {
        tenants: vec!["alpha".into()],
        groups: vec![],
    };
    user(&store, "admin", Role::Admin, Scope::default()).await;
    user(&store, "reader", Role::Reader, Scope::default()).await;
    user(&store, "scoped", Role::ChangeManager, alpha_only).await;
    let state = changedesk_server::http::AppState::new(
        store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(CLOCK));
    Fixture {
        app: changedesk_server::http::router(state, true),
        store,
    }
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

async fn the_reports_count_the_period_in_the_callers_scope(store: Store) {
    let f = seeded(store).await;
    let admin = sign_in(&f, "admin").await;
    // the executive report of February (the default: the last complete month)
    let a = admin.get(&f, "/api/v1/reports/executive").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let v = json_of(&a.body);
    assert_eq!(v["report"], "executive");
    assert_eq!(v["period"]["first_day"], "2026-02-01", "{v}");
    assert_eq!(v["period"]["end_day"], "2026-03-01");
    assert_eq!(v["label"], "February 2026");
    assert_eq!(v["complete"], true);
    assert_eq!(v["tenants"], 2);
    let c = &v["counts"];
    assert_eq!(c["new"], 3, "{c}");
    assert_eq!(c["triaged"], 1, "{c}");
    assert_eq!(c["closed"], 1, "{c}");
    assert_eq!(c["open_at_start"], 1, "{c}");
    assert_eq!(c["open_at_end"], 3, "{c}");
    assert_eq!(c["missed"], 2, "{c}");
    assert_eq!(c["missed_items"], json!(["MC7001", "MC7003"]), "{c}");
    let risks = &v["risks"];
    assert_eq!(risks["total"], 3, "{risks}");
    let top: Vec<(&str, &str, &str)> = risks["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["post_id"].as_str().unwrap(),
                r["kind"].as_str().unwrap(),
                r["date"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        top,
        vec![
            ("MC7001", "deadline_missed", "2026-02-20"),
            ("MC7003", "deadline_missed", "2026-02-25"),
            ("MC7004", "major_untriaged", "2026-02-16"),
        ]
    );
    assert_eq!(risks["top"][0]["title"], "Alpha: act by the twentieth");
    // the health score as of 1 March, its 13 weeks, the maturity level
    let h = &v["health"];
    assert_eq!(h["trend"].as_array().unwrap().len(), 13, "{h}");
    assert_eq!(h["components"].as_array().unwrap().len(), 6, "{h}");
    let missed = h["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "missed")
        .unwrap();
    // the deadlines of the 90 days before 1 March: MC7001, MC7003, both open
    assert_eq!(
        (missed["base"].as_u64(), missed["affected"].as_u64()),
        (Some(2), Some(2)),
        "{missed}"
    );
    let score = h["score"].as_f64().unwrap();
    assert!(score < 100.0, "{h}");
    assert_eq!(h["trend"][12]["score"].as_f64(), Some(score), "{h}");
    assert_eq!(v["maturity"]["level"], 100, "{v}");
    assert_eq!(v["maturity"]["next"], 200);
    assert!(
        !v["maturity"]["missing_for_next"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // a month asked for: January has MC7002 alone, open from 20 Jan
    let jan = json_of(
        &admin
            .get(&f, "/api/v1/reports/executive?month=2026-01")
            .await
            .body,
    );
    assert_eq!(jan["counts"]["new"], 1, "{jan}");
    assert_eq!(jan["counts"]["open_at_end"], 1, "{jan}");
    assert_eq!(jan["counts"]["missed"], 0, "{jan}");

    // the weekly status of the week of 16 Feb (asked for by its Wednesday):
    // MC7004 new; MC7001, MC7003 and MC7004 open at its end; MC7001's
    // deadline (Friday 20 Feb) missed in it
    let w = json_of(
        &admin
            .get(&f, "/api/v1/reports/weekly?week=2026-02-18")
            .await
            .body,
    );
    assert_eq!(w["report"], "weekly");
    assert_eq!(w["period"]["first_day"], "2026-02-16", "{w}");
    assert_eq!(w["period"]["end_day"], "2026-02-23", "{w}");
    assert_eq!(w["counts"]["new"], 1, "{w}");
    assert_eq!(w["counts"]["open_at_end"], 3, "{w}");
    assert_eq!(w["counts"]["missed"], 1, "{w}");
    assert_eq!(w["counts"]["missed_items"], json!(["MC7001"]), "{w}");
    assert_eq!(w["health"]["trend"].as_array().unwrap().len(), 8);
    // the default week: 2 to 8 March; nothing new, all three still open
    let d = json_of(&admin.get(&f, "/api/v1/reports/weekly").await.body);
    assert_eq!(d["period"]["first_day"], "2026-03-02", "{d}");
    assert_eq!(d["counts"]["new"], 0, "{d}");
    assert_eq!(d["counts"]["open_at_end"], 3, "{d}");

    // a tenant-limited caller: alpha's only
    let scoped = sign_in(&f, "scoped").await;
    let s = json_of(&scoped.get(&f, "/api/v1/reports/executive").await.body);
    assert_eq!(s["tenants"], 1, "{s}");
    assert_eq!(s["counts"]["new"], 2, "{s}");
    assert_eq!(s["counts"]["open_at_end"], 2, "{s}");
    assert_eq!(s["counts"]["missed"], 1, "{s}");
    assert_eq!(s["risks"]["total"], 2, "{s}");
    assert!(!s.to_string().contains("MC7003"), "{s}");
    assert_eq!(
        scoped
            .get(&f, "/api/v1/reports/weekly?tenant=zulu")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // bad periods: a clear 400
    for bad in [
        "/api/v1/reports/executive?month=2026-13",
        "/api/v1/reports/executive?month=march",
        "/api/v1/reports/executive?month=2026-04",
        "/api/v1/reports/weekly?week=2026-02-30",
        "/api/v1/reports/weekly?week=2027-01-01",
    ] {
        let a = admin.get(&f, bad).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.body);
    }
}

async fn the_pages_print_the_figures_of_the_callers_scope(store: Store) {
    let f = seeded(store).await;
    let reader = sign_in(&f, "reader").await;
    let reports = reader.get(&f, "/reports").await;
    assert!(
        reports.body.contains("href=\"/reports/executive\""),
        "{}",
        reports.body
    );
    assert!(reports.body.contains("href=\"/reports/weekly\""));
    let page = reader.get(&f, "/reports/executive").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let b = &page.body;
    assert!(
        b.contains("<h1>Executive report: February 2026</h1>"),
        "{b}"
    );
    assert!(
        b.contains("<tr><th scope=\"row\">New</th><td>3</td></tr>"),
        "{b}"
    );
    assert!(
        b.contains("<tr><th scope=\"row\">Closed</th><td>1</td></tr>"),
        "{b}"
    );
    assert!(
        b.contains("<tr><th scope=\"row\">Open at the end</th><td>3 (at the start: 1)</td></tr>"),
        "{b}"
    );
    assert!(
        b.contains("Missed their decision deadline</th><td>2: "),
        "{b}"
    );
    assert!(b.contains("Top risks (3 in all)"), "{b}");
    assert!(b.contains("<a href=\"/posts/MC7003\">MC7003</a>"), "{b}");
    assert!(b.contains("Major change not triaged"), "{b}");
    assert!(b.contains("Maturity level 100: Initial"), "{b}");
    assert!(b.contains("Missing for level 200"), "{b}");
    // the navigation to the months around it, none after the current one
    assert!(b.contains("?month=2026-01"), "{b}");
    assert!(b.contains("?month=2026-03"), "{b}");
    assert!(
        b.contains("href=\"/api/v1/reports/executive?month=2026-02\""),
        "{b}"
    );
    // printable: the stylesheet's print rules leave the forms and the
    // navigation out and keep the sections whole
    assert!(b.contains("<article class=\"briefing\">"), "{b}");
    assert!(b.contains("<form class=\"noprint\""), "{b}");
    let css_href = b
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a stylesheet");
    let css = reader.get(&f, css_href).await;
    assert_eq!(css.status, StatusCode::OK);
    let print = css
        .body
        .split("@media print")
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(print.contains(".top"), "the navigation is not printed");
    assert!(
        print.contains(".briefing section { break-inside: avoid-page"),
        "{print}"
    );
    assert!(print.contains(".briefing form"), "{print}");

    // the weekly status page, for a week asked for
    let w = reader.get(&f, "/reports/weekly?week=2026-02-18").await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    assert!(
        w.body
            .contains("Weekly status: week 8 of 2026 (2026-02-16 to 2026-02-22)"),
        "{}",
        w.body
    );
    assert!(
        w.body
            .contains("<tr><th scope=\"row\">New</th><td>1</td></tr>"),
        "{}",
        w.body
    );

    // a tenant-limited caller's page: alpha's figures, no zulu post
    let scoped = sign_in(&f, "scoped").await;
    let s = scoped.get(&f, "/reports/executive?month=2026-02").await;
    assert_eq!(s.status, StatusCode::OK);
    assert!(
        s.body
            .contains("<tr><th scope=\"row\">New</th><td>2</td></tr>"),
        "{}",
        s.body
    );
    assert!(s.body.contains("Top risks (2 in all)"), "{}", s.body);
    assert!(!s.body.contains("MC7003"), "{}", s.body);
    assert!(!s.body.contains("Zulu only"), "{}", s.body);
    // a bad month is a page that says so
    let bad = scoped.get(&f, "/reports/executive?month=2026-2").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("is not a month"), "{}", bad.body);
}

/// The messages in the capture directory: (to, subject, text with the
/// quoted-printable soft breaks joined).
fn mails(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(dir).unwrap() {
        let path = f.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let raw = std::fs::read_to_string(&path).unwrap();
        // the headers unfolded (a long subject is folded), the body's
        // quoted-printable soft breaks joined
        let (head, body) = raw
            .split_once("\r\n\r\n")
            .or_else(|| raw.split_once("\n\n"))
            .unwrap_or((raw.as_str(), ""));
        let head = head.replace("\r\n ", " ").replace("\n ", " ");
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .unwrap_or("")
                .to_string()
        };
        let joined = body
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=");
        out.push((header("To"), header("Subject"), joined));
    }
    out.sort();
    out
}

async fn a_scheduled_report_is_mailed_once_per_period_and_counted(store: Store) {
    let f = seeded(store).await;
    let ring = Keyring::from_text(KEY, &[]).unwrap();
    let add = |name: &str, every: &str, tenants: Vec<String>| ChannelRequest {
        name: name.into(),
        kind: Some("email".into()),
        recipients: vec![format!("{name}@example.com")],
        // only the report: no event kind it would otherwise hear of
        events: vec!["changedesk.test".into()],
        tenants,
        report: Some(ReportRequest {
            every: every.into(),
            at: "08:00".into(),
            time_zone: Some("UTC".into()),
        }),
        ..Default::default()
    };
    let known = vec!["alpha".to_string(), "zulu".to_string()];
    for req in [
        add("board", "monthly", Vec::new()),
        add("alpha-board", "monthly", vec!["alpha".into()]),
        add("weekly", "weekly", Vec::new()),
    ] {
        let (c, _) = new_channel(
            &ring,
            &req,
            &known,
            &[],
            "admin",
            at("2026-02-27T00:00:00Z"),
        )
        .unwrap();
        f.store.create_channel(&c).await.unwrap();
    }
    // a report on a Teams channel, a bad schedule: refused by name
    let mut teams = add("t", "monthly", Vec::new());
    teams.kind = Some("teams".into());
    teams.url = Some("https://example.com/flow".into());
    teams.recipients = Vec::new();
    let e = changedesk_server::outbox::channel::check_channel(
        &ring,
        &teams,
        &known,
        &[],
        "admin",
        at(CLOCK),
    )
    .unwrap_err();
    assert_eq!(e.field, "report", "{e}");
    let mut daily = add("d", "daily", Vec::new());
    daily.report.as_mut().unwrap().every = "daily".into();
    let e = changedesk_server::outbox::channel::check_channel(
        &ring,
        &daily,
        &known,
        &[],
        "admin",
        at(CLOCK),
    )
    .unwrap_err();
    assert!(e.message.contains("monthly or weekly"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::new(
        f.store.clone(),
        Some(Arc::new(Keyring::from_text(KEY, &[]).unwrap())),
        WebhookSender::new(Duration::from_secs(2)).unwrap(),
    );
    outbox.jitter = Arc::new(|| 0.5);
    outbox.public_url = Some("https://changedesk.example".into());
    outbox.mail = Some(MailSetup {
        from: "changedesk <changedesk@example.com>".into(),
        reply_to: None,
        mailer: Mailer::Directory(dir.path().to_path_buf()),
    });
    // Sunday 1 March: not a working day; nothing yet
    outbox.run_once(at("2026-03-01T09:00:00Z")).await.unwrap();
    assert!(mails(dir.path()).is_empty(), "no report before its time");
    // Monday 2 March 08:00, the first working day: February's two
    // executive reports and (a Monday) the weekly status of 23 Feb
    let r = outbox.run_once(at("2026-03-02T08:00:30Z")).await.unwrap();
    assert_eq!(r.delivered, 3, "{r:?}");
    let got = mails(dir.path());
    assert_eq!(got.len(), 3, "{got:?}");
    let (to, subject, text) = &got[0];
    assert_eq!(to, "alpha-board@example.com");
    assert!(
        subject.starts_with("[changedesk] Executive report: February 2026 | health "),
        "{subject}"
    );
    assert!(text.contains("Tenants alpha"), "{text}");
    assert!(text.contains("New: 2"), "{text}");
    assert!(text.contains("Missed their decision deadline: 1"), "{text}");
    assert!(
        text.contains("MC7001 Alpha: act by the twentieth"),
        "{text}"
    );
    assert!(
        !text.contains("MC7003"),
        "alpha's channel names no zulu post: {text}"
    );
    assert!(
        text.contains("https://changedesk.example/reports/executive?month=2026-02"),
        "{text}"
    );
    let (to, _, text) = &got[1];
    assert_eq!(to, "board@example.com");
    assert!(
        text.contains("The whole organisation (2 tenants)"),
        "{text}"
    );
    assert!(text.contains("New: 3"), "{text}");
    assert!(text.contains("Missed their decision deadline: 2"), "{text}");
    assert!(text.contains("MC7003 Zulu only"), "{text}");
    let (to, subject, text) = &got[2];
    assert_eq!(to, "weekly@example.com");
    assert!(
        subject.contains("Weekly status: week 9 of 2026 (2026-02-23 to 2026-03-01)"),
        "{subject}"
    );
    // MC7003's deadline, 25 Feb, fell in that week
    assert!(text.contains("Missed their decision deadline: 1"), "{text}");
    // each is made once per period: later that day and that week, nothing
    outbox.run_once(at("2026-03-02T09:00:00Z")).await.unwrap();
    outbox.run_once(at("2026-03-05T09:00:00Z")).await.unwrap();
    assert_eq!(mails(dir.path()).len(), 3);
    let made = f
        .store
        .deliveries(&changedesk_store::DeliveryFilter::default())
        .await
        .unwrap();
    let ids: Vec<&str> = made.iter().map(|d| d.message_id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.iter().all(|i| i.starts_with("msg_x")), "{ids:?}");
    assert!(ids.iter().any(|i| i.ends_with("_2026-02")), "{ids:?}");
    assert!(ids.iter().any(|i| i.ends_with("_2026-02-23")), "{ids:?}");
    assert!(made.iter().all(|d| d.kind == "report.sent"), "{made:?}");
    // the next Monday: the weekly status of 2 March only
    outbox.run_once(at("2026-03-09T08:01:00Z")).await.unwrap();
    let got = mails(dir.path());
    assert_eq!(got.len(), 4);

    // the maturity level counts the reports delivered in its window
    let admin = sign_in(&f, "admin").await;
    let m = json_of(&admin.get(&f, "/api/v1/reports/maturity").await.body);
    let reported = m["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "time_open_reported")
        .cloned()
        .unwrap();
    assert_ne!(reported["status"], "not_measured", "{reported}");
    assert!(
        reported["evidence"]
            .as_str()
            .unwrap()
            .starts_with("4 reports"),
        "{reported}"
    );
}

/// The report schedule everywhere a channel is made: the web UI's form,
/// the API's channel request (a bad cadence named at its field), and the
/// configuration file's `[[notify.channel]]`.
async fn a_report_schedule_is_set_from_the_form_the_api_and_the_file(store: Store) {
    let f = seeded(store).await;
    let state = changedesk_server::http::AppState::new(
        f.store.clone(),
        Settings {
            secure_cookies: false,
            ..Settings::default()
        },
    )
    .with_clock(|| at(CLOCK))
    .with_keyring(Arc::new(Keyring::from_text(KEY, &[]).unwrap()));
    let f = Fixture {
        app: changedesk_server::http::router(state, true),
        store: f.store,
    };
    let admin = sign_in(&f, "admin").await;
    let page = admin.get(&f, "/outbox").await;
    assert!(page.body.contains("name=\"report\""), "{}", page.body);
    let added = admin
        .post(
            &f,
            "/outbox/channels",
            &[
                ("name", "board-ui"),
                ("kind", "email"),
                ("recipients", "board@example.com"),
                ("report", "monthly"),
                ("report_at", "07:15"),
                ("time_zone", "Europe/Paris"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(
        added.body.contains("Channel board-ui added"),
        "{}",
        added.body
    );
    let api = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "board-api", "kind": "email", "recipients": ["b@example.com"],
                    "report": {"every": "weekly", "at": "08:00"}}),
        )
        .await;
    assert!(api.status.is_success(), "{} {}", api.status, api.body);
    let bad = admin
        .send_json(
            &f,
            "POST",
            "/api/v1/channels",
            &json!({"name": "board-bad", "kind": "email", "recipients": ["b@example.com"],
                    "report": {"every": "daily", "at": "08:00"}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("monthly or weekly"), "{}", bad.body);
    let channels = f.store.channels().await.unwrap();
    let report = |name: &str| {
        channels
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.settings.report.clone())
            .unwrap_or_else(|| panic!("{name} has no report"))
    };
    let ui = report("board-ui");
    assert_eq!(
        (ui.every, ui.at.as_str(), ui.time_zone.as_str()),
        (Cadence::Monthly, "07:15", "Europe/Paris")
    );
    let api = report("board-api");
    assert_eq!(
        (api.every, api.at.as_str(), api.time_zone.as_str()),
        (Cadence::Weekly, "08:00", "UTC")
    );
    assert!(!channels.iter().any(|c| c.name == "board-bad"));

    // declared in the file: applied as the API's, a bad one named at its key
    let text = "[[notify.channel]]\nname = \"board-file\"\nkind = \"email\"\n\
                recipients = [\"f@example.com\"]\nreport = { every = \"weekly\", at = \"06:00\" }\n";
    let config = changedesk_core::config::load(
        &changedesk_core::config::Sources {
            file: Some(changedesk_core::config::ConfigFile {
                path: "changedesk.toml",
                text,
            }),
            env: &Default::default(),
            cli: Default::default(),
        },
        &|_: &std::path::Path| Err("no file".to_string()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .config;
    let ring = Keyring::from_text(KEY, &[]).unwrap();
    changedesk_server::declared::apply_declared(
        &f.store,
        Some(&ring),
        &changedesk_server::declared::Declarations {
            file: "changedesk.toml",
            channels: &config.notify.channels,
            configured_tenants: &[],
        },
        "config",
        at(CLOCK),
    )
    .await
    .unwrap();
    let declared = f
        .store
        .channels()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "board-file")
        .and_then(|c| c.settings.report)
        .unwrap();
    assert_eq!(
        (declared.every, declared.at.as_str()),
        (Cadence::Weekly, "06:00")
    );
    let bad = text.replace("\"weekly\"", "\"yearly\"");
    let config = changedesk_core::config::load(
        &changedesk_core::config::Sources {
            file: Some(changedesk_core::config::ConfigFile {
                path: "changedesk.toml",
                text: &bad,
            }),
            env: &Default::default(),
            cli: Default::default(),
        },
        &|_: &std::path::Path| Err("no file".to_string()),
    )
    .unwrap()
    .config;
    let e = changedesk_server::declared::apply_declared(
        &f.store,
        Some(&ring),
        &changedesk_server::declared::Declarations {
            file: "changedesk.toml",
            channels: &config.notify.channels,
            configured_tenants: &[],
        },
        "config",
        at(CLOCK),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("notify.channel[0].report") && e.contains("monthly or weekly"),
        "{e}"
    );
}

both!(
    the_reports_count_the_period_in_the_callers_scope,
    the_pages_print_the_figures_of_the_callers_scope,
    a_scheduled_report_is_mailed_once_per_period_and_counted,
    a_report_schedule_is_set_from_the_form_the_api_and_the_file,
);
