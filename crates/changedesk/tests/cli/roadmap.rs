//! `changedesk roadmap`: a file imported and imported again with changes,
//! the list and an item's history, the public feed read from the simulator,
//! and bad input refused without touching the archive.

use changedesk_sim::{CorpusSpec, SimConfig};
use serde_json::{Value, json};

use crate::harness::*;

fn items() -> Vec<Value> {
    let corpus = changedesk_sim::generate(&CorpusSpec {
        posts: 150,
        issues: 0,
        ..CorpusSpec::default()
    });
    changedesk_sim::roadmap::roadmap(&corpus)
}

#[test]
fn a_roadmap_file_is_archived_with_its_changes() {
    let s = Sandbox::new();
    let mut list = items();
    let n = list.len();
    assert!(n > 10, "{n}");
    s.write_json("roadmap.json", &Value::Array(list.clone()));
    let out = s.run(&["roadmap", "import", "roadmap.json"]).ok();
    assert!(
        out.stdout
            .contains(&format!("{n} new, 0 changed, 0 unchanged, 0 gone")),
        "{}",
        out.stdout
    );
    // the next read: the first item moved a month, the last is gone
    let id = list[0]["id"].as_u64().unwrap();
    list[0]["publicDisclosureAvailabilityDate"] = json!("December CY2027");
    list[0]["status"] = json!("Rolling out");
    let gone = list.pop().unwrap()["id"].as_u64().unwrap();
    s.write_json("roadmap.json", &Value::Array(list.clone()));
    let out = s
        .run(&["roadmap", "import", "roadmap.json", "--format", "json"])
        .ok();
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["changed"][0][0], json!(id), "{r}");
    assert_eq!(r["gone"], json!([gone]));
    assert_eq!(r["unchanged"], json!(n - 2));
    let out = s.run(&["roadmap", "show", &id.to_string()]).ok();
    assert!(
        out.stdout.contains("release:  December CY2027"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Rolling out"), "{}", out.stdout);
    assert!(
        out.stdout.contains("  1 ") && out.stdout.contains("first read"),
        "{}",
        out.stdout
    );
    let out = s
        .run(&[
            "roadmap",
            "list",
            "--status",
            "rolling out",
            "--format",
            "json",
            "--limit",
            "500",
        ])
        .ok();
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert!(rows.iter().any(|r| r["id"] == json!(id)));
    assert!(rows.iter().all(|r| r["status"] == json!("Rolling out")));
    let out = s
        .run(&["roadmap", "list", "--format", "csv", "--limit", "500"])
        .ok();
    assert_eq!(
        out.stdout.lines().count(),
        n,
        "a header and the {} items not gone",
        n - 1
    );
    s.run(&["roadmap", "show", "1"]).fails();
    // a partial file marks nothing gone
    s.write_json("part.json", &Value::Array(list[..1].to_vec()));
    let out = s
        .run(&[
            "roadmap",
            "import",
            "part.json",
            "--partial",
            "--format",
            "json",
        ])
        .ok();
    let r: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(r["gone"], json!([]));
}

#[test]
fn bad_roadmap_input_is_refused_and_nothing_is_lost() {
    let s = Sandbox::new();
    s.write_json("roadmap.json", &Value::Array(items()));
    s.run(&["roadmap", "import", "roadmap.json"]).ok();
    for (name, body, says) in [
        ("empty.json", "[]", "holds no roadmap item"),
        ("bad.json", "{\"items\": 3}", "not a list of items"),
        ("broken.json", "[{", "not JSON"),
        (
            "ids.json",
            "[{\"title\": \"no id\"}]",
            "holds no roadmap item",
        ),
    ] {
        s.write(name, body);
        let out = s.run(&["roadmap", "import", name]).fails();
        assert!(out.stderr.contains(says), "{name}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    std::fs::write(
        s.path("latin1.json"),
        b"[{\"id\": 1, \"title\": \"caf\xe9\"}]",
    )
    .unwrap();
    assert!(
        s.run(&["roadmap", "import", "latin1.json"])
            .fails()
            .stderr
            .contains("not UTF-8")
    );
    // one bad item among good ones: skipped with a warning, the rest read
    s.write(
        "mixed.json",
        "[{\"id\": 1, \"title\": \"One\"}, {\"id\": \"x\", \"title\": \"Bad\"}]",
    );
    let out = s
        .run(&["roadmap", "import", "mixed.json", "--partial"])
        .ok();
    assert!(
        out.stderr
            .contains("item 1 (id x) skipped: its id is not a number"),
        "{}",
        out.stderr
    );
    // the archive still holds the first import whole
    let out = s
        .run(&["roadmap", "list", "--format", "json", "--limit", "500"])
        .ok();
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.len(), items().len() + 1);
    s.run(&["roadmap", "list", "--limit", "0"]).fails();
}

#[test]
fn the_public_feed_is_read_from_the_simulator() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(changedesk_sim::start(SimConfig::default()))
        .expect("simulator starts");
    let url = format!(
        "{}{}",
        sim.base_url().trim_end_matches('/'),
        changedesk_sim::ROADMAP_PATH
    );
    let n = sim.roadmap_items().len();
    let s = Sandbox::new();
    let out = s.run(&["roadmap", "sync", "--url", &url]).ok();
    assert!(out.stdout.contains(&format!("{n} new")), "{}", out.stdout);
    assert_eq!(sim.roadmap_requests().len(), 1);
    // the feed fails: an error, and the archive keeps what it read
    sim.roadmap_fault(503, 1);
    let out = s.run(&["roadmap", "sync", "--url", &url]).fails();
    assert!(out.stderr.contains("answered 503"), "{}", out.stderr);
    let out = s
        .run(&["roadmap", "list", "--format", "json", "--limit", "500"])
        .ok();
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&out.stdout)
            .unwrap()
            .len(),
        n.min(500)
    );
    rt.block_on(sim.shutdown());
}

#[test]
fn the_real_roadmap_is_imported_whole() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/roadmap-data.json"
    );
    if !std::path::Path::new(path).exists() {
        println!("roadmap: {path} not found, nothing checked");
        return;
    }
    let s = Sandbox::new();
    let out = s.run(&["roadmap", "import", path]).ok();
    assert!(out.stdout.contains("1926 new, 0 changed"), "{}", out.stdout);
    let out = s.run(&["roadmap", "import", path]).ok();
    assert!(
        out.stdout
            .contains("0 new, 0 changed, 1926 unchanged, 0 gone"),
        "{}",
        out.stdout
    );
}
