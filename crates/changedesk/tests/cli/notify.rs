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
        let rx = receiver(&rt);
        let s = Sandbox::new();
        s.write("cfg.toml", CONFIG);
        s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
        let cd = |args: &[&str], env: &[(&str, &str)]| {
            let mut all = vec!["--config", "cfg.toml"];
            all.extend_from_slice(args);
            s.run_env(&all, env)
        };
        s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
        cd(
            &["import", "a.json", "--tenant", "alpha", "--create-tenant"],
            &[],
        )
        .ok();
        let added = cd(
            &[
                "notify",
                "channel",
                "add",
                "desk",
                "--webhook",
                &rx.url(),
                "--allow-private",
                "--as",
                "alice",
            ],
            &[],
        )
        .ok();
        let secret = added
            .stdout
            .lines()
            .find(|l| l.starts_with("whsec_"))
            .unwrap()
            .to_string();
        rx.set_secret(&secret).unwrap();
        let all: Vec<(String, &str)> = (1..=6)
            .map(|i| (format!("MC{i}"), "Microsoft Teams"))
            .collect();
        let refs: Vec<(&str, &str)> = all.iter().map(|(i, s)| (i.as_str(), *s)).collect();
        s.write_json("b.json", &posts(&refs));
        cd(&["import", "b.json", "--tenant", "alpha"], &[]).ok();

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
        let rx = receiver(&rt);
        let s = Sandbox::new();
        s.write("cfg.toml", CONFIG);
        s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
        let cd = |args: &[&str], env: &[(&str, &str)]| {
            let mut all = vec!["--config", "cfg.toml"];
            all.extend_from_slice(args);
            s.run_env(&all, env)
        };
        s.write_json("a.json", &posts(&[("MC1", "Microsoft Teams")]));
        cd(
            &["import", "a.json", "--tenant", "alpha", "--create-tenant"],
            &[],
        )
        .ok();
        let added = cd(
            &[
                "notify",
                "channel",
                "add",
                "desk",
                "--webhook",
                &rx.url(),
                "--allow-private",
                "--as",
                "alice",
            ],
            &[],
        )
        .ok();
        let secret = added
            .stdout
            .lines()
            .find(|l| l.starts_with("whsec_"))
            .unwrap()
            .to_string();
        rx.set_secret(&secret).unwrap();
        let all: Vec<(String, &str)> = (1..=6)
            .map(|i| (format!("MC{i}"), "Microsoft Teams"))
            .collect();
        let refs: Vec<(&str, &str)> = all.iter().map(|(i, s)| (i.as_str(), *s)).collect();
        s.write_json("b.json", &posts(&refs));
        cd(&["import", "b.json", "--tenant", "alpha"], &[]).ok();

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
