//! Import, list, show, export: the archive from the command line.

use serde_json::{Value, json};

use crate::harness::*;

#[test]
fn read_commands_on_a_missing_database_fail_clearly_and_create_nothing() {
    let s = Sandbox::new();
    for args in [
        &["messages", "list"][..],
        &["messages", "show", "MC1"],
        &["incidents", "list"],
        &["health"],
        &["export", "messages"],
    ] {
        let r = s.run(args).fails();
        assert!(
            r.stderr.contains("does not exist"),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert!(!exists(&s.path("changedesk.db")));
}

#[test]
fn import_list_show_and_export() {
    let s = Sandbox::new();
    let all = corpus(12);
    s.write_json("a.json", &Value::Array(all[..8].to_vec()));
    s.write_json(
        "b.json",
        &json!({"@odata.context": "x", "value": all[4..].to_vec()}),
    );
    let r = s
        .run(&["import", "a.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    assert!(r.stdout.contains("8 new"), "{}", r.stdout);
    let r = s
        .run(&[
            "import",
            "b.json",
            "--tenant",
            "beta",
            "--create-tenant",
            "--format",
            "json",
        ])
        .ok();
    let summary: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        (summary["new"].as_u64(), summary["linked"].as_u64()),
        (Some(4), Some(8))
    );

    let list: Vec<Value> =
        serde_json::from_str(&s.run(&["messages", "list", "--format", "json"]).ok().stdout)
            .unwrap();
    assert_eq!(list.len(), 12);
    let jsonl = s
        .run(&[
            "messages",
            "list",
            "--format",
            "jsonl",
            "--service",
            "Exchange Online",
        ])
        .ok()
        .stdout;
    assert_eq!(
        jsonl.lines().count(),
        all.iter()
            .filter(|v| v["services"][0] == "Exchange Online")
            .count()
    );
    let table = s
        .run(&["messages", "list", "--major", "--limit", "2"])
        .ok()
        .stdout;
    assert!(table.contains("2 posts"), "{table}");
    let r = s
        .run(&[
            "messages",
            "list",
            "--act-by-within",
            "60d",
            "--format",
            "json",
        ])
        .ok();
    let within: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        !within.is_empty() && within.iter().all(|p| p["act_by"].is_string()),
        "{}",
        r.stdout
    );

    // an edited post from beta becomes revision 2, shown with its diff
    s.write_json(
        "b2.json",
        &Value::Array(
            all[4..]
                .iter()
                .enumerate()
                .map(|(i, v)| if i == 0 { edited(v) } else { v.clone() })
                .collect(),
        ),
    );
    s.run(&["import", "b2.json", "--tenant", "beta", "--create-tenant"])
        .ok();
    let id = all[4]["id"].as_str().unwrap();
    let show = s
        .run(&["messages", "show", id, "--revisions", "--diff"])
        .ok()
        .stdout;
    assert!(show.contains("Revision 2"), "{show}");
    assert!(
        show.contains("-Rollout 4 begins in October 2026."),
        "{show}"
    );
    assert!(
        show.contains("+Rollout 4 begins in December 2026."),
        "{show}"
    );
    assert!(
        show.contains("alpha") && show.contains("still shows the version"),
        "alpha lags behind: {show}"
    );
    let one = s
        .run(&["messages", "show", all[0]["id"].as_str().unwrap(), "--diff"])
        .ok()
        .stdout;
    assert!(one.contains("nothing to compare"), "{one}");
    let r = s.run(&["messages", "show", "MC404"]).fails();
    assert!(r.stderr.contains("post MC404 not found"), "{}", r.stderr);

    // alpha's complete listing without its first two posts: gone for alpha, expired (beta never had them)
    s.write_json("a2.json", &Value::Array(all[2..8].to_vec()));
    let r = s
        .run(&["import", "a2.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    assert!(r.stdout.contains("2 gone, 2 expired"), "{}", r.stdout);

    let export = s
        .run(&["export", "messages", "--format", "jsonl"])
        .ok()
        .stdout;
    let records: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 12);
    for r in &records {
        for key in [
            "id",
            "title",
            "lastModifiedDateTime",
            "state",
            "tenants",
            "revisions",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        for t in r["tenants"].as_array().unwrap() {
            for key in ["name", "visible", "first_seen", "last_seen"] {
                assert!(t.get(key).is_some(), "{key} missing in {t}");
            }
        }
        assert!(r["revisions"][0]["lastModifiedDateTime"].is_string());
    }
    let expired: Vec<&str> = records
        .iter()
        .filter(|r| r["state"] == "expired")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        expired,
        vec![
            all[0]["id"].as_str().unwrap(),
            all[1]["id"].as_str().unwrap()
        ]
    );
    let edited_record = records.iter().find(|r| r["id"] == id).unwrap();
    let revs = edited_record["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 2);
    assert!(
        revs[0]["lastModifiedDateTime"].as_str() < revs[1]["lastModifiedDateTime"].as_str(),
        "oldest first"
    );

    // to a file, atomically
    s.run(&["export", "messages", "--output", "out.jsonl"]).ok();
    assert_eq!(
        std::fs::read_to_string(s.path("out.jsonl")).unwrap(),
        export
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_loses_nothing() {
    let s = Sandbox::new();
    s.write_json("good.json", &Value::Array(corpus(3)));
    s.run(&[
        "import",
        "good.json",
        "--tenant",
        "alpha",
        "--create-tenant",
    ])
    .ok();
    let before = s.run(&["export", "messages"]).ok().stdout;

    s.write("broken.json", "[{\"id\": \"MC1\",\n  \"title\": }]");
    let r = s
        .run(&[
            "import",
            "broken.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ])
        .fails();
    assert!(
        r.stderr.contains("broken.json is not valid JSON") && r.stderr.contains("line 2"),
        "{}",
        r.stderr
    );
    s.write("shape.json", "{\"items\": []}");
    let r = s
        .run(&[
            "import",
            "shape.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ])
        .fails();
    assert!(r.stderr.contains("`value` array"), "{}", r.stderr);
    let r = s
        .run(&[
            "import",
            "missing.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ])
        .fails();
    assert!(
        r.stderr.contains("cannot read missing.json"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&[
            "import",
            "good.json",
            "--tenant",
            "Bad Name",
            "--create-tenant",
        ])
        .fails();
    assert!(r.stderr.contains("invalid tenant name"), "{}", r.stderr);
    s.write("empty.json", "[]");
    let r = s
        .run(&[
            "import",
            "empty.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ])
        .fails();
    assert!(r.stderr.contains("--kind"), "{}", r.stderr);
    assert_eq!(
        s.run(&["export", "messages"]).ok().stdout,
        before,
        "nothing changed"
    );

    // one unusable item: the rest load, as a partial listing that marks nothing gone
    let mut items = corpus(2);
    items.push(json!({"title": "no id"}));
    s.write_json("some-bad.json", &Value::Array(items));
    let r = s
        .run(&[
            "import",
            "some-bad.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ])
        .fails();
    assert!(r.stderr.contains("item 2: has no `id`"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing is marked gone"), "{}", r.stderr);
    assert!(
        r.stdout.contains("partial listing") && r.stdout.contains("0 gone"),
        "{}",
        r.stdout
    );
    let r = s.run(&["messages", "list", "--state", "expired"]).ok();
    assert!(r.stdout.contains("0 posts"), "{}", r.stdout);
    let r = s.run(&["messages", "list", "--state", "sideways"]).fails();
    assert!(
        r.stderr.contains("expected active or expired"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&["messages", "list", "--act-by-within", "soon"])
        .fails();
    assert!(r.stderr.contains("not a duration"), "{}", r.stderr);
}

#[test]
fn incidents_and_health_from_files() {
    let s = Sandbox::new();
    let issue = |status: &str, lm: &str, posts: usize| {
        json!({"id": "EX1001", "title": "Mail delayed", "impactDescription": "Users may see delays",
               "classification": "incident", "origin": "microsoft", "status": status, "service": "Exchange Online",
               "feature": "Mail flow", "featureGroup": "E-Mail timely delivery", "isResolved": status == "serviceRestored",
               "startDateTime": "2026-08-30T09:00:00Z", "endDateTime": null, "lastModifiedDateTime": lm, "details": [],
               "posts": (0..posts).map(|i| json!({"createdDateTime": format!("2026-08-30T1{i}:00:00Z"), "postType": "regular",
                   "description": {"contentType": "html", "content": format!("Title: Mail delayed<br>Current status: update {i}")}})).collect::<Vec<_>>()})
    };
    s.write_json(
        "i1.json",
        &json!({"value": [issue("investigating", "2026-08-30T10:00:00Z", 1)]}),
    );
    s.write_json(
        "i2.json",
        &json!({"value": [issue("serviceRestored", "2026-08-30T12:00:00Z", 2)]}),
    );
    s.run(&["import", "i1.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    s.run(&["import", "i1.json", "--tenant", "beta", "--create-tenant"])
        .ok();
    s.run_env(
        &["import", "i2.json", "--tenant", "alpha", "--create-tenant"],
        &[("CHANGEDESK_NOW", "2026-09-01T02:00:00Z")],
    )
    .ok();
    let show = s.run(&["incidents", "show", "EX1001"]).ok().stdout;
    assert!(
        show.contains("investigating") && show.contains("serviceRestored"),
        "{show}"
    );
    assert!(
        show.contains("alpha") && show.contains("beta"),
        "tenants affected: {show}"
    );
    assert!(show.contains("Current status: update 1"), "{show}");
    let open = s.run(&["incidents", "list", "--open"]).ok().stdout;
    assert!(open.contains("0 incidents"), "{open}");

    s.write_json("h.json", &json!({"value": [{"service": "Exchange Online", "status": "serviceDegradation", "id": "Exchange"}]}));
    s.run(&["import", "h.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    let h = s.run(&["health"]).ok().stdout;
    assert!(
        h.contains("serviceDegradation") && h.contains("Exchange Online"),
        "{h}"
    );
    let runs = s.run(&["tenants", "runs", "--tenant", "alpha"]).ok().stdout;
    assert!(
        runs.contains("healthOverviews") && runs.contains("issues"),
        "{runs}"
    );
}

#[test]
fn the_demo_fills_its_own_archive_and_leaves_the_configured_one_alone() {
    let s = Sandbox::new();
    let r = s.run(&["demo", "--tenants", "2", "--posts", "60"]).ok();
    assert!(
        r.stdout.contains("tenant-001") && r.stdout.contains("tenant-002"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("messages show MC"),
        "a revised post to look at: {}",
        r.stdout
    );
    assert!(
        r.stdout.contains("items created") && r.stdout.contains("Triage: work items"),
        "the demo triages what it synced: {}",
        r.stdout
    );
    assert!(r.stdout.contains("| Awaiting triage |"), "{}", r.stdout);
    assert!(exists(&s.path("changedesk-demo.db")));
    assert!(
        !exists(&s.path("changedesk.db")),
        "the default archive is not touched"
    );
    let list: Vec<Value> = serde_json::from_str(
        &s.run(&[
            "--database",
            "sqlite://changedesk-demo.db",
            "messages",
            "list",
            "--format",
            "json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    assert!(
        list.iter().any(|p| p["revision"].as_i64() == Some(2)),
        "the week brought revisions"
    );
    assert!(list.iter().any(|p| p["state"] == "expired"), "and expiries");
    // a second run starts afresh: the same archive, not twice the runs
    let again = s.run(&["demo", "--tenants", "2", "--posts", "60"]).ok();
    let summary = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("The archive:"))
            .map(str::to_string)
    };
    assert!(summary(&r.stdout).is_some(), "{}", r.stdout);
    assert_eq!(summary(&r.stdout), summary(&again.stdout));
}

/// The demo's change board: the rules require change requests of new
/// retirements, the ServiceNow connector raises them in its mock, the board
/// starts one and closes another there, and their items follow.
#[test]
fn the_demo_raises_changes_and_their_items_follow_them() {
    let s = Sandbox::new();
    // which posts a simulated week brings depends on the day it runs: a
    // fixed one
    let r = s
        .run_env(
            &["demo", "--no-serve"],
            &[("CHANGEDESK_NOW", "2026-12-07T00:00:00Z")],
        )
        .ok();
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("the change board: closed "))
        .unwrap_or_else(|| panic!("no change was raised: {}", r.stdout))
        .to_owned();
    assert!(
        line.contains(" moved, ")
            && line.contains("followed (by connector:servicenow or connector:planner)"),
        "{line}"
    );
    // Planner: tasks made for the same items, assigned, one started there
    let planner = r
        .stdout
        .lines()
        .rfind(|l| l.trim_start().starts_with("planner "))
        .unwrap_or_default()
        .to_owned();
    let tasks: usize = planner
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(tasks > 0, "{planner}");
    assert!(
        planner.contains(&format!("({tasks} assigned to their owner)"))
            && planner.contains("someone started the task of MC"),
        "{planner}"
    );
    assert!(!line.contains(" 0 moved"), "{line}");
    let last = r
        .stdout
        .lines()
        .rfind(|l| l.trim_start().starts_with("change "))
        .unwrap_or_default()
        .to_owned();
    assert!(
        last.contains("service desk: ") && !last.contains("service desk: 0 incidents"),
        "Service Health incidents opened in ServiceNow: {last}"
    );
    let closed = line
        .split("closed ")
        .nth(1)
        .and_then(|rest| rest.split(" of ").nth(1))
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect::<String>()
        })
        .unwrap_or_else(|| panic!("{line}"));
    let db = ["--database", "sqlite://changedesk-demo.db"];
    let tickets = s
        .run(&[db[0], db[1], "tasks", "tickets", &closed])
        .ok()
        .stdout;
    assert!(tickets.contains("closed (done)"), "{tickets}");
    let shown = s.run(&[db[0], db[1], "tasks", "show", &closed]).ok().stdout;
    assert!(
        shown.contains("change_request_raised") && shown.contains("connector:servicenow"),
        "{shown}"
    );
}

#[test]
fn a_real_title_with_a_dash_near_the_start_imports() {
    // a real 2025 post once made import exit 101: its title was cut at
    // byte 9, inside the en dash
    let s = Sandbox::new();
    let mut all = corpus(3);
    all[1]["title"] = json!("TPM 2.0 – a necessity for a secure and future-proof Windows 11");
    all[2]["title"] = json!("(Updated) 日本語 – x");
    s.write_json("a.json", &Value::Array(all.clone()));
    let r = s
        .run(&["import", "a.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    assert!(r.stdout.contains("3 new"), "{}", r.stdout);
    let shown = s
        .run(&["messages", "show", all[1]["id"].as_str().unwrap()])
        .ok();
    assert!(
        shown.stdout.contains("TPM 2.0 – a necessity"),
        "{}",
        shown.stdout
    );
}

#[test]
fn one_poison_post_never_stops_the_rest_of_an_import_or_the_rules() {
    let s = Sandbox::new();
    let all = corpus(6);
    s.write_json("a.json", &Value::Array(all.clone()));
    let bad = all[2]["id"].as_str().unwrap().to_string();
    // a bug while storing one post: that post is reported, the rest stored
    let r = s
        .run_env(
            &[
                "import",
                "a.json",
                "--tenant",
                "alpha",
                "--create-tenant",
                "--format",
                "json",
            ],
            &[("CHANGEDESK_POISON", &format!("import:{bad}"))],
        )
        .fails();
    assert!(
        r.stderr.contains(&bad)
            && r.stderr.contains("alpha")
            && !r.stderr.contains("exit code 101"),
        "{}",
        r.stderr
    );
    let summary: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(summary["new"], 5, "{summary}");
    assert_eq!(summary["failed"][0]["id"], bad.as_str(), "{summary}");
    assert_eq!(summary["triage"]["created"], 5, "{summary}");
    // the next run stores it, and the rules decide it
    let r = s
        .run(&["import", "a.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    assert!(r.stdout.contains("1 new"), "{}", r.stdout);

    // a bug while the rules decide one post: the others are decided, that
    // one stays pending and is decided by the next run
    let more = corpus(9);
    s.write_json("b.json", &Value::Array(more[6..].to_vec()));
    let bad = more[7]["id"].as_str().unwrap().to_string();
    let r = s
        .run_env(
            &[
                "import",
                "b.json",
                "--tenant",
                "alpha",
                "--create-tenant",
                "--format",
                "json",
            ],
            &[("CHANGEDESK_POISON", &format!("rules:{bad}"))],
        )
        .ok();
    assert!(
        r.stderr.contains(&bad) && r.stderr.contains("could not decide"),
        "{}",
        r.stderr
    );
    let summary: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(summary["new"], 3, "{summary}");
    assert_eq!(summary["triage"]["created"], 2, "{summary}");
    let r = s
        .run(&[
            "import",
            "b.json",
            "--tenant",
            "alpha",
            "--create-tenant",
            "--format",
            "json",
        ])
        .ok();
    let summary: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(summary["triage"]["created"], 1, "{summary}");
}

#[test]
fn files_exported_by_windows_powershell_import() {
    let s = Sandbox::new();
    let all = corpus(3);
    let text = serde_json::to_string(&json!({ "value": all })).unwrap();
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend_from_slice(text.as_bytes());
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    for (i, bytes) in [bom8, le, be].into_iter().enumerate() {
        std::fs::write(s.path("ps.json"), bytes).unwrap();
        let r = s
            .run(&["import", "ps.json", "--tenant", "alpha", "--create-tenant"])
            .ok();
        let want = if i == 0 { "3 new" } else { "0 new" };
        assert!(r.stdout.contains(want), "{i}: {}", r.stdout);
    }
    std::fs::write(s.path("bad.json"), [0x5B, 0xC3, 0x28, 0x5D]).unwrap();
    let r = s
        .run(&["import", "bad.json", "--tenant", "alpha", "--create-tenant"])
        .fails();
    assert!(r.stderr.contains("not UTF-8 or UTF-16"), "{}", r.stderr);
}

#[test]
fn terminal_output_never_passes_escape_sequences_from_posts() {
    let s = Sandbox::new();
    let mut all = corpus(2);
    all[0]["title"] = json!("Teams \u{1b}]0;pwned\u{7} \u{1b}[2J update\r\u{9b}31m");
    all[0]["body"]["content"] = json!("<p>line\u{1b}[1A over</p>");
    all[0]["services"] = json!(["Exchange\u{1b}[31m"]);
    s.write_json("a.json", &Value::Array(all.clone()));
    s.run(&["import", "a.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    let id = all[0]["id"].as_str().unwrap();
    for args in [
        &["messages", "list"][..],
        &["messages", "show", id],
        &["tasks", "list"],
        &["tasks", "show", id],
    ] {
        let r = s.run(args).ok();
        let out = r.all();
        assert!(
            !out.contains(['\u{1b}', '\u{9b}', '\u{7}', '\r']),
            "{args:?} passed a control character through: {out:?}"
        );
        assert!(out.contains("\\u{1b}"), "{args:?}: {out}");
    }
}

#[test]
fn importing_to_an_unknown_tenant_needs_create_tenant() {
    let s = Sandbox::new();
    s.write_json("a.json", &Value::Array(corpus(2)));
    let r = s.run(&["import", "a.json", "--tenant", "alpha"]).fails();
    assert!(
        r.stderr
            .contains("`alpha` is neither configured nor in the archive")
            && r.stderr.contains("--create-tenant"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&["import", "a.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    assert!(r.stderr.contains("is new"), "{}", r.stderr);
    // a typo of a known tenant is refused, naming the known ones
    let r = s.run(&["import", "a.json", "--tenant", "alpah"]).fails();
    assert!(r.stderr.contains("known: alpha"), "{}", r.stderr);
    // the archived tenant needs no flag
    s.run(&["import", "a.json", "--tenant", "alpha"]).ok();
    let t = s.run(&["tenants", "list"]).ok().stdout;
    assert!(!t.contains("alpah"), "{t}");
}

#[test]
fn an_unknown_tenant_name_is_an_error_not_an_empty_answer() {
    let s = Sandbox::new();
    s.write_json("a.json", &Value::Array(corpus(2)));
    s.run(&["import", "a.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    for args in [
        &["messages", "list", "--tenant", "alpah"][..],
        &["incidents", "list", "--tenant", "alpah"],
        &["health", "--tenant", "alpah"],
        &["tasks", "list", "--tenant", "alpah"],
    ] {
        let r = s.run(args).fails();
        assert!(
            r.stderr.contains("no tenant named `alpah`") && r.stderr.contains("known: alpha"),
            "{args:?}: {}",
            r.stderr
        );
    }
    s.run(&["messages", "list", "--tenant", "alpha"]).ok();
    s.run(&["tasks", "list", "--tenant", "alpha"]).ok();
}

/// `tenants remove NAME --purge`: a decommissioned customer's links and
/// runs go with it; the posts stay (those only it saw, seen by none).
#[test]
fn a_purged_tenant_is_gone_and_its_posts_stay() {
    let s = Sandbox::new();
    let all = corpus(4);
    s.write_json("a.json", &Value::Array(all.clone()));
    s.write_json("b.json", &Value::Array(all[..2].to_vec()));
    s.write_json("c.json", &Value::Array(all[2..].to_vec()));
    s.run(&["import", "b.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    s.run(&["import", "a.json", "--tenant", "beta", "--create-tenant"])
        .ok();
    let r = s
        .run(&["tenants", "remove", "beta", "--purge", "--as", "ann"])
        .ok();
    assert!(
        r.stdout.contains("tenant `beta` was purged"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("removed 4 post links"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("2 posts and 0 incidents no other tenant saw"),
        "{}",
        r.stdout
    );
    let t = s.run(&["tenants", "list"]).ok().stdout;
    assert!(!t.contains("beta") && t.contains("alpha"), "{t}");
    let listed: Value =
        serde_json::from_str(&s.run(&["messages", "list", "--format", "json"]).ok().stdout)
            .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "{listed}");
    // gone: a second purge finds nothing
    let r = s
        .run(&["tenants", "remove", "beta", "--purge", "--as", "ann"])
        .fails();
    assert!(r.stderr.contains("beta"), "{}", r.stderr);
    // the name is free: importing under it needs --create-tenant again
    s.run(&["import", "c.json", "--tenant", "beta"]).fails();
}

/// `timeline extract`: each post's rollout phases from its body, as JSON
/// lines in the issue's contract (rings and clouds by name, date ranges at
/// the precision written, "previously" kept); an unreadable file is an
/// error, an unreadable item is reported and the rest still printed.
#[test]
fn timeline_extract_prints_each_posts_phases() {
    let s = Sandbox::new();
    let body = "<p>[When this will happen:]</p><p>Targeted Release: We will begin rolling out in \
                mid-May 2026 and expect to complete by late May 2026.</p><p>General Availability \
                (Worldwide, GCC): We will begin rolling out in early June 2026 (previously late May) \
                and expect to complete by mid-June 2026.</p>";
    let mut posts = corpus(2);
    posts[0]["body"] = json!({"contentType": "html", "content": body});
    posts[0]["startDateTime"] = json!("2026-04-02T10:00:00Z");
    s.write_json("a.json", &Value::Array(posts.clone()));
    let r = s.run(&["timeline", "extract", "a.json"]).ok();
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    let first = &lines[0];
    assert_eq!(first["id"], posts[0]["id"]);
    let phases: Vec<(String, String, String, String)> = first["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["ring"].as_str().unwrap().to_owned(),
                p["cloud"].as_str().unwrap().to_owned(),
                p["start"]["from"].as_str().unwrap_or("").to_owned(),
                p["end"]["to"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let p = |r: &str, c: &str, f: &str, t: &str| (r.into(), c.into(), f.into(), t.into());
    assert_eq!(
        phases,
        [
            p("targeted_release", "worldwide", "2026-05-11", "2026-05-31"),
            p(
                "general_availability",
                "worldwide",
                "2026-06-01",
                "2026-06-20"
            ),
            p("general_availability", "gcc", "2026-06-01", "2026-06-20"),
        ],
        "{first}"
    );
    let was = first["previously"].to_string();
    assert!(
        was.contains("2026-05-21") && was.contains("2026-05-31"),
        "{was}"
    );
    // an item without an id: reported, the other still printed, exit 1
    let mut bad = posts.clone();
    bad[0].as_object_mut().unwrap().remove("id");
    s.write_json("b.json", &Value::Array(bad));
    let r = s.run(&["timeline", "extract", "b.json"]);
    assert_eq!(r.code, Some(1), "{}", r.all());
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    // not JSON at all
    s.write("c.json", "<html>");
    let r = s.run(&["timeline", "extract", "c.json"]).fails();
    assert!(r.stderr.contains("c.json"), "{}", r.stderr);
}
