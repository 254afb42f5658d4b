//! `timeline::extract` against our own reading of real posts.
//!
//! `tests/timeline_labels.jsonl` holds, per post id, the phases a person read
//! in the post's body (ids and dates only: no post text is kept here). The
//! posts are Microsoft's, in `../shared/data/service-messages.json` beside the
//! workspace; without that file the test says so and checks nothing.

use std::collections::BTreeMap;

use changedesk_core::graph::{Message, listing_items};
use changedesk_core::timeline;
use serde_json::Value;

/// Labelled phases `extract` must find exactly (ring, cloud, start, end).
const MIN_RECALL: f64 = 0.95;
/// Phases `extract` finds that are labelled, of all it finds in those posts.
const MIN_PRECISION: f64 = 0.95;

const LABELS: &str = include_str!("../timeline_labels.jsonl");

fn key(p: &Value) -> String {
    format!("{} {} {} {}", p["ring"], p["cloud"], p["start"], p["end"])
}

#[test]
fn timeline_matches_labelled_posts() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/service-messages.json"
    );
    let Ok(bytes) = std::fs::read(path) else {
        println!("timeline labels: {path} not found, nothing checked");
        return;
    };
    let doc: Value = serde_json::from_slice(&bytes).expect("the posts file is JSON");
    let items = listing_items(&doc).expect("a listing");
    let mut posts = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        if let Ok(m) = Message::from_graph(item, i) {
            posts.insert(m.content.id.clone(), m);
        }
    }
    // per ring: (labelled, found exactly)
    let mut per_ring: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut labelled, mut matched, mut extracted, mut posts_seen) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for line in LABELS.lines().filter(|l| !l.trim().is_empty()) {
        let label: Value = serde_json::from_str(line).expect("a label line is JSON");
        let id = label["id"].as_str().expect("a label has an id");
        let Some(m) = posts.get(id) else {
            println!("timeline labels: {id} is not in the posts file");
            continue;
        };
        posts_seen += 1;
        let c = &m.content;
        let reference = c
            .start
            .or(c.last_modified)
            .map(|t| t.as_datetime().date())
            .expect("labelled posts have a date");
        let got = timeline::extract(&c.body_html, reference);
        let got = serde_json::to_value(&got.phases).expect("phases serialize");
        let mut left: Vec<String> = got.as_array().into_iter().flatten().map(key).collect();
        extracted += left.len();
        for want in label["phases"].as_array().into_iter().flatten() {
            let k = key(want);
            let ring = want["ring"].as_str().unwrap_or("?").to_string();
            let e = per_ring.entry(ring).or_default();
            e.0 += 1;
            labelled += 1;
            if let Some(pos) = left.iter().position(|g| *g == k) {
                left.remove(pos);
                e.1 += 1;
                matched += 1;
            } else {
                misses.push(format!("{id}: missed {k}"));
            }
        }
        misses.extend(left.iter().map(|g| format!("{id}: extra  {g}")));
    }
    if posts_seen == 0 {
        println!("timeline labels: no labelled post in the posts file, nothing checked");
        return;
    }
    println!("timeline labels: {posts_seen} posts, {labelled} phases labelled");
    for (ring, (n, ok)) in &per_ring {
        println!(
            "  {ring:22} {ok:4} / {n:4} = {:5.1} %",
            100.0 * *ok as f64 / *n as f64
        );
    }
    let recall = matched as f64 / labelled.max(1) as f64;
    let precision = matched as f64 / extracted.max(1) as f64;
    println!(
        "  all phases             {matched:4} / {labelled:4} = {:5.1} % exact; precision {matched} / {extracted} = {:5.1} %",
        100.0 * recall,
        100.0 * precision
    );
    for m in &misses {
        println!("  {m}");
    }
    assert!(
        recall >= MIN_RECALL,
        "exact phases {recall:.3} < {MIN_RECALL}"
    );
    assert!(
        precision >= MIN_PRECISION,
        "precision {precision:.3} < {MIN_PRECISION}"
    );
}
