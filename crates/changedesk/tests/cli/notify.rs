//! `changedesk notify` end to end: a signed webhook channel (its URL and
//! secret sealed in the database), events from imports and the rules, a
//! round of the outbox, the delivery log, a dead letter retried by a
//! person, and "send a test"; the simulator's receiver verifies every
//! signature with its own implementation.

use std::time::Duration;

use changedesk_sim::webhooks::{FaultResponse, ReceiverConfig, ReceiverHandle, start_receiver};
use serde_json::{Value, json};

use crate::harness::*;

fn posts(ids: &[(&str, &str)]) -> Value {
    Value::Array(
        ids.iter()
            .map(|(id, service)| {
                json!({
                    "id": id, "title": format!("{service}: change {id}"), "category": "planForChange",
                    "severity": "normal", "tags": [], "isMajorChange": false,
                    "startDateTime": "2026-08-30T00:00:00Z", "endDateTime": "2027-01-01T00:00:00Z",
                    "lastModifiedDateTime": "2026-08-30T00:00:00Z", "actionRequiredByDateTime": null,
                    "services": [service], "details": [],
                    "body": {"contentType": "html", "content": "<p>x</p>"}
                })
            })
            .collect(),
    )
}

/// The archive, the key file and the ownership every test here uses.
const CONFIG: &str = "database = \"sqlite://cd.db\"\n[server]\nsecret_key_file = \"k.key\"\n\n\
     [[owners]]\nname = \"collab\"\ndisplay_name = \"Collaboration\"\nemail = \"c@example.com\"\n\n\
     [[ownership]]\nworkload = \"Microsoft Teams\"\nowner = \"collab\"\n";

/// A receiver on `rt`, with a placeholder secret until the channel's is
/// known (the CLI makes it), checking timestamps within 5 minutes.
fn receiver(rt: &tokio::runtime::Runtime) -> ReceiverHandle {
    rt.block_on(start_receiver(ReceiverConfig {
        secret: "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        tolerance: Duration::from_secs(300),
    }))
    .unwrap()
}

#[test]
fn a_webhook_channel_hears_of_new_posts_and_its_log_says_so() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // the worker schedules on CHANGEDESK_NOW (1 September) and signs with
    // the real time: the receiver's 5 minutes hold
    let rx = receiver(&rt);
    let s = Sandbox::new();
    s.write("cfg.toml", CONFIG);
    let cd = |args: &[&str]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run(&all)
    };
    // the first load is the baseline
    s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
    cd(&["import", "a.json", "--tenant", "alpha", "--create-tenant"]).ok();
    // no key yet: a channel cannot be kept
    let url = format!("{}?sig=TOPSECRETSIG", rx.url());
    let refused = cd(&[
        "notify",
        "channel",
        "add",
        "desk",
        "--webhook",
        &url,
        "--allow-private",
        "--as",
        "alice",
    ])
    .fails();
    assert!(refused.stderr.contains("secret key"), "{}", refused.stderr);
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    // https only, unless --allow-private
    let http = cd(&[
        "notify",
        "channel",
        "add",
        "desk",
        "--webhook",
        &url,
        "--as",
        "alice",
    ])
    .fails();
    assert!(http.stderr.contains("https"), "{}", http.stderr);
    let added = cd(&[
        "notify",
        "channel",
        "add",
        "desk",
        "--webhook",
        &url,
        "--allow-private",
        "--as",
        "alice",
    ])
    .ok();
    let secret = added
        .stdout
        .lines()
        .find(|l| l.starts_with("whsec_"))
        .expect("the signing secret, shown once")
        .to_string();
    assert!(!added.stdout.contains("TOPSECRETSIG"));
    rx.set_secret(&secret).unwrap();
    cd(&[
        "notify",
        "channel",
        "add",
        "desk",
        "--webhook",
        &url,
        "--allow-private",
        "--as",
        "alice",
    ])
    .fails();

    // a second load brings MC2 (new: routed to collab) and MC3 (nobody's)
    s.write_json(
        "b.json",
        &posts(&[
            ("MC1", "Microsoft Teams"),
            ("MC2", "Microsoft Teams"),
            ("MC3", "Yammer"),
        ]),
    );
    cd(&["import", "b.json", "--tenant", "alpha"]).ok();
    let round = cd(&["notify", "deliver"]).ok();
    assert!(round.stdout.contains("1 delivered"), "{}", round.stdout);
    assert_eq!(rx.distinct_ids().len(), 1);
    let got = &rx.received()[0];
    assert_eq!(got.event_type.as_deref(), Some("post.routed"));
    assert_eq!(got.body["data"]["post"]["id"], "MC2");
    assert_eq!(got.body["data"]["owner"], "collab");
    assert!(rx.rejected().is_empty(), "{:?}", rx.rejected());

    // a 404 is dead at once; the log says so; a person retries it
    rx.fail_next(vec![FaultResponse::Status(404)]);
    s.write_json(
        "c.json",
        &posts(&[
            ("MC1", "Microsoft Teams"),
            ("MC2", "Microsoft Teams"),
            ("MC3", "Yammer"),
            ("MC4", "Microsoft Teams"),
        ]),
    );
    cd(&["import", "c.json", "--tenant", "alpha"]).ok();
    let round = cd(&["notify", "deliver"]).ok();
    assert!(round.stdout.contains("1 given up"), "{}", round.stdout);
    let failed: Vec<Value> = serde_json::from_str(
        &cd(&["notify", "outbox", "--failed", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["post_id"], "MC4");
    assert_eq!(failed[0]["last_status"], 404);
    let table = cd(&["notify", "outbox", "--failed"]).ok().stdout;
    assert!(table.contains("MC4") && table.contains("failed"), "{table}");
    cd(&["notify", "retry"]).fails();
    let retried = cd(&["notify", "retry", "--all-failed", "--as", "alice"]).ok();
    assert!(
        retried.stdout.contains("1 delivery back"),
        "{}",
        retried.stdout
    );
    cd(&["notify", "deliver"]).ok();
    assert_eq!(rx.distinct_ids().len(), 2);
    let all: Vec<Value> =
        serde_json::from_str(&cd(&["notify", "outbox", "--format", "json"]).ok().stdout).unwrap();
    assert!(all.iter().all(|d| d["state"] == "delivered"), "{all:?}");
    let mc4: Vec<Value> = serde_json::from_str(
        &cd(&["notify", "outbox", "--post", "mc4", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(mc4.len(), 1);

    // send a test
    let test = cd(&["notify", "channel", "test", "desk"]).ok();
    assert!(test.stdout.contains("delivered"), "{}", test.stdout);
    assert_eq!(
        rx.received().last().unwrap().event_type.as_deref(),
        Some("changedesk.test")
    );
    cd(&["notify", "channel", "test", "nosuch"]).fails();

    // the channel list and the database never hold the URL or the secret
    let list = cd(&["notify", "channel", "list", "--format", "json"])
        .ok()
        .stdout;
    assert!(
        list.contains("\"desk\"") && !list.contains("TOPSECRETSIG") && !list.contains("127.0.0.1"),
        "{list}"
    );
    let db = std::fs::read(s.path("cd.db")).unwrap();
    let db = String::from_utf8_lossy(&db);
    assert!(!db.contains("TOPSECRETSIG") && !db.contains(secret.trim_start_matches("whsec_")));
    // removing it is audited
    cd(&["notify", "channel", "remove", "desk", "--as", "alice"]).ok();
    cd(&["notify", "channel", "remove", "desk", "--as", "alice"]).fails();
    drop(rt);
}

/// Adds webhook channel `name` to `rx` (`extra` arguments after), and
/// gives `rx` its signing secret.
fn add_webhook(s: &Sandbox, name: &str, rx: &ReceiverHandle, extra: &[&str], now: &str) {
    let url = rx.url();
    let mut args = vec![
        "--config",
        "cfg.toml",
        "notify",
        "channel",
        "add",
        name,
        "--webhook",
        &url,
        "--allow-private",
        "--as",
        "alice",
    ];
    args.extend_from_slice(extra);
    let added = s.run_env(&args, &[("CHANGEDESK_NOW", now)]).ok();
    let secret = added
        .stdout
        .lines()
        .find(|l| l.starts_with("whsec_"))
        .expect("the signing secret, shown once");
    rx.set_secret(secret).unwrap();
}

/// A sandbox whose tenant `alpha` has a baseline (MC1), a webhook channel
/// `desk` to a new receiver, and five new posts (MC2–MC6) whose events wait
/// for delivery.
fn five_waiting(rt: &tokio::runtime::Runtime) -> (ReceiverHandle, Sandbox) {
    let rx = receiver(rt);
    let s = Sandbox::new();
    s.write("cfg.toml", CONFIG);
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
    s.run(&[
        "--config",
        "cfg.toml",
        "import",
        "a.json",
        "--tenant",
        "alpha",
        "--create-tenant",
    ])
    .ok();
    add_webhook(&s, "desk", &rx, &[], "2026-09-01T00:00:00Z");
    let all: Vec<(String, &str)> = (1..=6)
        .map(|i| (format!("MC{i}"), "Microsoft Teams"))
        .collect();
    let refs: Vec<(&str, &str)> = all.iter().map(|(i, s)| (i.as_str(), *s)).collect();
    s.write_json("b.json", &posts(&refs));
    s.run(&[
        "--config", "cfg.toml", "import", "b.json", "--tenant", "alpha",
    ])
    .ok();
    (rx, s)
}

/// `kill -9` (an abort at a failpoint) inside a round of the outbox, then
/// the next round once the lease ran out: every message arrives (distinct
/// ids at the receiver), and only those in flight at the crash are sent
/// again, under the same id, counted in the log.
#[test]
fn a_killed_delivery_round_loses_nothing_and_resends_only_what_was_in_flight() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for failpoint in [
        "outbox.claimed",
        "outbox.sent=1",
        "outbox.sent=3",
        "outbox.recorded=2",
    ] {
        let (rx, s) = five_waiting(&rt);
        let cd = |args: &[&str], env: &[(&str, &str)]| {
            let mut all = vec!["--config", "cfg.toml"];
            all.extend_from_slice(args);
            s.run_env(&all, env)
        };

        // killed mid-round
        let killed = cd(
            &["notify", "deliver"],
            &[("CHANGEDESK_FAILPOINT", failpoint)],
        );
        assert_ne!(
            killed.code,
            Some(0),
            "{failpoint}: the round was killed: {}",
            killed.stdout
        );
        assert!(
            killed.stderr.contains("failpoint"),
            "{failpoint}: {}",
            killed.stderr
        );
        let before = rx.distinct_ids().len();
        // the next round, past the lease (60 s)
        let next = cd(
            &["notify", "deliver"],
            &[("CHANGEDESK_NOW", "2026-09-01T00:02:00Z")],
        )
        .ok();
        assert!(next.stdout.contains("delivered"), "{}", next.stdout);
        // nothing lost
        assert_eq!(
            rx.distinct_ids().len(),
            5,
            "{failpoint}: {:?}",
            rx.distinct_ids()
        );
        assert!(rx.rejected().is_empty());
        let log: Vec<Value> = serde_json::from_str(
            &cd(&["notify", "outbox", "--format", "json"], &[])
                .ok()
                .stdout,
        )
        .unwrap();
        assert_eq!(log.len(), 5);
        assert!(
            log.iter().all(|d| d["state"] == "delivered"),
            "{failpoint}: {log:?}"
        );
        // re-sent: only what was in flight, counted
        let resent: i64 = log.iter().map(|d| d["resends"].as_i64().unwrap()).sum();
        let recorded_before = match failpoint {
            "outbox.recorded=2" => 2,
            _ => 0,
        };
        assert_eq!(
            resent,
            5 - recorded_before,
            "{failpoint}: every claim left unrecorded was taken over"
        );
        assert!(
            rx.duplicates() as i64 <= resent,
            "{failpoint}: {} duplicates for {resent} taken over",
            rx.duplicates()
        );
        match failpoint {
            // killed before any send: nothing twice
            "outbox.claimed" => assert_eq!((before, rx.duplicates()), (0, 0)),
            // killed after a send: that one arrived, and arrives again
            _ => assert!(
                before >= 1 && rx.duplicates() >= 1,
                "{failpoint}: {before} {}",
                rx.duplicates()
            ),
        }
    }
    drop(rt);
}

/// Channels declared in the configuration file reach the archive whenever a
/// command applies the file (here `import`), their URL from an environment
/// variable of any name; the CLI shows them as the file's and refuses to
/// remove them; one dropped from the file is disabled at the next
/// application, after which a person may remove it.
#[test]
fn channels_declared_in_the_file_are_applied_and_read_only() {
    let s = Sandbox::new();
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let cab = "[[notify.channel]]\nname = \"cab\"\nkind = \"email\"\nrecipients = [\"cab@example.com\"]\n";
    let ops = "[[notify.channel]]\nname = \"ops\"\nkind = \"slack\"\nurl_env = \"OPS_SLACK_URL\"\n";
    s.write("cfg.toml", &format!("{CONFIG}\n{ops}\n{cab}"));
    let env = [(
        "OPS_SLACK_URL",
        "https://hooks.slack.com/services/T0/B0/SLACKSECRET",
    )];
    let cd = |args: &[&str], env: &[(&str, &str)]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run_env(&all, env)
    };
    s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
    cd(
        &["import", "a.json", "--tenant", "alpha", "--create-tenant"],
        &env,
    )
    .ok();
    let list = cd(&["notify", "channel", "list"], &env).ok();
    assert!(list.stdout.contains("config file"), "{}", list.stdout);
    assert!(
        list.stdout
            .contains("cfg.toml; change those channels there"),
        "{}",
        list.stdout
    );
    assert!(!list.all().contains("SLACKSECRET"), "{}", list.all());
    let removed = cd(
        &["notify", "channel", "remove", "ops", "--as", "alice"],
        &env,
    )
    .fails();
    assert!(
        removed
            .stderr
            .contains("channel `ops` is declared in the config file")
            && removed.stderr.contains("cfg.toml; change it there"),
        "{}",
        removed.stderr
    );
    let added = cd(
        &[
            "notify",
            "channel",
            "add",
            "cab",
            "--email",
            "x@example.com",
            "--as",
            "alice",
        ],
        &env,
    )
    .fails();
    assert!(
        added
            .stderr
            .contains("channel `cab` is declared in the config file"),
        "{}",
        added.stderr
    );
    // without its variable the configuration does not load, and says why
    let missing = cd(&["notify", "channel", "list"], &[]).fails();
    assert!(
        missing.stderr.contains(
            "notify.channel[0].url_env: the environment variable OPS_SLACK_URL is not set"
        ),
        "{}",
        missing.stderr
    );
    // dropped from the file: disabled, no longer the file's
    s.write("cfg.toml", &format!("{CONFIG}\n{cab}"));
    cd(&["import", "a.json", "--tenant", "alpha"], &[]).ok();
    let list = cd(&["notify", "channel", "list", "--format", "json"], &[]).ok();
    let v: Value = serde_json::from_str(&list.stdout).unwrap();
    let find = |name: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    let ops = find("ops");
    assert_eq!(ops["enabled"], false);
    assert_eq!(ops["declared_in"], Value::Null);
    assert!(
        ops["disabled_reason"]
            .as_str()
            .unwrap()
            .starts_with("no longer declared in the config file"),
        "{ops}"
    );
    assert!(
        find("cab")["declared_in"]
            .as_str()
            .unwrap()
            .ends_with("cfg.toml")
    );
    // now a person may remove it
    cd(
        &["notify", "channel", "remove", "ops", "--as", "alice"],
        &[],
    )
    .ok();
}

/// `serve`'s outbox (a dispatcher and senders, each recording a wave of
/// outcomes in one transaction) killed at a failpoint: mid-wave (after the
/// third send) or right after the first wave's outcomes were committed.
/// A `notify deliver` past the lease then sends what was left: every
/// message arrives, and only the deliveries in flight at the crash (claimed,
/// their outcome not committed) are re-sent and counted; a kill after the
/// commit re-sends nothing of that wave.
#[test]
fn a_killed_serve_loses_nothing_and_resends_only_what_was_in_flight() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for failpoint in ["outbox.sent=3", "outbox.recorded=1"] {
        let (rx, s) = five_waiting(&rt);
        let cd = |args: &[&str], env: &[(&str, &str)]| {
            let mut all = vec!["--config", "cfg.toml"];
            all.extend_from_slice(args);
            s.run_env(&all, env)
        };

        let mut serve = s.command(&[
            "--config",
            "cfg.toml",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--insecure-cookies",
        ]);
        serve
            .env("CHANGEDESK_FAILPOINT", failpoint)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let child = serve.spawn().unwrap();
        let (tx, done) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = done
            .recv_timeout(Duration::from_secs(60))
            .expect("serve reached the failpoint within a minute")
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains("failpoint"),
            "{failpoint}: {stderr}"
        );
        let before = rx.distinct_ids().len();
        let log = |s: &Sandbox| -> Vec<Value> {
            let out = s
                .run(&[
                    "--config", "cfg.toml", "notify", "outbox", "--format", "json",
                ])
                .ok();
            serde_json::from_str(&out.stdout).unwrap()
        };
        let in_flight = log(&s).iter().filter(|d| d["state"] == "sending").count();
        let delivered_at_crash = log(&s).iter().filter(|d| d["state"] == "delivered").count();
        // the next round, past the lease (60 s)
        cd(
            &["notify", "deliver"],
            &[("CHANGEDESK_NOW", "2026-09-01T00:02:00Z")],
        )
        .ok();
        assert_eq!(rx.distinct_ids().len(), 5, "{failpoint}: nothing lost");
        assert!(rx.rejected().is_empty());
        let after = log(&s);
        assert!(after.iter().all(|d| d["state"] == "delivered"), "{after:?}");
        let resent: i64 = after.iter().map(|d| d["resends"].as_i64().unwrap()).sum();
        assert_eq!(
            resent as usize, in_flight,
            "{failpoint}: exactly the claims in flight were taken over"
        );
        assert!(rx.duplicates() as i64 <= resent);
        match failpoint {
            // the first wave's outcomes were committed together, before the kill
            "outbox.recorded=1" => {
                assert!(delivered_at_crash >= 1, "{after:?}");
                assert_eq!(delivered_at_crash, before);
            }
            // killed mid-wave: nothing of the wave recorded, all of it re-sent
            _ => {
                assert_eq!(delivered_at_crash, 0);
                assert!(before >= 3 && in_flight >= 3, "{before} {in_flight}");
            }
        }
    }
    drop(rt);
}

/// A post already known that reaches another tenant is told as
/// `post.new_tenants`, naming that tenant, to a channel that names the
/// kind; a channel of every event is not told again.
#[test]
fn a_known_post_reaching_another_tenant_is_told_only_where_asked() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = Sandbox::new();
    s.write("cfg.toml", CONFIG);
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let cd = |args: &[&str], now: &str| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run_env(&all, &[("CHANGEDESK_NOW", now)])
    };
    let day = |d: u32| format!("2026-09-{d:02}T00:00:00Z");
    // round 1: both tenants' first listings (the baseline)
    s.write_json("one.json", &posts(&[("MC1", "Microsoft Teams")]));
    for t in ["alpha", "beta"] {
        cd(
            &["import", "one.json", "--tenant", t, "--create-tenant"],
            &day(1),
        )
        .ok();
    }
    let every = receiver(&rt);
    add_webhook(&s, "every", &every, &[], &day(1));
    let reach = receiver(&rt);
    add_webhook(
        &s,
        "reach",
        &reach,
        &["--event", "post.new_tenants"],
        &day(1),
    );
    let receivers = [every, reach];
    // round 2: MC2 is new, alpha sees it; round 3: it reaches beta
    s.write_json(
        "two.json",
        &posts(&[("MC1", "Microsoft Teams"), ("MC2", "Microsoft Teams")]),
    );
    cd(&["import", "two.json", "--tenant", "alpha"], &day(2)).ok();
    cd(&["import", "one.json", "--tenant", "beta"], &day(2)).ok();
    cd(&["import", "two.json", "--tenant", "beta"], &day(3)).ok();
    cd(&["notify", "deliver"], &day(3)).ok();
    let types = |rx: &ReceiverHandle| -> Vec<String> {
        rx.received()
            .iter()
            .filter_map(|r| r.event_type.clone())
            .collect()
    };
    let every = types(&receivers[0]);
    assert!(every.contains(&"post.routed".to_string()), "{every:?}");
    assert!(
        !every.contains(&"post.new_tenants".to_string()),
        "{every:?}"
    );
    let reach = receivers[1].received();
    assert_eq!(reach.len(), 1, "{:?}", types(&receivers[1]));
    assert_eq!(reach[0].event_type.as_deref(), Some("post.new_tenants"));
    assert_eq!(reach[0].body["data"]["post"]["id"], "MC2");
    assert_eq!(reach[0].body["data"]["tenants"], json!(["beta"]));
    drop(rt);
}

/// A connector end to end from the command line, against the ServiceNow
/// mock: added with its password from the environment (sealed, never
/// printed), tested, asked to raise a change for a post (once, asked
/// twice), delivered by a round of the outbox, and listed with the post.
#[test]
fn a_servicenow_connector_raises_a_change_once() {
    use changedesk_sim::servicenow::{ServiceNowConfig, start_servicenow};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sn = rt
        .block_on(start_servicenow(ServiceNowConfig::default()))
        .unwrap();
    let s = Sandbox::new();
    s.write("cfg.toml", CONFIG);
    let password = sn.config().password.clone();
    let env = [("SNOW_PASSWORD", password.as_str())];
    let cd = |args: &[&str]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run_env(&all, &env)
    };
    s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
    cd(&["import", "a.json", "--tenant", "alpha", "--create-tenant"]).ok();
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    // a secret on the command line is refused
    let refused = cd(&[
        "notify",
        "channel",
        "add",
        "snow",
        "--servicenow",
        &sn.url(),
        "--user",
        "changedesk",
        "--secret",
        "x",
        "--allow-private",
        "--as",
        "alice",
    ])
    .fails();
    assert!(
        refused.stderr.contains("--secret-env"),
        "{}",
        refused.stderr
    );
    let added = cd(&[
        "notify",
        "channel",
        "add",
        "snow",
        "--servicenow",
        &sn.url(),
        "--user",
        &sn.config().user,
        "--secret-env",
        "SNOW_PASSWORD",
        "--allow-private",
        "--as",
        "alice",
    ])
    .ok();
    assert!(
        added.stdout.contains("servicenow connector"),
        "{}",
        added.stdout
    );
    assert!(!added.all().contains(&password));
    let tested = cd(&["notify", "channel", "test", "snow"]).ok();
    assert!(tested.stdout.contains("delivered"), "{}", tested.stdout);
    // a Jira setting on ServiceNow is refused as a usage error, before anything
    let bad = cd(&[
        "notify",
        "channel",
        "add",
        "snow2",
        "--servicenow",
        &sn.url(),
        "--project",
        "CHG",
        "--secret-env",
        "SNOW_PASSWORD",
        "--as",
        "alice",
    ]);
    assert_eq!(bad.code, Some(2), "a usage error: {}", bad.stderr);
    assert!(bad.stderr.contains("--jira"), "{}", bad.stderr);
    for _ in 0..2 {
        let asked = cd(&[
            "tasks",
            "raise-change",
            "mc1",
            "--connector",
            "snow",
            "--as",
            "alice",
        ])
        .ok();
        assert!(asked.stdout.contains("cd-MC1-all"), "{}", asked.stdout);
    }
    cd(&["notify", "deliver"]).ok();
    assert_eq!(sn.records().len(), 1, "asked twice, raised once");
    let tickets = cd(&["tasks", "tickets", "MC1"]).ok();
    assert!(
        tickets.stdout.contains("CHG0030001") && tickets.stdout.contains("for all"),
        "{}",
        tickets.stdout
    );
    let json = cd(&["tasks", "tickets", "MC1", "--format", "json"]).ok();
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v[0]["progress"], "open", "{v}");
    // a tenant that does not see the post, a connector that does not exist
    cd(&[
        "tasks",
        "raise-change",
        "MC1",
        "--connector",
        "snow",
        "--tenant",
        "zulu",
        "--as",
        "alice",
    ])
    .fails();
    let none = cd(&[
        "tasks",
        "raise-change",
        "MC1",
        "--connector",
        "nosuch",
        "--as",
        "alice",
    ])
    .fails();
    assert!(none.stderr.contains("no connector"), "{}", none.stderr);
}

/// A connector declared in the configuration file: applied with its
/// secret from the environment (sealed, never shown), read-only elsewhere,
/// and raising changes; a connector setting of another system is an error
/// at its key.
#[test]
fn a_connector_declared_in_the_file_raises_changes() {
    use changedesk_sim::servicenow::{ServiceNowConfig, start_servicenow};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sn = rt
        .block_on(start_servicenow(ServiceNowConfig::default()))
        .unwrap();
    let s = Sandbox::new();
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let declared = format!(
        "[[notify.channel]]\nname = \"snow\"\nkind = \"servicenow\"\nurl = \"{}\"\nsecret_env = \"SNOW_PASSWORD\"\n\
         allow_private = true\nconnector = {{ user = \"{}\", follow = {{ close_ticket = true, canceled = \"dismiss\" }} }}\n",
        sn.url(),
        sn.config().user
    );
    s.write("cfg.toml", &format!("{CONFIG}\n{declared}"));
    let password = sn.config().password.clone();
    let env = [("SNOW_PASSWORD", password.as_str())];
    let cd = |args: &[&str]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run_env(&all, &env)
    };
    s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
    cd(&["import", "a.json", "--tenant", "alpha", "--create-tenant"]).ok();
    let list = cd(&["notify", "channel", "list"]).ok();
    assert!(
        list.stdout.contains("snow") && list.stdout.contains("closed here: closes the ticket"),
        "{}",
        list.stdout
    );
    assert!(!list.all().contains(&password));
    cd(&[
        "tasks",
        "raise-change",
        "MC1",
        "--connector",
        "snow",
        "--as",
        "alice",
    ])
    .ok();
    cd(&["notify", "deliver"]).ok();
    assert_eq!(sn.records().len(), 1);
    let removed = cd(&["notify", "channel", "remove", "snow", "--as", "alice"]).fails();
    assert!(
        removed.stderr.contains("declared in the config file"),
        "{}",
        removed.stderr
    );
    // a Jira setting on ServiceNow: an error naming the channel's key
    s.write(
        "bad.toml",
        &format!(
            "{CONFIG}\n{}",
            declared.replace("follow = {", "project = \"CHG\", follow = {")
        ),
    );
    let bad = s
        .run_env(
            &[
                "--config", "bad.toml", "import", "a.json", "--tenant", "alpha",
            ],
            &env,
        )
        .fails();
    assert!(
        bad.stderr.contains("notify.channel[0].connector")
            && bad.stderr.contains("unknown field `project`"),
        "{}",
        bad.stderr
    );
}

/// Tickets in Jira and GLPI followed back (`tasks follow-tickets`): a Jira
/// issue done there closes its item with the decision the connector's
/// mapping names; a GLPI change being processed for one tenant starts the
/// item for that tenant only; a ticket not yet moved changes nothing.
#[test]
fn jira_and_glpi_tickets_are_followed_back_into_their_items() {
    use changedesk_sim::glpi::{GlpiConfig, start_glpi};
    use changedesk_sim::jira::{JiraConfig, start_jira};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let jira = rt.block_on(start_jira(JiraConfig::default())).unwrap();
    let glpi = rt.block_on(start_glpi(GlpiConfig::default())).unwrap();
    let s = Sandbox::new();
    s.write("cfg.toml", CONFIG);
    let token = jira.config().api_token.clone();
    let user_token = glpi.config().user_token.clone();
    let app_token = glpi.config().app_token.clone().unwrap_or_default();
    let env = [
        ("JIRA_TOKEN", token.as_str()),
        ("GLPI_TOKEN", user_token.as_str()),
        ("GLPI_APP", app_token.as_str()),
    ];
    let cd = |args: &[&str]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run_env(&all, &env)
    };
    let both = posts(&[("MC1", "Microsoft Teams"), ("MC2", "Microsoft Teams")]);
    s.write_json("a.json", &both);
    cd(&["import", "a.json", "--tenant", "alpha", "--create-tenant"]).ok();
    cd(&["import", "a.json", "--tenant", "zulu", "--create-tenant"]).ok();
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let bad = cd(&[
        "notify",
        "channel",
        "add",
        "j",
        "--jira",
        &jira.url(),
        "--user",
        &jira.config().email,
        "--project",
        &jira.config().project,
        "--issue-type",
        "Change",
        "--secret-env",
        "JIRA_TOKEN",
        "--when-done",
        "close:later",
        "--allow-private",
        "--as",
        "alice",
    ])
    .fails();
    assert!(bad.stderr.contains("follow.done"), "{}", bad.stderr);
    cd(&[
        "notify",
        "channel",
        "add",
        "j",
        "--jira",
        &jira.url(),
        "--user",
        &jira.config().email,
        "--project",
        &jira.config().project,
        "--issue-type",
        "Change",
        "--secret-env",
        "JIRA_TOKEN",
        "--when-done",
        "close:actioned",
        "--allow-private",
        "--as",
        "alice",
    ])
    .ok();
    let glpi_url = glpi.url();
    let mut glpi_add = vec![
        "notify",
        "channel",
        "add",
        "g",
        "--glpi",
        &glpi_url,
        "--secret-env",
        "GLPI_TOKEN",
        "--allow-private",
        "--as",
        "alice",
    ];
    if !app_token.is_empty() {
        glpi_add.extend_from_slice(&["--app-token-env", "GLPI_APP"]);
    }
    cd(&glpi_add).ok();
    let listed = cd(&["notify", "channel", "list"]).ok();
    assert!(
        listed.stdout.contains("done: close:actioned"),
        "{}",
        listed.stdout
    );
    cd(&[
        "tasks",
        "raise-change",
        "MC1",
        "--connector",
        "j",
        "--as",
        "alice",
    ])
    .ok();
    cd(&[
        "tasks",
        "raise-change",
        "MC2",
        "--connector",
        "g",
        "--tenant",
        "alpha",
        "--as",
        "alice",
    ])
    .ok();
    cd(&["notify", "deliver"]).ok();
    assert_eq!((jira.issues().len(), glpi.changes().len()), (1, 1));
    let followed = cd(&["tasks", "follow-tickets", "--format", "json"]).ok();
    let v: Value = serde_json::from_str(&followed.stdout).unwrap();
    assert_eq!(
        (v["read"].as_u64(), v["moved"].as_u64()),
        (Some(2), Some(0)),
        "{v}"
    );

    assert!(jira.move_to("CHG-1", "10001"));
    assert!(glpi.set_status(glpi.changes()[0].id(), 2));
    let followed = cd(&["tasks", "follow-tickets"]).ok();
    assert!(
        followed.stdout.contains("2 moved, 2 items changed"),
        "{}",
        followed.stdout
    );
    let list = |args: &[&str]| -> Vec<Value> {
        let mut all = vec!["tasks", "list", "--format", "json"];
        all.extend_from_slice(args);
        serde_json::from_str::<Value>(&cd(&all).ok().stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let find = |items: &[Value], id: &str| -> Value {
        items
            .iter()
            .find(|i| i["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not in {items:?}"))
    };
    find(&list(&["--state", "done"]), "MC1");
    let shown = cd(&["tasks", "show", "MC1"]).ok();
    assert!(
        shown.stdout.contains("(actioned)") && shown.stdout.contains("connector:j"),
        "{}",
        shown.stdout
    );
    let for_alpha = find(&list(&["--tenant", "alpha"]), "MC2");
    assert_eq!(for_alpha["state"], "in_progress", "{for_alpha}");
    let for_zulu = find(&list(&["--tenant", "zulu"]), "MC2");
    assert_eq!(for_zulu["state"], "new", "{for_zulu}");
    let tickets = cd(&["tasks", "tickets", "MC2"]).ok();
    assert!(
        tickets
            .stdout
            .contains("processing (in_progress)  for tenant:alpha"),
        "{}",
        tickets.stdout
    );
    // the done issue is not read again; the GLPI change still is
    let v: Value = serde_json::from_str(
        &cd(&["tasks", "follow-tickets", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(
        (v["read"].as_u64(), v["moved"].as_u64()),
        (Some(1), Some(0)),
        "{v}"
    );

    // Microsoft moves MC2's rollout: the GLPI change gets a follow-up saying
    // so (the done Jira issue hears of nothing), once
    let mut revised = both.clone();
    revised[1]["lastModifiedDateTime"] = json!("2026-09-15T00:00:00Z");
    revised[1]["startDateTime"] = json!("2026-10-01T00:00:00Z");
    revised[0]["lastModifiedDateTime"] = json!("2026-09-15T00:00:00Z");
    revised[0]["title"] = json!("Microsoft Teams: change MC1, renamed");
    s.write_json("b.json", &revised);
    cd(&["import", "b.json", "--tenant", "alpha"]).ok();
    let followed = cd(&["tasks", "follow-tickets"]).ok();
    assert!(followed.stdout.contains("1 note "), "{}", followed.stdout);
    cd(&["notify", "deliver"]).ok();
    let followups = glpi.changes()[0].followups.clone();
    assert_eq!(followups.len(), 1, "{followups:?}");
    assert!(
        followups[0].contains("Start date: 2026-08-30 → 2026-10-01"),
        "{followups:?}"
    );
    assert!(jira.issues()[0].comments.is_empty());
    cd(&["tasks", "follow-tickets"]).ok();
    cd(&["notify", "deliver"]).ok();
    assert_eq!(glpi.changes()[0].followups.len(), 1);
}

/// A delivery round killed (`kill -9`-like: the process aborts) while it
/// raises a ticket — before the connector is asked, after the system made
/// the change but before the archive knows it, after recording but before
/// letting go of the ticket's lock — loses nothing and raises nothing
/// twice: the next round, past the lease, takes the delivery and the lock
/// over, finds the change, and records it once.
#[test]
fn a_killed_round_raises_a_change_once() {
    use changedesk_sim::servicenow::{ServiceNowConfig, start_servicenow};
    let rt = tokio::runtime::Runtime::new().unwrap();
    for failpoint in [
        "outbox.claimed",
        "ticket.raised",
        "ticket.recorded",
        "outbox.sent",
    ] {
        let sn = rt
            .block_on(start_servicenow(ServiceNowConfig::default()))
            .unwrap();
        let s = Sandbox::new();
        s.write("cfg.toml", CONFIG);
        let password = sn.config().password.clone();
        let cd = |args: &[&str], env: &[(&str, &str)]| {
            let mut all = vec!["--config", "cfg.toml"];
            all.extend_from_slice(args);
            let mut env = env.to_vec();
            env.push(("SNOW_PASSWORD", password.as_str()));
            s.run_env(&all, &env)
        };
        s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
        cd(
            &["import", "a.json", "--tenant", "alpha", "--create-tenant"],
            &[],
        )
        .ok();
        s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
        cd(
            &[
                "notify",
                "channel",
                "add",
                "snow",
                "--servicenow",
                &sn.url(),
                "--user",
                &sn.config().user,
                "--secret-env",
                "SNOW_PASSWORD",
                "--allow-private",
                "--as",
                "alice",
            ],
            &[],
        )
        .ok();
        cd(
            &[
                "tasks",
                "raise-change",
                "MC1",
                "--connector",
                "snow",
                "--as",
                "alice",
            ],
            &[],
        )
        .ok();
        let killed = cd(
            &["notify", "deliver"],
            &[("CHANGEDESK_FAILPOINT", failpoint)],
        );
        assert_ne!(killed.code, Some(0), "{failpoint}: {}", killed.stdout);
        assert!(
            killed.stderr.contains("failpoint"),
            "{failpoint}: {}",
            killed.stderr
        );
        // the next round, past the lease (60 s)
        cd(
            &["notify", "deliver"],
            &[("CHANGEDESK_NOW", "2026-09-01T00:02:00Z")],
        )
        .ok();
        assert_eq!(sn.records().len(), 1, "{failpoint}: one change");
        let json = cd(&["tasks", "tickets", "MC1", "--format", "json"], &[]).ok();
        let v: Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 1, "{failpoint}: {v}");
        assert_eq!(v[0]["number"], "CHG0030001", "{failpoint}: {v}");
        let log: Vec<Value> = serde_json::from_str(
            &cd(&["notify", "outbox", "--format", "json"], &[])
                .ok()
                .stdout,
        )
        .unwrap();
        assert!(
            log.iter().all(|d| d["state"] == "delivered"),
            "{failpoint}: {log:?}"
        );
        rt.block_on(sn.shutdown());
    }
}

/// Each connector's process killed (abort, as `kill -9`) right after it
/// raised a ticket and before the archive knew, and right after the archive
/// recorded it but before the delivery was marked: run again once the
/// lease ran out, the ticket is found, never made twice, and linked — for
/// ServiceNow, Jira, GLPI and Planner (the Graph simulator's), each against
/// its mock. The Planner task is assigned to the owner by the Entra object
/// id the configuration file gives them.
#[test]
fn a_connector_killed_mid_raise_raises_once_when_run_again() {
    use changedesk_sim::glpi::{GlpiConfig, start_glpi};
    use changedesk_sim::jira::{JiraConfig, start_jira};
    use changedesk_sim::servicenow::{ServiceNowConfig, start_servicenow};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sn = rt
        .block_on(start_servicenow(ServiceNowConfig::default()))
        .unwrap();
    let jira = rt.block_on(start_jira(JiraConfig::default())).unwrap();
    let glpi = rt.block_on(start_glpi(GlpiConfig::default())).unwrap();
    let sim = rt
        .block_on(changedesk_sim::start(changedesk_sim::SimConfig {
            tenants: 1,
            ..Default::default()
        }))
        .unwrap();
    sim.grant_app_role("tenant-001", changedesk_sim::TASKS_READ_WRITE_ALL)
        .unwrap();
    let graph = sim.base_url().trim_end_matches('/').to_owned();
    let tenant = sim.tenants()[0].clone();
    let plan = sim.planner_plan("tenant-001").unwrap().plan_id;
    let oid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    let s = Sandbox::new();
    s.write(
        "cfg.toml",
        &CONFIG.replace(
            "email = \"c@example.com\"\n",
            &format!("email = \"c@example.com\"\nentra_id = \"{oid}\"\n"),
        ),
    );
    let (sn_password, jira_token, glpi_token) = (
        sn.config().password.clone(),
        jira.config().api_token.clone(),
        glpi.config().user_token.clone(),
    );
    let app_token = glpi.config().app_token.clone().unwrap_or_default();
    let env = [
        ("SNOW_PASSWORD", sn_password.as_str()),
        ("JIRA_TOKEN", jira_token.as_str()),
        ("GLPI_TOKEN", glpi_token.as_str()),
        ("GLPI_APP", app_token.as_str()),
        ("SIM_SECRET", tenant.client_secret.as_str()),
    ];
    let at = |now: &'static str, failpoint: Option<&'static str>, args: &[&str]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        let mut e: Vec<(&str, &str)> = env.to_vec();
        e.push(("CHANGEDESK_NOW", now));
        if let Some(f) = failpoint {
            e.push(("CHANGEDESK_FAILPOINT", f));
        }
        s.run_env(&all, &e)
    };
    s.write_json(
        "a.json",
        &posts(&[("MC1", "Microsoft Teams"), ("MC2", "Microsoft Teams")]),
    );
    at(
        "2026-09-01T00:00:00Z",
        None,
        &["import", "a.json", "--tenant", "alpha", "--create-tenant"],
    )
    .ok();
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let (sn_url, jira_url, glpi_url) = (sn.url(), jira.url(), glpi.url());
    let mut glpi_add = vec!["--glpi", glpi_url.as_str(), "--secret-env", "GLPI_TOKEN"];
    if !app_token.is_empty() {
        glpi_add.extend_from_slice(&["--app-token-env", "GLPI_APP"]);
    }
    let connectors: [(&str, Vec<&str>); 4] = [
        (
            "snow",
            vec![
                "--servicenow",
                &sn_url,
                "--user",
                &sn.config().user,
                "--secret-env",
                "SNOW_PASSWORD",
            ],
        ),
        (
            "j",
            vec![
                "--jira",
                &jira_url,
                "--user",
                &jira.config().email,
                "--project",
                &jira.config().project,
                "--issue-type",
                "Change",
                "--secret-env",
                "JIRA_TOKEN",
            ],
        ),
        ("g", glpi_add),
        (
            "tasks",
            vec![
                "--planner",
                &plan,
                "--directory",
                &tenant.tenant_id,
                "--graph-url",
                &graph,
                "--login-url",
                &graph,
                "--user",
                &tenant.client_id,
                "--secret-env",
                "SIM_SECRET",
            ],
        ),
    ];
    for (name, how) in &connectors {
        let mut args = vec!["notify", "channel", "add", name];
        args.extend_from_slice(how);
        args.extend_from_slice(&["--allow-private", "--as", "alice"]);
        at("2026-09-01T00:00:00Z", None, &args).ok();
    }
    let made = || {
        [
            sn.records().len(),
            jira.issues().len(),
            glpi.changes().len(),
            sim.planner_tasks("tenant-001").len(),
        ]
    };
    // MC1 killed once raised, MC2 once recorded; each a minute apart, the
    // run again 10 minutes later (past the 60 s lease)
    for (post, failpoint, now, later) in [
        (
            "MC1",
            "ticket.raised",
            "2026-09-01T01:00:00Z",
            "2026-09-01T01:10:00Z",
        ),
        (
            "MC2",
            "ticket.recorded",
            "2026-09-01T02:00:00Z",
            "2026-09-01T02:10:00Z",
        ),
    ] {
        for (name, _) in &connectors {
            at(
                now,
                None,
                &[
                    "tasks",
                    "raise-change",
                    post,
                    "--connector",
                    name,
                    "--as",
                    "alice",
                ],
            )
            .ok();
        }
        // the four deliveries are claimed and sent at once: the process
        // dies at the first to get there, the others cut short mid-flight
        let crashed = at(now, Some(failpoint), &["notify", "deliver"]);
        assert_ne!(crashed.code, Some(0), "{failpoint}: {}", crashed.all());
        assert!(
            crashed.stderr.contains("failpoint"),
            "{failpoint}: {}",
            crashed.stderr
        );
        // their claims are held until the lease runs out
        let held = at(now, None, &["notify", "deliver"]).ok();
        assert!(held.stdout.contains("0 delivered"), "{}", held.stdout);
        let again = at(later, None, &["notify", "deliver"]).ok();
        assert!(
            again.stdout.contains("sent again after a crash"),
            "{failpoint}: {}",
            again.stdout
        );
        let tickets = at(later, None, &["tasks", "tickets", post, "--format", "json"]).ok();
        let v: Value = serde_json::from_str(&tickets.stdout).unwrap();
        let mut linked: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["connector"].as_str().unwrap())
            .collect();
        linked.sort_unstable();
        assert_eq!(linked, ["g", "j", "snow", "tasks"], "{failpoint}: {v}");
    }
    assert_eq!(made(), [2, 2, 2, 2], "one ticket per post in each system");
    let tasks = sim.planner_tasks("tenant-001");
    assert!(
        tasks.iter().all(|t| t["assignments"].get(oid).is_some()),
        "{tasks:?}"
    );
    drop(sim);
    drop(rt);
}

/// GLPI connectors declared in the file: one on the legacy API with its
/// application token from the environment (the mock refuses calls without
/// it), one on GLPI 11's high-level API as an OAuth client; both test
/// their connection and raise a change once; a wrong application token is
/// refused by the server and reported.
#[test]
fn glpi_connectors_declared_in_the_file_with_app_token_and_high_level_api() {
    use changedesk_sim::glpi::{GlpiConfig, start_glpi};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let g = rt.block_on(start_glpi(GlpiConfig::default())).unwrap();
    let app_token = g.config().app_token.clone().expect("the mock asks for one");
    let s = Sandbox::new();
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let declared = format!(
        "[[notify.channel]]\nname = \"g\"\nkind = \"glpi\"\nurl = \"{}\"\nsecret_env = \"GLPI_TOKEN\"\n\
         app_token_env = \"GLPI_APP\"\nallow_private = true\n\n\
         [[notify.channel]]\nname = \"ghl\"\nkind = \"glpi\"\nurl = \"{}\"\nsecret_env = \"GLPI_OAUTH\"\n\
         allow_private = true\nconnector = {{ api = \"high_level\", user = \"{}\" }}\n",
        g.url(),
        g.hl_url(),
        g.config().oauth_client_id
    );
    s.write("cfg.toml", &format!("{CONFIG}\n{declared}"));
    let token = g.config().user_token.clone();
    let oauth = g.config().oauth_client_secret.clone();
    let run = |app: &str, args: &[&str]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run_env(
            &all,
            &[
                ("GLPI_TOKEN", token.as_str()),
                ("GLPI_APP", app),
                ("GLPI_OAUTH", oauth.as_str()),
            ],
        )
    };
    s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
    run(
        &app_token,
        &["import", "a.json", "--tenant", "alpha", "--create-tenant"],
    )
    .ok();
    for name in ["g", "ghl"] {
        let tested = run(&app_token, &["notify", "channel", "test", name]).ok();
        assert!(
            tested.stdout.contains("delivered"),
            "{name}: {}",
            tested.stdout
        );
        run(
            &app_token,
            &[
                "tasks",
                "raise-change",
                "MC1",
                "--connector",
                name,
                "--as",
                "alice",
            ],
        )
        .ok();
    }
    run(&app_token, &["notify", "deliver"]).ok();
    let names: Vec<String> = g
        .changes()
        .iter()
        .map(|c| c.fields["name"].as_str().unwrap_or("").to_owned())
        .collect();
    // the two connectors share the server: one change each, by its id
    assert_eq!(names.len(), 1, "one correlation id, one change: {names:?}");
    assert!(names[0].ends_with("[cd-MC1-all]"), "{names:?}");
    let tickets = run(&app_token, &["tasks", "tickets", "MC1", "--format", "json"]).ok();
    let v: Value = serde_json::from_str(&tickets.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
    // the file's token changed to a wrong one: the server refuses it
    // (the file is applied by import, sync and serve)
    run(
        "wrong-app-token",
        &["import", "a.json", "--tenant", "alpha"],
    )
    .ok();
    let refused = run("wrong-app-token", &["notify", "channel", "test", "g"]).fails();
    assert!(
        refused
            .stderr
            .contains("the credentials were refused: ERROR_WRONG_APP_TOKEN_PARAMETER"),
        "{}",
        refused.all()
    );
    assert!(
        !refused.all().contains("wrong-app-token"),
        "{}",
        refused.all()
    );
}

/// A scheduled report from the command line: an e-mail channel with
/// `--report weekly` gets the weekly status each Monday, once, written to
/// the `.eml` directory by `notify deliver`; the channel list says so.
#[test]
fn a_channel_gets_the_weekly_status_each_monday() {
    let s = Sandbox::new();
    s.write(
        "cfg.toml",
        &format!(
            "{CONFIG}\n[notify.email]\nfrom = \"changedesk <cd@example.com>\"\ntransport = \"directory\"\n\
             [notify.email.directory]\npath = \"mail\"\n"
        ),
    );
    std::fs::create_dir_all(s.path("mail")).unwrap();
    let at = |now: &str, args: &[&str]| {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(args);
        s.run_env(&all, &[("CHANGEDESK_NOW", now)])
    };
    s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
    at(
        "2026-09-01T00:00:00Z",
        &["import", "a.json", "--tenant", "alpha", "--create-tenant"],
    )
    .ok();
    s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let bad = at(
        "2026-09-01T00:00:00Z",
        &[
            "notify",
            "channel",
            "add",
            "board",
            "--email",
            "board@example.com",
            "--report",
            "daily",
            "--as",
            "alice",
        ],
    );
    // a usage error
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(bad.stderr.contains("'daily'"), "{}", bad.stderr);
    at(
        "2026-09-01T00:00:00Z",
        &[
            "notify",
            "channel",
            "add",
            "board",
            "--email",
            "board@example.com",
            "--event",
            "changedesk.test",
            "--report",
            "weekly",
            "--report-at",
            "07:30",
            "--time-zone",
            "Europe/Paris",
            "--as",
            "alice",
        ],
    )
    .ok();
    let list = at("2026-09-01T00:00:00Z", &["notify", "channel", "list"]).ok();
    assert!(
        list.stdout
            .contains("weekly status on monday at 07:30 Europe/Paris"),
        "{}",
        list.stdout
    );
    let mails = || {
        std::fs::read_dir(s.path("mail"))
            .unwrap()
            .filter_map(|f| {
                let p = f.unwrap().path();
                (p.extension().and_then(|e| e.to_str()) == Some("eml"))
                    .then(|| std::fs::read_to_string(p).unwrap())
            })
            .collect::<Vec<_>>()
    };
    // Monday 7 September 07:30 Paris is 05:30 UTC: not yet at 05:00
    at("2026-09-07T05:00:00Z", &["notify", "deliver"]).ok();
    assert!(mails().is_empty());
    at("2026-09-07T05:31:00Z", &["notify", "deliver"]).ok();
    at("2026-09-07T09:00:00Z", &["notify", "deliver"]).ok();
    let got = mails();
    assert_eq!(got.len(), 1, "once a week");
    let text = got[0].replace("=\r\n", "").replace("=\n", "");
    assert!(
        text.contains("Weekly status: week 36 of 2026 (2026-08-31 to 2026-09-06)"),
        "{text}"
    );
    assert!(text.contains("New: 1"), "{text}");
}
