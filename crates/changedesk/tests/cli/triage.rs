//! Triage from the command line: owners, tenant groups and the workload map;
//! rules from the configuration file and by hand; work items from `new` to
//! `done`; reopening when Microsoft moves a date; the weekly agenda.

use serde_json::{Value, json};

use crate::harness::*;

/// Owners, a group, ownership and rules: Teams to `collab`, Exchange to
/// `messaging`, every workload of the `eu` group to `messaging`;
/// information-only posts dismissed; major changes high priority.
const TRIAGE_CONFIG: &str = r#"
[[owners]]
name = "collab"
display_name = "Collaboration team"
email = "collab@example.com"

[[owners]]
name = "messaging"
display_name = "Messaging team"
email = "messaging@example.com"
teams = "messaging-channel"

[[tenant_groups]]
name = "eu"
include = ["eu-*"]

[[ownership]]
workload = "Microsoft Teams"
owner = "collab"

[[ownership]]
workload = "Exchange Online"
owner = "messaging"

[[ownership]]
workload = "*"
owner = "messaging"
scope = "group:eu"

[[rules]]
name = "Information only"
when = 'category == "stayInformed" and not major'
then = { dismiss = "information only" }

[[rules]]
name = "Major changes"
when = "major"
then = { priority = "high", due = "act_by - 7d", labels = ["major"] }

[[rules]]
name = "To the workload owner"
when = "true"
then = { owner = "workload" }

[triage]
reopen = { enabled = true, reopen_on = ["act_by", "start"] }
missed = { auto_close = false, grace = "7d" }
"#;

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn items(s: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--config", "cfg.toml", "tasks", "list", "--format", "json"];
    all.extend_from_slice(args);
    json(&s.run(&all).ok()).as_array().unwrap().clone()
}

fn item<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list:?}"))
}

/// A sandbox with the triage configuration and `corpus(12)` imported for
/// tenant alpha.
fn triaged() -> (Sandbox, Vec<Value>) {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    let all = corpus(12);
    s.write_json("a.json", &Value::Array(all.clone()));
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "import",
            "a.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ])
        .ok();
    assert!(
        r.stdout
            .contains("rules: 12 posts evaluated, 12 items created"),
        "{}",
        r.stdout
    );
    (s, all)
}

#[test]
fn owners_groups_and_the_workload_map_round_trip() {
    let s = Sandbox::new();
    // tenants the groups can match
    s.write_json("t.json", &Value::Array(corpus(2)));
    for t in ["eu-contoso", "eu-lab", "us-fabrikam"] {
        s.run(&["import", "t.json", "--tenant", t, "--create-tenant"])
            .ok();
    }
    let r = s
        .run(&[
            "owners",
            "add",
            "Collab",
            "--email",
            "collab@example.com",
            "--display-name",
            "Collaboration",
            "--teams",
            "collab-channel",
        ])
        .ok();
    assert!(r.stdout.contains("owner `collab` added"), "{}", r.stdout);
    s.run(&[
        "owners",
        "add",
        "messaging",
        "--email",
        "m@example.com",
        "--as",
        "alice",
    ])
    .ok();
    let r = s
        .run(&["owners", "add", "bad", "--email", "no-at-sign"])
        .fails();
    assert!(
        r.stderr
            .contains("email `no-at-sign` must contain exactly one @"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&["owners", "add", "system", "--email", "s@x.y"])
        .fails();
    assert!(r.stderr.contains("reserved"), "{}", r.stderr);

    let r = s
        .run(&[
            "tenants",
            "groups",
            "add",
            "eu",
            "--include",
            "eu-*",
            "--exclude",
            "eu-lab",
            "--description",
            "Europe",
        ])
        .ok();
    assert!(
        r.stdout.contains("1 known tenant (eu-contoso)"),
        "{}",
        r.stdout
    );
    let r = s
        .run(&["tenants", "groups", "add", "x", "--include", "eu.lab"])
        .fails();
    assert!(r.stderr.contains("pattern `eu.lab`"), "{}", r.stderr);
    let groups = json(
        &s.run(&["tenants", "groups", "list", "--format", "json"])
            .ok(),
    );
    assert_eq!(groups[0]["name"], "eu");
    assert_eq!(groups[0]["members"], json!(["eu-contoso"]));
    let table = s.run(&["tenants", "groups", "list"]).ok().stdout;
    assert!(
        table.contains("eu-contoso") && !table.contains("eu-lab,"),
        "{table}"
    );

    s.run(&["owners", "map", "Microsoft Teams", "collab"]).ok();
    let r = s
        .run(&["owners", "map", "*", "messaging", "--group", "eu"])
        .ok();
    assert!(r.stdout.contains("group eu"), "{}", r.stdout);
    s.run(&[
        "owners",
        "map",
        "Exchange Online",
        "messaging",
        "--tenant",
        "us-fabrikam",
    ])
    .ok();
    let r = s
        .run(&["owners", "map", "Microsoft Teams", "nobody"])
        .fails();
    assert!(
        r.stderr
            .contains("unknown owner `nobody` (known owners: collab, messaging)"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&[
            "owners",
            "map",
            "Microsoft Teams",
            "collab",
            "--group",
            "apac",
        ])
        .fails();
    assert!(
        r.stderr
            .contains("unknown tenant group `apac` (known groups: eu)"),
        "{}",
        r.stderr
    );
    let r = s.run(&["owners", "map", "Microsoft *", "collab"]).fails();
    assert!(r.stderr.contains("is a pattern"), "{}", r.stderr);

    let list = json(&s.run(&["owners", "list", "--format", "json"]).ok());
    let owners = list["owners"].as_array().unwrap();
    assert_eq!(owners.len(), 2);
    assert_eq!(owners[0]["name"], "collab");
    assert_eq!(owners[0]["display_name"], "Collaboration");
    assert_eq!(owners[0]["teams"], "collab-channel");
    assert_eq!(owners[0]["workloads"][0]["workload"], "Microsoft Teams");
    let map: Vec<(&str, &str, &str)> = list["ownership"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["workload"].as_str().unwrap(),
                e["scope"].as_str().unwrap(),
                e["owner"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        map,
        vec![
            ("*", "group:eu", "messaging"),
            ("Exchange Online", "tenant:us-fabrikam", "messaging"),
            ("Microsoft Teams", "all", "collab"),
        ],
        "by workload: {list}"
    );
    let table = s.run(&["owners", "list"]).ok().stdout;
    assert!(
        table.contains("Microsoft Teams") && table.contains("group eu"),
        "{table}"
    );

    // removing what is still used is refused, with the way out
    let r = s.run(&["owners", "remove", "messaging"]).fails();
    assert!(r.stderr.contains("still owns"), "{}", r.stderr);
    let r = s.run(&["tenants", "groups", "remove", "eu"]).fails();
    assert!(
        r.stderr.contains("used by 1 ownership entry"),
        "{}",
        r.stderr
    );
    s.run(&["owners", "unmap", "*", "--group", "eu"]).ok();
    let r = s.run(&["owners", "unmap", "*", "--group", "eu"]).fails();
    assert!(r.stderr.contains("nobody owns `*`"), "{}", r.stderr);
    s.run(&[
        "owners",
        "unmap",
        "Exchange Online",
        "--tenant",
        "us-fabrikam",
    ])
    .ok();
    s.run(&["owners", "remove", "messaging"]).ok();
    s.run(&["tenants", "groups", "remove", "eu"]).ok();
    let r = s.run(&["owners", "remove", "messaging"]).fails();
    assert!(
        r.stderr.contains("unknown owner `messaging`"),
        "{}",
        r.stderr
    );
    let list = json(&s.run(&["owners", "list", "--format", "json"]).ok());
    assert_eq!(list["owners"].as_array().unwrap().len(), 1);
    assert_eq!(list["ownership"].as_array().unwrap().len(), 1);
    assert!(
        s.run(&["tenants", "groups", "list"])
            .ok()
            .stdout
            .contains("no tenant groups")
    );
}

#[test]
fn a_configuration_file_seeds_owners_and_rules_and_an_import_assigns_by_them() {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    let r = s.run(&["config", "check", "cfg.toml"]).ok();
    assert!(r.stdout.contains("OK"), "{}", r.stdout);
    // the file's owners and rules show before anything was imported
    let rules = json(
        &s.run(&["--config", "cfg.toml", "rules", "list", "--format", "json"])
            .ok(),
    );
    assert_eq!(rules.as_array().unwrap().len(), 3);
    assert_eq!(rules[0]["source"], "config");

    let all = corpus(12);
    s.write_json("a.json", &Value::Array(all.clone()));
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "import",
            "a.json",
            "--tenant",
            "alpha",
            "--create-tenant",
            "--format",
            "json",
        ])
        .ok();
    let summary = json(&r);
    assert_eq!(summary["new"], 12, "the import's own keys stay");
    assert_eq!(summary["triage"]["created"], 12, "{summary}");
    assert_eq!(summary["triage"]["evaluated"], 12);

    let list = items(&s, &[]);
    assert_eq!(list.len(), 12);
    for (i, post) in all.iter().enumerate() {
        let id = post["id"].as_str().unwrap();
        let it = item(&list, id);
        let service = post["services"][0].as_str().unwrap();
        let info_only = post["category"] == "stayInformed" && post["isMajorChange"] == false;
        if info_only {
            assert_eq!(it["state"], "dismissed", "{i}: {it}");
        } else {
            assert_eq!(it["state"], "new", "{i}: {it}");
        }
        let owner = match service {
            "Microsoft Teams" => json!("collab"),
            "Exchange Online" => json!("messaging"),
            _ => Value::Null,
        };
        assert_eq!(it["assignee"], owner, "{i}: {it}");
        if post["isMajorChange"] == true {
            assert_eq!(it["priority"], "high", "{i}: {it}");
            assert_eq!(it["labels"], json!(["major"]));
        }
    }
    // MC1100000: major, act by 2026-10-01, so due a week before
    let first = item(&list, "MC1100000");
    assert_eq!(first["due"], "2026-09-24T00:00:00.000000Z", "{first}");
    assert_eq!(first["deadline_text"], "on track");

    // a second import of the same listing has nothing new for the rules
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "import",
            "a.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ])
        .ok();
    assert!(
        r.stdout.contains("rules: 0 posts evaluated"),
        "{}",
        r.stdout
    );

    // a tenant of the `eu` group: its posts go to messaging, as overrides
    // where the shared owner differs
    s.write_json("eu.json", &Value::Array(all[..2].to_vec()));
    s.run(&[
        "--config",
        "cfg.toml",
        "import",
        "eu.json",
        "--tenant",
        "eu-contoso",
        "--create-tenant",
    ])
    .ok();
    let eu = items(&s, &["--tenant", "eu-contoso"]);
    assert_eq!(eu.len(), 2, "{eu:?}");
    assert_eq!(
        item(&eu, "MC1100000")["assignee"],
        "collab",
        "decided once, before eu-contoso saw it"
    );

    // filters
    let dismissed = items(&s, &["--state", "dismissed"]);
    assert!(dismissed.iter().all(|v| v["state"] == "dismissed") && !dismissed.is_empty());
    let mine = items(&s, &["--assignee", "collab", "--state", "open"]);
    assert!(!mine.is_empty() && mine.iter().all(|v| v["assignee"] == "collab"));
    assert_eq!(items(&s, &["--limit", "3"]).len(), 3);
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "tasks",
            "list",
            "--state",
            "closed-ish",
        ])
        .fails();
    assert!(
        r.stderr.contains("unknown state `closed-ish`"),
        "{}",
        r.stderr
    );
    let table = s
        .run(&["--config", "cfg.toml", "tasks", "list", "--state", "new"])
        .ok()
        .stdout;
    assert!(
        table.contains("MC1100000") && table.contains("on track"),
        "{table}"
    );
}

#[test]
fn rules_test_explains_which_rules_matched_and_why() {
    let (s, _) = triaged();
    let r = s
        .run(&["--config", "cfg.toml", "rules", "test", "mc1100000"])
        .ok();
    assert!(
        r.stdout.contains("Rules for MC1100000 in tenant alpha"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\"Major changes\": matched"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("\"Information only\": not matched"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("act_by - 7d → 2026-09-24"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Owner: collab (the owner of the post's workload: Microsoft Teams"),
        "{}",
        r.stdout
    );
    let e = json(
        &s.run(&[
            "--config",
            "cfg.toml",
            "rules",
            "test",
            "MC1100000",
            "--tenant",
            "alpha",
            "--format",
            "json",
        ])
        .ok(),
    );
    let rules = e[0]["rules"].as_array().unwrap();
    let major = rules.iter().find(|r| r["name"] == "Major changes").unwrap();
    assert_eq!(major["status"], "matched", "{major}");
    assert_eq!(e[0]["tenant"], "alpha");
    assert_eq!(e[0]["outcome"]["priority"], "high");

    let r = s
        .run(&["--config", "cfg.toml", "rules", "test", "MC404"])
        .fails();
    assert!(r.stderr.contains("post MC404 not found"), "{}", r.stderr);
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "rules",
            "test",
            "MC1100000",
            "--tenant",
            "Bad Name",
        ])
        .fails();
    assert!(r.stderr.contains("invalid tenant name"), "{}", r.stderr);
}

#[test]
fn rules_added_by_hand_must_compile_and_simulate_changes_nothing() {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    let all = corpus(12);
    s.write_json("a.json", &Value::Array(all.clone()));
    // the load commits, then the process dies before the rules run: the
    // posts wait for them
    let r = s.run_env(
        &[
            "--config",
            "cfg.toml",
            "import",
            "a.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ],
        &[("CHANGEDESK_FAILPOINT", "import.committed")],
    );
    assert_ne!(r.code, Some(0), "{}", r.all());
    assert!(items(&s, &[]).is_empty());
    let r = s
        .run(&["--config", "cfg.toml", "tasks", "show", "MC1100000"])
        .fails();
    assert!(
        r.stderr
            .contains("MC1100000 has no work item yet; run `changedesk rules apply`"),
        "{}",
        r.stderr
    );

    // a rule that does not compile is refused with a caret under the spot
    let r = s.run(&[
        "--config",
        "cfg.toml",
        "rules",
        "add",
        "Broken",
        "--when",
        "severity = \"high\"",
    ]);
    assert_eq!(r.code, Some(2), "{}", r.all());
    assert!(
        r.stderr.contains("rule \"Broken\": when: column 10"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("^"), "{}", r.stderr);
    assert!(r.stderr.contains("nothing was saved"), "{}", r.stderr);
    let r = s.run(&[
        "--config",
        "cfg.toml",
        "rules",
        "add",
        "Urgent",
        "--when",
        "act_by < now + 45d",
        "--owner",
        "ghost",
    ]);
    assert!(r.stderr.contains("unknown owner `ghost`"), "{}", r.all());
    let r = s.run(&[
        "--config",
        "cfg.toml",
        "rules",
        "add",
        "First",
        "--when",
        "true",
        "--position",
        "1",
    ]);
    assert!(r.stderr.contains("configuration file"), "{}", r.all());
    // a good one, after the file's rules; it takes part at once
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "rules",
            "add",
            "Urgent",
            "--when",
            "act_by < now + 45d",
            "--priority",
            "critical",
            "--label",
            "urgent",
            "--as",
            "alice",
            "--position",
            "2",
        ])
        .fails();
    assert!(r.stderr.contains("--position 4 or later"), "{}", r.stderr);
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "rules",
            "add",
            "Urgent",
            "--when",
            "act_by < now + 45d",
            "--priority",
            "critical",
            "--label",
            "urgent",
            "--as",
            "alice",
        ])
        .ok();
    assert!(
        r.stdout.contains("rule `Urgent` added at position 4 of 4"),
        "{}",
        r.stdout
    );
    let rules = json(
        &s.run(&["--config", "cfg.toml", "rules", "list", "--format", "json"])
            .ok(),
    );
    assert_eq!(rules[3]["name"], "Urgent");
    assert_eq!(rules[3]["source"], "manual");
    let r = s
        .run(&["--config", "cfg.toml", "rules", "remove", "Major changes"])
        .fails();
    assert!(r.stderr.contains("remove it there"), "{}", r.stderr);

    // the simulation lists what would happen and changes nothing
    let sim = |s: &Sandbox| {
        s.run(&["--config", "cfg.toml", "rules", "simulate", "--limit", "3"])
            .ok()
            .stdout
    };
    let first = sim(&s);
    assert!(
        first.contains("would: 12 posts evaluated, 12 items created"),
        "{first}"
    );
    assert!(first.contains("MC1100000  new item"), "{first}");
    assert!(first.contains("… and 9 more posts"), "{first}");
    assert!(
        first.contains("priority normal → critical") || first.contains("priority normal → high"),
        "{first}"
    );
    let rules_before = s
        .run(&["--config", "cfg.toml", "rules", "list"])
        .ok()
        .stdout;
    assert_eq!(sim(&s), first, "a second simulation sees the same archive");
    assert!(items(&s, &[]).is_empty(), "no item was created");
    assert!(
        s.run(&["--config", "cfg.toml", "tasks", "show", "MC1100000"])
            .fails()
            .stderr
            .contains("has no work item yet")
    );
    let sim_json = json(
        &s.run(&[
            "--config", "cfg.toml", "rules", "simulate", "--format", "json",
        ])
        .ok(),
    );
    assert_eq!(sim_json["created"], 12);
    assert_eq!(sim_json["changes"].as_array().unwrap().len(), 12);
    assert_eq!(
        s.run(&["--config", "cfg.toml", "rules", "list"])
            .ok()
            .stdout,
        rules_before
    );

    // applied for real
    let r = s.run(&["--config", "cfg.toml", "rules", "apply"]).ok();
    assert!(
        r.stdout
            .starts_with("rules: 12 posts evaluated, 12 items created"),
        "{}",
        r.stdout
    );
    let list = items(&s, &[]);
    assert_eq!(list.len(), 12);
    assert!(
        item(&list, "MC1100000")["labels"]
            .as_array()
            .unwrap()
            .contains(&json!("urgent"))
    );
    let again = sim(&s);
    assert!(again.contains("would: 0 posts evaluated"), "{again}");
    assert!(again.contains("rules simulate --all"), "{again}");
    // every post as if new: the items match what the rules decide
    let all_posts = s
        .run(&["--config", "cfg.toml", "rules", "simulate", "--all"])
        .ok()
        .stdout;
    assert!(
        all_posts.contains("12 posts evaluated as if new: 0 work items are triaged differently"),
        "{all_posts}"
    );
}

fn as_alice<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--config", "cfg.toml", "tasks"];
    v.extend_from_slice(args);
    v.extend_from_slice(&["--as", "alice"]);
    v
}

#[test]
fn work_items_move_from_new_to_done_by_people_only() {
    let (s, _) = triaged();
    let r = s
        .run(&["--config", "cfg.toml", "tasks", "triage", "MC1100000"])
        .fails();
    assert!(r.stderr.contains("Pass --as USER"), "{}", r.stderr);
    let r = s
        .run(&[
            "--config",
            "cfg.toml",
            "tasks",
            "triage",
            "MC1100000",
            "--as",
            "rules",
        ])
        .fails();
    assert!(
        r.stderr.contains("reserved for automatic changes"),
        "{}",
        r.stderr
    );

    let r = s.run(&as_alice(&["triage", "MC1100000"])).ok();
    assert!(r.stdout.contains("MC1100000: triaged"), "{}", r.stdout);
    assert!(
        r.stdout.contains("alice triage: state new → triaged"),
        "{}",
        r.stdout
    );
    // CHANGEDESK_USER stands in for --as (and draws no warning)
    let r = s
        .run_env(
            &["--config", "cfg.toml", "tasks", "start", "MC1100000"],
            &[("CHANGEDESK_USER", "bob")],
        )
        .ok();
    assert!(
        r.stdout.contains("bob start: state triaged → in_progress"),
        "{}",
        r.stdout
    );
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let r = s
        .run(&as_alice(&[
            "close",
            "MC1100000",
            "--decision",
            "actioned",
            "--reason",
            "policy updated",
        ]))
        .ok();
    assert!(r.stdout.contains("MC1100000: done"), "{}", r.stdout);

    // refused: the state is named, and nothing changes
    let r = s.run(&as_alice(&["start", "MC1100000"])).fails();
    assert!(
        r.stderr
            .contains("MC1100000 is done; it can be reopened, not started"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&as_alice(&["close", "MC1100005", "--decision", "actioned"]))
        .fails();
    assert!(r.stderr.contains("MC1100005 is new"), "{}", r.stderr);
    let r = s
        .run(&as_alice(&["close", "MC1100005", "--decision", "fixed"]))
        .fails();
    assert!(
        r.stderr.contains("unknown decision `fixed`"),
        "{}",
        r.stderr
    );
    let r = s.run(&as_alice(&["triage", "MC404"])).fails();
    assert!(r.stderr.contains("post MC404 not found"), "{}", r.stderr);

    // several at once: the good ones are done, the bad one is reported
    let r = s
        .run(&as_alice(&[
            "triage",
            "MC1100002",
            "MC1100000",
            "MC1100003",
        ]))
        .fails();
    assert!(
        r.stdout.contains("MC1100002: triaged") && r.stdout.contains("MC1100003: triaged"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("MC1100000 is done"), "{}", r.stderr);

    // edits
    let r = s.run(&as_alice(&["assign", "MC1100002", "ghost"])).fails();
    assert!(
        r.stderr
            .contains("unknown owner `ghost` (known owners: collab, messaging)"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&as_alice(&["assign", "MC1100002", "MC1100003"]))
        .fails();
    assert!(r.stderr.contains("looks like a post id"), "{}", r.stderr);
    s.run(&as_alice(&["assign", "MC1100002", "MC1100003", "collab"]))
        .ok();
    s.run(&as_alice(&["priority", "MC1100002", "critical"]))
        .ok();
    s.run(&as_alice(&["due", "MC1100002", "2026-09-15"])).ok();
    let r = s.run(&as_alice(&["due", "MC1100002", "soon"])).fails();
    assert!(r.stderr.contains("is not a date"), "{}", r.stderr);
    s.run(&as_alice(&["label", "add", "MC1100002", "Needs-Comms"]))
        .ok();
    // values that are not ASCII, where a byte index would cut a character
    for value in ["–x", "日本語", "x–", "é"] {
        s.run(&as_alice(&["label", "add", "MC1100002", value])).ok();
        s.run(&as_alice(&["label", "remove", "MC1100002", value]))
            .ok();
        for verb in ["assign", "priority", "due"] {
            let r = s.run(&as_alice(&[verb, "MC1100002", value])).fails();
            assert!(
                !r.stderr.contains("panicked") && r.stderr.contains(value),
                "{verb} {value}: {}",
                r.stderr
            );
        }
    }
    s.run(&as_alice(&[
        "comment",
        "MC1100002",
        "--text",
        "asked the service desk",
        "--tenant",
        "alpha",
    ]))
    .ok();
    s.run(&as_alice(&[
        "override",
        "MC1100002",
        "--tenant",
        "alpha",
        "--not-applicable",
        "--note",
        "not licensed",
    ]))
    .ok();
    let r = s
        .run(&as_alice(&["override", "MC1100002", "--tenant", "alpha"]))
        .fails();
    assert!(r.stderr.contains("nothing to override"), "{}", r.stderr);
    let r = s.run(&as_alice(&["due", "MC1100002", "2026-09-15"])).ok();
    assert!(r.stdout.contains("nothing to change"), "{}", r.stdout);
    let r = s.run(&as_alice(&["ack", "MC1100002"])).fails();
    assert!(r.stderr.contains("no changes since triage"), "{}", r.stderr);

    let show = s
        .run(&["--config", "cfg.toml", "tasks", "show", "MC1100002"])
        .ok()
        .stdout;
    for want in [
        "State: triaged   Priority: critical   Assignee: collab   Due: 2026-09-15",
        "Labels: needs-comms",
        "not licensed",
        "alice triage: state new → triaged",
        "alice assign: assignee (none) → collab",
        "alice comment [alpha] (asked the service desk)",
        "alice set_override [alpha]: applicable (none) → false",
    ] {
        assert!(show.contains(want), "{want}: {show}");
    }
    let shown = json(
        &s.run(&[
            "--config",
            "cfg.toml",
            "tasks",
            "show",
            "MC1100000",
            "--format",
            "json",
        ])
        .ok(),
    );
    assert_eq!(shown["item"]["state"], "done");
    assert_eq!(shown["item"]["decision"], "actioned");
    let actors: Vec<&str> = shown["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors[0], "rules");
    assert!(
        actors.contains(&"bob") && actors.contains(&"alice"),
        "{actors:?}"
    );
    // overdue: an open item past its own due date
    let overdue = items(&s, &["--overdue"]);
    assert!(overdue.is_empty(), "{overdue:?}");
    let late = s
        .run_env(
            &[
                "--config",
                "cfg.toml",
                "tasks",
                "list",
                "--overdue",
                "--format",
                "json",
            ],
            &[("CHANGEDESK_NOW", "2026-09-20T00:00:00Z")],
        )
        .ok();
    let late: Vec<Value> = serde_json::from_str(&late.stdout).unwrap();
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["id"], "MC1100002");
    assert_eq!(late[0]["deadline_text"], "overdue since 2026-09-15");
    // not applicable for alpha: closed there (it stands as dismissed)
    let alpha = items(&s, &["--tenant", "alpha", "--state", "triaged"]);
    assert!(alpha.iter().all(|v| v["id"] != "MC1100002"), "{alpha:?}");
    let alpha = items(&s, &["--tenant", "alpha", "--state", "dismissed"]);
    assert_eq!(item(&alpha, "MC1100002")["applicable"], false);
    assert_eq!(item(&alpha, "MC1100002")["state"], "dismissed");

    // for some tenants only: alpha's own decision; the shared state stays
    let r = s
        .run(&as_alice(&[
            "close",
            "MC1100003",
            "--decision",
            "actioned",
            "--for-tenant",
            "alpha",
        ]))
        .ok();
    assert!(
        r.stdout.contains("[alpha]: state triaged → done"),
        "{}",
        r.stdout
    );
    let show = s
        .run(&["--config", "cfg.toml", "tasks", "show", "MC1100003"])
        .ok()
        .stdout;
    assert!(show.contains("State: triaged"), "{show}");
    assert!(show.contains("done (actioned)"), "{show}");
    let done = items(&s, &["--tenant", "alpha", "--state", "done"]);
    assert_eq!(item(&done, "MC1100003")["state"], "done");
    let r = s
        .run(&as_alice(&["start", "MC1100003", "--for-tenant", "nobody"]))
        .fails();
    assert!(
        r.stderr.contains("tenant `nobody` does not see MC1100003"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&as_alice(&["start", "MC1100003", "--for-group", "nosuch"]))
        .fails();
    assert!(
        r.stderr.contains("no tenant group is named `nosuch`"),
        "{}",
        r.stderr
    );
    let r = s
        .run(&as_alice(&["ack", "MC1100003", "--for-tenant", "alpha"]))
        .fails();
    assert!(r.stderr.contains("concerns the whole post"), "{}", r.stderr);
}

#[test]
fn an_edited_post_reopens_its_closed_item() {
    let (s, all) = triaged();
    s.run(&as_alice(&["triage", "MC1100000"])).ok();
    s.run(&as_alice(&[
        "close",
        "MC1100000",
        "--decision",
        "communicated",
    ]))
    .ok();
    s.run(&as_alice(&["triage", "MC1100006"])).ok();

    // Microsoft edits two posts: the act-by date of one moves, the body of the other
    let mut edited = all.clone();
    edited[0]["lastModifiedDateTime"] = json!("2026-08-30T12:00:00Z");
    edited[0]["actionRequiredByDateTime"] = json!("2026-11-15T00:00:00Z");
    edited[0]["title"] = json!("(Updated) Microsoft Teams: change number 0");
    edited[6]["lastModifiedDateTime"] = json!("2026-08-30T12:00:00Z");
    edited[6]["body"]["content"] = json!("<p>Rollout 6 begins in December 2026.</p>");
    s.write_json("a2.json", &Value::Array(edited));
    let r = s
        .run_env(
            &[
                "--config",
                "cfg.toml",
                "import",
                "a2.json",
                "--tenant",
                "alpha",
                "--create-tenant",
            ],
            &[("CHANGEDESK_NOW", "2026-09-02T00:00:00Z")],
        )
        .ok();
    assert!(r.stdout.contains("2 updated"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "rules: 2 posts evaluated, 0 items created (0 assigned, 0 dismissed), 1 reopened"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("2 items flagged"), "{}", r.stdout);

    let list = items(&s, &[]);
    let reopened = item(&list, "MC1100000");
    assert_eq!(reopened["state"], "triaged", "{reopened}");
    assert_eq!(reopened["act_by"], "2026-11-15T00:00:00.000000Z");
    let mut changed: Vec<String> = items(&s, &["--changed"])
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    changed.sort();
    assert_eq!(changed, vec!["MC1100000", "MC1100006"]);
    let show = s
        .run(&["--config", "cfg.toml", "tasks", "show", "MC1100000"])
        .ok()
        .stdout;
    assert!(
        show.contains("system reopen: state done → triaged (the post changed: act_by)"),
        "{show}"
    );
    assert!(
        show.contains("Changed since triage: title, act_by"),
        "{show}"
    );
    assert!(show.contains("reopened 1 time"), "{show}");
    // the still-open one is flagged, not reopened
    assert_eq!(item(&list, "MC1100006")["state"], "triaged");
    assert_eq!(
        item(&list, "MC1100006")["changed_since_triage"],
        json!(["timeline", "body"])
    );
    let r = s.run(&as_alice(&["ack", "MC1100006"])).ok();
    assert!(r.stdout.contains("alice acknowledge"), "{}", r.stdout);
    assert_eq!(items(&s, &["--changed"]).len(), 1);
}

#[test]
fn the_agenda_lists_the_weeks_sections_as_markdown_html_and_json() {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    let mut all = corpus(12);
    all[3]["title"] = json!("Microsoft Entra: <script>alert('x')</script> & more");
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
    s.run(&[
        "--config",
        "cfg.toml",
        "import",
        "a.json",
        "--tenant",
        "beta",
        "--create-tenant",
    ])
    .ok();
    s.run(&as_alice(&["triage", "MC1100002"])).ok();
    s.run(&as_alice(&[
        "close",
        "MC1100002",
        "--decision",
        "deferred",
        "--reason",
        "next quarter",
    ]))
    .ok();

    let md = s
        .run(&["--config", "cfg.toml", "agenda", "--format", "markdown"])
        .ok()
        .stdout;
    for want in [
        "# Change review 2026-09-01",
        "| New posts | 12 |",
        "## New posts (12)",
        "### Microsoft Teams (3)",
        "## Awaiting triage",
        "## Due in the next 14 days",
        "## Changed since triage (0)",
        "## Overdue (0)",
        "## Missed (0)",
        "## Decisions since 2026-08-25",
        "| MC1100000 |",
        "deferred | alice | next quarter |",
    ] {
        assert!(md.contains(want), "{want}:\n{md}");
    }
    // awaiting triage shows how many tenants see each post
    let awaiting = md
        .split("## Awaiting triage")
        .nth(1)
        .unwrap()
        .split("## ")
        .next()
        .unwrap();
    assert!(
        awaiting.contains("| MC1100000 |") && awaiting.contains("| 2 |"),
        "{awaiting}"
    );

    let html = s
        .run(&["--config", "cfg.toml", "agenda", "--format", "html"])
        .ok()
        .stdout;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<h2>Awaiting triage"), "{html}");
    assert!(html.contains("<td>MC1100000</td>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"),
        "{html}"
    );
    assert!(!html.contains("<script>"), "every value is escaped");

    let j = json(
        &s.run(&[
            "--config", "cfg.toml", "agenda", "--format", "json", "--since", "2d",
        ])
        .ok(),
    );
    assert_eq!(j["since"], "2026-08-30T00:00:00.000000Z");
    assert_eq!(j["counts"]["new_posts"], 12);
    assert!(j["counts"]["decisions"].as_u64().unwrap() >= 1, "{j}");
    let r = s
        .run(&["--config", "cfg.toml", "agenda", "--since", "a while"])
        .fails();
    assert!(r.stderr.contains("--since"), "{}", r.stderr);
}

#[test]
fn sync_applies_the_rules_and_keeps_its_json_a_list() {
    use changedesk_sim::{CorpusSpec, SimConfig};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(changedesk_sim::start(SimConfig {
            tenants: 2,
            spec: CorpusSpec {
                posts: 40,
                issues: 3,
                tenants: 2,
                seed: 5,
                ..CorpusSpec::default()
            },
            seed: 5,
            ..SimConfig::default()
        }))
        .expect("simulator starts");
    let base = sim.base_url();
    let mut cfg = format!("{TRIAGE_CONFIG}\n[sync]\nmax_retry_time = \"2s\"\n");
    for t in sim.tenants() {
        cfg.push_str(&format!(
            "\n[[tenants]]\nname = \"{}\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nlogin_url = \"{base}\"\ngraph_url = \"{base}\"\n",
            t.name, t.tenant_id, t.client_id, t.client_secret
        ));
    }
    let s = Sandbox::new();
    s.write("cfg.toml", &cfg);
    let r = s
        .run(&[
            "--config", "cfg.toml", "sync", "--quiet", "--format", "json",
        ])
        .ok();
    let outcomes: Vec<Value> = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(outcomes.len(), 2);
    assert!(r.stderr.contains("rules: "), "{}", r.stderr);
    assert!(r.stderr.contains("items created"), "{}", r.stderr);
    let posts: Vec<Value> = serde_json::from_str(
        &s.run(&[
            "--config", "cfg.toml", "messages", "list", "--format", "json",
        ])
        .ok()
        .stdout,
    )
    .unwrap();
    assert!(!posts.is_empty());
    assert_eq!(items(&s, &[]).len(), posts.len(), "one work item per post");
    let r = s.run(&["--config", "cfg.toml", "sync", "--quiet"]).ok();
    assert!(
        r.stdout.contains("rules: 0 posts evaluated"),
        "{}",
        r.stdout
    );
    let r = s
        .run(&["--config", "cfg.toml", "sync", "--quiet", "--dry-run"])
        .ok();
    assert!(!r.all().contains("rules:"), "{}", r.all());
    rt.block_on(sim.shutdown());
}

#[test]
fn owners_added_after_the_first_import_get_the_untouched_items() {
    let s = Sandbox::new();
    s.write_json("a.json", &Value::Array(corpus(6)));
    // no owners yet: the items are created unassigned
    s.run(&["import", "a.json", "--tenant", "alpha", "--create-tenant"])
        .ok();
    let before = json(&s.run(&["tasks", "list", "--format", "json"]).ok());
    let before = before.as_array().unwrap();
    assert_eq!(before.len(), 6);
    assert!(before.iter().all(|v| v["assignee"].is_null()), "{before:?}");
    // someone takes one item by hand before the owners exist
    s.run(&["owners", "add", "alice", "--email", "alice@example.com"])
        .ok();
    let taken = before[0]["id"].as_str().unwrap().to_string();
    s.run(&["tasks", "assign", &taken, "alice", "--as", "bob"])
        .ok();
    // then the owners and a catch-all workload owner
    s.run(&[
        "owners",
        "add",
        "platform",
        "--email",
        "platform@example.com",
    ])
    .ok();
    s.run(&["owners", "map", "*", "platform"]).ok();
    let r = s.run(&["rules", "apply"]).ok();
    assert!(
        r.stdout.contains("5 untouched items routed again"),
        "{}",
        r.stdout
    );
    let after = json(&s.run(&["tasks", "list", "--format", "json"]).ok());
    for v in after.as_array().unwrap() {
        let want = if v["id"] == taken.as_str() {
            "alice"
        } else {
            "platform"
        };
        assert_eq!(v["assignee"], want, "{v}");
    }
    // nothing left to route
    let r = s.run(&["rules", "apply"]).ok();
    assert!(!r.stdout.contains("routed again"), "{}", r.stdout);
}

/// One definition of awaiting triage and missed on the command line (as on
/// the server: `changedesk-server`'s `surfaces` test), and the baseline: a
/// post whose act-by date came before changedesk first saw it is not missed,
/// and accepting the baseline closes the first load's history only.
#[test]
fn missed_counts_only_deadlines_after_first_sight_and_the_baseline_is_accepted() {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    let mut posts: Vec<Value> = corpus(5)
        .into_iter()
        .map(|mut v| {
            v["category"] = json!("planForChange");
            v["isMajorChange"] = json!(false);
            v["startDateTime"] = json!("2026-07-01T10:00:00Z");
            v["actionRequiredByDateTime"] = Value::Null;
            // no date in the body: Graph's dates decide
            v["body"]["content"] =
                json!("<p>[When this will happen:]</p><p>We will share the date later.</p>");
            v
        })
        .collect();
    // MC1100000: act-by before the first sync; MC1100001: after it, passed;
    // MC1100002: a rollout ahead, which only its body gives (Graph's start
    // is its publication); MC1100003: no date (history)
    posts[0]["actionRequiredByDateTime"] = json!("2026-08-20T00:00:00Z");
    posts[1]["actionRequiredByDateTime"] = json!("2026-08-28T00:00:00Z");
    posts[2]["body"]["content"] =
        json!("<p>[When this will happen:]</p><p>Rollout begins in mid-September 2026.</p>");
    // MC1100004, first seen a day after the first sync: act-by passed
    posts[4]["actionRequiredByDateTime"] = json!("2026-08-30T00:00:00Z");
    let later = posts.pop().unwrap();
    s.write_json("first.json", &Value::Array(posts.clone()));
    posts.push(later);
    s.write_json("second.json", &Value::Array(posts));
    let import = |file: &str, now: &str| {
        s.run_env(
            &[
                "--config",
                "cfg.toml",
                "import",
                file,
                "--tenant",
                "alpha",
                "--create-tenant",
            ],
            &[("CHANGEDESK_NOW", now)],
        )
        .ok();
    };
    import("first.json", "2026-08-25T00:00:00Z");
    import("second.json", "2026-08-26T00:00:00Z");

    let ids = |list: Vec<Value>| -> Vec<String> {
        let mut v: Vec<String> = list
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(items(&s, &["--missed"])), ["MC1100001", "MC1100004"]);
    assert_eq!(ids(items(&s, &["--state", "new"])).len(), 5);
    let agenda = json(
        &s.run(&["--config", "cfg.toml", "agenda", "--format", "json"])
            .ok(),
    );
    assert_eq!(agenda["counts"]["missed"], 2, "{}", agenda["counts"]);
    assert_eq!(agenda["counts"]["awaiting_triage"], 5);

    let show = json(
        &s.run(&[
            "--config", "cfg.toml", "baseline", "show", "--format", "json",
        ])
        .ok(),
    );
    assert_eq!(show, json!({"awaiting": 4, "to_close": 2, "kept": 2}));
    let table = s
        .run(&["--config", "cfg.toml", "baseline", "show"])
        .ok()
        .stdout;
    assert!(
        table.contains("4 baseline items awaiting triage: 2 history"),
        "{table}"
    );
    // who accepts is recorded: --as is required
    s.run(&["--config", "cfg.toml", "baseline", "accept"])
        .fails();
    let done = json(
        &s.run(&[
            "--config", "cfg.toml", "baseline", "accept", "--as", "alice", "--format", "json",
        ])
        .ok(),
    );
    assert_eq!(done["closed"], json!(["MC1100000", "MC1100003"]), "{done}");
    assert_eq!(done["kept"], 2);
    assert_eq!(
        ids(items(&s, &["--state", "new"])),
        ["MC1100001", "MC1100002", "MC1100004"]
    );
    let shown = json(
        &s.run(&[
            "--config",
            "cfg.toml",
            "tasks",
            "show",
            "MC1100000",
            "--format",
            "json",
        ])
        .ok(),
    );
    let shown = if shown.is_array() {
        shown[0].clone()
    } else {
        shown
    };
    assert_eq!(shown["item"]["state"], "done", "{shown}");
    assert!(shown.to_string().contains("baseline"), "{shown}");
    assert!(shown.to_string().contains("alice"), "{shown}");
    let again = json(
        &s.run(&[
            "--config", "cfg.toml", "baseline", "show", "--format", "json",
        ])
        .ok(),
    );
    assert_eq!(again, json!({"awaiting": 2, "to_close": 0, "kept": 2}));
}

#[test]
fn the_analytics_report_counts_the_items_as_text_json_and_csv() {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    s.write_json("a.json", &Value::Array(corpus(12)));
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
    // the items opened on Tuesday 1 September; one triaged on Wednesday
    let before = json(
        &s.run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "analytics",
                "--format",
                "json",
            ],
            &[("CHANGEDESK_NOW", "2026-09-03T00:00:00Z")],
        )
        .ok(),
    );
    let triaged_before = before["overall"]["triaged"].as_u64().unwrap();
    s.run_env(
        &as_alice(&["triage", "MC1100002"]),
        &[("CHANGEDESK_NOW", "2026-09-02T00:00:00Z")],
    )
    .ok();
    let j = json(
        &s.run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "analytics",
                "--format",
                "json",
                "--weeks",
                "2",
            ],
            &[("CHANGEDESK_NOW", "2026-09-03T00:00:00Z")],
        )
        .ok(),
    );
    assert_eq!(j["overall"]["items"], 12, "{}", j["overall"]);
    assert_eq!(
        j["overall"]["triaged"].as_u64().unwrap(),
        triaged_before + 1,
        "{}",
        j["overall"]
    );
    assert_eq!(j["weekly"].as_array().unwrap().len(), 2, "{}", j["weekly"]);
    assert_eq!(j["weekly"][1]["new"], 12, "{}", j["weekly"]);

    let text = s
        .run_env(
            &["--config", "cfg.toml", "report", "analytics"],
            &[("CHANGEDESK_NOW", "2026-09-03T00:00:00Z")],
        )
        .ok()
        .stdout;
    assert!(text.contains("All items"), "{text}");
    assert!(text.contains("By workload"), "{text}");

    let csv = s
        .run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "analytics",
                "--format",
                "csv",
                "--table",
                "weekly",
                "--weeks",
                "3",
            ],
            &[("CHANGEDESK_NOW", "2026-09-03T00:00:00Z")],
        )
        .ok()
        .stdout;
    assert!(csv.starts_with("week,new,triaged,closed,backlog"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    let bad = s
        .run(&[
            "--config",
            "cfg.toml",
            "report",
            "analytics",
            "--format",
            "csv",
            "--table",
            "nope",
        ])
        .fails();
    assert!(bad.stderr.contains("is not one of"), "{}", bad.stderr);
    let bad = s
        .run(&["--config", "cfg.toml", "report", "analytics", "--days", "0"])
        .fails();
    assert!(bad.stderr.contains("1 to 1098 days"), "{}", bad.stderr);
}

#[test]
fn feedback_to_microsoft_is_recorded_and_counts_for_the_maturity_level() {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    s.write_json("a.json", &Value::Array(corpus(3)));
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
    let feedback = |m: &Value| {
        m["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["key"] == "feedback_to_microsoft")
            .cloned()
            .unwrap()
    };
    let later = [("CHANGEDESK_NOW", "2026-09-03T00:00:00Z")];
    let m = json(
        &s.run_env(
            &[
                "--config", "cfg.toml", "report", "maturity", "--format", "json",
            ],
            &later,
        )
        .ok(),
    );
    assert_eq!(feedback(&m)["status"], "not_met", "{m}");
    let r = s
        .run(&as_alice(&[
            "feedback",
            "MC1100001",
            "--kind",
            "support-case",
            "--reference",
            "2604150040001234",
        ]))
        .ok();
    assert!(r.stdout.contains("MC1100001"), "{}", r.stdout);
    let bad = s
        .run(&as_alice(&["feedback", "MC1100001", "--kind", "letter"]))
        .fails();
    assert!(bad.stderr.contains("--kind"), "{}", bad.stderr);
    let m = json(
        &s.run_env(
            &[
                "--config", "cfg.toml", "report", "maturity", "--format", "json",
            ],
            &later,
        )
        .ok(),
    );
    assert_eq!(feedback(&m)["status"], "met", "{m}");
    let text = s
        .run_env(&["--config", "cfg.toml", "report", "maturity"], &later)
        .ok()
        .stdout;
    assert!(text.starts_with("Maturity level "), "{text}");
    let show = s
        .run(&["--config", "cfg.toml", "tasks", "show", "MC1100001"])
        .ok()
        .stdout;
    assert!(show.contains("feedback"), "{show}");
}

#[test]
fn the_executive_report_and_the_weekly_status_count_the_period() {
    let s = Sandbox::new();
    s.write("cfg.toml", TRIAGE_CONFIG);
    s.write_json("a.json", &Value::Array(corpus(12)));
    // imported on Tuesday 1 September: 12 items opened, the 3 information-only
    // posts (1, 4, 7; 10 is major) dismissed at once by the rules
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
    let october = [("CHANGEDESK_NOW", "2026-10-07T00:00:00Z")];
    // the default month: September, the last complete one
    let j = json(
        &s.run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "executive",
                "--format",
                "json",
            ],
            &october,
        )
        .ok(),
    );
    assert_eq!(j["label"], "September 2026", "{j}");
    assert_eq!(j["counts"]["new"], 12, "{}", j["counts"]);
    assert_eq!(j["counts"]["closed"], 3, "{}", j["counts"]);
    assert_eq!(j["counts"]["open_at_start"], 0, "{}", j["counts"]);
    assert_eq!(j["counts"]["open_at_end"], 9, "{}", j["counts"]);
    assert_eq!(j["tenants"], 1, "{j}");
    // August had nothing yet
    let aug = json(
        &s.run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "executive",
                "--month",
                "2026-08",
                "--format",
                "json",
            ],
            &october,
        )
        .ok(),
    );
    assert_eq!(aug["counts"]["new"], 0, "{aug}");
    // the week of 31 August holds the import; as text
    let text = s
        .run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "weekly",
                "--week",
                "2026-09-03",
            ],
            &october,
        )
        .ok()
        .stdout;
    assert!(
        text.starts_with("Weekly status: week 36 of 2026 (2026-08-31 to 2026-09-06)"),
        "{text}"
    );
    assert!(
        text.contains("Work items: 12 new, 3 triaged, 3 closed"),
        "{text}"
    );
    assert!(text.contains("Maturity level "), "{text}");
    assert!(text.contains("Top risks ("), "{text}");
    // bad periods are errors that say why, never a panic
    let bad = s
        .run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "executive",
                "--month",
                "2026-9",
            ],
            &october,
        )
        .fails();
    assert!(
        bad.stderr.contains("--month") && bad.stderr.contains("is not a month"),
        "{}",
        bad.stderr
    );
    let bad = s
        .run_env(
            &[
                "--config",
                "cfg.toml",
                "report",
                "weekly",
                "--week",
                "2026-12-01",
            ],
            &october,
        )
        .fails();
    assert!(bad.stderr.contains("has not begun"), "{}", bad.stderr);
}
