//! `changedesk bench-seed` (hidden): the load benchmark's archive.

use serde_json::Value;

use crate::harness::*;

#[test]
fn bench_seed_fills_an_empty_archive_as_syncs_would_and_only_an_empty_one() {
    let s = Sandbox::new();
    let db = format!("sqlite://{}", s.path("bench.db").display());
    let args = [
        "--database",
        &db,
        "bench-seed",
        "--posts",
        "60",
        "--tenants",
        "4",
        "--coverage",
        "0.5",
        "--triage",
    ];
    let r = s.run(&args).ok();
    let report: Value = serde_json::from_str(&r.stdout).expect("a JSON report");
    let posts = report["posts"].as_i64().unwrap();
    // four tenants each seeing about half: nearly every post, each seen twice
    assert!((50..=60).contains(&posts), "{report}");
    assert_eq!(report["tenants"], 4, "{report}");
    let links = report["post_links"].as_i64().unwrap();
    assert!(links > posts && links < 4 * posts, "{report}");
    assert_eq!(
        report["work_items_created"].as_i64(),
        Some(posts),
        "{report}"
    );
    // what a sync stores: tenants with their sync outcome, posts with links
    let tenants = s
        .run(&["--database", &db, "tenants", "list", "--format", "json"])
        .ok();
    assert!(tenants.stdout.contains("tenant-004"), "{}", tenants.stdout);
    // a second run refuses to add to what is there
    let again = s.run(&args).fails();
    assert!(again.stderr.contains("already holds"), "{}", again.stderr);
    // bad parameters are refused before anything is written
    let other = format!("sqlite://{}", s.path("other.db").display());
    for bad in [["--coverage", "0"], ["--coverage", "1.5"], ["--posts", "0"]] {
        let r = s
            .run(&["--database", &other, "bench-seed", bad[0], bad[1]])
            .fails();
        assert!(r.stderr.contains(bad[0]), "{bad:?}: {}", r.stderr);
    }
}
