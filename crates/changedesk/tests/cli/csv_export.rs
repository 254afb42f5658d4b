//! `--format csv` (issue 20): every list as CSV, read back with a real CSV
//! reader — posts and work items with their decisions and the reasons
//! given, cells a spreadsheet would run quoted as text, instants to the
//! second — and a clear refusal for commands that print one document.

use serde_json::{Value, json};

use crate::harness::*;

/// Owners and rules enough for items: information-only posts dismissed
/// (with the rule's reason), the rest to the workload's owner.
const CONFIG: &str = r#"
[[owners]]
name = "collab"
display_name = "Collaboration team"
email = "collab@example.com"

[[ownership]]
workload = "*"
owner = "collab"

[[rules]]
name = "Information only"
when = 'category == "stayInformed" and not major'
then = { dismiss = "information only, nothing to decide" }

[[rules]]
name = "To the workload owner"
when = "true"
then = { owner = "workload" }
"#;

/// Parses CSV text: the header and the records, each as a map by column.
fn parse(text: &str) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .unwrap_or_else(|e| panic!("{e}: {text}"))
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_eq!(rec.len(), header.len(), "a row as wide as the header");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn row<'a>(
    rows: &'a [std::collections::HashMap<String, String>],
    column: &str,
    id: &str,
) -> &'a std::collections::HashMap<String, String> {
    rows.iter()
        .find(|r| r[column] == id)
        .unwrap_or_else(|| panic!("{id} not in {rows:?}"))
}

/// `corpus(8)` for tenant alpha, one title a formula, one starting with
/// `-`; MC1100000 triaged then closed with a reason that needs quoting,
/// MC1100003 closed without a reason after an earlier close with one.
fn archive() -> Sandbox {
    let s = Sandbox::new();
    s.write("cfg.toml", CONFIG);
    let mut all = corpus(8);
    all[0]["title"] = json!("=HYPERLINK(\"https://evil.example\",\"click\")");
    all[3]["title"] = json!("-1+2 and @everyone, \"quoted\"");
    s.write_json("a.json", &Value::Array(all));
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
    let tasks = |args: &[&str]| {
        let mut v = vec!["--config", "cfg.toml", "tasks"];
        v.extend_from_slice(args);
        v.extend_from_slice(&["--as", "alice"]);
        s.run(&v).ok();
    };
    tasks(&["triage", "MC1100000"]);
    tasks(&[
        "close",
        "MC1100000",
        "--decision",
        "change_request_raised",
        "--reason",
        "CAB approved, \"CHG0042\"\nsee the wiki",
    ]);
    tasks(&["triage", "MC1100003"]);
    tasks(&[
        "close",
        "MC1100003",
        "--decision",
        "actioned",
        "--reason",
        "first time",
    ]);
    tasks(&["reopen", "MC1100003", "--reason", "not quite"]);
    tasks(&["close", "MC1100003", "--decision", "deferred"]);
    s
}

#[test]
fn tasks_list_as_csv_has_each_item_with_its_decision_and_reason() {
    let s = archive();
    let r = s
        .run(&["--config", "cfg.toml", "tasks", "list", "--format", "csv"])
        .ok();
    assert!(r.stdout.starts_with("post_id,title,"), "{}", r.stdout);
    assert!(r.stdout.contains("\r\n"), "RFC 4180 line ends");
    let (header, rows) = parse(&r.stdout);
    for column in [
        "post_id",
        "title",
        "services",
        "state",
        "decision",
        "decision_reason",
        "assignee",
        "priority",
        "due",
        "labels",
        "changed_since_triage",
        "deadline",
        "tenants",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    // the same items as the JSON list
    let json: Vec<Value> = serde_json::from_str(
        &s.run(&["--config", "cfg.toml", "tasks", "list", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(rows.len(), json.len());
    assert_eq!(rows.len(), 8);

    let closed = row(&rows, "post_id", "MC1100000");
    assert_eq!(closed["state"], "done");
    assert_eq!(closed["decision"], "change_request_raised");
    assert_eq!(
        closed["decision_reason"],
        "CAB approved, \"CHG0042\"\nsee the wiki"
    );
    assert_eq!(closed["assignee"], "collab");
    assert_eq!(closed["tenants"], "alpha");
    assert_eq!(closed["services"], "Microsoft Teams");
    // a spreadsheet shows the formula as text
    assert_eq!(
        closed["title"],
        "'=HYPERLINK(\"https://evil.example\",\"click\")"
    );
    // instants to the second, without microseconds
    assert_eq!(closed["closed_at"], "2026-09-01T00:00:00Z");
    assert_eq!(closed["created_at"], "2026-09-01T00:00:00Z");
    // the latest decision's reason: none, though an earlier close had one
    let again = row(&rows, "post_id", "MC1100003");
    assert_eq!(
        (
            again["decision"].as_str(),
            again["decision_reason"].as_str()
        ),
        ("deferred", "")
    );
    assert_eq!(again["title"], "'-1+2 and @everyone, \"quoted\"");
    // dismissed by the rules, with the rule's reason
    let dismissed = rows
        .iter()
        .find(|r| r["state"] == "dismissed")
        .expect("an information-only post");
    assert_eq!(
        dismissed["decision_reason"],
        "information only, nothing to decide"
    );
    // open: no decision, no reason
    let open = row(&rows, "post_id", "MC1100002");
    assert_eq!(open["state"], "new");
    assert_eq!(
        (open["decision"].as_str(), open["decision_reason"].as_str()),
        ("", "")
    );
    assert_eq!(open["deadline"], "on_track");

    // the filters of the list hold: one tenant, in force for it
    let r = s
        .run(&[
            "--config", "cfg.toml", "tasks", "list", "--tenant", "alpha", "--state", "done",
            "--format", "csv",
        ])
        .ok();
    let (_, done) = parse(&r.stdout);
    let mut ids: Vec<&str> = done.iter().map(|r| r["post_id"].as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["MC1100000", "MC1100003"]);
    assert!(
        done.iter()
            .all(|r| r["tenant"] == "alpha" && r["applicable"] == "true"),
        "{done:?}"
    );
    // no rows: the header alone
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "tasks",
            "list",
            "--assignee",
            "nobody",
            "--format",
            "csv",
        ])
        .ok();
    let (header, rows) = parse(&r.stdout);
    assert!(rows.is_empty() && header.first().map(String::as_str) == Some("post_id"));
}

#[test]
fn messages_list_as_csv_has_each_post_with_its_item() {
    let s = archive();
    let r = s
        .run(&[
            "--config", "cfg.toml", "messages", "list", "--format", "csv",
        ])
        .ok();
    let (header, rows) = parse(&r.stdout);
    assert_eq!(header.first().map(String::as_str), Some("id"));
    for column in [
        "title",
        "services",
        "act_by",
        "last_modified",
        "state",
        "item_state",
        "assignee",
        "decision",
        "decision_reason",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} in {header:?}");
    }
    assert_eq!(rows.len(), 8);
    let p = row(&rows, "id", "MC1100000");
    assert_eq!(
        p["title"],
        "'=HYPERLINK(\"https://evil.example\",\"click\")"
    );
    assert_eq!(p["item_state"], "done");
    assert_eq!(p["decision"], "change_request_raised");
    assert_eq!(
        p["decision_reason"],
        "CAB approved, \"CHG0042\"\nsee the wiki"
    );
    // Graph's .100 seconds, written to the second
    assert_eq!(p["last_modified"], "2026-08-01T00:15:30Z");
    assert_eq!(p["act_by"], "2026-10-01T00:00:00Z");
    assert_eq!(p["major"], "true");
    assert_eq!(p["state"], "active");
    let p = row(&rows, "id", "MC1100001");
    assert_eq!((p["act_by"].as_str(), p["decision"].as_str()), ("", ""));
    // the filters of the list hold
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "messages",
            "list",
            "--service",
            "Exchange Online",
            "--format",
            "csv",
        ])
        .ok();
    let (_, rows) = parse(&r.stdout);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["services"] == "Exchange Online"));
}

#[test]
fn other_lists_answer_csv_and_documents_refuse_it() {
    let s = archive();
    for (args, first) in [
        (vec!["owners", "list"], "name"),
        (vec!["rules", "list"], "position"),
        (vec!["tenants", "list"], "name"),
        (vec!["tenants", "runs"], "id"),
        (vec!["tenants", "groups", "list"], "name"),
        (vec!["incidents", "list"], "id"),
        (vec!["health"], "tenant"),
        (vec!["notify", "outbox"], "id"),
        (vec!["notify", "channel", "list"], "name"),
        (vec!["tasks", "tickets", "MC1100000"], "post_id"),
        (vec!["rules", "simulate", "--all"], "id"),
    ] {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&["--format", "csv"]);
        let r = s.run(&all).ok();
        let (header, _) = parse(&r.stdout);
        assert_eq!(
            header.first().map(String::as_str),
            Some(first),
            "{args:?}: {}",
            r.stdout
        );
    }
    let (_, owners) = parse(
        &s.run(&["--config", "cfg.toml", "owners", "list", "--format", "csv"])
            .ok()
            .stdout,
    );
    assert_eq!(owners.len(), 1);
    assert_eq!(owners[0]["workloads"], "*");
    let (_, runs) = parse(
        &s.run(&["--config", "cfg.toml", "tenants", "runs", "--format", "csv"])
            .ok()
            .stdout,
    );
    assert_eq!(runs[0]["tenant"], "alpha");
    assert_eq!(runs[0]["finished_at"], "2026-09-01T00:00:00Z");

    // a single document: refused, and nothing is done
    for args in [
        vec!["tasks", "show", "MC1100000"],
        vec!["messages", "show", "MC1100000"],
        vec!["rules", "apply"],
        vec!["rules", "simulate"],
        vec!["baseline", "show"],
        vec!["import", "a.json", "--tenant", "alpha"],
    ] {
        let mut all = vec!["--config", "cfg.toml"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&["--format", "csv"]);
        let r = s.run(&all).fails();
        assert!(
            r.stderr.contains("--format csv is for lists"),
            "{args:?}: {}",
            r.all()
        );
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }
    let (_, runs_after) = parse(
        &s.run(&["--config", "cfg.toml", "tenants", "runs", "--format", "csv"])
            .ok()
            .stdout,
    );
    assert_eq!(runs_after.len(), runs.len(), "the import was not run");
}
